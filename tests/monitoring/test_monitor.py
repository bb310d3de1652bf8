"""`lastmile monitor` as users run it: verdict first, reports, exit 0/1/2, windows, unusable logs."""

from __future__ import annotations

import gzip
import itertools
import json
import threading
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from scipy import stats as scipy_stats
from typer.testing import CliRunner

from lastmile.cli import app
from lastmile.monitoring import logs, stats
from lastmile.monitoring.monitor import Window, assess
from lastmile.monitoring.prediction_log import PredictionLog, RotatingFileSink, Scored, utc_now
from lastmile.monitoring.profile import numeric_reference
from lastmile.monitoring.shifts import json_value, shift_category, shift_numeric
from lastmile.params import ProfileParams
from lastmile.serving.records import record_model
from tests.monitoring.conftest import Watched, fair_resample


@dataclass(frozen=True)
class Prediction:
    label: str
    probability: float


def monitor(repo: Path, *args: str) -> tuple[int, str, str]:
    """`lastmile monitor ARGS` in-process, with the trained repository's params, contract and profile."""
    files = ["--params", str(repo / "params.yaml"), "--contract", str(repo / "contract.yaml")]
    if "--profile" not in args:
        files += ["--profile", str(repo / "reports/profile.json")]
    if "--out" not in args:
        files += ["--out", str(repo.parent / "monitor-out")]
    result = CliRunner().invoke(app, ["monitor", *args, *files])
    return result.exit_code, result.stdout, result.stderr


# ---- statistics


@pytest.mark.parametrize(("seed", "size"), [(0, 700), (1, 700), (2, 40_000)])
def test_kolmogorov_smirnov_from_counts_equals_scipy(seed: int, size: int) -> None:
    rng = np.random.default_rng(seed)
    reference = rng.integers(0, 40, 30_000).astype(float)  # ties, as integer features have
    window = rng.integers(0, 41, size).astype(float) + rng.choice([0.0, 0.5], size)
    profile = numeric_reference(reference, ProfileParams(max_points=1000))
    points = np.asarray(profile.values)
    window_slots = np.bincount(stats.slot_of(points, window), minlength=2 * points.size + 1)
    statistic, p_value = stats.ks_two_sample(stats.interleave(np.asarray(profile.counts)), window_slots)
    expected = scipy_stats.ks_2samp(reference, window, method="asymp")
    assert statistic == pytest.approx(expected.statistic, abs=1e-12)
    # Exact below KS_EXACT_UP_TO; the limiting distribution above it (within about 1 %).
    assert p_value == pytest.approx(expected.pvalue, rel=1e-9 if size < stats.KS_EXACT_UP_TO else 0.02)


@pytest.mark.parametrize("seed", [0, 1])
def test_wasserstein_from_counts_equals_scipy(seed: int) -> None:
    rng = np.random.default_rng(seed)
    reference = rng.integers(0, 40, 30_000).astype(float)
    # At the reference's points, halfway between them, and beyond both ends of its range.
    window = rng.integers(-5, 46, 700).astype(float) + rng.choice([0.0, 0.5], 700)
    profile = numeric_reference(reference, ProfileParams(max_points=1000))
    points = np.asarray(profile.values)
    slots = stats.slot_of(points, window)
    size = 2 * points.size + 1
    distance = stats.wasserstein(
        points,
        np.asarray(profile.counts, dtype=float),
        np.bincount(slots, minlength=size).astype(float),
        np.bincount(slots, weights=window, minlength=size),
    )
    assert distance == pytest.approx(scipy_stats.wasserstein_distance(reference, window), rel=1e-9)


def test_corrections_match_their_definitions() -> None:
    p = [0.01, 0.04, 0.03, 0.2, 0.001]
    assert stats.adjust(p, "benjamini_hochberg") == pytest.approx(scipy_stats.false_discovery_control(p))
    # Holm: sorted p times (m - rank), made monotone.
    assert stats.adjust(p, "holm") == pytest.approx([0.04, 0.09, 0.09, 0.2, 0.005])


