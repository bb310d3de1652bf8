"""The prediction log on real files and pipes: format, rotation, sensitive columns, full and broken sinks."""

from __future__ import annotations

import json
import os
import threading
import time
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

import pytest
from pydantic import BaseModel, ConfigDict

from lastmile.monitoring.prediction_log import (
    SCHEMA,
    LogSettings,
    PredictionLog,
    PredictionLogError,
    RotatingFileSink,
    Scored,
)
from tests.conftest import PREDICTION_LINE_KEYS, prediction_lines


class Row(BaseModel):
    model_config = ConfigDict(extra="forbid")
    amount: int
    group: str | None = None
    region: str | None = None


@dataclass(frozen=True)
class Outcome:
    label: str
    probability: float


def _scored(request_id: str, count: int, **sent: object) -> Scored:
    records = [Row.model_validate({"amount": 20 + k, **sent}) for k in range(count)]
    predictions = [Outcome(label="yes" if k % 2 else "no", probability=k / (count + 1)) for k in range(count)]
    return Scored(request_id, datetime(2026, 11, 30, 16, 0, 0, 123456, tzinfo=UTC), records, predictions)


def _wait_for(predicate: object, seconds: float = 20) -> None:
    deadline = time.monotonic() + seconds
    while not predicate():  # type: ignore[operator]
        assert time.monotonic() < deadline, "the writer thread did not catch up"
        time.sleep(0.02)


def test_one_line_per_record_in_the_documented_format(tmp_path: Path):
    sink = RotatingFileSink(tmp_path / "monitoring", "predictions.jsonl", max_bytes=1 << 20, backups=2)
    log = PredictionLog(sink, model_version="1.2.3")
    log.submit(_scored("req-1", 3, group="A"))
    log.close()

    lines = prediction_lines(tmp_path / "monitoring" / "predictions.jsonl")
    assert [line["record"] for line in lines] == [
        {"amount": 20, "group": "A"},
        {"amount": 21, "group": "A"},
        {"amount": 22, "group": "A"},
    ]
    assert lines[1] == {
        "schema": SCHEMA,
        "request_id": "req-1",
        "time": "2026-11-30T16:00:00.123+00:00",
        "model_version": "1.2.3",
        "record": {"amount": 21, "group": "A"},  # as sent: `region` was not, so it is not logged
        "probability": 0.25,
        "label": "yes",
    }
    assert list(lines[0]) == PREDICTION_LINE_KEYS


def test_rotation_keeps_whole_lines_and_a_bounded_number_of_files(tmp_path: Path):
    sink = RotatingFileSink(tmp_path, "predictions.jsonl", max_bytes=2048, backups=2)
    log = PredictionLog(sink, model_version="1")
    for k in range(20):
        log.submit(_scored(f"req-{k}", 5))
    log.close()

    files = sorted(p.name for p in tmp_path.iterdir())
    assert files == ["predictions.jsonl", "predictions.jsonl.1", "predictions.jsonl.2"]
    for name in files:
        assert (tmp_path / name).stat().st_size <= 2048
        assert (tmp_path / name).read_text(encoding="utf-8").endswith("\n")  # no split line
        assert all(line["schema"] == SCHEMA for line in prediction_lines(tmp_path / name))
    # The newest lines are in the current file, the oldest kept ones in the last backup.
    assert prediction_lines(tmp_path / "predictions.jsonl")[-1]["request_id"] == "req-19"


@pytest.mark.parametrize("mode", ["hash", "drop"])
def test_sensitive_columns_are_hashed_or_dropped(tmp_path: Path, mode: str):
    sink = RotatingFileSink(tmp_path, "p.jsonl", max_bytes=1 << 20, backups=1)
    log = PredictionLog(
        sink, model_version="1", sensitive=["group", "region"], sensitive_mode=mode, hash_key="k1"
    )  # type: ignore[arg-type]
    log.submit(_scored("a", 2, group="A", region=None))
    log.submit(_scored("b", 1, group="B", region="north"))
    log.close()

    lines = prediction_lines(tmp_path / "p.jsonl")
    # Each line says what it hides, for the monitor (which then does not compare those columns).
    assert all(line["redacted"] == {"group": mode, "region": mode} for line in lines)
    records = [line["record"] for line in lines]
    if mode == "drop":
        assert records == [{"amount": 20}, {"amount": 21}, {"amount": 20}]
        return
    first, _, second = (r["group"] for r in records)  # type: ignore[index]
    assert first.startswith("hmac-sha256:") and second.startswith("hmac-sha256:")
    assert first != second and "A" not in first
    assert records[0]["region"] is None  # type: ignore[index]  # a missing value stays missing
    assert records[0]["group"] == records[1]["group"]  # type: ignore[index]  # same value, same token


