"""Quality gates: each kind passing and failing on the sample model's real reports, then the CLI."""

import json
import shutil
import typing
from pathlib import Path
from typing import Any

import pandas as pd
import pytest
import yaml
from sklearn import metrics as skm

from lastmile.artifacts import DataSummary, FairnessReport, GateKind, GateResult, GatesReport, MetricsReport
from lastmile.errors import LastmileError, read_yaml
from lastmile.params import GateParams
from lastmile.review import baseline, gate
from lastmile.review.baseline import Evaluation
from tests.conftest import LEARNS_NOTHING, PARAMS, git_add_commit, run


@pytest.fixture(scope="module")
def base(trained_repo: Path) -> Evaluation:
    evaluation = baseline.from_directory(trained_repo / "reports")
    assert evaluation is not None and evaluation.predictions is not None and evaluation.fairness is not None
    assert evaluation.data is not None
    return evaluation


# Fairness results for two made-up sensitive features: the gate logic does not depend on the data's.
FAIRNESS = FairnessReport.model_validate(
    {
        "group_a": {"demographic_parity_difference": 0.12, "equalized_odds_difference": 0.2, "groups": {}},
        "group_b": {"demographic_parity_difference": 0.05, "equalized_odds_difference": 0.3, "groups": {}},
    }
)


@pytest.fixture
def fair(base: Evaluation) -> Evaluation:
    """The sample's evaluation with made-up fairness results."""
    return Evaluation("base", base.metrics, FAIRNESS, base.predictions, base.data)


def _scored(predictions: pd.DataFrame, fairness: FairnessReport | None, source: str = "head") -> Evaluation:
    """An evaluation whose metrics are computed from `predictions` (threshold 0.5)."""
    y, proba = predictions["actual"], predictions["probability"]
    metrics = MetricsReport.model_validate(
        {
            "roc_auc": skm.roc_auc_score(y, proba),
            "pr_auc": skm.average_precision_score(y, proba),
            "brier": skm.brier_score_loss(y, proba),
            "log_loss": skm.log_loss(y, proba),
            "threshold": 0.5,
            "test_rows": len(predictions),
        }
    )
    return Evaluation(source, metrics, fairness, predictions)


def _degraded(evaluation: Evaluation, share: float, seed: int = 0) -> Evaluation:
    """The same test rows, with `share` of the probabilities pulled halfway to the wrong label."""
    assert evaluation.predictions is not None
    frame = evaluation.predictions.copy()
    rows = frame.sample(frac=share, random_state=seed).index
    frame.loc[rows, "probability"] = 0.5 * frame.loc[rows, "probability"] + 0.5 * (
        1 - frame.loc[rows, "actual"]
    )
    return _scored(frame, evaluation.fairness)


def _gates(**sections: Any) -> GateParams:
    return GateParams.model_validate(sections)


def _only(report: GatesReport) -> GateResult:
    """The one configured gate of `report` (the degenerate-model gate is always there too)."""
    configured = [g for g in report.gates if g.kind != "degenerate"]
    assert len(configured) == 1
    return configured[0]


def _skip_if_no_floor_can_fail(value: float, bound: float, higher_is_better: bool = True) -> None:
    """A model at or beyond the strictest floor these tests set (tiny or easy data) cannot fail it."""
    if (value >= bound) if higher_is_better else (value <= bound):
        pytest.skip(f"the model scores {value:g} on this data: a floor of {bound:g} cannot fail it")


@pytest.mark.parametrize(
    ("floors", "passed"),
    [
        ({"roc_auc": 0.5}, True),
        ({"roc_auc": 0.999}, False),
        ({"brier": 0.5}, True),  # a loss: the floor is its worst acceptable (largest) value
        ({"brier": 0.001}, False),
    ],
)
def test_floor(base: Evaluation, floors: dict[str, float], passed: bool) -> None:
    ((metric, bound),) = floors.items()
    weaker = _degraded(base, share=0.4)  # the sample's own model can be perfect on small, easy data
    result = _only(gate.check(_gates(floors=floors), weaker, None))
    assert result.kind == "floor" and result.threshold == bound
    assert result.value == pytest.approx(weaker.metrics.values[metric], abs=1e-6)
    assert result.op == ("<=" if metric == "brier" else ">=")
    assert result.passed is passed
    assert passed or "floor" in result.detail or "ceiling" in result.detail


