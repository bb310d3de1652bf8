"""`lastmile report`: the pull-request comment, as Markdown with its PNG plots beside it.

It compares the workspace (this branch, after `dvc repro`) with a base revision (normally
`main`): both revisions' files are read through `lastmile.review.baseline` (DVC's file system at
the base commit), the paired bootstrap is the one the gates use (`baseline.compare`), and the
parameters come from `dvc.api.params_show` at each revision. The same command writes the same
folder locally and in CI; CML only posts what it wrote.

Every input beyond the headline metrics is optional: a section whose files are missing says
so instead of failing, so the report works on an old base, on a first PR and when nothing changed.
"""

from __future__ import annotations

import io
import json
import logging
import shutil
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pandas as pd

from lastmile import artifacts, paths
from lastmile.artifacts import Artifact, Comparison, FairnessReport, GatesReport, SlicesReport
from lastmile.data import Label
from lastmile.errors import LastmileError, one_line
from lastmile.evaluation.plots import confusion_plot, line_plot
from lastmile.metrics import DIGITS, METRICS
from lastmile.params import BootstrapParams, Params, load_params
from lastmile.review import baseline, gate
from lastmile.review.baseline import Evaluation, Paired, Revision
from lastmile.review.pr_artifact import REPORT, SUMMARY, write_verdict

log = logging.getLogger(__name__)

DEFAULT_BASE = "main"
DEFAULT_OUT = Path("reports/pr")
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
        """A typed artifact, or None (noted) when it is absent or damaged."""
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
    base_data: dict[str, Any]
    head_data: dict[str, Any]
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
        base_data=_flatten(base.json(paths.DATA_SUMMARY) or {}),
        head_data=_flatten(head.json(paths.DATA_SUMMARY) or {}),
        params=_params_diff(_params(root, base.revision.commit), _params(root, None)),
    )


# ---------------------------------------------------------------- formatting


def _cell(value: object) -> str:
    """A table cell: numbers formatted, text escaped so data values cannot break the table."""
    if value is None:
        return "—"
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, int):
        return f"{value:,}"
    if isinstance(value, float):
        return f"{value:,.0f}" if value.is_integer() and abs(value) >= 1000 else f"{value:.4f}"
    text = str(value).replace("|", "\\|").replace("<", "&lt;").replace(">", "&gt;").replace("\n", " ")
    return text if len(text) <= 60 else text[:59] + "…"


def _table(header: Iterable[str], rows: Iterable[Iterable[object]], align: str = "") -> list[str]:
    header = list(header)
    marks = [("---:" if align[i : i + 1] == "r" else "---") for i in range(len(header))]
    lines = ["| " + " | ".join(header) + " |", "| " + " | ".join(marks) + " |"]
    lines += [
        "| " + " | ".join(_cell(v) if not isinstance(v, Raw) else v for v in row) + " |" for row in rows
    ]
    return lines


class Raw(str):
    """A cell that is already Markdown (marks, code spans): not escaped."""


def _details(summary: str, body: list[str], open_: bool = False) -> list[str]:
    return [
        f"<details{' open' if open_ else ''}><summary>{summary}</summary>",
        "",
        *body,
        "",
        "</details>",
        "",
    ]


def _change(old: float | None, new: float | None, higher_is_better: bool) -> Raw:
    if old is None or new is None:
        return Raw("—")
    delta = new - old
    if abs(delta) < EPSILON:
        return Raw("= 0")
    better = (delta > 0) == higher_is_better
    return Raw(f"{'🟢' if better else '🔴'} {'▲' if delta > 0 else '▼'} {delta:+.4f}")


def _percent(value: object) -> str:
    return f"{value:.1%}" if isinstance(value, int | float) else "—"


# ---------------------------------------------------------------- sections


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