def test_reading_ahead_keeps_the_order_raises_the_readers_error_and_stops_with_the_consumer() -> None:
    assert list(logs.read_ahead([range(30), range(30, 50)], depth=2)) == list(range(50))

    def failing() -> Iterator[int]:
        yield 1
        raise logs.UnusableLogError("p.jsonl, line 2: the line is not valid JSON")

    received = []
    with pytest.raises(logs.UnusableLogError, match="line 2"):
        received.extend(logs.read_ahead([failing()]))
    assert received == [1]

    produced: list[int] = []

    def endless() -> Iterator[int]:
        for number in itertools.count():
            produced.append(number)
            yield number

    ahead = logs.read_ahead([endless()], depth=2)
    assert next(ahead) == 0
    ahead.close()
    assert len(produced) <= 4  # the one consumed, two queued, one waiting: then it stopped


def test_reading_ahead_in_parallel_delivers_every_item_once_and_stops_every_worker() -> None:
    sources = [range(start, start + 1000) for start in range(0, 5000, 1000)]
    assert sorted(logs.read_ahead(sources, workers=3, depth=2)) == list(range(5000))

    def failing() -> Iterator[int]:
        yield -1
        raise logs.UnusableLogError("p.jsonl.2, line 2: the line is not valid JSON")

    with pytest.raises(logs.UnusableLogError, match="line 2"):
        list(logs.read_ahead([range(100), failing(), range(100)], workers=2, depth=2))

    produced: list[int] = []

    def endless() -> Iterator[int]:
        for number in itertools.count():
            produced.append(number)
            yield number

    ahead = logs.read_ahead([endless(), endless()], workers=2, depth=2)
    next(ahead)
    ahead.close()
    assert not any(t.name.startswith("lastmile-log-reader") for t in threading.enumerate())
    assert len(produced) <= 5  # the one consumed, two queued, one waiting per worker: then they stopped
    assert not any(thread.name == "lastmile-log-reader" for thread in threading.enumerate())


# ---- the command on real logs


def test_normal_traffic_exits_0_and_writes_three_reports(
    watched: Watched, log_of: Callable[..., Path], tmp_path: Path
) -> None:
    log = log_of(n=800, seed=3)
    code, out, err = monitor(watched.repo, "--logs", str(log.parent), "--out", str(tmp_path / "out"))
    report = json.loads((tmp_path / "out/monitor.json").read_text())
    assert report["records"] == 800
    if fair_resample(watched, 800):
        assert code == 0, err
        assert out.startswith("OK: no drift in 800 logged records")
        assert report["drift"] is False
        assert (tmp_path / "out/monitor.md").read_text().startswith("## 🟢 OK")
    else:
        assert code in (0, 1), err  # a verdict either way: see `fair_resample`
    tested = {c["feature"] for c in report["checks"]}
    assert tested == {*watched.params.features.all, "probability"}
    assert "data:image/png;base64," in (tmp_path / "out/monitor.html").read_text()


def test_shifted_traffic_exits_1_naming_the_features(watched: Watched, tmp_path: Path) -> None:
    rng = np.random.default_rng(5)
    features = watched.params.features
    # The first numeric and the first categorical feature, of those the project has.
    shifted = features.numeric[:1] + features.categorical[:1]
    frame = watched.held_out.sample(n=800, replace=True, random_state=5).reset_index(drop=True)
    for numeric in features.numeric[:1]:
        frame = shift_numeric(frame, numeric, watched.contract.columns[numeric], rng)
    for categorical in features.categorical[:1]:
        frame, _ = shift_category(frame, categorical, rng)
    log = watched.write_log(tmp_path / "logs/predictions.jsonl", frame)
    code, out, _ = monitor(watched.repo, "--logs", str(log), "--out", str(tmp_path / "out"))
    assert code == 1
    verdict = out.splitlines()[0]
    assert verdict.startswith("DRIFT in 800 logged records") and all(f in verdict for f in shifted)
    report = json.loads((tmp_path / "out/monitor.json").read_text())
    assert set(shifted) <= set(report["drifted_features"])
    assert "## 🔴 DRIFT" in (tmp_path / "out/monitor.md").read_text()