def test_regression_without_baseline_passes(base: Evaluation) -> None:
    result = _only(gate.check(_gates(max_regression={"roc_auc": 0.005}), base, None))
    assert result.kind == "regression" and result.passed and result.value is None
    assert result.detail == "no baseline"


def test_regression_unchanged_model_passes(base: Evaluation) -> None:
    result = _only(gate.check(_gates(max_regression={"roc_auc": 0.0}), base, base))
    assert result.passed and result.value == 0
    assert result.comparison is not None and result.comparison.verdict == "no measurable change"


def test_significant_regression_beyond_the_allowance_fails(base: Evaluation) -> None:
    head = _degraded(base, share=0.4)
    result = _only(gate.check(_gates(max_regression={"roc_auc": 0.005}), head, base))
    assert result.comparison is not None and result.comparison.verdict == "significant regression"
    assert result.value is not None and result.value < -0.005 and result.threshold == -0.005
    assert not result.passed and "beyond the allowed" in result.detail
    # The same drop within a generous allowance passes, and says so.
    lenient = _only(gate.check(_gates(max_regression={"roc_auc": 0.5}), head, base))
    assert lenient.passed and "within the allowed" in lenient.detail


def _swapped(evaluation: Evaluation, pair: int) -> Evaluation:
    """The `pair`-th positive ranked just above a negative (by score) swaps scores with it: one pair
    misordered, a drop in ROC AUC that resamples without either row do not see, whatever the data."""
    assert evaluation.predictions is not None
    frame = evaluation.predictions.sort_values("probability", kind="stable")
    actual, score = frame["actual"].to_numpy(), frame["probability"].to_numpy()
    below = [
        k for k in range(len(frame) - 1) if actual[k] == 0 and actual[k + 1] == 1 and score[k] < score[k + 1]
    ]
    low, high = frame.index[below[pair]], frame.index[below[pair] + 1]
    frame = evaluation.predictions.copy()
    frame.loc[[low, high], "probability"] = frame.loc[[high, low], "probability"].to_numpy()
    return _scored(frame, evaluation.fairness)


@pytest.mark.parametrize("pair", [0, -1], ids=["lowest", "highest"])
def test_a_drop_within_noise_passes_even_beyond_the_allowance(base: Evaluation, pair: int) -> None:
    result = _only(gate.check(_gates(max_regression={"roc_auc": 0.0}), _swapped(base, pair), base))
    assert result.comparison is not None and result.value is not None
    assert result.comparison.verdict == "worse within noise"
    # A drop larger than the (zero) allowance, but not a real one: the gate passes.
    assert result.value < 0 and result.comparison.ci_low < 0 <= result.comparison.ci_high
    assert result.passed


def test_without_paired_predictions_the_plain_threshold_decides(base: Evaluation) -> None:
    head = _degraded(base, share=0.4)
    for current, reason in (
        (Evaluation("head", head.metrics, head.fairness, None), "no predictions to pair"),
        (_scored(head.predictions.assign(row_id=lambda f: "other-" + f["row_id"]), None), "test rows differ"),
    ):
        strict = _only(gate.check(_gates(max_regression={"roc_auc": 0.005}), current, base))
        assert not strict.passed and strict.comparison is None and reason in strict.detail
        lenient = _only(gate.check(_gates(max_regression={"roc_auc": 0.5}), current, base))
        assert lenient.passed


def test_regression_of_a_loss_is_a_rise(base: Evaluation) -> None:
    head = _degraded(base, share=0.4)
    result = _only(gate.check(_gates(max_regression={"log_loss": 0.01}), head, base))
    assert result.op == "<=" and result.threshold == 0.01
    assert result.value is not None and result.value > 0.01 and not result.passed


def _fairness_with(fairness: FairnessReport, feature: str, measure: str, value: float) -> FairnessReport:
    changed = fairness.model_dump()
    changed[feature][measure] = value
    return FairnessReport.model_validate(changed)


