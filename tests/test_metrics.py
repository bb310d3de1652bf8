"""The metric registry: every entry's plain and weighted formulas against scikit-learn."""

import re

import numpy as np
import pytest
from sklearn import metrics as skm

from lastmile.errors import quoted, read_yaml
from lastmile.metrics import BY_NAME, METRICS, Scored, Weighted, headline, unknown_metrics
from lastmile.params import GateParams
from tests.conftest import ROOT

ROWS = 2000
THRESHOLD = 0.5

# scikit-learn's own function per registry entry, with sample weights: a new entry needs one here.
SKLEARN = {
    "roc_auc": lambda y, p, w: skm.roc_auc_score(y, p, sample_weight=w),
    "pr_auc": lambda y, p, w: skm.average_precision_score(y, p, sample_weight=w),
    "accuracy": lambda y, p, w: skm.accuracy_score(y, p >= THRESHOLD, sample_weight=w),
    "balanced_accuracy": lambda y, p, w: skm.balanced_accuracy_score(y, p >= THRESHOLD, sample_weight=w),
    "precision": lambda y, p, w: skm.precision_score(y, p >= THRESHOLD, sample_weight=w),
    "recall": lambda y, p, w: skm.recall_score(y, p >= THRESHOLD, sample_weight=w),
    "f1": lambda y, p, w: skm.f1_score(y, p >= THRESHOLD, sample_weight=w),
    "log_loss": lambda y, p, w: skm.log_loss(y, p, sample_weight=w),
    "brier": lambda y, p, w: skm.brier_score_loss(y, p, sample_weight=w),
}


def _scored(seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """Labels and a fair model's probabilities (rounded, so that ties occur as in the real files)."""
    rng = np.random.default_rng(seed)
    actual = (rng.random(ROWS) < 0.25).astype(int)
    probability = 1 / (1 + np.exp(-(2.0 * actual - 1 + rng.normal(0, 1.2, ROWS))))
    return actual, probability.round(2)


def test_every_metric_has_its_scikit_learn_reference() -> None:
    assert set(SKLEARN) == set(BY_NAME)
    assert len(BY_NAME) == len(METRICS)


@pytest.mark.parametrize("metric", METRICS, ids=lambda m: m.name)
def test_weighted_formula_matches_scikit_learn_with_weights(metric) -> None:
    y, proba = _scored()
    weights = np.random.default_rng(1).integers(0, 4, size=(3, len(y))).astype(float)
    ours = metric.weighted(Weighted(y, proba, THRESHOLD), weights)
    expected = [SKLEARN[metric.name](y, proba, w) for w in weights]
    np.testing.assert_allclose(ours, expected, rtol=1e-10, atol=1e-12)


@pytest.mark.parametrize("metric", METRICS, ids=lambda m: m.name)
def test_plain_formula_is_the_weighted_one_with_unit_weights(metric) -> None:
    y, proba = _scored(seed=2)
    plain = metric.compute(Scored(y, proba, (proba >= THRESHOLD).astype(int)))
    weighted = metric.weighted(Weighted(y, proba, THRESHOLD), np.ones((1, len(y))))[0]
    assert plain == pytest.approx(weighted, rel=1e-10)
    assert plain == pytest.approx(SKLEARN[metric.name](y, proba, None), rel=1e-10)


def test_balanced_accuracy_with_one_class_drawn_is_that_class_s_recall() -> None:
    y, proba = _scored()
    negatives_only = (y == 0).astype(float)[None, :]
    predicted = proba >= THRESHOLD
    result = BY_NAME["balanced_accuracy"].weighted(Weighted(y, proba, THRESHOLD), negatives_only)
    assert result[0] == pytest.approx((~predicted[y == 0]).mean())


def test_headline_rounds_every_metric_to_its_digits() -> None:
    y, proba = _scored()
    values = headline(Scored(y, proba, (proba >= THRESHOLD).astype(int)))
    assert list(values) == [m.name for m in METRICS]
    for metric in METRICS:
        assert values[metric.name] == round(values[metric.name], metric.digits)


def test_gates_name_registered_metrics_only() -> None:
    known = GateParams.model_validate(
        {"floors": {"balanced_accuracy": 0.7}, "max_regression": {"roc_auc": 0}}
    )
    assert unknown_metrics(known.metric_names) == []
    gates = GateParams.model_validate({"floors": {"pr_auc": 0.5, "roc": 0.9, "f2": 0.1}})
    problems = unknown_metrics(gates.metric_names)
    assert problems == [
        "params.yaml `gates.floors` names 'roc', 'f2', not among the headline metrics "
        f"(`lastmile.metrics`); allowed: {quoted(m.name for m in METRICS)}"
    ]


def test_only_check_and_evaluate_depend_on_the_registry() -> None:
    """Adding a metric re-runs `check` (which checks the gates' names) and `evaluate`, not training."""
    stages = read_yaml((ROOT / "dvc.yaml").read_text(encoding="utf-8"))["stages"]
    depend = {name for name, stage in stages.items() if "src/lastmile/metrics.py" in stage["deps"]}
    assert depend == {"check", "evaluate"}


def _doc_row(document: str, first_cell: str) -> str:
    return next(line for line in document.splitlines() if line.startswith(f"| {first_cell} |"))


def test_the_evaluation_doc_lists_every_metric_and_each_lower_is_better_one() -> None:
    """docs/evaluation.md is written by hand: a metric added to the registry fails here until it is."""
    document = (ROOT / "docs" / "evaluation.md").read_text(encoding="utf-8")
    cell = _doc_row(document, "`reports/metrics.json`").split(" | ")[1].split(";")[0]
    # "accuracy, balanced accuracy, ..., F1 (at the model's decision threshold), ..., Brier score"
    listed = [item.split(" (")[0].strip().lower() for item in cell.split(", ")]

    def is_listed(label: str) -> bool:
        return any(item == label.lower() or item.startswith(label.lower() + " ") for item in listed)

    assert [m.label for m in METRICS if not is_listed(m.label)] == []
    floors = _doc_row(document, "`floor`")
    at_most = re.search(r"\(at most, for (.*)\)", floors)
    assert at_most is not None
    lower_is_better = {m.name for m in METRICS if not m.higher_is_better}
    assert set(re.findall(r"`(\w+)`", at_most.group(1))) == lower_is_better