def test_a_full_queue_drops_and_counts_without_blocking(tmp_path: Path):
    """The sink is a FIFO nobody reads yet: the writer blocks on it, as on a stuck disk."""
    fifo = tmp_path / "predictions.jsonl"
    os.mkfifo(fifo)
    drops: list[tuple[str, int]] = []
    sink = RotatingFileSink(tmp_path, fifo.name, max_bytes=1 << 30, backups=0)
    log = PredictionLog(
        sink, model_version="1", queue_records=10, on_drop=lambda why, n: drops.append((why, n))
    )

    log.submit(_scored("req-0", 3))
    _wait_for(lambda: log.pending == 0)  # the writer took it, and is now stuck opening the FIFO
    started = time.perf_counter()
    for k in range(1, 12):
        log.submit(_scored(f"req-{k}", 3))
    submitting = time.perf_counter() - started

    # Three more requests fit the queue (9 of 10 records); the other eight are dropped and counted.
    assert sum(n for why, n in drops if why == "queue_full") == 3 * (12 - 1 - 3)
    assert submitting < 5  # never waited for the sink (a generous bound: it is microseconds)
    lines: list[str] = []
    reader = threading.Thread(target=lambda: lines.extend(fifo.open(encoding="utf-8").read().splitlines()))
    reader.start()
    log.close()
    reader.join(20)
    assert len(lines) == 3 * 4
    assert [json.loads(line)["request_id"] for line in lines[::3]] == ["req-0", "req-1", "req-2", "req-3"]


def test_a_broken_sink_is_counted_and_reported_once_never_raised(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
):
    (tmp_path / "not-a-folder").write_text("a file where the log folder should be")
    drops: list[tuple[str, int]] = []
    sink = RotatingFileSink(tmp_path / "not-a-folder", "p.jsonl", max_bytes=1 << 20, backups=1)
    log = PredictionLog(sink, model_version="1", on_drop=lambda why, n: drops.append((why, n)))
    with caplog.at_level("WARNING", logger="lastmile.prediction_log"):
        for k in range(5):
            log.submit(_scored(f"req-{k}", 2))
        _wait_for(lambda: sum(n for _, n in drops) == 10)
        log.close()
    assert {why for why, _ in drops} == {"sink_error"}
    warnings = [r for r in caplog.records if "dropped" in r.getMessage()]
    assert len(warnings) == 1  # rate-limited: one report for the five failures
    assert "sink_error" in warnings[0].getMessage()


def test_settings_from_the_environment():
    settings = LogSettings.from_env(
        {
            "LASTMILE_PREDICTION_LOG": "stdout",
            "LASTMILE_PREDICTION_LOG_DIR": "/var/log/lastmile",
            "LASTMILE_PREDICTION_LOG_SENSITIVE": "drop",
        }
    )
    assert (settings.sink, settings.directory, settings.sensitive) == (
        "stdout",
        Path("/var/log/lastmile"),
        "drop",
    )
    assert LogSettings.from_env({}).directory == Path("monitoring")

    with pytest.raises(
        PredictionLogError, match="LASTMILE_PREDICTION_LOG: Input should be 'file', 'stdout' or 'off'"
    ):
        LogSettings.from_env({"LASTMILE_PREDICTION_LOG": "kafka"})
    with pytest.raises(PredictionLogError, match="LASTMILE_PREDICTION_LOG_MAX_BYTES"):
        LogSettings.from_env({"LASTMILE_PREDICTION_LOG_MAX_BYTES": "lots"})
    with pytest.raises(PredictionLogError, match="needs LASTMILE_PREDICTION_LOG_HASH_KEY"):
        LogSettings.from_env({"LASTMILE_PREDICTION_LOG_SENSITIVE": "hash"})