def test_fairness_bounds(fair: Evaluation) -> None:
    value = FAIRNESS.root["group_a"].demographic_parity_difference
    assert value is not None
    below = _gates(fairness={"group_a": {"demographic_parity_difference": {"max": value + 0.01}}})
    above = _gates(fairness={"group_a": {"demographic_parity_difference": {"max": value - 0.01}}})
    passing, failing = _only(gate.check(below, fair, None)), _only(gate.check(above, fair, None))
    assert passing.kind == failing.kind == "fairness"
    assert passing.name == "group_a demographic parity" and passing.value == value
    assert passing.passed and not failing.passed and "exceeds" in failing.detail


def test_fairness_regression(fair: Evaluation) -> None:
    base = fair
    odds = FAIRNESS.root["group_b"].equalized_odds_difference
    assert odds is not None
    gates = _gates(fairness={"group_b": {"equalized_odds_difference": {"max_increase": 0.05}}})
    worse = Evaluation(
        "head",
        base.metrics,
        _fairness_with(FAIRNESS, "group_b", "equalized_odds_difference", odds + 0.08),
        None,
    )
    slightly = Evaluation(
        "head",
        base.metrics,
        _fairness_with(FAIRNESS, "group_b", "equalized_odds_difference", odds + 0.04),
        None,
    )
    failing, passing = _only(gate.check(gates, worse, base)), _only(gate.check(gates, slightly, base))
    assert failing.kind == "fairness_regression" and failing.value == pytest.approx(0.08)
    assert not failing.passed and passing.passed
    first = _only(gate.check(gates, worse, Evaluation("base", base.metrics, None, None)))
    assert first.passed and first.detail == "no baseline"


def test_fairness_gate_on_a_feature_the_evaluation_lacks_is_an_error(base: Evaluation) -> None:
    gates = _gates(fairness={"group_a": {"demographic_parity_difference": {"max": 0.2}}})
    only_b = FairnessReport.model_validate({"group_b": FAIRNESS.model_dump()["group_b"]})
    with pytest.raises(LastmileError, match=r"fairness\.json has no sensitive feature 'group_a'"):
        gate.check(gates, Evaluation("old", base.metrics, only_b, None), None)


def _other_data(base: Evaluation, **changes: Any) -> Evaluation:
    assert base.data is not None
    data = DataSummary.model_validate({**base.data.model_dump(), **changes})
    return Evaluation("other", base.metrics, base.fairness, base.predictions, data)


@pytest.mark.parametrize(
    "changes",
    [
        {"target": {"column": "other_target", "positive": 1}},
        {"class_counts": {"other label": 10, "another label": 5}},
        {"column_names": ["a", "b", "other_target"]},
    ],
    ids=["target", "labels", "columns"],
)
def test_a_base_that_evaluated_other_data_is_not_comparable(
    fair: Evaluation, changes: dict[str, Any]
) -> None:
    """A project made from the template, compared with the template's own reports: no regression verdict."""
    head = _degraded(fair, share=0.4)  # would fail the regression gates against a comparable base
    head = Evaluation("head", head.metrics, FAIRNESS, head.predictions, fair.data)
    gates = _gates(
        max_regression={"roc_auc": 0.005},
        fairness={"group_a": {"demographic_parity_difference": {"max_increase": 0.0}}},
    )
    report = gate.check(gates, head, _other_data(fair, **changes))
    assert report.passed
    assert report.baseline is not None and report.baseline.endswith(gate.NOT_COMPARABLE)
    compared = [g for g in report.gates if g.kind in ("regression", "fairness_regression")]
    assert compared and all(g.passed for g in compared)
    assert all(g.detail.startswith("not comparable: the base evaluated other data (") for g in compared)
    assert not gate.check(gates, head, fair).passed  # the same base with the same data: compared


def test_new_rows_of_the_same_data_stay_comparable(base: Evaluation) -> None:
    assert base.data is not None
    grown = _other_data(base, rows=base.data.rows + 10, data_hash="another hash")
    assert base.other_data(grown) is None and grown.other_data(base) is None
    # A summary written before `target` and `column_names` were: compared on what both record.
    before = base.data.model_dump(exclude={"target", "column_names"})
    older = Evaluation("old", base.metrics, None, None, DataSummary.model_validate(before))
    assert base.other_data(older) is None and older.other_data(base) is None


