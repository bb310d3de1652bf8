"""The headline metrics, each declared once: name, label, direction, formula, weighted formula, digits.

Everything that shows, gates or compares a whole-test-set metric reads `METRICS`: the evaluate
stage (`reports/metrics.json`), the gates' metric names in params.yaml, the paired bootstrap, the
PR report, the run summary, the bento labels and the model card. Adding a metric is one entry
here, its test (the weighted formula against scikit-learn with `sample_weight`) and its label in
docs/evaluation.md (a test checks it); CONTRIBUTING.md has the recipe.

It lives in the ground because the `check` stage (the metric names of params.yaml's gates:
`unknown_metrics`), the evaluation, the review and the release all read it. `params.py` does not
import it, so the stages that only read params (ingest, validate, split, train) do not depend on
this file: adding a metric re-runs `check` and `evaluate` only (a test in test_metrics.py).
scikit-learn is imported when a metric is computed, so that `check` does not pay for it.

Two formulas per metric:
- `compute` on one scored test set (labels, probabilities, predicted labels at the threshold);
- `weighted` on a (resamples, rows) matrix of row weights, one bootstrap resample per row of the
  matrix, so that 1,000 resamples are a few matrix operations (see `lastmile.evaluation.bootstrap`).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from typing import Any, NamedTuple

import numpy as np

from lastmile.errors import quoted
from lastmile.files import DIGITS


class Scored(NamedTuple):
    """One test set as scored by one model; `y_true` is 1 for the positive label."""

    y_true: np.ndarray
    proba: np.ndarray
    predicted: np.ndarray  # 1 where proba >= the model's decision threshold


class Counts(NamedTuple):
    """Weighted confusion counts, one value per resample."""

    total: np.ndarray
    true_pos: np.ndarray
    false_pos: np.ndarray
    false_neg: np.ndarray


def ratio(numerator: np.ndarray, denominator: np.ndarray, empty: float = 0.0) -> np.ndarray:
    """numerator / denominator, `empty` where the denominator is 0 (as scikit-learn's zero_division)."""
    out = np.full_like(numerator, empty, dtype=float)
    return np.asarray(np.divide(numerator, denominator, out=out, where=denominator > 0))


class Weighted:
    """One model's predictions, prepared once so that each block of resamples costs a few array passes."""

    def __init__(self, y: np.ndarray, proba: np.ndarray, threshold: float) -> None:
        self.y, self.proba = y, proba
        predicted = proba >= threshold
        self._true_pos = (predicted & (y == 1)).astype(float)
        self._false_pos = (predicted & (y == 0)).astype(float)
        self._false_neg = (~predicted & (y == 1)).astype(float)
        # Rows sorted by score, and where each run of tied scores starts: the ranking metrics
        # work on the weight of positives and negatives per distinct score.
        self._order = np.argsort(proba, kind="stable")
        ordered = proba[self._order]
        self._tie_starts = np.flatnonzero(np.r_[True, ordered[1:] != ordered[:-1]])
        self._positive_sorted = (y[self._order] == 1).astype(float)

    def counts(self, weights: np.ndarray) -> Counts:
        return Counts(
            weights.sum(axis=1),
            weights @ self._true_pos,
            weights @ self._false_pos,
            weights @ self._false_neg,
        )

    def mean(self, row_values: np.ndarray, weights: np.ndarray) -> np.ndarray:
        """The weighted mean of a per-row quantity (a loss), per resample."""
        return np.asarray(weights @ row_values / weights.sum(axis=1))

    def per_score(self, weights: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Weight of positives and of negatives per distinct score, ascending: (resamples, scores) each."""
        ordered = weights[:, self._order]
        total = np.add.reduceat(ordered, self._tie_starts, axis=1)
        positives = np.add.reduceat(ordered * self._positive_sorted, self._tie_starts, axis=1)
        return positives, total - positives


def _sklearn() -> Any:
    from sklearn import metrics

    return metrics


def _roc_auc(w: Weighted, weights: np.ndarray) -> np.ndarray:
    pos, neg = w.per_score(weights)
    negatives_below = np.cumsum(neg, axis=1) - neg
    # A positive beats every lower-scored negative and half-beats a tied one.
    wins = (pos * (negatives_below + 0.5 * neg)).sum(axis=1)
    return ratio(wins, pos.sum(axis=1) * neg.sum(axis=1), empty=np.nan)


def _average_precision(w: Weighted, weights: np.ndarray) -> np.ndarray:
    pos, neg = w.per_score(weights)
    pos, neg = pos[:, ::-1], neg[:, ::-1]  # highest score first: the threshold going down
    true_pos = np.cumsum(pos, axis=1)
    precision = ratio(true_pos, true_pos + np.cumsum(neg, axis=1))
    return ratio((pos * precision).sum(axis=1), pos.sum(axis=1), empty=np.nan)


def _accuracy(w: Weighted, weights: np.ndarray) -> np.ndarray:
    c = w.counts(weights)
    return np.asarray((c.total - c.false_pos - c.false_neg) / c.total)


def _balanced_accuracy(w: Weighted, weights: np.ndarray) -> np.ndarray:
    c = w.counts(weights)
    positives, negatives = c.true_pos + c.false_neg, c.total - c.true_pos - c.false_neg
    true_neg = negatives - c.false_pos
    # The mean recall over the classes present, as scikit-learn does when a class is absent.
    recalls = ratio(c.true_pos, positives) + ratio(true_neg, negatives)
    return ratio(recalls, (positives > 0).astype(float) + (negatives > 0), empty=np.nan)


def _precision(w: Weighted, weights: np.ndarray) -> np.ndarray:
    c = w.counts(weights)
    return ratio(c.true_pos, c.true_pos + c.false_pos)


def _recall(w: Weighted, weights: np.ndarray) -> np.ndarray:
    c = w.counts(weights)
    return ratio(c.true_pos, c.true_pos + c.false_neg)


def _f1(w: Weighted, weights: np.ndarray) -> np.ndarray:
    c = w.counts(weights)
    return ratio(2 * c.true_pos, 2 * c.true_pos + c.false_pos + c.false_neg)


def _log_loss_rows(y: np.ndarray, proba: np.ndarray) -> np.ndarray:
    eps = np.finfo(float).eps  # the clipping scikit-learn's log_loss applies
    clipped = np.clip(proba, eps, 1 - eps)
    return np.asarray(-(y * np.log(clipped) + (1 - y) * np.log(1 - clipped)))


@dataclass(frozen=True)
class Metric:
    name: str  # the key in reports/metrics.json and in params.yaml's gates
    label: str  # how reports show it
    higher_is_better: bool
    compute: Callable[[Scored], float]
    weighted: Callable[[Weighted, np.ndarray], np.ndarray]
    # One of the few shown where room is short: the run summary, the bento labels, the release notes.
    brief: bool = False
    digits: int = DIGITS

    def round(self, value: float) -> float:
        return round(float(value), self.digits)


# In the order reports list them.
METRICS: tuple[Metric, ...] = (
    Metric(
        "roc_auc",
        "ROC AUC",
        True,
        lambda s: _sklearn().roc_auc_score(s.y_true, s.proba),
        _roc_auc,
        brief=True,
    ),
    Metric(
        "pr_auc",
        "PR AUC",
        True,
        lambda s: _sklearn().average_precision_score(s.y_true, s.proba),
        _average_precision,
        brief=True,
    ),
    Metric(
        "f1",
        "F1",
        True,
        lambda s: _sklearn().f1_score(s.y_true, s.predicted, zero_division=0),
        _f1,
        brief=True,
    ),
    Metric(
        "accuracy",
        "Accuracy",
        True,
        lambda s: _sklearn().accuracy_score(s.y_true, s.predicted),
        _accuracy,
        brief=True,
    ),
    Metric(
        "balanced_accuracy",
        "Balanced accuracy",
        True,
        lambda s: _sklearn().balanced_accuracy_score(s.y_true, s.predicted),
        _balanced_accuracy,
    ),
    Metric(
        "precision",
        "Precision",
        True,
        lambda s: _sklearn().precision_score(s.y_true, s.predicted, zero_division=0),
        _precision,
    ),
    Metric(
        "recall",
        "Recall",
        True,
        lambda s: _sklearn().recall_score(s.y_true, s.predicted, zero_division=0),
        _recall,
    ),
    Metric(
        "log_loss",
        "Log loss",
        False,
        lambda s: _sklearn().log_loss(s.y_true, s.proba, labels=[0, 1]),
        lambda w, weights: w.mean(_log_loss_rows(w.y, w.proba), weights),
    ),
    Metric(
        "brier",
        "Brier",
        False,
        lambda s: _sklearn().brier_score_loss(s.y_true, s.proba),
        lambda w, weights: w.mean((w.proba - w.y) ** 2, weights),
    ),
)
BY_NAME: dict[str, Metric] = {metric.name: metric for metric in METRICS}
BRIEF: tuple[Metric, ...] = tuple(metric for metric in METRICS if metric.brief)


def unknown_metrics(named: Mapping[str, Iterable[str]]) -> list[str]:
    """A sentence for each params.yaml key (`gates.floors`: its metric names) naming a metric that
    `METRICS` does not declare."""
    problems = []
    for key, names in named.items():
        unknown = [name for name in names if name not in BY_NAME]
        if unknown:
            problems.append(
                f"params.yaml `{key}` names {quoted(unknown)}, not among the headline metrics "
                f"(`lastmile.metrics`); allowed: {quoted(BY_NAME)}"
            )
    return problems


def headline(scored: Scored) -> dict[str, float]:
    """Every headline metric of one scored test set, rounded as written."""
    return {metric.name: metric.round(metric.compute(scored)) for metric in METRICS}
