"""Reading the raw source, typing its columns and labels, and the tables the stages pass on.

Tables are written atomically (`lastmile.files`), so a failing stage never leaves a half-written one.
"""

from __future__ import annotations

import csv
import gzip
import hashlib
import io
import zlib
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from lastmile.contract import snake_case
from lastmile.errors import LastmileError, quoted
from lastmile.files import atomic_path
from lastmile.params import Label, LabelKind, label_as


class DataSourceError(LastmileError):
    """The raw source cannot be read as a table."""


def _read_text(source: str) -> str:
    import fsspec  # imported here: it pulls in aiohttp for URLs, which plain paths do not need

    try:
        with fsspec.open(source, mode="rb", compression="infer") as raw:
            data: bytes = raw.read()
    except FileNotFoundError as exc:
        if isinstance(exc.__cause__, OSError):  # fsspec's http backend wraps connection errors
            raise DataSourceError(
                f"Could not reach data source {source}: {exc.__cause__}. "
                "Check the URL and your network, or point `data.source` at a local copy."
            ) from exc
        raise DataSourceError(
            f"Data source not found: {source}. Check `data.source` in params.yaml "
            "(a path relative to the project root, or a URL)."
        ) from exc
    except (EOFError, gzip.BadGzipFile, zlib.error) as exc:
        raise DataSourceError(
            f"Data source {source} is not a complete gzip file ({exc}): "
            "it was probably truncated while copying or downloading. Fetch it again."
        ) from exc
    except (OSError, ValueError, ImportError) as exc:
        raise DataSourceError(f"Could not read data source {source}: {exc}") from exc
    except Exception as exc:  # fsspec backends raise their own types (aiohttp, botocore, ...)
        raise DataSourceError(
            f"Could not reach data source {source}: {type(exc).__name__}: {exc}. "
            "Check the URL and your network, or point `data.source` at a local copy."
        ) from exc
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError as exc:
        line = data.count(b"\n", 0, exc.start) + 1
        raise DataSourceError(
            f"Data source {source} is not UTF-8 text: byte 0x{data[exc.start]:02x} at line {line} "
            f"(byte offset {exc.start}). Re-save the file as UTF-8."
        ) from exc


def read_source(
    source: str,
    *,
    na_values: list[str],
    comment_prefix: str | None = None,
) -> pd.DataFrame:
    """Read a CSV with a header row into a table of strings (missing cells as NA).

    Types are inferred later (`infer_types`) so that a stray word in a numeric column
    reaches validation, which can name its row, instead of failing here.
    """
    text = _read_text(source)
    # The substring test is a fast no-op for a file without comments (most, at any size).
    if comment_prefix and comment_prefix in text:
        text = "".join(line for line in text.splitlines(keepends=True) if not line.startswith(comment_prefix))
    if not text.strip():
        raise DataSourceError(f"Data source {source} is empty: expected a CSV with a header row.")
    header = next(csv.reader([text.lstrip().split("\n", 1)[0]]))
    names = [snake_case(name) for name in header]
    repeated = sorted({name for name in names if names.count(name) > 1})
    if repeated:
        raise DataSourceError(f"Data source {source} repeats the column(s) {quoted(repeated)} in its header.")
    try:
        frame = pd.read_csv(
            io.StringIO(text),
            header=0,
            names=names,
            dtype=str,
            keep_default_na=False,
            na_values=[*na_values, ""],
            skipinitialspace=True,
            skip_blank_lines=True,
        )
    except pd.errors.ParserError as exc:
        raise DataSourceError(f"Data source {source} is not a well-formed CSV: {exc}") from exc
    if not isinstance(frame.index, pd.RangeIndex):
        # pandas takes the extra leading fields of such rows as an index: every value would shift.
        raise DataSourceError(
            f"Data source {source} is not a well-formed CSV: its header names {len(names)} columns but "
            f"its data rows have {len(names) + frame.index.nlevels} fields (from line 2). Quote values "
            "that hold a comma, and drop a comma at the end of each line."
        )
    if frame.empty:
        raise DataSourceError(f"Data source {source} has a header row but no data rows: nothing to train on.")
    return frame


