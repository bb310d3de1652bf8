"""Typed view of `params.yaml`: every knob of the pipeline, validated before any work starts."""

from __future__ import annotations

import re
from collections.abc import Sequence
from itertools import pairwise
from pathlib import Path
from typing import Annotated, Literal

from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    StrictBool,
    StrictInt,
    StrictStr,
    model_validator,
)

from lastmile.errors import LastmileError, load_config, quoted, shorten
from lastmile.paths import PARAMS

# A class label as params.yaml and the data write it: "yes", 1 or true.
Label = str | int | bool
# What a target column holds, whether read from the data (`lastmile.data.typed_label`) or declared
# in contract.yaml (`lastmile.contract.ColumnSpec.label_kind`).
LabelKind = Literal["text", "integer", "number", "boolean"]


def label_as(value: Label, kind: LabelKind, column: str, spellings: Sequence[str] = ()) -> Label:
    """`value` (params.yaml `target.positive`) as a label of `kind`, the kind of `column`'s labels.

    1 or "1" for whole-number labels, true/"true"/1 for booleans, the text "1" for text labels:
    the same label written either way is found; a label of another kind is a clear error. A
    boolean for text labels takes its spelling among `spellings` (True, true, TRUE) when there.
    """
    text = str(value).strip()
    if kind == "boolean":
        if isinstance(value, bool):
            return value
        if text.casefold() in ("true", "1"):
            return True
        if text.casefold() in ("false", "0"):
            return False
    elif kind == "integer":
        if isinstance(value, int) and not isinstance(value, bool):
            return value
        if isinstance(value, str) and re.fullmatch(r"[+-]?\d+", text):
            return int(text)
    elif kind == "text":
        if isinstance(value, bool):
            spelled = {label.casefold(): label for label in spellings}
            return spelled.get(text.casefold(), text)
        return text
    if kind == "number":
        raise LastmileError(
            f"The target column '{shorten(column)}' holds decimal numbers, which cannot be class labels: "
            "declare it `integer`, `category` or `boolean` in contract.yaml."
        )
    expected = "true or false" if kind == "boolean" else "a whole number"
    raise LastmileError(
        f"params.yaml `target.positive` is {shorten(repr(value))}, but the target column '{shorten(column)}' "
        f"holds {kind} labels: "
        f"write the positive label as {expected}."
    )


class _Strict(BaseModel):
    # A typo in params.yaml must fail loudly, not be ignored.
    model_config = ConfigDict(extra="forbid", frozen=True)


class ProjectParams(_Strict):
    """Whose project this is: the names `lastmile init` writes and the model, service and image carry."""

    name: str = Field(pattern=r"^[a-z][a-z0-9-]*$", description="The project's name, lower case with dashes.")
    description: str = Field(
        min_length=1, description="What the model predicts, in a sentence or two: model card, DVC artifact."
    )
    github_owner: str = Field(default="", pattern=r"^([A-Za-z0-9][A-Za-z0-9-]{0,38})?$")
    model_name: str = Field(pattern=r"^[a-z0-9][a-z0-9_.-]*$", description="BentoML model and DVC artifact.")
    service_name: str = Field(pattern=r"^[A-Z][A-Za-z0-9]*$", description="BentoML service (a class name).")
    image: str = Field(
        default="",
        pattern=r"^([a-z0-9.:-]+/)*[a-z0-9._-]+$|^$",
        description="Serving image name; empty: ghcr.io/<owner>/<repo> of the origin remote.",
    )


class DataParams(_Strict):
    source: str = Field(min_length=1, description="Path or fsspec URL of the raw labelled CSV.")
    na_values: list[str] = ["?"]
    comment_prefix: str | None = None
    label_suffix: str = ""


class TargetParams(_Strict):
    column: str
    # Written as the data holds it: "yes", 1 or true. Matched to the target column's type by
    # `label_as` (so 1 also finds the label "1" of a category column).
    positive: StrictBool | StrictInt | StrictStr


class FeatureParams(_Strict):
    numeric: list[str]
    categorical: list[str]
    sensitive: list[str] = []

    @property
    def all(self) -> list[str]:
        return [*self.numeric, *self.categorical]

    @model_validator(mode="after")
    def _disjoint(self) -> FeatureParams:
        both = set(self.numeric) & set(self.categorical)
        if both:
            raise ValueError(f"features listed as both numeric and categorical: {quoted(sorted(both))}")
        return self


class SplitParams(_Strict):
    test_size: float = Field(gt=0, lt=1)
    seed: int = 42


class HistGradientBoostingParams(_Strict):
    learning_rate: float = Field(default=0.1, gt=0)
    max_iter: int = Field(default=300, ge=1)
    max_leaf_nodes: int = Field(default=31, ge=2)
    min_samples_leaf: int = Field(default=20, ge=1)
    l2_regularization: float = Field(default=0.0, ge=0)


class LogisticRegressionParams(_Strict):
    C: float = Field(default=1.0, gt=0)
    max_iter: int = Field(default=1000, ge=1)


class ModelParams(_Strict):
    kind: Literal["hist_gradient_boosting", "logistic_regression"] = "hist_gradient_boosting"
    seed: int = 42
    hist_gradient_boosting: HistGradientBoostingParams = HistGradientBoostingParams()
    logistic_regression: LogisticRegressionParams = LogisticRegressionParams()


