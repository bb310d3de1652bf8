"""Global explanation: permutation importance of each raw feature on the test split.

A feature's importance is how much ROC AUC drops when its column is shuffled, which breaks its
link to the label while keeping its distribution. The pipeline is scored on raw records, so the
importance belongs to the columns a user knows (`occupation`), not to one-hot encoded parts.
Rows are sampled (seeded) and repeats bounded so that the stage stays fast.

The shuffles are scikit-learn's `permutation_importance`, draw for draw (the same seed gives the
same numbers, which a test checks), but each feature's repeats are scored in one prediction of
`n_repeats` stacked copies of the sample, not one prediction per repeat: a pipeline predicts each
row on its own, and its fixed cost per call (checks, column transformer) was half of the stage's
importance time with 61 calls of 3,000 rows.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
from sklearn.metrics import roc_auc_score
from sklearn.pipeline import Pipeline

from lastmile.artifacts import FeatureImportance, ImportanceReport
from lastmile.files import DIGITS
from lastmile.model import positive_proba
from lastmile.params import Label

# Rows per prediction: bounds memory when `max_rows` x `n_repeats` is large.
STACKED_ROWS = 200_000


def shuffled_positions(rows: int, n_repeats: int, seed: int) -> list[np.ndarray]:
    """For each repeat, which sampled row each row's shuffled value comes from.

    As in scikit-learn: one seed drawn from `seed` serves every feature, and each repeat shuffles
    the previous repeat's column again.
    """
    random_state = np.random.RandomState(np.random.RandomState(seed).randint(np.iinfo(np.int32).max + 1))
    shuffle, positions = np.arange(rows), np.arange(rows)
    repeats = []
    for _ in range(n_repeats):
        random_state.shuffle(shuffle)
        positions = positions[shuffle]
        repeats.append(positions)
    return repeats


def permutation_importances(
    pipeline: Pipeline,
    features: pd.DataFrame,
    y_true: np.ndarray,
    positive: Label,
    *,
    n_repeats: int,
    max_rows: int,
    seed: int,
) -> ImportanceReport:
    """The drop of ROC AUC per shuffled feature; features sorted by mean drop, largest first."""
    rng = np.random.default_rng(seed)
    rows = np.sort(rng.choice(len(features), size=min(max_rows, len(features)), replace=False))
    sample, labels = features.iloc[rows].reset_index(drop=True), y_true[rows]
    baseline = roc_auc_score(labels, positive_proba(pipeline, sample, positive))
    repeats = shuffled_positions(len(sample), n_repeats, seed)
    per_call = max(1, STACKED_ROWS // len(sample))
    drops = {}
    for column in sample.columns:
        scores: list[float] = []
        for start in range(0, n_repeats, per_call):
            chunk = repeats[start : start + per_call]
            permuted = pd.concat([sample] * len(chunk), ignore_index=True)
            permuted[column] = sample[column].iloc[np.concatenate(chunk)].set_axis(permuted.index)
            proba = positive_proba(pipeline, permuted, positive).reshape(len(chunk), len(sample))
            scores += [roc_auc_score(labels, row) for row in proba]
        drops[column] = baseline - np.array(scores)
    ranked = sorted(drops.items(), key=lambda item: -float(np.mean(item[1])))
    return ImportanceReport(
        method="permutation",
        scoring="roc_auc",
        rows=len(rows),
        n_repeats=n_repeats,
        features=[
            FeatureImportance(
                feature=str(name),
                importance_mean=round(float(np.mean(drop)), DIGITS),
                importance_std=round(float(np.std(drop)), DIGITS),
            )
            for name, drop in ranked
        ],
    )
