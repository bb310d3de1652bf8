"""Synthetic traffic for the drift demo, the drift-power tests and the monitor benchmark.

Shifted records stay valid under the data contract (integers stay whole, numbers within their
range), as traffic the service accepted would be. `log_lines` writes records in the prediction
log format (`lastmile.prediction/1`).
"""

from __future__ import annotations

import json
import math
from collections.abc import Iterator, Sequence
from datetime import UTC, datetime, timedelta
from typing import Any

import numpy as np
import pandas as pd

from lastmile.contract import ColumnSpec
from lastmile.monitoring.logs import LOG_SCHEMA
from lastmile.params import Label


def shift_numeric(
    frame: pd.DataFrame, feature: str, spec: ColumnSpec, rng: np.random.Generator, sds: float = 0.5
) -> pd.DataFrame:
    """Move a numeric feature up by `sds` of its standard deviation (integers rounded at random)."""
    values = frame[feature].to_numpy(dtype=float, na_value=np.nan)
    return _with_values(frame, feature, spec, rng, values + sds * float(np.nanstd(values, ddof=1)))


def widen_numeric(
    frame: pd.DataFrame, feature: str, spec: ColumnSpec, rng: np.random.Generator, factor: float = 2.0
) -> pd.DataFrame:
    """Spread a numeric feature around its mean by `factor` (its standard deviation times `factor`)."""
    values = frame[feature].to_numpy(dtype=float, na_value=np.nan)
    mean = float(np.nanmean(values))
    return _with_values(frame, feature, spec, rng, mean + factor * (values - mean))


def _with_values(
    frame: pd.DataFrame, feature: str, spec: ColumnSpec, rng: np.random.Generator, moved: np.ndarray
) -> pd.DataFrame:
    """The frame with the feature's new values, kept valid: integers rounded at random, range clipped."""
    if spec.kind == "integer":
        low = np.floor(moved)
        moved = low + (rng.random(moved.size) < (moved - low))
    if spec.min is not None or spec.max is not None:
        moved = np.clip(moved, spec.min, spec.max)
    out = frame.copy()
    out[feature] = pd.Series(moved, index=frame.index).astype(frame[feature].dtype)
    return out


def shift_category(
    frame: pd.DataFrame, feature: str, rng: np.random.Generator, points: float = 0.2
) -> tuple[pd.DataFrame, str]:
    """Change the share of the feature's most frequent value by `points` (down if it can, else up)."""
    present = frame[feature].dropna()
    shares = present.value_counts(normalize=True)
    top = str(shares.index[0])
    out = frame.copy()
    column = out[feature].astype(object)
    if shares.iloc[0] >= points:
        rows = np.flatnonzero((column == top).to_numpy())
        moved = rng.choice(rows, size=round(points * len(present)), replace=False)
        others = present[present != top].to_numpy()
        column.iloc[moved] = rng.choice(others, size=moved.size)
    else:
        rows = np.flatnonzero((column.notna() & (column != top)).to_numpy())
        moved = rng.choice(rows, size=round(points * len(present)), replace=False)
        column.iloc[moved] = top
    out[feature] = column.astype(frame[feature].dtype)
    return out, top


def raise_missing(
    frame: pd.DataFrame, feature: str, rng: np.random.Generator, rate: float = 0.3
) -> pd.DataFrame:
    """Blank values of a feature until `rate` of its rows are missing."""
    out = frame.copy()
    present = np.flatnonzero(out[feature].notna().to_numpy())
    wanted = round(rate * len(out)) - (len(out) - present.size)
    if wanted > 0:
        out.loc[out.index[rng.choice(present, size=wanted, replace=False)], feature] = None
    return out


def shift_scores(probability: np.ndarray, sds: float = 0.5) -> np.ndarray:
    """Move probabilities up by `sds` standard deviations of their log-odds (as a changed model would)."""
    clipped = np.clip(probability, 1e-6, 1 - 1e-6)
    logit = np.log(clipped / (1 - clipped))
    return np.asarray(1 / (1 + np.exp(-(logit + sds * logit.std()))))


def json_value(value: Any) -> Any:
    """A table cell as JSON has it: missing as None, NumPy numbers as Python ones."""
    if value is None or (isinstance(value, float) and math.isnan(value)) or value is pd.NA:
        return None
    if isinstance(value, np.integer):
        return int(value)
    if isinstance(value, np.floating):
        return float(value)
    return value


def log_lines(
    records: Sequence[dict[str, Any]],
    probability: Sequence[float],
    labels: Sequence[Label],
    model_version: str,
    start: datetime | None = None,
    step: timedelta = timedelta(seconds=1),
) -> Iterator[str]:
    """Prediction log lines (`lastmile.prediction/1`), `step` apart from `start`."""
    start = start or datetime(2026, 1, 1, tzinfo=UTC)
    for index, (record, p, label) in enumerate(zip(records, probability, labels, strict=True)):
        entry = {
            "schema": LOG_SCHEMA,
            "request_id": f"synthetic-{index}",
            "time": (start + index * step).isoformat(),
            "model_version": model_version,
            "record": {name: json_value(value) for name, value in record.items()},
            "probability": float(p),
            "label": label,  # the JSON type the service answers with (1, "yes", true)
        }
        yield json.dumps(entry) + "\n"
