"""Metrics per slice of the test set, each with its row count, so that a small slice looks small.

A slice is a column that splits the rows into groups: every sensitive feature, every numeric column
cut into the bands declared in params.yaml (`evaluation.slices.bands`) and every
extra column listed in `evaluation.slices.columns`. Missing values form a group of their own.
"""

from __future__ import annotations

import math
from itertools import pairwise
from typing import Any

import numpy as np
import pandas as pd
from sklearn import metrics as skm

from lastmile.errors import LastmileError
from lastmile.files import DIGITS
from lastmile.params import SliceParams

MISSING = "(missing)"


def _edge(value: float) -> str:
    return str(int(value)) if float(value).is_integer() else f"{value:g}"


def band_labels(edges: list[float], integers: bool) -> list[str]:
    """[25, 35] -> ["<25", "25-34", "35+"] for integer values; ["<25", "25 to <35", "35+"] otherwise."""
    whole = integers and all(float(e).is_integer() for e in edges)
    middle = [
        f"{_edge(low)}-{_edge(high - 1)}" if whole else f"{_edge(low)} to <{_edge(high)}"
        for low, high in pairwise(edges)
    ]
    return [f"<{_edge(edges[0])}", *middle, f"{_edge(edges[-1])}+"]


def bands(values: pd.Series, edges: list[float]) -> pd.Series:
    """Each value's band label (lower edge included), in band order."""
    labels = band_labels(edges, integers=pd.api.types.is_integer_dtype(values))
    cut = pd.cut(
        pd.to_numeric(values, errors="coerce"), [-math.inf, *edges, math.inf], right=False, labels=labels
    )
    return cut.cat.add_categories([MISSING]).fillna(MISSING)


def groups(values: pd.Series) -> pd.Series:
    """Each value as a group label (text), missing values as their own group, largest group first."""
    labels = values.astype("string").fillna(MISSING).astype(str)
    order = labels.value_counts(sort=True).index.tolist()
    return pd.Series(pd.Categorical(labels, categories=order), index=values.index, name=values.name)


def slice_columns(table: pd.DataFrame, sensitive: list[str], params: SliceParams) -> dict[str, pd.Series]:
    """Slice name -> group label per row: sensitive features, then bands, then extra columns."""
    wanted = [*sensitive, *params.bands, *params.columns]
    missing = sorted({c for c in wanted if c not in table.columns})
    if missing:
        raise LastmileError(
            f"Slices name column(s) {missing} that the test table does not have: check "
            "`features.sensitive` and `evaluation.slices` in params.yaml."
        )
    not_numeric = sorted(c for c in params.bands if not pd.api.types.is_numeric_dtype(table[c]))
    if not_numeric:
        raise LastmileError(
            f"`evaluation.slices.bands` cuts column(s) {not_numeric} into numeric bands, but they are not "
            "numeric: list them under `evaluation.slices.columns` instead."
        )
    named: dict[str, pd.Series] = {column: groups(table[column]) for column in sensitive}
    named |= {column: bands(table[column], edges) for column, edges in params.bands.items()}
    for column in params.columns:
        named.setdefault(column, groups(table[column]))
    return named


def _rounded(value: float) -> float:
    return round(float(value), DIGITS)


def group_metrics(y_true: np.ndarray, proba: np.ndarray, predicted: np.ndarray) -> dict[str, float | None]:
    """The per-slice metrics; ROC AUC is None when the group holds only one class."""
    both_classes = len(np.unique(y_true)) == 2
    return {
        "accuracy": _rounded(skm.accuracy_score(y_true, predicted)),
        "precision": _rounded(skm.precision_score(y_true, predicted, zero_division=0)),
        "recall": _rounded(skm.recall_score(y_true, predicted, zero_division=0)),
        "f1": _rounded(skm.f1_score(y_true, predicted, zero_division=0)),
        "roc_auc": _rounded(skm.roc_auc_score(y_true, proba)) if both_classes else None,
        "selection_rate": _rounded(predicted.mean()),
    }


def slice_report(
    named: dict[str, pd.Series], y_true: np.ndarray, proba: np.ndarray, threshold: float
) -> dict[str, Any]:
    """`{"threshold": t, "slices": [{"slice", "group", "rows", "positive_rate", "metrics"}, ...]}`."""
    predicted = (proba >= threshold).astype(int)
    rows = []
    for name, labels in named.items():
        codes = labels.cat.codes.to_numpy()
        for code, group in enumerate(labels.cat.categories):
            mask = codes == code
            if not mask.any():
                continue
            rows.append(
                {
                    "slice": name,
                    "group": str(group),
                    "rows": int(mask.sum()),
                    "positive_rate": _rounded(y_true[mask].mean()),
                    "metrics": group_metrics(y_true[mask], proba[mask], predicted[mask]),
                }
            )
    return {"threshold": threshold, "slices": rows}
