"""Global explanation: permutation importance of each raw feature on the test split.

A feature's importance is how much ROC AUC drops when its column is shuffled, which breaks its
link to the label while keeping its distribution. The pipeline is scored on raw records, so the
importance belongs to the columns a user knows (`occupation`), not to one-hot encoded parts.
Rows are sampled (seeded) and repeats bounded so that the stage stays fast.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd
from sklearn.inspection import permutation_importance
from sklearn.metrics import roc_auc_score
from sklearn.pipeline import Pipeline
from threadpoolctl import threadpool_limits

from lastmile.metrics import DIGITS
from lastmile.model import positive_proba
from lastmile.params import Label


def permutation_importances(
    pipeline: Pipeline,
    features: pd.DataFrame,
    y_true: np.ndarray,
    positive: Label,
    *,
    n_repeats: int,
    max_rows: int,
    seed: int,
) -> dict[str, Any]:
    """`{"method": "permutation", "scoring": "roc_auc", "rows", "n_repeats", "features": [...]}`.

    Features are sorted by mean importance, largest first.
    """
    rng = np.random.default_rng(seed)
    rows = np.sort(rng.choice(len(features), size=min(max_rows, len(features)), replace=False))
    sample, labels = features.iloc[rows], y_true[rows]

    def roc_auc(model: Pipeline, frame: pd.DataFrame, y: np.ndarray) -> float:
        return float(roc_auc_score(y, positive_proba(model, frame, positive)))

    # Dozens of small predictions: OpenMP threads cost more than they save on each, and on a busy
    # machine they thrash (measured here at load 6: 13.5 s with two threads, 2.9 s with one).
    with threadpool_limits(limits=1, user_api="openmp"):
        result = permutation_importance(
            pipeline, sample, labels, scoring=roc_auc, n_repeats=n_repeats, random_state=seed, n_jobs=1
        )
    ranked = sorted(
        zip(features.columns, result.importances_mean, result.importances_std, strict=True),
        key=lambda item: -item[1],
    )
    return {
        "method": "permutation",
        "scoring": "roc_auc",
        "rows": len(rows),
        "n_repeats": n_repeats,
        "features": [
            {
                "feature": str(name),
                "importance_mean": round(float(mean), DIGITS),
                "importance_std": round(float(std), DIGITS),
            }
            for name, mean, std in ranked
        ],
    }
