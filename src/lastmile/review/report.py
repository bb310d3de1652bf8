"""`lastmile report`: the pull-request comment, as Markdown with its PNG plots beside it.

It compares the workspace (this branch, after `dvc repro`) with a base revision (normally
`main`) using DVC's own machinery: `metrics diff` and `params diff` for the numbers, and
DVC's file system at the base revision for the base's report files and curves. The same
command writes the same folder locally and in CI; CML only posts what it wrote.

Every input beyond the headline metrics is optional: a section whose files are missing says
so instead of failing, so the report works on an old base, on a first PR and when nothing changed.
"""

from __future__ import annotations

import io
import json
import logging
import shutil
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pandas as pd

from lastmile import paths
from lastmile.data import Label
from lastmile.errors import LastmileError, one_line
from lastmile.evaluation.bootstrap import compare_all
from lastmile.evaluation.plots import confusion_plot, line_plot
from lastmile.params import BootstrapParams, MetricName, Params, load_params
from lastmile.review import gate
from lastmile.review.baseline import other_data
from lastmile.review.pr_artifact import REPORT, SUMMARY, write_verdict

log = logging.getLogger(__name__)

DEFAULT_BASE = "main"
DEFAULT_OUT = Path("reports/pr")
IMPORTANCE_FIGURE = paths.FIGURES_DIR / "importance.png"

# (key, label, higher is better)
HEADLINE: tuple[tuple[MetricName, str, bool], ...] = (
    ("roc_auc", "ROC AUC", True),
    ("pr_auc", "PR AUC", True),
    ("f1", "F1", True),
    ("accuracy", "Accuracy", True),
    ("precision", "Precision", True),
    ("recall", "Recall", True),
    ("log_loss", "Log loss", False),
    ("brier", "Brier", False),
)
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
EPSILON = 5e-7  # metrics are rounded to 6 digits: smaller differences are rounding


@dataclass
class Snapshot:
    """The report files of one revision: the workspace, or a git revision read through DVC."""

    label: str
    rev: str | None
    opener: Callable[[str], bytes]
    problems: list[str] = field(default_factory=list)

    def read(self, path: Path) -> bytes | None:
        try:
            return self.opener(path.as_posix())
        except FileNotFoundError:
            return None
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


@dataclass(frozen=True)
class Result:
    markdown: Path
    conclusion: str
    title: str


# ---------------------------------------------------------------- gathering, through DVC


def _resolve(repo: Any, ref: str) -> str:
    """The base's commit. DVC's git layer falls back to remote branches, so `main` finds
    `origin/main` in CI checkouts, which have no local main."""
    from scmrepo.exceptions import RevError

    try:
        return str(repo.scm.resolve_rev(ref))
    except RevError:
        raise LastmileError(
            f"Base revision {ref!r} not found, locally or as a remote branch. "
            "Fetch it (`git fetch origin main`), or pass another one with `--base`."
        ) from None


def _split_diff(result: dict[str, Any]) -> tuple[dict[str, dict[str, Any]], dict[str, dict[str, Any]]]:
    """DVC's `{file: {key: {old, new}}}` as two `{file: {key: value}}` views (old, new)."""
    old: dict[str, dict[str, Any]] = {}
    new: dict[str, dict[str, Any]] = {}
    for file, entries in result.get("diff", {}).items():
        for key, change in entries.items():
            if change.get("old") is not None:
                old.setdefault(file, {})[key] = change["old"]
            if change.get("new") is not None:
                new.setdefault(file, {})[key] = change["new"]
    return old, new


@dataclass
class Inputs:
    base: Snapshot
    head: Snapshot
    base_metrics: dict[str, Any]
    head_metrics: dict[str, Any]
    base_data: dict[str, Any]
    head_data: dict[str, Any]
    params: dict[str, dict[str, Any]]


