"""The JSON artifacts, typed: models/model.json and reports/{data_summary,validation,metrics,fairness,
slices,importance,gates,profile}.json.

Every module writes and reads them through these models, so a file's keys are declared once and a
damaged or outdated file fails with the file and the key named, not with a `KeyError` later.
Readers ignore keys they do not know (an artifact written by a newer version still reads).
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated, Any, Literal, TypeVar

from pydantic import BaseModel, ConfigDict, Field, RootModel, ValidationError

from lastmile.errors import LastmileError
from lastmile.files import write_json
from lastmile.params import FeatureParams, Label, TargetParams

Verdict = Literal["improved", "no measurable change", "worse within noise", "significant regression"]
GateKind = Literal["degenerate", "floor", "regression", "fairness", "fairness_regression"]


class _Artifact(BaseModel):
    model_config = ConfigDict(extra="ignore", frozen=True)


class ModelInfo(_Artifact):
    """models/model.json: what the model was made from, and the decision threshold that belongs to it."""

    model_version: str
    model_kind: str
    training_rows: int
    training_data_hash: str
    target: TargetParams
    features: FeatureParams
    params: dict[str, Any]
    # The data's labels with their JSON type (1, "yes", true), as the pipeline's classes_ hold them.
    classes: list[Label]
    versions: dict[str, str]
    # Rows whose positive-class probability is at or above it are predicted positive.
    threshold: float = Field(gt=0, le=1)

    @property
    def negative(self) -> Label:
        return next(c for c in self.classes if c != self.target.positive)


class DataSummary(_Artifact):
    """reports/data_summary.json: what data `ingest` read (the PR report, the gates and the model card).

    `target` and `column_names` came later (2026-11-30): a base written before lacks them.
    """

    source: str
    rows: int
    columns: int
    missing_cells: int
    positive_rate: float
    class_counts: dict[str, int]
    data_hash: str
    # What the data is, beyond its content: the regression gates compare only like with like.
    target: TargetParams | None = None
    column_names: list[str] | None = None


class FailedRow(_Artifact):
    row: int  # numbered from 1, counting data rows after the header
    value: str | None  # the cell's start (None: missing)


class RuleFailure(_Artifact):
    column: str  # "(table)" for a rule on the whole table
    rule: str  # in words
    check: str  # pandera's name for it
    rows: int  # rows that break it (0 for a missing or unexpected column)
    examples: list[FailedRow]


class ValidationReport(_Artifact):
    """reports/validation.json: the ingested table against contract.yaml."""

    table: str
    rows: int
    columns: int
    passed: bool
    failures: list[RuleFailure]


class MetricsReport(_Artifact):
    """reports/metrics.json: the headline metrics (`lastmile.metrics`), flat, with the rows and threshold."""

    model_config = ConfigDict(extra="allow", frozen=True)
    __pydantic_extra__: dict[str, float] = Field(init=False)

    test_rows: int
    threshold: float

    @property
    def values(self) -> dict[str, float]:
        """Metric name -> value, for the metrics this file holds."""
        return dict(self.__pydantic_extra__ or {})


class GroupRates(_Artifact):
    rows: int
    positives: int
    selection_rate: float | None
    true_positive_rate: float | None
    false_positive_rate: float | None


class FeatureFairness(_Artifact):
    demographic_parity_difference: float | None
    equalized_odds_difference: float | None
    groups: dict[str, GroupRates]


class FairnessReport(RootModel[dict[str, FeatureFairness]]):
    """reports/fairness.json: per sensitive feature, the two differences and the rates per group."""

    model_config = ConfigDict(frozen=True)


class Slice(_Artifact):
    slice: str
    group: str
    rows: int
    positive_rate: float
    metrics: dict[str, float | None]


class SlicesReport(_Artifact):
    """reports/slices.json."""

    threshold: float
    slices: list[Slice]


class FeatureImportance(_Artifact):
    feature: str
    importance_mean: float  # mean drop of the score when the feature's column is shuffled
    importance_std: float


class ImportanceReport(_Artifact):
    """reports/importance.json: permutation importance of each raw feature, largest first."""

    method: str  # "permutation"
    scoring: str
    rows: int
    n_repeats: int
    features: list[FeatureImportance]


class Comparison(_Artifact):
    """A paired-bootstrap comparison of one metric (see `lastmile.evaluation.bootstrap`)."""

    metric: str
    base: float
    head: float
    delta: float  # head - base
    ci_low: float
    ci_high: float
    confidence: float
    resamples: int
    verdict: Verdict


class GateResult(_Artifact):
    name: str
    kind: GateKind
    value: float | None  # None when there is nothing to compare with
    threshold: float
    op: Literal[">=", "<="]  # passing means `value op threshold`
    passed: bool
    detail: str = ""
    comparison: Comparison | None = None  # the paired bootstrap behind a regression gate


class GatesReport(_Artifact):
    """reports/gates.json, written by `lastmile gate`."""

    passed: bool
    baseline: str | None
    gates: list[GateResult] = []

    @property
    def failed(self) -> list[str]:
        return [g.name for g in self.gates if not g.passed]


class NumericReference(_Artifact):
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


class CategoryReference(_Artifact):
    kind: Literal["categorical"] = "categorical"
    rows: int
    missing: int
    counts: dict[str, int] = Field(description="Reference rows per value, most frequent first.")


Reference = Annotated[NumericReference | CategoryReference, Field(discriminator="kind")]


class Profile(_Artifact):
    """reports/profile.json: the drift monitor's reference (`lastmile.monitoring.profile` builds it)."""

    model_config = ConfigDict(extra="ignore", frozen=True, populate_by_name=True)

    schema_: Literal["lastmile.profile/1"] = Field("lastmile.profile/1", alias="schema")
    model_version: str
    training_rows: int
    features: dict[str, Reference]
    score: NumericReference = Field(description="Positive-class probability on the test split.")
    test_rows: int
    positive_label: Label
    threshold: float
    positive_rate: float = Field(description="Share of test rows predicted positive at the threshold.")


Artifact = TypeVar("Artifact", bound=BaseModel)


def parse(text: str | bytes, model: type[Artifact], source: str) -> Artifact:
    """`text` as a `model`, or a `LastmileError` naming `source` and the bad keys."""
    try:
        return model.model_validate(json.loads(text))
    except json.JSONDecodeError as exc:
        raise LastmileError(f"{source} is not valid JSON ({exc}); re-run `dvc repro` to rewrite it.") from exc
    except ValidationError as exc:
        problems = "; ".join(
            f"{'.'.join(str(p) for p in err['loc']) or '(top level)'}: {err['msg']}" for err in exc.errors()
        )
        raise LastmileError(f"{source} is not as expected ({problems}); re-run `dvc repro`.") from None


def read(path: Path, model: type[Artifact]) -> Artifact:
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError as exc:
        raise LastmileError(f"{path} not found: run the pipeline first (`dvc repro`).") from exc
    return parse(text, model, str(path))


def write(path: Path, artifact: BaseModel) -> None:
    write_json(path, artifact.model_dump(mode="json", by_alias=True))
