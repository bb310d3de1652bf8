"""`lastmile report`: the pull-request comment, as Markdown with its PNG plots beside it.

It compares the workspace (this branch, after `dvc repro`) with a base revision (normally
`main`): both revisions' files are read through `lastmile.review.baseline` (DVC's file system at
the base commit), the paired bootstrap is the one the gates use (`baseline.compare`), and the
parameters come from `dvc.api.params_show` at each revision. The same command writes the same
folder locally and in CI; CML only posts what it wrote.

Every input beyond the headline metrics is optional: a section whose files are missing says
so instead of failing, so the report works on an old base, on a first PR and when nothing changed.

The Markdown is `templates/pr_comment.md.j2`'s: this module gathers the facts into `Comment`, a typed
view model, and the template lays them out (docs/pr-report.md, "Changing the comment").
"""

from __future__ import annotations

import io
import json
import logging
import shutil
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import jinja2
import pandas as pd

from lastmile import artifacts, paths, prose
from lastmile.artifacts import (
    Artifact,
    Comparison,
    DataSummary,
    FairnessReport,
    FeatureImportance,
    GatesReport,
    ImportanceReport,
    RuleFailure,
    SlicesReport,
    ValidationReport,
)
from lastmile.errors import LastmileError, one_line
from lastmile.evaluation.plots import confusion_plot, line_plot
from lastmile.files import DIGITS
from lastmile.metrics import METRICS
from lastmile.params import BootstrapParams, Label, Params, load_params
from lastmile.review import baseline, gate
from lastmile.review.baseline import Evaluation, Paired, Revision
from lastmile.review.pr_artifact import REPORT, SUMMARY, write_verdict

log = logging.getLogger(__name__)

DEFAULT_BASE = "main"
IMPORTANCE_FIGURE = paths.FIGURES_DIR / "importance.png"

VERDICT_MARKS = {
    "improved": "✅",
    "no measurable change": "⚪",
    "worse within noise": "🟡",
    "significant regression": "🔴",
}
CURVES = (  # file stem, x, y, title, diagonal
    ("roc", "fpr", "tpr", "ROC", True),
    ("precision_recall", "recall", "precision", "Precision-recall", False),
    ("calibration", "mean_predicted", "fraction_positive", "Calibration", True),
)
SMALL_SLICE = 100
TOP_FEATURES = 10
MAX_SLICES = 30
MAX_FAILURES = 20  # validation failures listed
COMMENT_TEMPLATE = "pr_comment.md.j2"  # in templates/
EPSILON = 0.5 * 10**-DIGITS  # metrics are rounded to DIGITS digits: smaller differences are rounding


@dataclass
class Snapshot:
    """The report files of one revision (`baseline.Revision`), noting what could not be read."""

    revision: Revision
    problems: list[str] = field(default_factory=list)

    @property
    def label(self) -> str:
        return self.revision.label

    @property
    def rev(self) -> str | None:
        return self.revision.rev

    def read(self, path: Path) -> bytes | None:
        try:
            return self.revision.read(path)
        except Exception as exc:  # DVC raises its own types for missing cache objects and bad revs
            self.problems.append(f"could not read `{path}` at {self.label}: {type(exc).__name__}")
            return None

    def json(self, path: Path) -> Any:
        raw = self.read(path)
        if raw is None:
            return None
        try:
            return json.loads(raw)
        except ValueError:
            self.problems.append(f"`{path}` at {self.label} is not valid JSON")
            return None

    def csv(self, path: Path) -> pd.DataFrame | None:
        raw = self.read(path)
        if raw is None:
            return None
        try:
            return pd.read_csv(io.BytesIO(raw))
        except (ValueError, pd.errors.ParserError):
            self.problems.append(f"`{path}` at {self.label} is not a readable CSV")
            return None

    def artifact(self, path: Path, model: type[Artifact]) -> Artifact | None:
        """A typed artifact; None when the revision has no such file, None and a note when it is damaged."""
        raw = self.read(path)
        if raw is None:
            return None
        try:
            return artifacts.parse(raw, model, f"`{path}` at {self.label}")
        except LastmileError as exc:
            self.problems.append(str(exc))
            return None

    def evaluation(self) -> Evaluation | None:
        try:
            return self.revision.evaluation()
        except LastmileError as exc:
            self.problems.append(str(exc))
            return None