def _metrics_section(inputs: Inputs, settings: BootstrapParams) -> list[str]:
    base_name = inputs.base.label
    cis, ci_note = _intervals(inputs, settings) if inputs.base_metrics else ({}, "")
    rows = []
    for metric in METRICS:
        new = inputs.head_metrics.get(metric.name)
        if new is None:
            continue
        old = inputs.base_metrics.get(metric.name)
        ci = cis.get(metric.name)
        interval, verdict = Raw("—"), Raw("—")
        if ci:
            interval = Raw(f"{ci.ci_low:+.4f} … {ci.ci_high:+.4f}")
            verdict = Raw(f"{VERDICT_MARKS.get(ci.verdict, '')} {ci.verdict}".strip())
        rows.append([metric.label, old, new, _change(old, new, metric.higher_is_better), interval, verdict])
    lines = _table(["metric", f"`{_short(base_name)}`", "branch", "change", "CI", "verdict"], rows, "lrrrll")
    other = inputs.head_evaluation.other_data(inputs.base_evaluation) if inputs.base_evaluation else None
    if not inputs.base_metrics:
        lines += [
            "",
            f"> **No baseline:** `{base_name}` has no `{paths.METRICS}` yet (first model PR), "
            "so there is nothing to compare with; the values above are this branch's.",
        ]
    elif other:
        lines += [
            "",
            f"> **Not comparable:** `{_short(base_name)}` evaluated other data ({other}); the changes "
            "above compare two datasets, and the regression gates do not judge them.",
        ]
    else:
        lower = " and ".join(m.label for m in METRICS if not m.higher_is_better)
        lines += ["", f"<sub>{lower}: lower is better. {ci_note.rstrip('.')}.</sub>"]
    return lines


def _short(name: str) -> str:
    return name.removeprefix("origin/")


def _data_section(inputs: Inputs) -> tuple[str, list[str]]:
    old, new = inputs.base_data, inputs.head_data
    if not new:
        return "data: no summary", []
    changed = bool(old) and old.get("data_hash") != new.get("data_hash")
    if not old:
        headline = f"data: {new.get('rows', 0):,} rows (no baseline)"
    elif changed:
        headline = f"**data changed**: {old.get('rows', 0):,} → {new.get('rows', 0):,} rows"
    else:
        headline = "data unchanged"
    classes = sorted({k for k in (*old, *new) if k.startswith("class_counts.")})
    rows: list[list[object]] = [
        ["rows", old.get("rows"), new.get("rows")],
        ["positive rate", Raw(_percent(old.get("positive_rate"))), Raw(_percent(new.get("positive_rate")))],
        *[[f"class {k.removeprefix('class_counts.')}", old.get(k), new.get(k)] for k in classes],
        ["missing cells", old.get("missing_cells"), new.get("missing_cells")],
        ["data hash", Raw(_code(old.get("data_hash"), 12)), Raw(_code(new.get("data_hash"), 12))],
        ["source", Raw(_code(old.get("source"))), Raw(_code(new.get("source")))],
    ]
    body = _table(["", f"`{_short(inputs.base.label)}`", "branch"], rows, "lrr")
    summary = "📦 Data: " + ("changed" if changed else "unchanged" if old else "no baseline")
    return headline, _details(summary, body, open_=changed)


def _code(value: object, chars: int = 60) -> str:
    if value is None:
        return "—"
    text = str(value).replace("`", "'")
    return f"`{text[:chars]}{'…' if len(text) > chars else ''}`"


def _gates_section(gates: GatesReport | str) -> list[str]:
    if isinstance(gates, str):
        return []
    rows = [
        [
            Raw(f"`{_cell(g.name)}`"),
            g.value,
            g.threshold,
            Raw("✅ pass" if g.passed else "❌ fail"),
            g.detail,
        ]
        for g in gates.gates
    ]
    failed = len(gates.failed)
    summary = f"🚦 Quality gates: {len(rows) - failed} pass, {failed} fail"
    return _details(summary, _table(["gate", "value", "threshold", "result", "detail"], rows, "lrrll"))


