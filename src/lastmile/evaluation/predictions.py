"""`reports/predictions.csv`: one row per test row, `row_id,actual,probability`.

Written by the evaluate stage, read back (from a directory or another commit) to compare two
models on the same test rows (`lastmile.evaluation.bootstrap`).
"""

from __future__ import annotations

import io

import numpy as np
import pandas as pd

from lastmile.errors import LastmileError

COLUMNS = ["row_id", "actual", "probability"]
# Finer than the metrics' DIGITS: a confident model's probabilities crowd within 1e-6 of 0 and 1, where
# 6 digits would tie them and the ROC AUC recomputed from this file (the PR's paired bootstrap)
# would drift from metrics.json's (0.9903 against 0.9906 on scikit-learn's breast cancer data).
PROBABILITY_DIGITS = 12


def row_ids(table: pd.DataFrame) -> pd.Series:
    """A content hash per row, plus an occurrence number for repeated rows.

    The same split gives the same ids whatever the model, and a changed split gives other ids,
    so two prediction files pair up row by row only when they scored the same rows.
    """
    digest = pd.util.hash_pandas_object(table, index=False).map("{:016x}".format)
    occurrence = digest.groupby(digest).cumcount().astype(str)
    return (digest + "-" + occurrence).reset_index(drop=True)


def build(table: pd.DataFrame, y_true: np.ndarray, proba: np.ndarray) -> pd.DataFrame:
    """The predictions frame of the scored `table` (`y_true` is 1 for the positive label)."""
    return pd.DataFrame(
        {"row_id": row_ids(table), "actual": y_true, "probability": proba.round(PROBABILITY_DIGITS)}
    )


def parse(text: str, source: str) -> pd.DataFrame:
    """Read a predictions CSV, checking its columns and values; `source` names it in errors."""
    try:
        frame = pd.read_csv(io.StringIO(text), dtype={"row_id": str})
    except (pd.errors.ParserError, pd.errors.EmptyDataError) as exc:
        raise LastmileError(f"{source} is not a readable predictions CSV: {exc}") from exc
    missing = [c for c in COLUMNS if c not in frame.columns]
    if missing:
        raise LastmileError(f"{source} lacks column(s) {missing}; expected {','.join(COLUMNS)}.")
    actual = pd.to_numeric(frame["actual"], errors="coerce")
    probability = pd.to_numeric(frame["probability"], errors="coerce")
    if not actual.isin([0, 1]).all() or not probability.between(0, 1).all() or frame["row_id"].isna().any():
        raise LastmileError(
            f"{source} holds invalid rows: `actual` must be 0 or 1, `probability` within [0, 1], "
            "`row_id` set. Re-run `dvc repro` to rewrite it."
        )
    if frame["row_id"].duplicated().any():
        raise LastmileError(f"{source} repeats row ids: re-run `dvc repro` to rewrite it.")
    return pd.DataFrame(
        {"row_id": frame["row_id"], "actual": actual.astype(int), "probability": probability.astype(float)}
    )
