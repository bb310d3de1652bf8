"""The reference profile: what the model was trained on and how it scored held-out rows.

`evaluate` writes it (reports/profile.json, a DVC output of the stage that made the model's metrics);
`lastmile package` ships it inside the BentoML model and `/metadata` shows it; `lastmile monitor`
compares logged traffic with it.

A numeric feature is kept as its distinct values with their counts, so the monitor can compute
the exact two-sample Kolmogorov-Smirnov statistic against the whole training split without
storing it. Beyond `max_points` distinct values, as many equally weighted quantiles stand in for
them (the statistic is then within 1/max_points of the exact one). Quantile bins over the same
points give the population stability index. A categorical feature is kept as counts per value.
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Literal

import numpy as np
import pandas as pd
from pydantic import BaseModel, ConfigDict, Field, ValidationError

from lastmile.errors import LastmileError
from lastmile.files import write_json
from lastmile.params import FeatureParams, Label, ProfileParams

PROFILE_SCHEMA = "lastmile.profile/1"
PROFILE_FILE = "profile.json"


class _Frozen(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class NumericReference(_Frozen):
    kind: Literal["numeric"] = "numeric"
    rows: int = Field(description="Reference rows, missing ones included.")
    missing: int
    values: list[float] = Field(description="Sorted distinct values (or quantiles beyond max_points).")
    counts: list[float] = Field(description="Reference rows at each value; they sum to rows - missing.")
    bin_ends: list[int] = Field(
        description="PSI bins: index in `values` of each bin's last point; the last bin runs to +infinity."
    )
    mean: float | None
    std: float | None


class CategoryReference(_Frozen):
    kind: Literal["categorical"] = "categorical"
    rows: int
    missing: int
    counts: dict[str, int] = Field(description="Reference rows per value, most frequent first.")


Reference = Annotated[NumericReference | CategoryReference, Field(discriminator="kind")]


class Profile(_Frozen):
    schema_: Literal["lastmile.profile/1"] = Field("lastmile.profile/1", alias="schema")
    model_version: str
    training_rows: int
    features: dict[str, Reference]
    score: NumericReference = Field(description="Positive-class probability on the test split.")
    test_rows: int
    positive_label: Label
    threshold: float
    positive_rate: float = Field(description="Share of test rows predicted positive at the threshold.")

    model_config = ConfigDict(extra="forbid", frozen=True, populate_by_name=True)


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


def write(path: Path, profile: Profile) -> None:
    write_json(path, profile.model_dump(mode="json", by_alias=True))


def load(path: Path) -> Profile:
    try:
        return Profile.model_validate_json(path.read_bytes())
    except FileNotFoundError as exc:
        raise LastmileError(
            f"{path} not found: the reference profile is written by `lastmile evaluate` (`dvc repro`)."
        ) from exc
    except ValidationError as exc:
        raise LastmileError(
            f"{path} is not a reference profile ({PROFILE_SCHEMA}): {exc.errors()[0]['msg']} "
            f"at {'.'.join(map(str, exc.errors()[0]['loc']))}. Re-run `dvc repro` to rewrite it."
        ) from exc