def _params_section(inputs: Inputs) -> tuple[int, list[str]]:
    rows = [
        [Raw(f"`{_cell(key)}`"), Raw(_code(change.get("old"))), Raw(_code(change.get("new")))]
        for file, entries in sorted(inputs.params.items())
        for key, change in sorted(entries.items())
        if file  # DVC keys by params file
    ]
    if not rows:
        return 0, _details("⚙️ Parameters: none changed", ["No parameter changes (`dvc params diff`)."])
    header = ["parameter", f"`{_short(inputs.base.label)}`", "branch"]
    return len(rows), _details(f"⚙️ Parameters: {len(rows)} changed", _table(header, rows, "lrr"))


def _validation_section(inputs: Inputs) -> list[str]:
    report = inputs.head.json(paths.VALIDATION_JSON)
    if not isinstance(report, dict):
        return _details("🧪 Data validation: no report", [f"`{paths.VALIDATION_JSON}` is missing."])
    failures = [f for f in report.get("failures", []) if isinstance(f, dict)]
    state = "passed" if report.get("passed") else f"**failed** ({len(failures)} rule(s))"
    body = [f"{_cell(report.get('rows'))} rows, {_cell(report.get('columns'))} columns: {state}."]
    if failures:
        rows = [[Raw(f"`{_cell(f.get('column'))}`"), f.get("rule"), f.get("rows")] for f in failures[:20]]
        body += ["", *_table(["column", "rule", "rows"], rows, "llr")]
    return _details(f"🧪 Data validation: {'passed' if report.get('passed') else 'failed'}", body)


def _one_class(fairness: FairnessReport) -> str | None:
    """'negative' or 'positive' when every group of every feature has a selection rate of 0 or 1."""
    rates = {g.selection_rate for result in fairness.root.values() for g in result.groups.values()}
    return "negative" if rates == {0} else "positive" if rates == {1} else None


def _fairness_section(inputs: Inputs) -> list[str]:
    head = inputs.head.artifact(paths.FAIRNESS, FairnessReport)
    base = inputs.base.artifact(paths.FAIRNESS, FairnessReport)
    if head is None:
        return []
    if not head.root:
        return _details(
            "⚖️ Fairness: none configured",
            ["No sensitive features are listed in params.yaml `features.sensitive`: no group was compared."],
        )
    one_class = _one_class(head)
    if one_class:
        # Differences of 0 would read as perfectly fair: say what they really mean.
        warning = f"⚠️ not meaningful: the model predicts every test row {one_class}"
        body = [f"> **{warning}**, so every group has the same selection rate.", ""]
        summary_parts = [warning]
    else:
        body, summary_parts = [], []
    for feature, result in head.root.items():
        old = base.root.get(feature) if base else None
        dpd, eod = result.demographic_parity_difference, result.equalized_odds_difference
        old_dpd = old.demographic_parity_difference if old else None
        old_eod = old.equalized_odds_difference if old else None
        if not one_class and dpd is not None:
            change = _change(old_dpd, dpd, higher_is_better=False) if old_dpd is not None else ""
            summary_parts.append(f"{feature} {dpd:.3f}" + (f" ({change})" if change else ""))
        elif not one_class:
            summary_parts.append(str(feature))
        body += [
            f"**{_cell(feature)}**: demographic parity difference {_cell(dpd)} "
            f"({_short(inputs.base.label)} {_cell(old_dpd)}), "
            f"equalized odds difference {_cell(eod)} "
            f"({_short(inputs.base.label)} {_cell(old_eod)})",
            "",
        ]
        rows = [
            [group, g.rows, g.selection_rate, g.true_positive_rate, g.false_positive_rate]
            for group, g in sorted(result.groups.items(), key=lambda item: -item[1].rows)
        ]
        body += [*_table(["group", "rows", "selection rate", "TPR", "FPR"], rows, "lrrrr"), ""]
    return _details("⚖️ Fairness (demographic parity difference): " + ", ".join(summary_parts), body)