@dataclass(frozen=True)
class Result:
    markdown: Path
    conclusion: str
    title: str


# ---------------------------------------------------------------- gathering, through DVC


def _flatten(tree: object, prefix: str = "") -> dict[str, Any]:
    """`{"a": {"b": 1}}` -> `{"a.b": 1}`, as `dvc metrics diff` and `dvc params diff` name keys."""
    if not isinstance(tree, dict):
        return {prefix: tree} if prefix else {}
    flat: dict[str, Any] = {}
    for key, value in tree.items():
        flat |= _flatten(value, f"{prefix}.{key}" if prefix else str(key))
    return flat


def _params(root: Path, rev: str | None) -> dict[str, Any]:
    """The pipeline's parameters at `rev` (the workspace when None), flattened; DVC's public API."""
    import dvc.api

    try:
        return _flatten(dvc.api.params_show(repo=str(root), rev=rev))
    except Exception:  # DVC raises its own types for a revision without dvc.yaml or params
        return {}


def _params_diff(old: dict[str, Any], new: dict[str, Any]) -> dict[str, dict[str, Any]]:
    changed = {
        key: {"old": old.get(key), "new": new.get(key)}
        for key in sorted({*old, *new})
        if old.get(key) != new.get(key)
    }
    return {paths.PARAMS.as_posix(): changed} if changed else {}


@dataclass
class Inputs:
    base: Snapshot
    head: Snapshot
    base_evaluation: Evaluation | None
    head_evaluation: Evaluation
    paired: Paired
    base_data: DataSummary | None
    head_data: DataSummary | None
    params: dict[str, dict[str, Any]]

    @property
    def base_metrics(self) -> dict[str, float]:
        return self.base_evaluation.metrics.values if self.base_evaluation else {}

    @property
    def head_metrics(self) -> dict[str, float]:
        return self.head_evaluation.metrics.values


def gather(base_ref: str, root: Path, settings: BootstrapParams) -> Inputs:
    """Both revisions' files through the one reader (`baseline`), and their comparison, computed once."""
    base = Snapshot(Revision.at(base_ref, root))
    head = Snapshot(Revision.workspace(root))
    log.info("report: comparing the workspace (%s) with %s (%s)", head.rev, base_ref, base.rev)
    head_evaluation = head.revision.evaluation()
    if head_evaluation is None:
        raise LastmileError(f"{paths.METRICS} not found in the workspace: run `dvc repro` first.")
    base_evaluation = base.evaluation()
    return Inputs(
        base=base,
        head=head,
        base_evaluation=base_evaluation,
        head_evaluation=head_evaluation,
        paired=baseline.compare(head_evaluation, base_evaluation, settings),
        base_data=base.artifact(paths.DATA_SUMMARY, DataSummary),
        head_data=head.artifact(paths.DATA_SUMMARY, DataSummary),
        params=_params_diff(_params(root, base.revision.commit), _params(root, None)),
    )


# ---------------------------------------------------------------- the comment's view model
# Facts only, typed: `templates/pr_comment.md.j2` does the layout and the wording. Text from the data
# (column names, group labels, parameter values) stays plain `str`: the template engine escapes it.


@dataclass(frozen=True)
class MetricRow:
    label: str
    base: float | None
    head: float
    change: str  # "🟢 ▲ +0.0069", "= 0" or "—"
    interval: str | None  # "+0.0010 … +0.0125": the paired bootstrap's CI of the change
    verdict: str | None  # "✅ improved"


@dataclass(frozen=True)
class DataSide:
    """One revision's `reports/data_summary.json` (every field None when it has none)."""

    rows: int | None
    positive_rate: float | None
    class_counts: dict[str, int | None]
    missing_cells: int | None
    data_hash: str | None
    source: str | None


@dataclass(frozen=True)
class DataChange:
    status: str  # "changed", "unchanged" or "no baseline"
    base: DataSide
    head: DataSide