def test_a_gate_on_an_unknown_metric_is_named_wherever_gates_are_checked(base: Evaluation) -> None:
    """`lastmile gate` and the PR report both check through `gate.check`: no KeyError from either."""
    with pytest.raises(LastmileError, match=r"`gates\.max_regression` names 'roc', not among the headline"):
        gate.check(_gates(max_regression={"roc": 0.01}), base, base)


def test_report_and_table(base: Evaluation) -> None:
    weaker = _degraded(base, share=0.4)  # below the 0.999 floor even when the sample's model is perfect
    # A PR AUC floor it meets: on rare positives (3% in a credit-default trial) its PR AUC is under 0.1.
    pr_auc_floor = min(0.1, weaker.metrics.pr_auc / 2)
    gates = _gates(floors={"roc_auc": 0.999, "pr_auc": pr_auc_floor}, max_regression={"roc_auc": 0.005})
    report = gate.check(gates, weaker, weaker)
    assert not report.passed and report.baseline == weaker.source
    table = gate.render_table(report)
    assert "roc_auc floor" in table and "FAIL" in table and "pass" in table
    assert table.splitlines()[-1] == "FAILED: 1 of 4 gates fail (roc_auc floor)"
    as_json = json.loads(report.model_dump_json())
    assert {"passed", "gates"} <= set(as_json)
    assert {"name", "kind", "value", "threshold", "passed", "detail"} <= set(as_json["gates"][0])


def test_a_model_that_predicts_one_class_fails(base: Evaluation) -> None:
    assert base.predictions is not None
    probabilities = base.predictions["probability"]
    threshold = base.metrics.threshold
    rarer = min((probabilities >= threshold).sum(), (probabilities < threshold).sum())
    healthy = gate.degenerate_gate(base)
    assert healthy.passed and healthy.value == rarer > 0
    above_every_row = base.metrics.model_copy(update={"threshold": float(probabilities.max()) + 1e-6})
    one_class = gate.degenerate_gate(Evaluation("head", above_every_row, base.fairness, base.predictions))
    assert not one_class.passed and one_class.value == 0
    assert f"all {len(probabilities):,} test rows are predicted negative" in one_class.detail

    # Without predictions, fairness.json's groups tell the same: a selection rate of 0 everywhere.
    # (One made-up group holding every row: the project may have no sensitive feature.)
    def one_group(selection_rate: float) -> FairnessReport:
        rates = {"rows": len(probabilities), "positives": int(base.predictions["actual"].sum())}  # type: ignore[index]
        rates |= {"selection_rate": selection_rate, "true_positive_rate": None, "false_positive_rate": None}
        measures = {"demographic_parity_difference": 0.0, "equalized_odds_difference": 0.0}
        return FairnessReport.model_validate({"group_a": {**measures, "groups": {"all": rates}}})

    silent, healthy_groups = one_group(0.0), one_group(float((probabilities >= threshold).mean()))
    assert not gate.degenerate_gate(Evaluation("head", base.metrics, silent, None)).passed
    assert gate.degenerate_gate(Evaluation("head", base.metrics, healthy_groups, None)).passed
    assert not gate.check(GateParams(), Evaluation("head", base.metrics, silent, None), None).passed


# ---- the real command -------------------------------------------------------------------------

PASSING_GATES = {
    "floors": {"roc_auc": 0.6},
    "max_regression": {"roc_auc": 0.005, "pr_auc": 0.01},
    "fairness": {
        feature: {"demographic_parity_difference": {"max": 1.0, "max_increase": 1.0}}
        for feature in PARAMS.features.sensitive[:1]
    },
}


def _set_gates(repo: Path, gates: dict[str, Any]) -> None:
    params_file = repo / "params.yaml"
    params = read_yaml(params_file.read_text())
    params["gates"] = gates
    params_file.write_text(yaml.safe_dump(params, sort_keys=False))


@pytest.fixture
def repo(trained_repo: Path, tmp_path: Path) -> Path:
    """A writable copy of the trained sample repository, with gates that its model passes, committed."""
    copy_ = tmp_path / "repo"
    shutil.copytree(trained_repo, copy_, symlinks=True)
    _set_gates(copy_, PASSING_GATES)
    git_add_commit(copy_, "gates for the sample")
    return copy_


