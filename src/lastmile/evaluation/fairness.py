"""Group fairness of the thresholded predictions, per sensitive feature, computed with fairlearn.

- demographic parity difference: the largest gap in selection rate (share predicted positive)
  between two groups;
- equalized odds difference: the larger of the largest gaps in true positive rate and in false
  positive rate between two groups.

Both are 0 for a model that treats every group alike. Each group also reports its row and positive
counts: a group with few rows, or without positives (true positive rate 0 by fairlearn's
convention), can dominate these maxima by chance.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np
import pandas as pd
from fairlearn.metrics import (
    MetricFrame,
    count,
    demographic_parity_difference,
    equalized_odds_difference,
    false_positive_rate,
    selection_rate,
    true_positive_rate,
)

from lastmile.metrics import DIGITS

GROUP_RATES = ("selection_rate", "true_positive_rate", "false_positive_rate")


def _number(value: Any) -> float | None:
    number = float(value)
    return None if math.isnan(number) else round(number, DIGITS)


def feature_fairness(y_true: np.ndarray, predicted: np.ndarray, groups: pd.Series) -> dict[str, Any]:
    """Fairness of one sensitive feature; `groups` holds each row's group label."""
    labels = groups.astype(str).to_numpy()
    frame = MetricFrame(
        metrics={
            "rows": count,
            "positives": lambda y, _: int(np.sum(y)),
            "selection_rate": selection_rate,
            "true_positive_rate": true_positive_rate,
            "false_positive_rate": false_positive_rate,
        },
        y_true=y_true,
        y_pred=predicted,
        sensitive_features=labels,
    )
    by_group = frame.by_group.sort_values("rows", ascending=False)
    return {
        "demographic_parity_difference": _number(
            demographic_parity_difference(y_true, predicted, sensitive_features=labels)
        ),
        "equalized_odds_difference": _number(
            equalized_odds_difference(y_true, predicted, sensitive_features=labels)
        ),
        "groups": {
            str(group): {
                "rows": int(row["rows"]),
                "positives": int(row["positives"]),
                **{rate: _number(row[rate]) for rate in GROUP_RATES},
            }
            for group, row in by_group.iterrows()
        },
    }


def fairness_report(
    y_true: np.ndarray, proba: np.ndarray, threshold: float, sensitive: dict[str, pd.Series]
) -> dict[str, Any]:
    """`{feature: {"demographic_parity_difference", "equalized_odds_difference", "groups"}}`."""
    predicted = (proba >= threshold).astype(int)
    return {name: feature_fairness(y_true, predicted, labels) for name, labels in sensitive.items()}