@dataclass(frozen=True)
class ParamChange:
    key: str
    base: object
    head: object


@dataclass(frozen=True)
class Validation:
    """`reports/validation.json`, as the validate stage wrote it (its values are shown as they are)."""

    rows: int
    columns: int
    passed: bool
    failed_rules: int
    failures: list[RuleFailure]  # the first MAX_FAILURES


@dataclass(frozen=True)
class GroupRates:
    group: str
    rows: int
    selection_rate: float | None
    true_positive_rate: float | None
    false_positive_rate: float | None


@dataclass(frozen=True)
class FeatureFairness:
    feature: str
    demographic_parity: float | None
    base_demographic_parity: float | None
    demographic_parity_change: str | None  # against the base, when it has the feature
    equalized_odds: float | None
    base_equalized_odds: float | None
    groups: list[GroupRates]  # largest first


@dataclass(frozen=True)
class Fairness:
    features: list[FeatureFairness]  # empty: no sensitive feature is configured
    one_class: str | None  # "negative"/"positive" when the model predicts one class for every row


@dataclass(frozen=True)
class SliceRow:
    name: str  # "sex = Female"
    rows: int
    small: bool  # fewer than `Slices.small_under` rows: differences are mostly noise
    positive_rate: float
    base: float | None
    head: float | None
    change: str


@dataclass(frozen=True)
class Slices:
    metric: str
    rows: list[SliceRow]  # the first MAX_SLICES
    total: int
    smallest: int
    small_under: int = SMALL_SLICE


@dataclass(frozen=True)
class FeatureRank:
    rank: int
    feature: str
    mean: float
    std: float
    base_rank: int | None


@dataclass(frozen=True)
class Importance:
    method: str
    features: list[FeatureRank]  # the first TOP_FEATURES
    figure: str | None  # its PNG in the report folder


@dataclass(frozen=True)
class Plot:
    title: str
    file: str


@dataclass(frozen=True)
class Comment:
    """Everything `templates/pr_comment.md.j2` shows; None (or empty) where an input is missing."""

    verdict: str  # the first line, for example "✅ All 13 quality gates pass"
    base_label: str  # the base as given ("origin/main")
    base: str  # its short name ("main")
    base_rev: str | None
    head_rev: str | None
    test_rows: int
    base_test_rows: int | None  # when it differs from test_rows, the metrics are not like for like
    metrics: list[MetricRow]
    has_baseline: bool  # the base has metrics
    not_comparable: str | None  # why the base's metrics are not comparable (it evaluated other data)
    lower_is_better: list[str]  # labels
    intervals: str  # how the CIs were computed, or why there are none
    data: DataChange | None
    gates: GatesReport | None  # None: not checked (the verdict says why)
    params: list[ParamChange]
    validation: Validation | None
    fairness: Fairness | None
    slices: Slices | None
    importance: Importance | None
    plots: list[Plot]
    notes: list[str]  # inputs that could not be read
    run_url: str | None
    # The files the comment names: {"metrics": "reports/metrics.json", "validation": ..., "slices": ...}
    files: dict[str, str] = field(
        default_factory=lambda: {
            "metrics": paths.METRICS.as_posix(),
            "validation": paths.VALIDATION_JSON.as_posix(),
            "slices": paths.SLICES.as_posix(),
        }
    )


def _change(old: float | None, new: float | None, higher_is_better: bool) -> str:
    if old is None or new is None:
        return "—"
    delta = new - old
    if abs(delta) < EPSILON:
        return "= 0"
    better = (delta > 0) == higher_is_better
    return f"{'🟢' if better else '🔴'} {'▲' if delta > 0 else '▼'} {delta:+.4f}"


def _short(name: str) -> str:
    return name.removeprefix("origin/")


def _verdict(gates: GatesReport | str) -> tuple[str, str]:
    """(conclusion, one-line verdict) from the gates checked for this report, or why they were not."""
    if isinstance(gates, str):
        return "neutral", f"⚪ Quality gates not checked: {gates}"
    failed = gates.failed
    if failed:
        return "failure", f"❌ {len(failed)} of {len(gates.gates)} quality gates failed: {', '.join(failed)}"
    return "success", f"✅ All {len(gates.gates)} quality gates pass"