class ThresholdParams(_Strict):
    """How the decision threshold is chosen (on the training split, never on the test set)."""

    rule: Literal["fixed", "max_f1", "target_precision"] = "fixed"
    # The threshold itself for `fixed`; the precision to reach for `target_precision`; unused by `max_f1`.
    value: float = Field(default=0.5, gt=0, le=1)
    folds: int = Field(default=3, ge=2, le=20, description="Cross-validation folds on the training split.")


class SliceParams(_Strict):
    columns: list[str] = Field(default=[], description="Extra columns to slice by, one slice per value.")
    bands: dict[str, list[float]] = Field(
        default={}, description="Numeric column -> band edges, e.g. tenure: [2, 5] gives <2, 2-4, 5+."
    )

    @model_validator(mode="after")
    def _increasing_edges(self) -> SliceParams:
        for column, edges in self.bands.items():
            if not edges or any(b <= a for a, b in pairwise(edges)):
                raise ValueError(
                    f"bands.{shorten(column)}: edges must be a non-empty, strictly increasing list"
                )
        return self


class ImportanceParams(_Strict):
    n_repeats: int = Field(default=5, ge=1, le=50)
    max_rows: int = Field(default=5000, ge=100, description="Test rows sampled to keep the stage fast.")


class EvaluationParams(_Strict):
    threshold: ThresholdParams = ThresholdParams()
    slices: SliceParams = SliceParams()
    importance: ImportanceParams = ImportanceParams()
    seed: int = 42


class FairnessBound(_Strict):
    max: float | None = Field(default=None, ge=0, description="Largest acceptable value.")
    max_increase: float | None = Field(default=None, ge=0, description="Largest increase over the baseline.")


class FairnessGateParams(_Strict):
    demographic_parity_difference: FairnessBound = FairnessBound()
    equalized_odds_difference: FairnessBound = FairnessBound()


class BootstrapParams(_Strict):
    resamples: int = Field(default=1000, ge=100, le=100_000)
    confidence: float = Field(default=0.95, gt=0.5, lt=1)
    seed: int = 42


class GateParams(_Strict):
    # Keys are headline metrics' names: `check` and `gate` check them against `lastmile.metrics`
    # (not imported here, so that adding a metric does not re-run the stages that read params).
    # Worst acceptable value: a minimum, or a maximum for metrics where lower is better (log loss...).
    floors: dict[str, float] = {}
    # Largest allowed worsening against the baseline (a drop for scores, a rise for losses).
    max_regression: dict[str, Annotated[float, Field(ge=0)]] = {}
    fairness: dict[str, FairnessGateParams] = Field(default={}, description="Per sensitive feature.")
    bootstrap: BootstrapParams = BootstrapParams()

    @property
    def metric_names(self) -> dict[str, list[str]]:
        """The metrics each section names, by its params.yaml key."""
        return {"gates.floors": list(self.floors), "gates.max_regression": list(self.max_regression)}


class ProfileParams(_Strict):
    """The reference profile `evaluate` writes for the drift monitor (`lastmile.monitoring.profile`)."""

    bins: int = Field(default=10, ge=2, le=50, description="Quantile bins per numeric feature (for PSI).")
    max_points: int = Field(
        default=1000,
        ge=50,
        le=100_000,
        description="Distinct values kept per numeric reference; more are summarised by as many quantiles.",
    )


class MonitorParams(_Strict):
    """Thresholds of `lastmile monitor`: a change is drift when it is both significant and large."""

    alpha: float = Field(default=0.01, gt=0, lt=0.5, description="Significance level after correction.")
    correction: Literal["holm", "benjamini_hochberg"] = "holm"
    max_psi: float = Field(default=0.1, gt=0, description="Largest population stability index per feature.")
    max_score_psi: float = Field(default=0.1, gt=0, description="Largest PSI of the predicted probability.")
    max_distance: float = Field(
        default=0.1,
        gt=0,
        description="Largest Wasserstein distance of a feature or the score, in reference std deviations.",
    )
    max_missing_change: float = Field(
        default=0.05, gt=0, le=1, description="Largest change of a feature's missing rate (absolute)."
    )
    max_invalid_share: float = Field(
        default=0.01, ge=0, le=1, description="Largest share of records that break the data contract."
    )
    min_records: int = Field(default=200, ge=10, description="Fewer records in the window: no verdict.")
    profile: ProfileParams = ProfileParams()


class Params(_Strict):
    project: ProjectParams
    data: DataParams
    target: TargetParams
    features: FeatureParams
    split: SplitParams
    model: ModelParams
    evaluation: EvaluationParams = EvaluationParams()
    gates: GateParams = GateParams()
    monitor: MonitorParams = MonitorParams()

    @model_validator(mode="after")
    def _consistent(self) -> Params:
        if self.target.column in self.features.all:
            raise ValueError(f"the target column '{shorten(self.target.column)}' is also listed as a feature")
        unknown = set(self.features.sensitive) - set(self.features.all)
        if unknown:
            raise ValueError(f"sensitive features must also be features: {quoted(sorted(unknown))}")
        ungated = set(self.gates.fairness) - set(self.features.sensitive)
        if ungated:
            raise ValueError(
                f"gates.fairness names features that are not sensitive features: {quoted(sorted(ungated))}"
            )
        return self


def load_params(path: Path = PARAMS) -> Params:
    """Read and validate params.yaml, raising a `LastmileError` that names the bad key."""
    return load_config(path, Params, "run lastmile from the project root.")