def _numbers(column: pd.Series) -> pd.Series | None:
    """The column as numbers if every present value parses as one, else None.

    Arrow's parser decides (about 50x faster than `pd.to_numeric` on text); it reads the same
    forms (`+5`, `1e3`, `inf`) and refuses a single stray word, so the column stays text.
    """
    import pyarrow as pa
    import pyarrow.compute as pc

    present = column.dropna()
    if present.empty:
        return None
    values = pa.array(present)
    try:
        parsed = pc.cast(values, pa.float64())
    except (pa.ArrowInvalid, pa.ArrowNotImplementedError):
        return None
    numbers = pd.Series(parsed.to_numpy(zero_copy_only=False), index=present.index).reindex(column.index)
    whole = numbers.dropna()
    return numbers.astype("Int64") if (whole == whole.round()).all() else numbers


def infer_types(frame: pd.DataFrame) -> pd.DataFrame:
    """Turn columns whose every value is a number into numbers; leave the rest as text."""
    out = {}
    for name, column in frame.items():
        stripped = column.str.strip()
        numbers = _numbers(stripped)
        out[name] = stripped if numbers is None else numbers
    return pd.DataFrame(out, index=frame.index)


def native(value: Any) -> Any:
    """A numpy scalar as the plain Python value (JSON-serialisable); anything else unchanged."""
    return value.item() if isinstance(value, np.generic) else value


def _label_kind(labels: pd.Series) -> LabelKind:
    if pd.api.types.is_bool_dtype(labels):
        return "boolean"
    if pd.api.types.is_integer_dtype(labels):
        return "integer"
    if pd.api.types.is_numeric_dtype(labels):
        return "number"
    return "text"


def typed_label(value: Label, labels: pd.Series, column: str) -> Label:
    """`value` (params.yaml `target.positive`) as the type of the labels in `column`
    (`lastmile.params.label_as`); a boolean written as text takes the data's own spelling."""
    kind = _label_kind(labels)
    spellings = labels.dropna().unique() if kind == "text" and isinstance(value, bool) else ()
    return label_as(value, kind, column, [str(label) for label in spellings])


def frame_hash(frame: pd.DataFrame) -> str:
    """A content hash of a table (values, column names and order), stable across runs."""
    digest = hashlib.sha256(",".join(map(str, frame.columns)).encode())
    digest.update(pd.util.hash_pandas_object(frame, index=False).to_numpy().tobytes())
    return digest.hexdigest()


def write_table(path: Path, frame: pd.DataFrame) -> None:
    with atomic_path(path) as tmp:
        frame.to_parquet(tmp, index=False)


def read_table(path: Path) -> pd.DataFrame:
    try:
        return pd.read_parquet(path)
    except FileNotFoundError as exc:
        raise LastmileError(f"{path} not found: run the earlier pipeline stages (`dvc repro`).") from exc


def one_against_the_rest(labels: pd.Series, positive: Label, column: str) -> pd.Series:
    """The labels the model learns: the positive label against every other one.

    A target with more than two labels (species Adelie, Chinstrap, Gentoo) is learned as the positive
    label against `"not <positive>"`, one class: the model, its explanations and its answers stay
    binary, as every metric, gate and report assumes (docs/your-data.md).
    """
    others = sorted({native(label) for label in labels.dropna().unique()} - {positive}, key=str)
    if len(others) <= 1:
        return labels
    if not isinstance(positive, str):
        raise LastmileError(
            f"The target column '{column}' has {len(others) + 1} whole-number labels "
            f"({[positive, *others]}): "
            f'Lastmile learns one label against the others, answered as the text "not {positive}", so '
            f"declare the target as text in contract.yaml (`{{kind: category, values: [...]}}`)."
        )
    return labels.where(labels == positive, f"not {positive}")
