"""Group fairness of the thresholded predictions, per sensitive feature, with fairlearn's rates.

- demographic parity difference: the largest gap in selection rate (share predicted positive)
  between two groups;
- equalized odds difference: the larger of the largest gaps in true positive rate and in false
  positive rate between two groups.

Both are 0 for a model that treats every group alike, and both are fairlearn's definitions
(`demographic_parity_difference`, `equalized_odds_difference` with `method="between_groups"`;
tests/stages/test_evaluate.py checks the report against those functions). Each group also reports
its row and positive counts: a group with few rows, or without positives (true positive rate 0 by
fairlearn's convention), can dominate these maxima by chance.

The rates come from fairlearn's metric functions called once per group on that group's rows, not
through `MetricFrame`: fairlearn 0.15's `MetricFrame` stacks every value in Python for each metric
and group, which at 150,000 test rows made this the slowest part of `evaluate`.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np
import pandas as pd
from fairlearn.metrics import false_positive_rate, selection_rate, true_positive_rate

from lastmile.files import DIGITS

GROUP_RATES = {
    "selection_rate": selection_rate,
    "true_positive_rate": true_positive_rate,
    "false_positive_rate": false_positive_rate,
}


def _number(value: Any) -> float | None:
    number = float(value)
    return None if math.isnan(number) else round(number, DIGITS)


def _gap(rates: pd.Series) -> float:
    """The largest difference between two groups (missing rates left out, as fairlearn does)."""
    return float(rates.max() - rates.min())


def feature_fairness(y_true: np.ndarray, predicted: np.ndarray, groups: pd.Series) -> dict[str, Any]:
    """Fairness of one sensitive feature; `groups` holds each row's group label."""
    labels = groups.astype(str).to_numpy()
    rows = {}
    for group in np.unique(labels):
        mask = labels == group
        y, pred = y_true[mask], predicted[mask]
        rows[str(group)] = {
            "rows": int(mask.sum()),
            "positives": int(y.sum()),
            **{name: float(rate(y, pred)) for name, rate in GROUP_RATES.items()},
        }
    by_group = pd.DataFrame.from_dict(rows, orient="index")
    return {
        "demographic_parity_difference": _number(_gap(by_group["selection_rate"])),
        "equalized_odds_difference": _number(
            max(_gap(by_group["true_positive_rate"]), _gap(by_group["false_positive_rate"]))
        ),
        "groups": {
            group: {
                "rows": row["rows"],
                "positives": row["positives"],
                **{rate: _number(row[rate]) for rate in GROUP_RATES},
            }
            # Largest group first; the sort is stable, so ties stay in label order (`np.unique`'s).
            for group, row in sorted(rows.items(), key=lambda item: -item[1]["rows"])
        },
    }


def fairness_report(
    y_true: np.ndarray, proba: np.ndarray, threshold: float, sensitive: dict[str, pd.Series]
) -> dict[str, Any]:
    """`{feature: {"demographic_parity_difference", "equalized_odds_difference", "groups"}}`."""
    predicted = (proba >= threshold).astype(int)
    return {name: feature_fairness(y_true, predicted, labels) for name, labels in sensitive.items()}