def _slice_metric(metrics: dict[str, Any]) -> str | None:
    return next((key for key in ("roc_auc", "f1", "accuracy") if key in metrics), None)


def _slices_section(inputs: Inputs) -> list[str]:
    head = inputs.head.artifact(paths.SLICES, SlicesReport)
    base = inputs.base.artifact(paths.SLICES, SlicesReport)
    if head is None or not head.slices:
        return []
    slices = head.slices
    metric = _slice_metric(slices[0].metrics) or "accuracy"
    old_by_key = {(s.slice, s.group): s.metrics for s in (base.slices if base else [])}
    rows = []
    for s in slices[:MAX_SLICES]:
        old = old_by_key.get((s.slice, s.group), {}).get(metric)
        new = s.metrics.get(metric)
        size = Raw(f"{s.rows:,}{' ⚠️' if s.rows < SMALL_SLICE else ''}")
        name = f"{s.slice} = {s.group}"
        rows.append([name, size, Raw(_percent(s.positive_rate)), old, new, _change(old, new, True)])
    smallest = min(s.rows for s in slices)
    header = ["slice", "rows", "positives", _short(inputs.base.label), "branch", "change"]
    body = [
        f"Metric: {metric}; ⚠️ marks slices under {SMALL_SLICE} rows, where differences are mostly noise.",
        "",
        *_table(header, rows, "lrrrrr"),
    ]
    if len(slices) > MAX_SLICES:
        body += ["", f"{len(slices) - MAX_SLICES} more slices in `{paths.SLICES}`."]
    return _details(f"🧩 Slices: {len(slices)} ({metric}; smallest {smallest:,} rows)", body)


def _ranked(importance: Any) -> list[dict[str, Any]]:
    if not isinstance(importance, dict) or not isinstance(importance.get("features"), list):
        return []
    features = [f for f in importance["features"] if isinstance(f, dict)]
    return sorted(features, key=lambda f: -float(f.get("importance_mean") or 0))


def _importance_section(inputs: Inputs, out: Path) -> list[str]:
    head, base = inputs.head.json(paths.IMPORTANCE), inputs.base.json(paths.IMPORTANCE)
    if not _ranked(head):
        return []
    features = _ranked(head)
    old_rank = {f.get("feature"): rank for rank, f in enumerate(_ranked(base), 1)}
    rows = [
        [
            rank,
            Raw(f"`{_cell(f.get('feature'))}`"),
            Raw(f"{float(f.get('importance_mean') or 0):.4f} ± {float(f.get('importance_std') or 0):.4f}"),
            old_rank.get(f.get("feature")),
        ]
        for rank, f in enumerate(features[:TOP_FEATURES], 1)
    ]
    method = _cell(head.get("method") or "importance")
    body = _table(["#", "feature", "importance", f"rank on {_short(inputs.base.label)}"], rows, "rlrr")
    if IMPORTANCE_FIGURE.is_file():
        shutil.copyfile(IMPORTANCE_FIGURE, out / IMPORTANCE_FIGURE.name)
        body += ["", f"![Feature importance]({IMPORTANCE_FIGURE.name})"]
    top = ", ".join(str(f.get("feature")) for f in features[:3])
    return _details(f"🔎 Top features ({method}): {top}", body)


# ---------------------------------------------------------------- plots


