"""Quality gates: the checks a model change must pass before it merges (`gates:` in params.yaml).

Five kinds:
- degenerate: the model must predict both classes on the test set. One that predicts every row
  negative has a selection rate of 0 in every group, so its fairness differences are 0 and would
  pass every fairness gate; this gate is always on;
- floor: a metric's worst acceptable value (a minimum for scores, a maximum for losses);
- regression: how much a metric may worsen against the baseline (the base branch's evaluation).
  When both commits' predictions on the same test rows are available, a paired bootstrap decides:
  the gate fails only on a significant regression (the whole confidence interval of the change is
  on the worse side of zero) that is also larger than the allowed worsening. Otherwise (the test
  rows differ, or a commit has no predictions) the plain change is compared with the allowance;
- fairness: a bound on each sensitive feature's demographic parity or equalized odds difference;
- fairness_regression: how much such a difference may grow against the baseline.
Without a baseline the two regression kinds pass with "no baseline"; against a base that evaluated
other data (another target, other labels or columns: a project instantiated from the template and
compared with the template's reports) they pass with "not comparable: the base evaluated other data".

`check` is pure (evaluations in, results out); `run` reads the files and writes `reports/gates.json`.
"""

from __future__ import annotations

from pathlib import Path

from lastmile import artifacts, paths
from lastmile.artifacts import Comparison, FairnessReport, GateKind, GateResult, GatesReport
from lastmile.errors import LastmileError
from lastmile.files import DIGITS
from lastmile.metrics import BY_NAME, unknown_metrics
from lastmile.params import FairnessBound, GateParams, Params
from lastmile.review import baseline
from lastmile.review.baseline import Evaluation, Paired

# The kinds that compare with the base: without a base they pass with "no baseline", and against a
# base that evaluated other data `check` relabels them "not comparable".
AGAINST_BASE: frozenset[GateKind] = frozenset({"regression", "fairness_regression"})

DEGENERATE = "predicts both classes"
# Values are rounded to 6 digits when written: equality must not fail on the last bit.
SLACK = 1e-9


def _round(value: float) -> float:
    return round(float(value), DIGITS)


def _metric(evaluation: Evaluation, name: str) -> float:
    if name not in evaluation.metrics.values:
        raise LastmileError(f"{evaluation.source}: metrics.json has no number {name!r}; re-run `dvc repro`.")
    return evaluation.metrics.values[name]


def _predicted_positives(current: Evaluation) -> tuple[int, int] | None:
    """(rows predicted positive, rows) on the test set: from the predictions, else the fairness groups."""
    if current.predictions is not None:
        predicted = current.predictions["probability"] >= current.metrics.threshold
        return int(predicted.sum()), len(predicted)
    for result in current.fairness.root.values() if current.fairness else []:
        if result.groups:
            groups = result.groups.values()
            rows = sum(g.rows for g in groups)
            return round(sum((g.selection_rate or 0.0) * g.rows for g in groups)), rows
    return None


def degenerate_gate(current: Evaluation) -> GateResult:
    """Fails when one class is predicted for every test row (value: rows of the rarer predicted class)."""
    counted = _predicted_positives(current)
    if counted is None:
        detail = "not computed: no predictions.csv and no fairness groups; re-run `dvc repro`"
        return GateResult(
            name=DEGENERATE, kind="degenerate", value=None, threshold=1, op=">=", passed=False, detail=detail
        )
    positive, rows = counted
    rarer = min(positive, rows - positive)
    detail = ""
    if not rarer:
        side = "positive" if positive else "negative"
        detail = f"all {rows:,} test rows are predicted {side}: fairness differences of 0 mean nothing here"
    return GateResult(
        name=DEGENERATE,
        kind="degenerate",
        value=float(rarer),
        threshold=1,
        op=">=",
        passed=rarer >= 1,
        detail=detail,
    )


