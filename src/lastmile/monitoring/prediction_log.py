"""The prediction log: one JSON line per scored record, written off the request path.

Each line (format `lastmile.prediction/1`, read by the drift monitor; keep it stable):

    {"schema": "lastmile.prediction/1", "request_id": "...", "time": "2026-11-30T16:00:00.123+00:00",
     "model_version": "...", "record": {...columns as received...}, "probability": 0.12, "label": "...",
     "redacted": {"sex": "hash", ...}}

`redacted` is there only when sensitive columns are hashed or dropped: it tells the monitor which
columns it cannot compare with the training data.

A request hands its records to a bounded queue and returns; one background thread turns them into
lines and writes them to the sink (a size-rotated file, or stdout for a log collector). A full
queue or a failing sink drops the lines: the drop is counted (`on_drop`) and logged at most once a
minute, never raised, so logging can neither fail nor stall a request.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import logging
import os
import queue
import sys
import threading
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, BinaryIO, Literal, Protocol

from pydantic import BaseModel, Field, ValidationError, model_validator

from lastmile.errors import LastmileError
from lastmile.params import Label

SCHEMA = "lastmile.prediction/1"
# Why lines are dropped: the queue was full, or the sink failed (full disk, closed pipe, ...).
DROP_REASONS = ("queue_full", "sink_error")
log = logging.getLogger("lastmile.prediction_log")


class PredictionLogError(LastmileError):
    """The prediction log's settings are unusable."""


class LogSettings(BaseModel):
    """Where and how predictions are logged; read from LASTMILE_PREDICTION_LOG_* variables."""

    sink: Literal["file", "stdout", "off"] = "file"
    # Relative to the server's working directory: the bento's folder, where the Deployment mounts it.
    directory: Path = Path("monitoring")
    file_name: str = "predictions.jsonl"
    max_bytes: int = Field(default=100 << 20, ge=1 << 10)
    backups: int = Field(default=5, ge=0)
    # Records waiting to be written; past this, new ones are dropped (and counted).
    queue_records: int = Field(default=100_000, ge=1)
    sensitive: Literal["keep", "hash", "drop"] = "keep"
    # HMAC key for `sensitive=hash`: a plain hash of a column with a handful of values is reversible.
    hash_key: str = ""

    @model_validator(mode="after")
    def _hash_needs_a_key(self) -> LogSettings:
        if self.sensitive == "hash" and not self.hash_key:
            raise ValueError(
                "LASTMILE_PREDICTION_LOG_SENSITIVE=hash needs LASTMILE_PREDICTION_LOG_HASH_KEY (a secret): "
                "without one, a column with few values is reversed by hashing each value"
            )
        return self

    @classmethod
    def from_env(cls, environ: Mapping[str, str] = os.environ) -> LogSettings:
        """The settings from the environment variables in ENVIRONMENT; unset ones keep their default."""
        raw = {field: environ[variable] for variable, field in ENVIRONMENT.items() if variable in environ}
        try:
            return cls.model_validate(raw)
        except ValidationError as exc:
            variables = {field: variable for variable, field in ENVIRONMENT.items()}
            problems = "; ".join(
                f"{variables[str(e['loc'][0])]}: {e['msg']}"
                if e["loc"]
                else str(e["msg"]).removeprefix("Value error, ")
                for e in exc.errors(include_url=False)
            )
            raise PredictionLogError(f"Prediction log settings are invalid: {problems}.") from None


ENVIRONMENT = {
    "LASTMILE_PREDICTION_LOG": "sink",
    "LASTMILE_PREDICTION_LOG_DIR": "directory",
    "LASTMILE_PREDICTION_LOG_FILE": "file_name",
    "LASTMILE_PREDICTION_LOG_MAX_BYTES": "max_bytes",
    "LASTMILE_PREDICTION_LOG_BACKUPS": "backups",
    "LASTMILE_PREDICTION_LOG_QUEUE_RECORDS": "queue_records",
    "LASTMILE_PREDICTION_LOG_SENSITIVE": "sensitive",
    "LASTMILE_PREDICTION_LOG_HASH_KEY": "hash_key",
}