def test_rotated_gzip_logs_and_windows(watched: Watched, tmp_path: Path) -> None:
    """Rotated files are read oldest first; --last keeps the newest records, --since the recent ones."""
    folder = tmp_path / "logs"
    old = watched.held_out.sample(n=300, replace=True, random_state=1)
    new = watched.held_out.sample(n=400, replace=True, random_state=2)
    watched.write_log(folder / "predictions.jsonl", new)
    rotated = watched.write_log(tmp_path / "rotated.jsonl", old)
    # The older file's lines are an hour earlier than the live file's.
    lines = [json.loads(line) for line in rotated.read_text().splitlines()]
    for line in lines:
        line["time"] = line["time"].replace("T00:", "T-1:").replace("2026-01-01T-1:", "2025-12-31T23:")
    with gzip.open(folder / "predictions.jsonl.1.gz", "wt") as handle:
        handle.writelines(json.dumps(line) + "\n" for line in lines)
    everything = assess(str(folder), watched.profile, watched.contract, watched.params.monitor)
    assert everything.records == 700
    assert everything.files[0].endswith("predictions.jsonl.1.gz")
    assert everything.first_time.startswith("2025-12-31T23:")
    newest = assess(str(folder), watched.profile, watched.contract, watched.params.monitor, Window(last=350))
    assert newest.records == 350 and newest.first_time.startswith("2026-01-01T00:00:50")
    code, out, _ = monitor(watched.repo, "--logs", str(folder), "--since", "2026-01-01T00:00:00Z")
    assert code in (0, 1) and "in 400 logged records" in out.split("\n")[0]
    if fair_resample(watched, 400):
        assert code == 0 and out.startswith("OK: no drift in 400 logged records")


def test_records_that_break_the_contract_are_counted(watched: Watched, tmp_path: Path) -> None:
    frame = watched.held_out.sample(n=500, replace=True, random_state=4).reset_index(drop=True)
    columns = watched.contract.columns
    # A numeric feature with a bound in the contract: past its maximum, else below its minimum.
    numeric = next(
        n for n in watched.params.features.numeric if columns[n].max is not None or columns[n].min is not None
    )
    spec = columns[numeric]
    frame[numeric] = frame[numeric].astype(float)
    if spec.max is not None:
        frame.loc[:29, numeric] = spec.max + 1000  # 6 % of the records
        rule = f"{numeric}: above the maximum {spec.max:g}"
    else:
        assert spec.min is not None
        frame.loc[:29, numeric] = spec.min - 1000
        rule = f"{numeric}: below the minimum {spec.min:g}"
    log = watched.write_log(tmp_path / "p.jsonl", frame)
    result = assess(str(log), watched.profile, watched.contract, watched.params.monitor)
    assert result.invalid_records == 30
    assert result.invalid_by_rule[rule] == 30
    assert result.drifted and numeric in result.verdict and "break the data contract" in result.verdict


# ---- unusable input: exit 2, the file and the line named


def _lines(log: Path) -> list[str]:
    return log.read_text().splitlines(keepends=True)


def test_empty_logs_exit_2(watched: Watched, tmp_path: Path) -> None:
    (tmp_path / "empty").mkdir()
    code, _, err = monitor(watched.repo, "--logs", str(tmp_path / "empty"))
    assert code == 2 and "No prediction logs in" in err and "*.jsonl" in err
    (tmp_path / "empty/predictions.jsonl").write_text("")
    code, _, err = monitor(watched.repo, "--logs", str(tmp_path / "empty"))
    assert code == 2 and "No logged predictions" in err and "all empty" in err
    code, _, err = monitor(watched.repo, "--logs", str(tmp_path / "nowhere.jsonl"))
    assert code == 2 and "not found" in err
    assert "Traceback" not in err


def test_a_missing_profile_is_no_verdict_not_drift(watched: Watched, log_of: Callable[..., Path]) -> None:
    log = log_of(n=300)
    code, _, err = monitor(watched.repo, "--logs", str(log), "--profile", str(log.parent / "none.json"))
    assert code == 2 and "none.json not found" in err


