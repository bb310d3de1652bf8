"""The reference profile: what the model was trained on and how it scored held-out rows.

`evaluate` builds it here and writes it as `artifacts.Profile` (reports/profile.json, a DVC output of
the stage that made the model's metrics);
`lastmile package` ships it inside the BentoML model and `/metadata` shows it; `lastmile monitor`
compares logged traffic with it.

A numeric feature is kept as its distinct values with their counts, so the monitor can compute
the exact two-sample Kolmogorov-Smirnov statistic against the whole training split without
storing it. Beyond `max_points` distinct values, as many equally weighted quantiles stand in for
them (the statistic is then within 1/max_points of the exact one). Quantile bins over the same
points give the population stability index. A categorical feature is kept as counts per value.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from lastmile.artifacts import CategoryReference, NumericReference, Profile
from lastmile.params import FeatureParams, Label, ProfileParams


def _bin_ends(counts: np.ndarray, bins: int) -> list[int]:
    """Indices of the points closing each quantile bin (a heavy point can close several: merged)."""
    if counts.size == 0:
        return []
    shares = np.cumsum(counts) / counts.sum()
    ends = {int(np.searchsorted(shares, q - 1e-12)) for q in np.arange(1, bins) / bins}
    return sorted(end for end in ends if end < counts.size - 1)


def numeric_reference(values: pd.Series | np.ndarray, settings: ProfileParams) -> NumericReference:
    data = np.asarray(pd.to_numeric(pd.Series(values), errors="coerce"), dtype=float)
    present = data[~np.isnan(data)]
    points, counts = np.unique(present, return_counts=True)
    weights = counts.astype(float)
    if points.size > settings.max_points:
        probabilities = (np.arange(settings.max_points) + 0.5) / settings.max_points
        points = np.quantile(present, probabilities, method="inverted_cdf")
        weights = np.full(settings.max_points, present.size / settings.max_points)
        # Repeated quantiles (a heavy value) become one point carrying their weight.
        points, inverse = np.unique(points, return_inverse=True)
        weights = np.bincount(inverse, weights=weights)
    return NumericReference(
        rows=int(data.size),
        missing=int(data.size - present.size),
        values=[float(v) for v in points],
        counts=[round(float(w), 6) for w in weights],
        bin_ends=_bin_ends(weights, settings.bins),
        mean=float(present.mean()) if present.size else None,
        std=float(present.std()) if present.size > 1 else None,
    )


def category_reference(values: pd.Series) -> CategoryReference:
    text = values.astype("string")
    counts = text.value_counts(dropna=True)
    return CategoryReference(
        rows=len(text),
        missing=int(text.isna().sum()),
        counts={str(name): int(count) for name, count in counts.items()},
    )


def build(
    train: pd.DataFrame,
    test_proba: np.ndarray,
    features: FeatureParams,
    settings: ProfileParams,
    *,
    model_version: str,
    positive_label: Label,
    threshold: float,
) -> Profile:
    """The profile of the training split's features and of the test split's predicted probabilities."""
    references: dict[str, NumericReference | CategoryReference] = {}
    for name in features.numeric:
        references[name] = numeric_reference(train[name], settings)
    for name in features.categorical:
        references[name] = category_reference(train[name])
    return Profile(
        model_version=model_version,
        training_rows=len(train),
        features=references,
        score=numeric_reference(test_proba, settings),
        test_rows=len(test_proba),
        positive_label=positive_label,
        threshold=threshold,
        positive_rate=round(float(np.mean(test_proba >= threshold)), 6) if len(test_proba) else 0.0,
    )