def _gate(repo: Path, *args: str) -> tuple[int, str, str, dict[str, Any] | None]:
    (repo / "reports/gates.json").unlink(missing_ok=True)
    result = run(["lastmile", "gate", *args], cwd=repo, check=False)
    written = repo / "reports/gates.json"
    return (
        result.returncode,
        result.stdout,
        result.stderr,
        json.loads(written.read_text()) if written.exists() else None,
    )


def test_cli_passes_and_writes_gates_json(repo: Path) -> None:
    code, out, _, written = _gate(repo)
    assert code == 0 and out.splitlines()[-1].startswith("PASSED")
    assert written is not None and written["passed"] is True and written["baseline"] is None
    assert {g["detail"] for g in written["gates"] if g["kind"] == "regression"} == {"no baseline"}
    code, out, _, written = _gate(repo, "--base", "HEAD")
    assert code == 0 and written is not None and written["baseline"].startswith("HEAD (")
    verdicts = {g["comparison"]["verdict"] for g in written["gates"] if g["kind"] == "regression"}
    assert verdicts == {"no measurable change"}


def test_cli_fails_on_a_failing_floor(repo: Path, base: Evaluation) -> None:
    _skip_if_no_floor_can_fail(base.metrics.values["roc_auc"], 0.999)
    _set_gates(repo, {"floors": {"roc_auc": 0.999}})
    code, out, _, written = _gate(repo)
    assert code == 1 and "FAIL" in out and out.splitlines()[-1].startswith("FAILED: 1 of 2")
    assert written is not None and written["passed"] is False


def test_cli_fails_on_a_real_regression_against_the_base_commit(repo: Path) -> None:
    run(["dvc", "exp", "run", "-q", *LEARNS_NOTHING], cwd=repo)
    code, out, _, written = _gate(repo, "--base", "HEAD")
    assert code == 1, out
    assert written is not None
    failed = {g["name"]: g for g in written["gates"] if not g["passed"]}
    assert "roc_auc vs base" in failed
    assert failed["roc_auc vs base"]["comparison"]["verdict"] == "significant regression"


def test_a_real_model_predicting_one_class_fails_and_the_report_says_why(repo: Path) -> None:
    """One boosting step with a tiny learning rate: every probability stays near the base rate."""
    step = "model.hist_gradient_boosting"
    run(["dvc", "exp", "run", "-S", f"{step}.max_iter=1", "-S", f"{step}.learning_rate=0.001"], cwd=repo)
    predictions = pd.read_csv(repo / "reports/predictions.csv")
    threshold = json.loads((repo / "reports/metrics.json").read_text())["threshold"]
    # The premise: every row predicted one class, the majority (negative, unless positives are more).
    below, above = (
        (predictions["probability"] < threshold).all(),
        (predictions["probability"] >= threshold).all(),
    )
    assert below or above
    side = "negative" if below else "positive"
    code, out, _, written = _gate(repo, "--base", "main")
    assert code == 1 and written is not None
    failed = [g["name"] for g in written["gates"] if not g["passed"]]
    assert "predicts both classes" in failed, out
    # The fairness bounds pass (differences of 0): the degenerate gate is what tells.
    assert all(g["passed"] for g in written["gates"] if g["kind"] == "fairness")
    run(["lastmile", "report", "--base", "main", "--out", "reports/pr"], cwd=repo)
    markdown = (repo / "reports/pr/report.md").read_text(encoding="utf-8")
    assert (
        markdown.splitlines()[0].startswith("### ❌ ") and "predicts both classes" in markdown.splitlines()[0]
    )
    if PARAMS.features.sensitive:  # else the fairness section says "none configured"
        assert f"not meaningful: the model predicts every test row {side}" in markdown
    assert json.loads((repo / "reports/pr/verdict.json").read_text())["conclusion"] == "failure"


def test_cli_first_pull_request_has_no_baseline(repo: Path) -> None:
    empty_tree = run(["git", "mktree"], cwd=repo, input="").stdout.strip()
    commit = run(["git", "commit-tree", empty_tree, "-m", "nothing yet"], cwd=repo).stdout.strip()
    run(["git", "update-ref", "refs/heads/empty", commit], cwd=repo)
    code, out, _, written = _gate(repo, "--base", "empty")
    assert code == 0 and "holds no evaluation yet" in out
    assert written is not None
    assert {g["detail"] for g in written["gates"] if g["kind"].endswith("regression")} == {"no baseline"}