class Sink(Protocol):
    def write(self, text: str) -> None: ...

    def close(self) -> None: ...


class StdoutSink:
    """Lines on standard output, for a log collector (Fluent Bit, Vector) reading the container's."""

    def write(self, text: str) -> None:
        sys.stdout.write(text)
        sys.stdout.flush()

    def close(self) -> None:
        sys.stdout.flush()


class RotatingFileSink:
    """`<directory>/<name>`, rotated to `<name>.1` ... `<name>.<backups>` past `max_bytes`.

    Rotation happens between writes, so a line is never split across two files.
    """

    def __init__(self, directory: Path, name: str, max_bytes: int, backups: int) -> None:
        self.path = directory / name
        self.max_bytes = max_bytes
        self.backups = backups
        self._file: BinaryIO | None = None
        self._size = 0

    def _open(self) -> BinaryIO:
        if self._file is None:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            self._file = self.path.open("ab")
            self._size = os.fstat(self._file.fileno()).st_size
        return self._file

    def _rotate(self) -> None:
        self.close()
        if self.backups == 0:
            self.path.unlink(missing_ok=True)
            return
        for index in range(self.backups - 1, 0, -1):
            older = self.path.with_name(f"{self.path.name}.{index}")
            if older.exists():
                older.replace(self.path.with_name(f"{self.path.name}.{index + 1}"))
        self.path.replace(self.path.with_name(f"{self.path.name}.1"))

    def write(self, text: str) -> None:
        data = text.encode()
        file = self._open()
        if self._size > 0 and self._size + len(data) > self.max_bytes:
            self._rotate()
            file = self._open()
        file.write(data)
        file.flush()
        self._size += len(data)

    def close(self) -> None:
        if self._file is not None:
            file, self._file = self._file, None
            file.close()


def make_sink(settings: LogSettings) -> Sink | None:
    if settings.sink == "off":
        return None
    if settings.sink == "stdout":
        return StdoutSink()
    return RotatingFileSink(settings.directory, settings.file_name, settings.max_bytes, settings.backups)


class Outcome(Protocol):
    @property
    def probability(self) -> float: ...

    @property
    def label(self) -> Label: ...


@dataclass(frozen=True)
class Scored:
    """One request's records and predictions, handed over as they are: the writer serialises them."""

    request_id: str
    time: datetime
    records: Sequence[BaseModel]
    predictions: Sequence[Outcome]


class _Stop:
    pass