def floor_gates(floors: dict[str, float], current: Evaluation) -> list[GateResult]:
    results = []
    for metric, floor in floors.items():
        value = _metric(current, metric)
        lower_is_better = not BY_NAME[metric].higher_is_better
        passed = value <= floor + SLACK if lower_is_better else value >= floor - SLACK
        side = "above the ceiling" if lower_is_better else "below the floor"
        results.append(
            GateResult(
                name=f"{metric} floor",
                kind="floor",
                value=_round(value),
                threshold=floor,
                op="<=" if lower_is_better else ">=",
                passed=passed,
                detail="" if passed else f"{metric} {value:.4f} is {side} {floor:.4f}",
            )
        )
    return results


def _regression_gate(
    metric: str,
    allowed: float,
    current: Evaluation,
    base: Evaluation | None,
    comparison: Comparison | None,
    why_plain: str,
) -> GateResult:
    lower_is_better = not BY_NAME[metric].higher_is_better
    base_value = base.metrics.values.get(metric) if base else None
    value: float | None = None
    passed, detail = True, "no baseline"
    if base_value is not None:
        current_value = _metric(current, metric)
        value = _round(current_value - base_value)
        too_large = (value if lower_is_better else -value) > allowed + SLACK
        detail = f"{base_value:.4f} -> {current_value:.4f} ({value:+.4f})"
        if comparison is None:
            passed, detail = not too_large, f"{detail}; plain threshold: {why_plain}"
        else:
            significant = comparison.verdict == "significant regression"
            passed = not (significant and too_large)
            detail += (
                f", {comparison.confidence:.0%} CI {comparison.ci_low:+.4f} to "
                f"{comparison.ci_high:+.4f}: {comparison.verdict}"
            )
            if significant:
                detail += f", {'beyond' if too_large else 'within'} the allowed {allowed:.4f}"
    return GateResult(
        name=f"{metric} vs base",
        kind="regression",
        value=value,
        threshold=allowed if lower_is_better else -allowed,
        op="<=" if lower_is_better else ">=",
        passed=passed,
        detail=detail,
        comparison=comparison,
    )


def regression_gates(
    gates: GateParams, current: Evaluation, base: Evaluation | None, paired: Paired
) -> list[GateResult]:
    return [
        _regression_gate(metric, allowed, current, base, paired.comparisons.get(metric), paired.reason)
        for metric, allowed in gates.max_regression.items()
    ]


def _measure(fairness: FairnessReport | None, feature: str, measure: str) -> float | None:
    group = fairness.root.get(feature) if fairness else None
    value: float | None = getattr(group, measure) if group else None
    return value


def _fairness_bound(label: str, value: float | None, bound: float) -> GateResult:
    passed = value is not None and value <= bound + SLACK
    detail = "" if passed else "not computed" if value is None else f"{value:.4f} exceeds {bound:.4f}"
    return GateResult(
        name=label, kind="fairness", value=value, threshold=bound, op="<=", passed=passed, detail=detail
    )


def _fairness_increase(label: str, value: float | None, base_value: float | None, limit: float) -> GateResult:
    name = f"{label} vs base"
    kind = "fairness_regression"
    if base_value is None or value is None:
        return GateResult(
            name=name, kind=kind, value=None, threshold=limit, op="<=", passed=True, detail="no baseline"
        )
    increase = _round(value - base_value)
    detail = f"{base_value:.4f} -> {value:.4f} ({increase:+.4f})"
    passed = increase <= limit + SLACK
    return GateResult(
        name=name, kind=kind, value=increase, threshold=limit, op="<=", passed=passed, detail=detail
    )


def fairness_gates(gates: GateParams, current: Evaluation, base: Evaluation | None) -> list[GateResult]:
    """Absolute bounds (`max`) and growth against the baseline (`max_increase`) per feature and measure."""
    results = []
    for feature, bounds in gates.fairness.items():
        if current.fairness is None or feature not in current.fairness.root:
            raise LastmileError(
                f"{current.source}: fairness.json has no sensitive feature {feature!r}, which "
                "gates.fairness names; re-run `dvc repro`."
            )
        for measure in type(bounds).model_fields:
            bound: FairnessBound = getattr(bounds, measure)
            label = f"{feature} {measure.removesuffix('_difference').replace('_', ' ')}"
            value = _measure(current.fairness, feature, measure)
            if bound.max is not None:
                results.append(_fairness_bound(label, value, bound.max))
            if bound.max_increase is not None:
                base_value = _measure(base.fairness, feature, measure) if base else None
                results.append(_fairness_increase(label, value, base_value, bound.max_increase))
    return results


