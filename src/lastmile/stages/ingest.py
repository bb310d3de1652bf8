"""Stage `ingest`: read `data.source`, normalise it, write a typed table and a data summary."""

from __future__ import annotations

import logging
from pathlib import Path

import pandas as pd

from lastmile import artifacts, paths
from lastmile.artifacts import DataSummary
from lastmile.data import frame_hash, infer_types, read_source, typed_label, write_table
from lastmile.errors import LastmileError, quoted, shorten
from lastmile.files import DIGITS
from lastmile.params import Params, TargetParams

log = logging.getLogger(__name__)


def run(params: Params, out: Path = paths.RAW_TABLE, summary: Path = paths.DATA_SUMMARY) -> DataSummary:
    source = params.data.source
    log.info("ingest: reading %s", source)
    frame = read_source(source, na_values=params.data.na_values, comment_prefix=params.data.comment_prefix)
    target = params.target.column
    if target not in frame.columns:
        raise LastmileError(
            f"The target column '{shorten(target)}' (params.yaml `target.column`) is not in "
            f"{shorten(source)}; its columns are {quoted(frame.columns, limit=30)}."
        )
    frame = infer_types(frame)
    if params.data.label_suffix and not pd.api.types.is_numeric_dtype(frame[target]):
        frame[target] = frame[target].str.removesuffix(params.data.label_suffix)
    positive = typed_label(params.target.positive, frame[target], target)

    counts = frame[target].value_counts(dropna=False)
    data_summary = DataSummary(
        source=source,
        rows=len(frame),
        columns=len(frame.columns),
        missing_cells=int(frame.isna().sum().sum()),
        positive_rate=round(float((frame[target] == positive).mean()), DIGITS),
        class_counts={str(k): int(v) for k, v in counts.items()},
        data_hash=frame_hash(frame),
        target=TargetParams(column=target, positive=positive),
        column_names=[str(name) for name in frame.columns],
    )
    write_table(out, frame)
    artifacts.write(summary, data_summary)
    log.info("ingest: %d rows x %d columns -> %s", len(frame), len(frame.columns), out)
    return data_summary