def _plots(inputs: Inputs, out: Path, positive: Label) -> list[str]:
    images: list[tuple[str, str]] = []
    for stem, x, y, title, diagonal in CURVES:
        path = paths.PLOTS_DIR / f"{stem}.csv"
        curves = {}
        for snapshot in (inputs.base, inputs.head):
            frame = snapshot.csv(path)
            if frame is not None and {x, y} <= set(frame.columns):
                curves[f"{_short(snapshot.label)} ({snapshot.rev})"] = frame
        if curves:
            line_plot(curves, x, y, title, out / f"{stem}.png", diagonal=diagonal)
            images.append((title, f"{stem}.png"))
    confusion = inputs.head.csv(paths.PLOTS_DIR / "confusion.csv")
    if confusion is not None and {"actual", "predicted"} <= set(confusion.columns):
        seen = set(confusion["actual"].astype(str)) | set(confusion["predicted"].astype(str))
        # Negative label first, positive last: the matrix then reads like the usual 2x2 layout.
        order = sorted(seen, key=lambda label: (label.casefold() == str(positive).casefold(), label))
        matrix = pd.crosstab(confusion["actual"].astype(str), confusion["predicted"].astype(str))
        matrix = matrix.reindex(index=order, columns=order, fill_value=0)
        confusion_plot(matrix.to_numpy(), order, "Confusion matrix (this branch)", out / "confusion.png")
        images.append(("Confusion matrix", "confusion.png"))
    if not images:
        return []
    cells = [f"![{title}]({name})" for title, name in images]
    while len(cells) % 2:
        cells.append(" ")
    body = ["| | |", "| --- | --- |"]
    body += [f"| {cells[i]} | {cells[i + 1]} |" for i in range(0, len(cells), 2)]
    return _details("📈 Plots: ROC, precision-recall, calibration (base and branch), confusion matrix", body)


# ---------------------------------------------------------------- the whole report


def _test_rows(inputs: Inputs) -> str | None:
    """The test-set size; when it changed, say so loudly: the metrics are then not like for like."""
    new = inputs.head_evaluation.metrics.test_rows
    old = inputs.base_evaluation.metrics.test_rows if inputs.base_evaluation else None
    if old is not None and old != new:
        return f"**test set changed**: {old:,} → {new:,} rows"
    return f"{new:,} test rows"


def render(
    inputs: Inputs,
    params: Params,
    gates: GatesReport | str,
    out: Path,
    run_url: str | None = None,
) -> Result:
    conclusion, verdict = _verdict(gates)
    data_headline, data_details = _data_section(inputs)
    changed_params, params_details = _params_section(inputs)
    base = inputs.base
    context = [
        f"`{_short(base.label)}` ({base.rev}) → this branch ({inputs.head.rev})",
        _test_rows(inputs),
        data_headline,
        f"{changed_params} parameter{'s' if changed_params != 1 else ''} changed",
    ]
    top = [
        f"### {verdict}",
        "",
        " · ".join(part for part in context if part),
        "",
        *_metrics_section(inputs, params.gates.bootstrap),
        "",
    ]
    gates_details = _gates_section(gates)
    lines = [
        *top,
        *data_details,
        *gates_details,
        *params_details,
        *_validation_section(inputs),
        *_fairness_section(inputs),
        *_slices_section(inputs),
        *_importance_section(inputs, out),
        *_plots(inputs, out, params.target.positive),
    ]
    problems = [*base.problems, *inputs.head.problems]
    if problems:
        lines += ["> Notes: " + "; ".join(dict.fromkeys(problems)), ""]
    footer = "<sub>`lastmile report`"
    if run_url:
        footer += f" · plots and files in the [workflow run's artifacts]({run_url})"
    footer += "</sub>"
    markdown = out / REPORT
    markdown.write_text("\n".join([*lines, footer]).rstrip() + "\n", encoding="utf-8")
    # The check run shows the verdict and the numbers only: its summary cannot carry images.
    (out / SUMMARY).write_text("\n".join([*top, *gates_details, footer]).rstrip() + "\n", encoding="utf-8")
    title = verdict.split(" ", 1)[1]
    write_verdict(out, conclusion, title)
    return Result(markdown, conclusion, title)


def run(base: str = DEFAULT_BASE, out: Path = DEFAULT_OUT, run_url: str | None = None) -> Result:
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
