"""Reading prediction logs column-wise and streaming: one Arrow record batch at a time.

A log is JSON lines, one per scored record, in the format `lastmile.prediction/1`:
`{"schema", "request_id", "time", "model_version", "record": {...}, "probability", "label"}`.
It is a file or a folder of them (`*.jsonl`, rotated `*.jsonl.1`, ..., each possibly `.gz`),
on a local path or any fsspec URL. Arrow's JSON reader parses blocks of lines into typed columns,
so memory depends on the block size, not on the size of the log.

Anything that is not such a log (empty, cut off, another program's JSON, a different file) is an
`UnusableLogError` naming the file and the first offending line: the fast reader only says that
a block failed, so the file is then re-read line by line to find and explain the first problem.
"""

from __future__ import annotations

import gzip
import json
import queue
import re
import threading
import zlib
from collections.abc import Generator, Iterable, Iterator, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import IO, Any, TypeVar

import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.json as pj

from lastmile.errors import LastmileError

LOG_SCHEMA = "lastmile.prediction/1"
# How the service's log settings hide a sensitive column (`redacted` in a line).
REDACTIONS = ("hash", "drop")
# Arrow parses this much text per batch (about 4,000 logged records of ~490 bytes). Measured on
# 1,000,000 records: 1 MiB blocks cost about 1 CPU second more (per-batch overhead), 4 MiB ones
# about 100 MB more peak memory (Arrow reads ahead), for no further gain.
BLOCK_BYTES = 2 << 20
_LOG_NAME = re.compile(r"\.jsonl(?:\.(\d+))?(?:\.gz)?$")
_SHOWN = 120
# Parsed batches waiting for the consumer when reading ahead (about 4 MB each at most).
READ_AHEAD_BATCHES = 4
_T = TypeVar("_T")


class UnusableLogError(LastmileError):
    """The prediction log cannot be read or judged: exit status 2, unlike drift (1)."""

    exit_code = 2


@dataclass(frozen=True)
class LogFile:
    url: str
    rotation: int  # 0 for the live file, N for `.jsonl.N`: older files first when sorted descending

    @property
    def compressed(self) -> bool:
        return self.url.endswith(".gz")


def _fs(location: str) -> tuple[Any, str]:
    import fsspec

    try:
        return fsspec.core.url_to_fs(location)  # type: ignore[no-any-return]
    except (ImportError, ValueError) as exc:
        raise UnusableLogError(f"Cannot open prediction logs at {location}: {exc}") from exc


def find_logs(location: str) -> list[LogFile]:
    """The log files at `location`, oldest first (rotated files before the live one)."""
    fs, path = _fs(location)
    try:
        if fs.isdir(path):
            names = [name for name in fs.find(path) if _LOG_NAME.search(name)]
            if not names:
                raise UnusableLogError(
                    f"No prediction logs in {location}: expected files named *.jsonl "
                    "(rotated: *.jsonl.1, *.jsonl.2, ...; gzip: *.gz)."
                )
        elif fs.isfile(path):
            names = [path]
        else:
            raise UnusableLogError(f"Prediction log not found: {location}.")
    except OSError as exc:
        raise UnusableLogError(f"Cannot list prediction logs at {location}: {exc}") from exc
    local = "file" in fs.protocol
    files = []
    for name in names:
        match = _LOG_NAME.search(name)
        rotation = int(match.group(1)) if match and match.group(1) else 0
        files.append(LogFile(url=name if local else fs.unstrip_protocol(name), rotation=rotation))
    return sorted(files, key=lambda f: (-f.rotation, f.url))


def redactions(file: LogFile) -> dict[str, str]:
    """The columns the service hashed or dropped in this file (`redacted` of its first record).

    Empty if it says nothing, or if the file is unreadable: reading it then names the problem.
    """
    try:
        with _open(file) as handle:
            for line in handle:
                if line.strip():
                    item = json.loads(line)
                    found = item.get("redacted") if isinstance(item, dict) else None
                    if not isinstance(found, dict):
                        return {}
                    return {str(name): how for name, how in found.items() if how in REDACTIONS}
    except (ValueError, OSError, EOFError, zlib.error):
        return {}
    return {}