def gather(base_ref: str, root: Path) -> Inputs:
    from dvc.api import DVCFileSystem
    from dvc.repo import Repo

    with Repo(str(root)) as repo:
        sha = _resolve(repo, base_ref)
        head_sha = str(repo.scm.get_rev())
        log.info("report: comparing the workspace (%s) with %s (%s)", head_sha[:7], base_ref, sha[:7])
        metrics = repo.metrics.diff(a_rev=sha, b_rev="workspace", all=True)
        params = repo.params.diff(a_rev=sha, b_rev="workspace")
    # DVC's file system at the base commit: git-tracked files and DVC-cached outputs alike.
    # (Given a Repo object instead of a path, DVCFileSystem ignores `rev`.)
    base = Snapshot(base_ref, sha[:7], DVCFileSystem(str(root), rev=sha).read_bytes)
    head = Snapshot("this branch", head_sha[:7], lambda path: (root / path).read_bytes())
    old, new = _split_diff(metrics)
    inputs = Inputs(
        base=base,
        head=head,
        base_metrics=old.get(paths.METRICS.as_posix(), {}),
        head_metrics=new.get(paths.METRICS.as_posix(), {}),
        base_data=old.get(paths.DATA_SUMMARY.as_posix(), {}),
        head_data=new.get(paths.DATA_SUMMARY.as_posix(), {}),
        params=params.get("diff", {}),
    )
    if not inputs.head_metrics:
        raise LastmileError(f"{paths.METRICS} not found in the workspace: run `dvc repro` first.")
    return inputs


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


def _verdict(gates: dict[str, Any] | str) -> tuple[str, str]:
    """(conclusion, one-line verdict) from the gates checked for this report, or why they were not."""
    if isinstance(gates, str):
        return "neutral", f"⚪ Quality gates not checked: {gates}"
    results = gates["gates"]
    failed = [str(g["name"]) for g in results if not g["passed"]]
    if failed:
        return "failure", f"❌ {len(failed)} of {len(results)} quality gates failed: {', '.join(failed)}"
    return "success", f"✅ All {len(results)} quality gates pass"


def check_gates(params: Params, base_ref: str) -> dict[str, Any] | str:
    """The gates on the very files this report shows, against the same base, or why they cannot be checked.

    Checked here rather than read from a `reports/gates.json` that an earlier command wrote: after
    `dvc exp run` that file can describe other metrics or other gate settings. Like `make gate`, this
    rewrites `reports/gates.json`.
    """
    try:
        return gate.run(params, base_ref=base_ref).as_dict()
    except LastmileError as exc:
        return one_line(exc)


def _bootstrap(inputs: Inputs, settings: BootstrapParams) -> tuple[dict[str, dict[str, Any]], str]:
    """Paired bootstrap per headline metric, when both sides have per-row predictions.

    Same settings as the gates (`gates.bootstrap` in params.yaml), so the verdicts agree.
    """
    base, head = inputs.base.csv(paths.PREDICTIONS), inputs.head.csv(paths.PREDICTIONS)
    if base is None or head is None:
        missing = inputs.base.label if base is None else "this branch"
        return {}, f"No `{paths.PREDICTIONS}` at {missing}, so no confidence intervals"
    names = [key for key, _, _ in HEADLINE if key in inputs.head_metrics and key in inputs.base_metrics]
    try:
        results: dict[str, Any] = compare_all(
            base,
            head,
            names,
            base_threshold=float(inputs.base_metrics.get("threshold", 0.5)),
            head_threshold=float(inputs.head_metrics.get("threshold", 0.5)),
            resamples=settings.resamples,
            confidence=settings.confidence,
            seed=settings.seed,
        )
    except (LastmileError, KeyError, ValueError) as exc:
        return {}, f"No confidence intervals: {exc}"
    return results, (
        f"CI: {settings.confidence:.0%} paired bootstrap "
        f"({settings.resamples:,} resamples of the same test rows)"
    )


def _metrics_section(inputs: Inputs, settings: BootstrapParams) -> list[str]:
    base_name = inputs.base.label
    cis, ci_note = _bootstrap(inputs, settings) if inputs.base_metrics else ({}, "")
    rows = []
    for key, label, higher in HEADLINE:
        new = inputs.head_metrics.get(key)
        if new is None:
            continue
        old = inputs.base_metrics.get(key)
        ci = cis.get(key)
        interval, verdict = Raw("—"), Raw("—")
        if ci:
            interval = Raw(f"{ci['ci_low']:+.4f} … {ci['ci_high']:+.4f}")
            verdict = Raw(f"{VERDICT_MARKS.get(str(ci['verdict']), '')} {ci['verdict']}".strip())
        rows.append([label, old, new, _change(old, new, higher), interval, verdict])
    lines = _table(["metric", f"`{_short(base_name)}`", "branch", "change", "CI", "verdict"], rows, "lrrrll")
    other = other_data(inputs.head_data, inputs.base_data) if inputs.base_data and inputs.head_data else None
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
        lines += ["", f"<sub>Log loss and Brier: lower is better. {ci_note.rstrip('.')}.</sub>"]
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