@pytest.mark.parametrize(
    ("damage", "named"),
    [
        (lambda p: "{not json", "is not valid JSON"),
        (lambda p: {**p, "schema": "lastmile.profile/0"}, "schema: Input should be 'lastmile.profile/1'"),
        (lambda p: {k: v for k, v in p.items() if k != "threshold"}, "threshold: Field required"),
        (lambda p: {**p, "score": {**p["score"], "kind": "text"}}, "score.kind"),
        (lambda p: {**p, "features": {"age": {"kind": "numeric"}}}, "features.age.numeric.rows"),
    ],
    ids=["not json", "other schema", "missing key", "wrong kind", "half a reference"],
)
def test_a_damaged_profile_exits_2_naming_the_file_and_key(
    watched: Watched, log_of: Callable[..., Path], tmp_path: Path, damage: Callable[[Any], Any], named: str
) -> None:
    profile = json.loads((watched.repo / "reports/profile.json").read_text())
    damaged = damage(profile)
    path = tmp_path / "profile.json"
    path.write_text(damaged if isinstance(damaged, str) else json.dumps(damaged))
    code, _, err = monitor(watched.repo, "--logs", str(log_of(n=300)), "--profile", str(path))
    assert code == 2, err
    assert str(path) in err and named in err and "Traceback" not in err


def test_truncated_logs_exit_2(watched: Watched, log_of: Callable[..., Path], tmp_path: Path) -> None:
    log = log_of(n=300)
    text = log.read_text()
    log.write_text(text[: len(text) - 40])  # cut inside the last record
    code, _, err = monitor(watched.repo, "--logs", str(log))
    assert code == 2
    assert f"{log}, line 300: the line is not valid JSON" in err and "truncated" in err
    packed = tmp_path / "p.jsonl.gz"
    packed.write_bytes(gzip.compress(text.encode())[:-200])
    code, _, err = monitor(watched.repo, "--logs", str(packed))
    assert code == 2 and "truncated or corrupt gzip" in err and str(packed) in err


def test_too_few_records_exit_2(watched: Watched, log_of: Callable[..., Path]) -> None:
    log = log_of(n=50)
    code, _, err = monitor(watched.repo, "--logs", str(log))
    assert code == 2 and "Only 50 logged predictions" in err and "monitor.min_records" in err


@pytest.mark.parametrize(
    ("line", "problem"),
    [
        (
            '{"level": "info", "msg": "started"}\n',
            "has no `schema` field: it is not a lastmile prediction log",
        ),
        ('{"schema": "other/2", "x": 1}\n', 'has schema "other/2"'),
        ("a,b\n", "is not valid JSON"),
        ("[1, 2]\n", "is a JSON list, not an object"),
    ],
)
def test_foreign_logs_exit_2_naming_file_and_line(
    watched: Watched, log_of: Callable[..., Path], line: str, problem: str
) -> None:
    log = log_of(n=300)
    lines = _lines(log)
    lines.insert(120, line)
    log.write_text("".join(lines))
    code, _, err = monitor(watched.repo, "--logs", str(log))
    assert code == 2, err
    assert f"{log}, line 121: the line {problem}" in err


def test_a_log_of_another_model_exits_2_and_a_mixed_one_is_judged_on_the_profiles_model(
    watched: Watched, log_of: Callable[..., Path], tmp_path: Path
) -> None:
    """After a deploy the log holds the old model's records: they are not compared with this profile."""
    log = log_of(n=500)
    lines = [json.loads(line) for line in _lines(log)]
    for entry in lines[:300]:
        entry["model_version"] = "0.0.1+older"
    log.write_text("".join(json.dumps(entry) + "\n" for entry in lines))
    code, out, err = monitor(watched.repo, "--logs", str(log), "--out", str(tmp_path / "out"))
    if fair_resample(watched, 500):
        assert code == 0, err
        assert out.startswith("OK: no drift in 200 logged records")
    else:
        assert code in (0, 1), err  # a verdict either way: see `fair_resample`
        assert out.startswith(("OK: no drift in 200 logged records", "DRIFT in 200 logged records"))
    assert "Left out: 300 records of other model versions (0.0.1+older (300))" in out.splitlines()[0]
    report = json.loads((tmp_path / "out/monitor.json").read_text())
    assert report["other_model_versions_left_out"] == {"0.0.1+older": 300}
    assert report["model_versions"] == {watched.metadata.model_version: 200}

    log.write_text("".join(json.dumps({**entry, "model_version": "0.0.1+older"}) + "\n" for entry in lines))
    code, _, err = monitor(watched.repo, "--logs", str(log))
    assert code == 2
    assert f"The prediction log at {log} holds predictions of model version 0.0.1+older (500 records)" in err
    assert f"none of {watched.metadata.model_version}" in err and "--profile" in err