def log_schema(
    numeric: list[str], categorical: list[str], redacted: dict[str, str] | None = None
) -> pa.Schema:
    """The columns the monitor reads; other fields (request_id, label, other columns) are skipped.

    A hashed column is read as text whatever its kind; a dropped one is not read.
    """
    redacted = redacted or {}
    kinds = [*((name, pa.float64()) for name in numeric), *((name, pa.string()) for name in categorical)]
    record = pa.struct(
        [
            (name, pa.string() if redacted.get(name) == "hash" else kind)
            for name, kind in kinds
            if redacted.get(name) != "drop"
        ]
    )
    return pa.schema(
        [
            ("schema", pa.string()),
            ("time", pa.timestamp("us", tz="UTC")),
            ("model_version", pa.string()),
            ("record", record),
            ("probability", pa.float64()),
        ]
    )


def _open(file: LogFile) -> IO[bytes]:
    import fsspec

    handle: IO[bytes] = fsspec.open(
        file.url, mode="rb", compression="gzip" if file.compressed else None
    ).open()
    return handle


def _bad_rows(batch: pa.RecordBatch) -> pa.Array:
    """Rows that parse but are not a prediction of this format: foreign schema, no time, bad score."""
    probability = batch.column("probability")
    return pc.or_kleene(
        pc.or_kleene(
            pc.invert(pc.fill_null(pc.equal(batch.column("schema"), LOG_SCHEMA), False)),
            pc.is_null(batch.column("time")),
        ),
        pc.invert(
            pc.fill_null(pc.and_(pc.greater_equal(probability, 0.0), pc.less_equal(probability, 1.0)), False)
        ),
    )


def read_batches(file: LogFile, schema: pa.Schema) -> Iterator[pa.RecordBatch]:
    """The file's records as typed batches; an `UnusableLogError` at the first bad line."""
    try:
        with _open(file) as handle:
            reader = pj.open_json(
                handle,
                read_options=pj.ReadOptions(block_size=BLOCK_BYTES, use_threads=True),
                parse_options=pj.ParseOptions(explicit_schema=schema, unexpected_field_behavior="ignore"),
            )
            for batch in reader:
                if batch.num_rows and pc.any(_bad_rows(batch)).as_py():
                    raise _NotAPredictionError
                yield batch
    except (_NotAPredictionError, pa.ArrowInvalid, OSError, EOFError, zlib.error, UnicodeDecodeError) as exc:
        problem = _diagnose(file, schema, exc)
        if problem is not None:
            raise problem from None


def read_ahead(
    sources: Sequence[Iterable[_T]], workers: int = 1, depth: int = READ_AHEAD_BATCHES
) -> Generator[_T, None, None]:
    """The items of `sources`, produced by `workers` background threads at most `depth` ahead.

    Arrow's streaming reader decodes a block in whichever thread asks for the next batch once its
    text has been read, so a consumer that folds each batch before asking again also does about
    half the parsing itself, serially. Pulling batches here from threads of their own lets the
    parsing (which releases the GIL) run beside the folding. With one worker the items come in
    order, source after source; with more, each worker takes the next source not yet taken, and
    the items of sources read at once interleave: for a consumer whose result does not depend on
    the order. An exception in a worker is raised in the consumer; a consumer that stops early
    stops the workers.
    """
    ready: queue.Queue[tuple[bool, Any]] = queue.Queue(maxsize=depth)
    stop = threading.Event()
    untaken = iter(sources)
    taking = threading.Lock()

    def offer(item: tuple[bool, Any]) -> bool:
        while not stop.is_set():
            try:
                ready.put(item, timeout=0.1)
                return True
            except queue.Full:
                continue
        return False

    def produce() -> None:
        try:
            while True:
                with taking:
                    source = next(untaken, None)
                if source is None:
                    break
                items = iter(source)
                try:
                    for item in items:
                        if not offer((False, item)):
                            return
                finally:
                    if isinstance(items, Generator):
                        items.close()  # its open file, now, in the thread that read it
        except BaseException as exc:  # handed to the consumer, raised there
            offer((True, exc))
            return
        offer((True, None))

    threads = [
        threading.Thread(target=produce, name=f"lastmile-log-reader-{n}", daemon=True)
        for n in range(max(1, min(workers, len(sources))))
    ]
    for thread in threads:
        thread.start()
    try:
        running = len(threads)
        while running:
            done, value = ready.get()
            if not done:
                yield value
            elif value is not None:
                raise value
            else:
                running -= 1
    finally:
        stop.set()
        for thread in threads:
            thread.join()