class PredictionLog:
    """The bounded queue and its writer thread. `submit` never blocks and never raises."""

    # At most one warning about dropped lines per this many seconds (with the counts since the last).
    WARN_EVERY_S = 60.0
    # The writer pauses this long after each round of writes, and takes at most this many requests a round.
    GATHER_S = 0.02
    WRITE_AT_MOST = 1000

    def __init__(
        self,
        sink: Sink,
        *,
        model_version: str,
        sensitive: Sequence[str] = (),
        sensitive_mode: Literal["keep", "hash", "drop"] = "keep",
        hash_key: str = "",
        queue_records: int = 100_000,
        on_drop: Callable[[str, int], None] = lambda reason, count: None,
    ) -> None:
        self.sink = sink
        self.model_version = model_version
        self.sensitive = frozenset(sensitive) if sensitive_mode != "keep" else frozenset()
        self.sensitive_mode = sensitive_mode
        self._hash_key = hash_key.encode()
        # Written on every line, so that any file (or a part of one) says what it holds.
        self._redacted = (
            ',"redacted":'
            + json.dumps(dict.fromkeys(sorted(self.sensitive), sensitive_mode), separators=(",", ":"))
            if self.sensitive
            else ""
        )
        self.queue_records = queue_records
        self.on_drop = on_drop
        self._queue: queue.SimpleQueue[Scored | _Stop] = queue.SimpleQueue()
        self._pending = 0
        self._lock = threading.Lock()
        self._unreported: dict[str, int] = {}
        self._last_warning = 0.0
        self._thread = threading.Thread(target=self._run, name="prediction-log", daemon=True)
        self._thread.start()

    @property
    def pending(self) -> int:
        """Records queued and not yet taken by the writer."""
        with self._lock:
            return self._pending

    def submit(self, scored: Scored) -> None:
        """Queue one request's records, or drop them (counted) if the queue is full."""
        count = len(scored.records)
        with self._lock:
            room = self._pending + count <= self.queue_records
            if room:
                self._pending += count
        if room:
            self._queue.put(scored)
        else:
            self._dropped("queue_full", count)

    def close(self, timeout: float = 10.0) -> None:
        """Write what is queued (within `timeout`), then stop the writer and close the sink."""
        self._queue.put(_Stop())
        self._thread.join(timeout)

    def _dropped(self, reason: str, count: int) -> None:
        self.on_drop(reason, count)
        with self._lock:
            self._unreported[reason] = self._unreported.get(reason, 0) + count
            now = time.monotonic()
            if now - self._last_warning < self.WARN_EVERY_S:
                return
            self._last_warning = now
            counts, self._unreported = self._unreported, {}
        log.warning(
            "prediction log: dropped %s record(s) since the last report (see /metrics)",
            ", ".join(f"{n} ({why})" for why, n in sorted(counts.items())),
        )

    def _column(self, value: Any) -> Any:
        if value is None:
            return None
        digest = hmac.new(self._hash_key, str(value).encode(), hashlib.sha256).hexdigest()
        return f"hmac-sha256:{digest[:32]}"

    def _record(self, model: BaseModel) -> str:
        """The columns the client sent (not the defaults), as JSON; sensitive ones hashed or dropped."""
        if not self.sensitive:
            # pydantic's serialiser: several times faster than a dict through json.dumps (the writer
            # shares the server's core).
            return model.model_dump_json(exclude_unset=True)
        if self.sensitive_mode == "drop":
            return model.model_dump_json(exclude_unset=True, exclude=set(self.sensitive))
        record = model.model_dump(mode="json", exclude_unset=True)
        hashed = {k: self._column(v) if k in self.sensitive else v for k, v in record.items()}
        return json.dumps(hashed, separators=(",", ":"), allow_nan=False)

    def lines(self, scored: Scored) -> str:
        """The JSON lines for one request's records, fields in the documented order."""
        head = (
            f'{{"schema":"{SCHEMA}","request_id":{json.dumps(scored.request_id)},'
            f'"time":"{scored.time.isoformat(timespec="milliseconds")}",'
            f'"model_version":{json.dumps(self.model_version)},"record":'
        )
        return "".join(
            f"{head}{self._record(record)},"
            f'"probability":{json.dumps(float(prediction.probability), allow_nan=False)},'
            f'"label":{json.dumps(prediction.label)}{self._redacted}}}\n'
            for record, prediction in zip(scored.records, scored.predictions, strict=True)
        )

    def _take(self) -> tuple[list[Scored], bool]:
        """The requests waiting (at least one, blocking until there is one), and whether to stop."""
        items = [self._queue.get()]
        while len(items) < self.WRITE_AT_MOST:
            try:
                items.append(self._queue.get_nowait())
            except queue.Empty:
                break
        taken = [item for item in items if isinstance(item, Scored)]
        with self._lock:
            self._pending -= sum(len(item.records) for item in taken)
        return taken, len(taken) < len(items)

    def _run(self) -> None:
        # All the requests waiting in one wake-up, then a pause to let more gather: at one record per
        # request, waking per request took the GIL from the server's event loop (on the same core)
        # hundreds of times a second. Still one write per request: the sink rotates between writes.
        while True:
            taken, stop = self._take()
            for item in taken:
                try:
                    self.sink.write(self.lines(item))
                except Exception:  # a full disk or a closed pipe: count it, keep serving
                    self._dropped("sink_error", len(item.records))
            if stop:
                self.sink.close()
                return
            time.sleep(self.GATHER_S)


def utc_now() -> datetime:
    return datetime.now(UTC)