def test_cli_finds_the_base_locally_or_on_the_remote(repo: Path) -> None:
    run(["git", "update-ref", "refs/remotes/origin/only-remote", "HEAD"], cwd=repo)
    code, _, _, written = _gate(repo, "--base", "only-remote")
    assert code == 0 and written is not None and written["baseline"].startswith("origin/only-remote (")
    code, _, _, written = _gate(repo, "--base", "origin/main")  # no remote main: the local one
    assert code == 0 and written is not None and written["baseline"].startswith("main (")


def test_cli_baseline_folder(repo: Path, tmp_path: Path) -> None:
    shutil.copytree(repo / "reports", tmp_path / "base")
    code, _, _, written = _gate(repo, "--baseline-dir", str(tmp_path / "base"))
    assert code == 0 and written is not None and written["baseline"] == str(tmp_path / "base")


@pytest.mark.parametrize(
    ("changes", "problem"),
    [
        ({"rows": "many"}, "rows: Input should be a valid integer"),
        ({"class_counts": ["a", "b"]}, "class_counts: Input should be a valid dictionary"),
        ({"target": {"column": "y"}}, "target.positive: Field required"),
    ],
)
def test_a_damaged_base_data_summary_is_named(
    repo: Path, tmp_path: Path, changes: dict[str, Any], problem: str
) -> None:
    """The base's data summary decides whether its metrics are comparable: never guessed from a bad file."""
    base = tmp_path / "base"
    shutil.copytree(repo / "reports", base)
    summary = json.loads((base / "data_summary.json").read_text()) | changes
    (base / "data_summary.json").write_text(json.dumps(summary))
    code, out, err, written = _gate(repo, "--baseline-dir", str(base))
    assert code == 1 and written is None and out == "" and "Traceback" not in err
    assert "data_summary.json is not as expected (" in err and problem in err


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--base", "no-such-branch"], "Unknown git ref 'no-such-branch'"),
        (["--base", "HEAD", "--baseline-dir", "reports"], "either --base or --baseline-dir"),
        (["--baseline-dir", "missing"], "does not exist"),
    ],
)
def test_cli_bad_baseline_is_a_clear_error(repo: Path, args: list[str], message: str) -> None:
    code, out, err, written = _gate(repo, *args)
    assert code == 1 and message in err and "Traceback" not in err
    assert written is None and out == ""


def test_cli_refuses_gates_on_unknown_metrics_and_writes_nothing(repo: Path) -> None:
    """params.yaml edited after the pipeline ran (so `check` has not seen it): named, not a KeyError."""
    _set_gates(repo, {"floors": {"roc_auc": 0.6, "rocauc": 0.9}, "max_regression": {"pr_auc": 0.01}})
    code, out, err, written = _gate(repo)
    assert code == 1 and "Traceback" not in err and written is None and out == ""
    assert "params.yaml `gates.floors` names 'rocauc', not among the headline metrics" in err


def test_cli_without_an_evaluation_says_what_to_run(repo: Path) -> None:
    shutil.rmtree(repo / "reports")
    code, _, err, _ = _gate(repo)
    assert code == 1 and "dvc repro" in err and "Traceback" not in err


def test_the_kinds_that_pass_without_a_base_are_those_relabelled_for_other_data(fair: Evaluation) -> None:
    """Every kind of gate configured at once, without a base: the kinds that say "no baseline" are
    exactly `gate.AGAINST_BASE`, the kinds `check` says "not comparable" for against other data."""
    bound = {"max": 1.0, "max_increase": 0.1}
    gates = _gates(
        floors={"roc_auc": 0.0},
        max_regression={"roc_auc": 0.1},
        fairness={
            feature: {"demographic_parity_difference": bound, "equalized_odds_difference": bound}
            for feature in FAIRNESS.root
        },
    )
    report = gate.check(gates, fair, None)
    assert {g.kind for g in report.gates} == set(typing.get_args(GateKind))
    assert {g.kind for g in report.gates if g.detail == "no baseline"} == gate.AGAINST_BASE