def test_mistyped_values_exit_2(watched: Watched, log_of: Callable[..., Path]) -> None:
    log = log_of(n=300)
    lines = _lines(log)
    entry = json.loads(lines[9])
    feature = watched.params.features.numeric[0]
    entry["record"][feature] = "forty"
    lines[9] = json.dumps(entry) + "\n"
    log.write_text("".join(lines))
    code, _, err = monitor(watched.repo, "--logs", str(log))
    assert code == 2
    assert f'line 10: the line has `record.{feature}` "forty", not a number' in err


# ---- sensitive columns the service hashed or dropped


@pytest.mark.parametrize("mode", ["hash", "drop"])
def test_hashed_or_dropped_columns_are_not_drift_or_contract_breaks(
    watched: Watched, tmp_path: Path, mode: str
) -> None:
    """Normal traffic through the service's own log writer, sensitive columns hidden: no false alarm."""
    features = watched.params.features
    # The project's sensitive features, and a numeric one (a hashed number is text in the log).
    hidden = sorted({*features.sensitive, features.numeric[0]})
    frame = watched.held_out.sample(n=800, replace=True, random_state=11).reset_index(drop=True)
    record = record_model(watched.contract, features.all, watched.params.target.column)
    records = [
        record.model_validate({k: json_value(v) for k, v in row.items()})
        for row in frame[features.all].to_dict("records")
    ]
    probability = watched.score(frame)
    predictions = [
        Prediction(label=watched.params.target.positive if p >= 0.5 else "other", probability=float(p))
        for p in probability
    ]
    sink = RotatingFileSink(tmp_path / "logs", "predictions.jsonl", max_bytes=1 << 30, backups=1)
    log = PredictionLog(
        sink,
        model_version=watched.metadata.model_version,
        sensitive=hidden,
        sensitive_mode=mode,  # type: ignore[arg-type]
        hash_key="a secret",
    )
    for start in range(0, len(records), 100):
        log.submit(
            Scored(f"r{start}", utc_now(), records[start : start + 100], predictions[start : start + 100])
        )
    log.close()

    code, out, err = monitor(watched.repo, "--logs", str(tmp_path / "logs"), "--out", str(tmp_path / "out"))
    report = json.loads((tmp_path / "out/monitor.json").read_text())
    if fair_resample(watched, 800):
        assert code == 0, out + err
        assert out.startswith("OK: no drift in 800 logged records")
    else:
        assert code in (0, 1), out + err
        # A hidden column never alarms on its values, whatever the others do; its missing rate is
        # compared (missing stays missing), and on a resample of a few rows it may differ.
        drifted = {c["feature"] for c in report["checks"] if c["drift"] and c["test"] != "missing rate"}
        assert not drifted & set(hidden)
    assert report["contract"]["invalid_records"] == 0
    reason = "hashed in the log" if mode == "hash" else "dropped from the log"
    assert set(report["not_monitored"]) == set(hidden)
    assert all(why.startswith(reason) for why in report["not_monitored"].values())
    tests = {(c["feature"], c["test"]) for c in report["checks"] if c["feature"] in hidden}
    # Hashed: equal values stay equal, but the shares cannot be matched to training's; missing is missing.
    assert tests == ({(name, "missing rate") for name in hidden} if mode == "hash" else set())
    markdown = (tmp_path / "out/monitor.md").read_text()
    assert all(f"{name}: not monitored: {reason}" in markdown for name in hidden)