def _gates_section(gates: dict[str, Any] | str) -> list[str]:
    if isinstance(gates, str):
        return []
    rows = [
        [
            Raw(f"`{_cell(g.get('name'))}`"),
            g.get("value"),
            g.get("threshold"),
            Raw("✅ pass" if g.get("passed") else "❌ fail"),
            g.get("detail"),
        ]
        for g in gates["gates"]
        if isinstance(g, dict)
    ]
    failed = sum(1 for g in gates["gates"] if isinstance(g, dict) and not g.get("passed"))
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


def _one_class(fairness: dict[str, Any]) -> str | None:
    """'negative' or 'positive' when every group of every feature has a selection rate of 0 or 1."""
    rates = {
        g.get("selection_rate")
        for result in fairness.values()
        if isinstance(result, dict) and isinstance(result.get("groups"), dict)
        for g in result["groups"].values()
        if isinstance(g, dict)
    }
    return "negative" if rates == {0} else "positive" if rates == {1} else None


def _fairness_section(inputs: Inputs) -> list[str]:
    head, base = inputs.head.json(paths.FAIRNESS), inputs.base.json(paths.FAIRNESS) or {}
    if not isinstance(head, dict):
        return []
    if not head:
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
    for feature, result in head.items():
        if not isinstance(result, dict):
            continue
        old = base.get(feature, {}) if isinstance(base, dict) else {}
        dpd, eod = result.get("demographic_parity_difference"), result.get("equalized_odds_difference")
        old_dpd = old.get("demographic_parity_difference")
        if not one_class and isinstance(dpd, int | float):
            change = _change(old_dpd, dpd, higher_is_better=False) if isinstance(old_dpd, int | float) else ""
            summary_parts.append(f"{feature} {dpd:.3f}" + (f" ({change})" if change else ""))
        elif not one_class:
            summary_parts.append(str(feature))
        body += [
            f"**{_cell(feature)}**: demographic parity difference {_cell(dpd)} "
            f"({_short(inputs.base.label)} {_cell(old.get('demographic_parity_difference'))}), "
            f"equalized odds difference {_cell(eod)} "
            f"({_short(inputs.base.label)} {_cell(old.get('equalized_odds_difference'))})",
            "",
        ]
        groups = result.get("groups", {})
        rows = [
            [
                group,
                g.get("rows"),
                g.get("selection_rate"),
                g.get("true_positive_rate"),
                g.get("false_positive_rate"),
            ]
            for group, g in sorted(groups.items(), key=lambda item: -int(item[1].get("rows") or 0))
            if isinstance(g, dict)
        ]
        body += [*_table(["group", "rows", "selection rate", "TPR", "FPR"], rows, "lrrrr"), ""]
    return _details("⚖️ Fairness (demographic parity difference): " + ", ".join(summary_parts), body)


def _slice_metric(metrics: dict[str, Any]) -> str | None:
    return next((key for key in ("roc_auc", "f1", "accuracy") if key in metrics), None)


def _slices_section(inputs: Inputs) -> list[str]:
    head, base = inputs.head.json(paths.SLICES), inputs.base.json(paths.SLICES)
    if not isinstance(head, dict) or not isinstance(head.get("slices"), list):
        return []
    slices = [s for s in head["slices"] if isinstance(s, dict) and isinstance(s.get("metrics"), dict)]
    if not slices:
        return []
    metric = _slice_metric(slices[0]["metrics"]) or "accuracy"
    old_by_key = {
        (s.get("slice"), s.get("group")): s.get("metrics", {})
        for s in (base.get("slices", []) if isinstance(base, dict) else [])
        if isinstance(s, dict)
    }
    rows = []
    for s in slices[:MAX_SLICES]:
        rows_count = s.get("rows") or 0
        old = old_by_key.get((s.get("slice"), s.get("group")), {}).get(metric)
        new = s["metrics"].get(metric)
        name = f"{s.get('slice')} = {s.get('group')}"
        size = Raw(f"{rows_count:,}{' ⚠️' if rows_count < SMALL_SLICE else ''}")
        rows.append([name, size, Raw(_percent(s.get("positive_rate"))), old, new, _change(old, new, True)])
    smallest = min(int(s.get("rows") or 0) for s in slices)
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
    old, new = inputs.base_metrics.get("test_rows"), inputs.head_metrics.get("test_rows")
    if not isinstance(new, int):
        return None
    if isinstance(old, int) and old != new:
        return f"**test set changed**: {old:,} → {new:,} rows"
    return f"{new:,} test rows"


def render(
    inputs: Inputs,
    params: Params,
    gates: dict[str, Any] | str,
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
    inputs = gather(base, root)
    gates = check_gates(params, base)
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