class _NotAPredictionError(Exception):
    """A batch parsed but holds a row that is not a prediction record; the diagnosis says which."""


def _describe(value: Any) -> str:
    text = json.dumps(value)
    return text if len(text) <= _SHOWN else text[:_SHOWN] + "..."


def _line_problem(line: bytes, schema: pa.Schema) -> str | None:
    """What is wrong with one line, in words; None if it is a valid prediction record."""
    try:
        item = json.loads(line)
    except (json.JSONDecodeError, UnicodeDecodeError) as exc:
        return f"is not valid JSON ({exc})"
    if not isinstance(item, dict):
        return f"is a JSON {type(item).__name__}, not an object"
    if item.get("schema") != LOG_SCHEMA:
        found = f"has schema {_describe(item['schema'])}" if "schema" in item else "has no `schema` field"
        return (
            f"{found}: it is not a lastmile prediction log record ({LOG_SCHEMA}), "
            f"its fields are {', '.join(list(item)[:8])}"
        )
    time = item.get("time")
    try:
        datetime.fromisoformat(str(time).replace("Z", "+00:00"))
    except ValueError:
        return f"has `time` {_describe(time)}, not an ISO 8601 timestamp"
    probability = item.get("probability")
    if isinstance(probability, bool) or not isinstance(probability, int | float) or not 0 <= probability <= 1:
        return f"has `probability` {_describe(probability)}, not a number between 0 and 1"
    record = item.get("record")
    if not isinstance(record, dict):
        return f"has `record` {_describe(record)}, not an object of feature values"
    record_type: pa.StructType = schema.field("record").type
    for index in range(record_type.num_fields):
        field = record_type.field(index)
        value = record.get(field.name)
        if value is None:
            continue
        numeric = pa.types.is_floating(field.type)
        if numeric and (isinstance(value, bool) or not isinstance(value, int | float)):
            return f"has `record.{field.name}` {_describe(value)}, not a number"
        if not numeric and not isinstance(value, str):
            return f"has `record.{field.name}` {_describe(value)}, not a string"
    version = item.get("model_version")
    if version is not None and not isinstance(version, str):
        return f"has `model_version` {_describe(version)}, not a string"
    return None


def _diagnose(file: LogFile, schema: pa.Schema, cause: BaseException) -> UnusableLogError | None:
    """Re-read the file line by line to name the first line that is not a prediction record.

    None if the file holds no records at all (blank lines only): an empty file is not an error.
    """
    number = 0
    records = 0
    try:
        with _open(file) as handle:
            for number, line in enumerate(handle, start=1):  # named in the gzip error
                if not line.strip():
                    continue
                records += 1
                problem = _line_problem(line, schema)
                if problem is not None:
                    cut = not line.endswith(b"\n") and problem.startswith("is not valid JSON")
                    hint = (
                        " The file ends in the middle of a record: it was truncated (copied while being "
                        "written, or cut off). Fetch it again, or remove the partial last line."
                        if cut
                        else ""
                    )
                    return UnusableLogError(f"{file.url}, line {number}: the line {problem}.{hint}")
    except (EOFError, zlib.error, gzip.BadGzipFile) as exc:
        return UnusableLogError(
            f"{file.url} is a truncated or corrupt gzip file after line {number} ({exc}): fetch it again."
        )
    except OSError as exc:
        return UnusableLogError(f"Cannot read {file.url}: {exc}")
    if records == 0:
        return None
    return UnusableLogError(f"{file.url} cannot be read as a prediction log ({LOG_SCHEMA}): {cause}")