NOT_COMPARABLE = "not comparable: the base evaluated other data"


def check(
    gates: GateParams, current: Evaluation, base: Evaluation | None, paired: Paired | None = None
) -> GatesReport:
    """Every gate of `gates` on the current evaluation, against `base` when there is one.

    `paired` is the comparison of the two (`baseline.compare`), computed here unless the caller has it.
    A base that evaluated other data (`Evaluation.other_data`) is not compared with: its regression
    gates pass, saying so.
    """
    # params.yaml may have changed since `check` ran: its metric names are checked here too.
    unknown = unknown_metrics(gates.metric_names)
    if unknown:
        raise LastmileError(" ".join(u + "." for u in unknown) + " Nothing was gated.")
    other = current.other_data(base) if base else None
    compared = None if other else base
    if paired is None:
        paired = baseline.compare(current, compared, gates.bootstrap)
    results = [
        degenerate_gate(current),
        *floor_gates(gates.floors, current),
        *regression_gates(gates, current, compared, paired),
        *fairness_gates(gates, current, compared),
    ]
    if base is not None and other:
        note = f"{NOT_COMPARABLE} ({other})"
        results = [r.model_copy(update={"detail": note}) if r.kind in AGAINST_BASE else r for r in results]
        return GatesReport(
            passed=all(r.passed for r in results), baseline=f"{base.source}, {NOT_COMPARABLE}", gates=results
        )
    return GatesReport(
        passed=all(r.passed for r in results), baseline=base.source if base else None, gates=results
    )


def judge(
    gates: GateParams,
    current: Evaluation,
    base: Evaluation | None,
    paired: Paired | None = None,
    asked_for: str | None = None,
) -> GatesReport:
    """`check`, saying so when the base that was `asked_for` holds no evaluation yet."""
    report = check(gates, current, base, paired)
    if base is None and asked_for:
        report = report.model_copy(update={"baseline": f"{asked_for} holds no evaluation yet"})
    return report


def _number(value: float | None) -> str:
    return "-" if value is None else f"{value:.4f}"


def render_table(report: GatesReport) -> str:
    """The gates as an aligned text table, then the verdict."""
    header = ("gate", "kind", "value", "threshold", "result", "detail")
    rows = [
        (
            r.name,
            r.kind,
            _number(r.value),
            f"{r.op} {r.threshold:.4f}",
            "pass" if r.passed else "FAIL",
            r.detail,
        )
        for r in report.gates
    ]
    widths = [max(len(str(row[i])) for row in [header, *rows]) for i in range(len(header) - 1)]
    lines = [
        "  ".join(str(cell).ljust(width) for cell, width in zip(row, widths, strict=False)) + "  " + row[-1]
        for row in [header, *rows]
    ]
    failed = [r.name for r in report.gates if not r.passed]
    verdict = (
        f"PASSED: all {len(report.gates)} gates pass"
        if report.passed
        else f"FAILED: {len(failed)} of {len(report.gates)} gates fail ({', '.join(failed)})"
    )
    source = report.baseline or "none (regression gates pass with 'no baseline')"
    return "\n".join([f"Quality gates, baseline: {source}", *(line.rstrip() for line in lines), verdict])


def run(
    params: Params,
    *,
    base_ref: str | None = None,
    baseline_dir: Path | None = None,
    reports_dir: Path = paths.METRICS.parent,
    out: Path = paths.GATES,
) -> GatesReport:
    """Check the gates on `reports_dir` against a git ref or a folder; write the result to `out`."""
    if base_ref is not None and baseline_dir is not None:
        raise LastmileError("Pass either --base or --baseline-dir, not both.")
    current = baseline.current(reports_dir)
    base = None
    if base_ref is not None:
        base = baseline.from_git(base_ref)
    elif baseline_dir is not None:
        base = baseline.from_directory(baseline_dir)
    report = judge(
        params.gates, current, base, asked_for=base_ref or (str(baseline_dir) if baseline_dir else None)
    )
    artifacts.write(out, report)
    return report