def check_gates(params: Params, base_ref: str, inputs: Inputs) -> GatesReport | str:
    """The gates on the very files this report shows, against the same base, or why they cannot be checked.

    Checked here rather than read from a `reports/gates.json` that an earlier command wrote: after
    `dvc exp run` that file can describe other metrics or other gate settings. The gates use this
    report's evaluations and paired bootstrap (computed once). Like `make gate`, this rewrites
    `reports/gates.json`.
    """
    try:
        report = gate.judge(
            params.gates, inputs.head_evaluation, inputs.base_evaluation, inputs.paired, base_ref
        )
    except LastmileError as exc:
        return one_line(exc)
    artifacts.write(paths.GATES, report)
    return report


def _intervals(inputs: Inputs, settings: BootstrapParams) -> tuple[dict[str, Comparison], str]:
    """The paired bootstrap per headline metric (`baseline.compare`, the same the gates use)."""
    paired = inputs.paired
    if not paired.comparisons:
        return {}, f"No confidence intervals: {paired.reason}"
    return paired.comparisons, (
        f"CI: {settings.confidence:.0%} paired bootstrap "
        f"({settings.resamples:,} resamples of the same test rows)"
    )


def _metric_rows(inputs: Inputs, cis: dict[str, Comparison]) -> list[MetricRow]:
    rows = []
    for metric in METRICS:
        new = inputs.head_metrics.get(metric.name)
        if new is None:
            continue
        old = inputs.base_metrics.get(metric.name)
        ci = cis.get(metric.name)
        rows.append(
            MetricRow(
                label=metric.label,
                base=old,
                head=new,
                change=_change(old, new, metric.higher_is_better),
                interval=f"{ci.ci_low:+.4f} … {ci.ci_high:+.4f}" if ci else None,
                verdict=f"{VERDICT_MARKS.get(ci.verdict, '')} {ci.verdict}".strip() if ci else None,
            )
        )
    return rows


def _data_side(summary: DataSummary | None, classes: list[str]) -> DataSide:
    if summary is None:
        return DataSide(
            rows=None,
            positive_rate=None,
            class_counts=dict.fromkeys(classes),
            missing_cells=None,
            data_hash=None,
            source=None,
        )
    return DataSide(
        rows=summary.rows,
        positive_rate=summary.positive_rate,
        class_counts={name: summary.class_counts.get(name) for name in classes},
        missing_cells=summary.missing_cells,
        data_hash=summary.data_hash,
        source=summary.source,
    )


def _data(inputs: Inputs) -> DataChange | None:
    old, new = inputs.base_data, inputs.head_data
    if new is None:
        return None
    changed = old is not None and old.data_hash != new.data_hash
    status = "changed" if changed else "unchanged" if old else "no baseline"
    classes = sorted({*new.class_counts, *(old.class_counts if old else {})})
    return DataChange(status, _data_side(old, classes), _data_side(new, classes))


def _param_changes(inputs: Inputs) -> list[ParamChange]:
    return [
        ParamChange(key, change.get("old"), change.get("new"))
        for file, entries in sorted(inputs.params.items())
        for key, change in sorted(entries.items())
        if file  # DVC keys by params file
    ]


def _validation(inputs: Inputs) -> Validation | None:
    report = inputs.head.artifact(paths.VALIDATION_JSON, ValidationReport)
    if report is None:
        return None
    failures = report.failures
    return Validation(report.rows, report.columns, report.passed, len(failures), failures[:MAX_FAILURES])


def _one_class(fairness: FairnessReport) -> str | None:
    """'negative' or 'positive' when every group of every feature has a selection rate of 0 or 1."""
    rates = {g.selection_rate for result in fairness.root.values() for g in result.groups.values()}
    return "negative" if rates == {0} else "positive" if rates == {1} else None


def _fairness(inputs: Inputs) -> Fairness | None:
    head = inputs.head.artifact(paths.FAIRNESS, FairnessReport)
    base = inputs.base.artifact(paths.FAIRNESS, FairnessReport)
    if head is None:
        return None
    features = []
    for feature, result in head.root.items():
        old = base.root.get(feature) if base else None
        dpd = result.demographic_parity_difference
        old_dpd = old.demographic_parity_difference if old else None
        groups = sorted(result.groups.items(), key=lambda item: -item[1].rows)
        features.append(
            FeatureFairness(
                feature=str(feature),
                demographic_parity=dpd,
                base_demographic_parity=old_dpd,
                demographic_parity_change=_change(old_dpd, dpd, higher_is_better=False)
                if old_dpd is not None
                else None,
                equalized_odds=result.equalized_odds_difference,
                base_equalized_odds=old.equalized_odds_difference if old else None,
                groups=[
                    GroupRates(
                        str(name), g.rows, g.selection_rate, g.true_positive_rate, g.false_positive_rate
                    )
                    for name, g in groups
                ],
            )
        )
    return Fairness(features, _one_class(head))


def _slice_metric(metrics: dict[str, Any]) -> str | None:
    return next((key for key in ("roc_auc", "f1", "accuracy") if key in metrics), None)


def _slices(inputs: Inputs) -> Slices | None:
    head = inputs.head.artifact(paths.SLICES, SlicesReport)
    base = inputs.base.artifact(paths.SLICES, SlicesReport)
    if head is None or not head.slices:
        return None
    slices = head.slices
    metric = _slice_metric(slices[0].metrics) or "accuracy"
    old_by_key = {(s.slice, s.group): s.metrics for s in (base.slices if base else [])}
    rows = []
    for s in slices[:MAX_SLICES]:
        old = old_by_key.get((s.slice, s.group), {}).get(metric)
        new = s.metrics.get(metric)
        name = f"{s.slice} = {s.group}"
        rows.append(
            SliceRow(name, s.rows, s.rows < SMALL_SLICE, s.positive_rate, old, new, _change(old, new, True))
        )
    return Slices(metric, rows, len(slices), min(s.rows for s in slices))


def _ranked(importance: ImportanceReport | None) -> list[FeatureImportance]:
    return sorted(importance.features, key=lambda f: -f.importance_mean) if importance else []


def _importance(inputs: Inputs, out: Path) -> Importance | None:
    head = inputs.head.artifact(paths.IMPORTANCE, ImportanceReport)
    features = _ranked(head)
    if head is None or not features:
        return None
    old_rank = {
        f.feature: rank
        for rank, f in enumerate(_ranked(inputs.base.artifact(paths.IMPORTANCE, ImportanceReport)), 1)
    }
    figure = None
    if IMPORTANCE_FIGURE.is_file():
        shutil.copyfile(IMPORTANCE_FIGURE, out / IMPORTANCE_FIGURE.name)
        figure = IMPORTANCE_FIGURE.name
    ranks = [
        FeatureRank(rank, f.feature, f.importance_mean, f.importance_std, old_rank.get(f.feature))
        for rank, f in enumerate(features[:TOP_FEATURES], 1)
    ]
    return Importance(head.method, ranks, figure)


def _plots(inputs: Inputs, out: Path, positive: Label) -> list[Plot]:
    """Draws the curves of both revisions and this branch's confusion matrix into `out`."""
    images: list[Plot] = []
    for stem, x, y, title, diagonal in CURVES:
        path = paths.PLOTS_DIR / f"{stem}.csv"
        curves = {}
        for snapshot in (inputs.base, inputs.head):
            frame = snapshot.csv(path)
            if frame is not None and {x, y} <= set(frame.columns):
                curves[f"{_short(snapshot.label)} ({snapshot.rev})"] = frame
        if curves:
            line_plot(curves, x, y, title, out / f"{stem}.png", diagonal=diagonal)
            images.append(Plot(title, f"{stem}.png"))
    confusion = inputs.head.csv(paths.PLOTS_DIR / "confusion.csv")
    if confusion is not None and {"actual", "predicted"} <= set(confusion.columns):
        seen = set(confusion["actual"].astype(str)) | set(confusion["predicted"].astype(str))
        # Negative label first, positive last: the matrix then reads like the usual 2x2 layout.
        order = sorted(seen, key=lambda label: (label.casefold() == str(positive).casefold(), label))
        matrix = pd.crosstab(confusion["actual"].astype(str), confusion["predicted"].astype(str))
        matrix = matrix.reindex(index=order, columns=order, fill_value=0)
        confusion_plot(matrix.to_numpy(), order, "Confusion matrix (this branch)", out / "confusion.png")
        images.append(Plot("Confusion matrix", "confusion.png"))
    return images


def comment(
    inputs: Inputs, params: Params, gates: GatesReport | str, out: Path, run_url: str | None = None
) -> Comment:
    """The comment's facts; its images are drawn (or copied) into `out` on the way."""
    settings = params.gates.bootstrap
    cis, intervals = _intervals(inputs, settings) if inputs.base_metrics else ({}, "")
    base = inputs.base
    return Comment(
        verdict=_verdict(gates)[1],
        base_label=base.label,
        base=_short(base.label),
        base_rev=base.rev,
        head_rev=inputs.head.rev,
        test_rows=inputs.head_evaluation.metrics.test_rows,
        base_test_rows=inputs.base_evaluation.metrics.test_rows if inputs.base_evaluation else None,
        metrics=_metric_rows(inputs, cis),
        has_baseline=bool(inputs.base_metrics),
        not_comparable=inputs.head_evaluation.other_data(inputs.base_evaluation)
        if inputs.base_evaluation
        else None,
        lower_is_better=[m.label for m in METRICS if not m.higher_is_better],
        intervals=intervals,
        data=_data(inputs),
        gates=None if isinstance(gates, str) else gates,
        params=_param_changes(inputs),
        validation=_validation(inputs),
        fairness=_fairness(inputs),
        slices=_slices(inputs),
        importance=_importance(inputs, out),
        plots=_plots(inputs, out, params.target.positive),
        notes=list(dict.fromkeys([*base.problems, *inputs.head.problems])),
        run_url=run_url,
    )


def markdown(view: Comment, check_run: bool = False, templates: jinja2.Environment | None = None) -> str:
    """The comment (or, with `check_run`, the check run's summary: no images) from `COMMENT_TEMPLATE`.

    `templates`: another set of templates (an edited copy) instead of the package's own.
    """
    template = (templates or prose.templates("lastmile.review")).get_template(COMMENT_TEMPLATE)
    return template.render(comment=view, check_run=check_run).rstrip() + "\n"


def render(
    inputs: Inputs,
    params: Params,
    gates: GatesReport | str,
    out: Path,
    run_url: str | None = None,
) -> Result:
    conclusion, verdict = _verdict(gates)
    view = comment(inputs, params, gates, out, run_url)
    report = out / REPORT
    report.write_text(markdown(view), encoding="utf-8")
    # The check run shows the verdict and the numbers only: its summary cannot carry images.
    (out / SUMMARY).write_text(markdown(view, check_run=True), encoding="utf-8")
    title = verdict.split(" ", 1)[1]
    write_verdict(out, conclusion, title)
    return Result(report, conclusion, title)


def run(base: str = DEFAULT_BASE, out: Path = paths.PR_REPORT_DIR, run_url: str | None = None) -> Result:
    """Write `out/report.md` with its PNG plots, `summary.md` and `verdict.json`, comparing with `base`."""
    root = Path.cwd()
    params = load_params(root / paths.PARAMS)
    inputs = gather(base, root, params.gates.bootstrap)
    gates = check_gates(params, base, inputs)
    staging = out.with_name(f".{out.name}.tmp")
    shutil.rmtree(staging, ignore_errors=True)
    staging.mkdir(parents=True)
    try:
        result = render(inputs, params, gates, staging, run_url)
        shutil.rmtree(out, ignore_errors=True)
        staging.replace(out)
    finally:
        shutil.rmtree(staging, ignore_errors=True)
    log.info("report: %s (%s) -> %s", result.title, result.conclusion, out / REPORT)
    return Result(out / REPORT, result.conclusion, result.title)
