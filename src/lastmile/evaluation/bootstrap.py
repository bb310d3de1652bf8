"""Paired bootstrap: is the branch's model really better or worse than the base's, or is it noise?

Both models scored the same test rows (`reports/predictions.csv` of each commit). Each resample
draws as many rows as there are, with replacement, and scores BOTH models on that same draw, so
the difficulty of the rows, which both models share, cancels out of the difference ("paired").
The spread of the differences over the resamples gives a confidence interval for the change.

A resample is a vector of row counts (how often each row was drawn), so every metric is a few
matrix operations over all resamples at once: 1,000 resamples of 10,000 rows take well under a
second. ROC AUC and average precision use tie-aware weighted formulas that match scikit-learn's
`roc_auc_score` and `average_precision_score` with `sample_weight`.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Literal, TypedDict

import numpy as np
import pandas as pd

from lastmile.errors import LastmileError
from lastmile.params import MetricName

Verdict = Literal["improved", "no measurable change", "worse within noise", "significant regression"]
LOWER_IS_BETTER: frozenset[str] = frozenset({"log_loss", "brier"})
# Resamples scored together: small blocks keep the (resamples, rows) matrices in the CPU cache,
# which measured faster here than one big matrix (and memory stays bounded).
BLOCK = 32
DIGITS = 6


class Comparison(TypedDict):
    metric: str
    base: float
    head: float
    delta: float  # head - base
    ci_low: float
    ci_high: float
    confidence: float
    resamples: int
    verdict: Verdict


def rows_match(base: pd.DataFrame, head: pd.DataFrame) -> bool:
    """True when both files scored the same test rows with the same labels (in any order)."""
    if len(base) != len(head):
        return False
    left = base.set_index("row_id")["actual"]
    right = head.set_index("row_id")["actual"]
    return bool(
        left.index.sort_values().equals(right.index.sort_values()) and left.eq(right[left.index]).all()
    )


def _ratio(numerator: np.ndarray, denominator: np.ndarray, empty: float = 0.0) -> np.ndarray:
    out = np.full_like(numerator, empty, dtype=float)
    return np.asarray(np.divide(numerator, denominator, out=out, where=denominator > 0))


class _Scorer:
    """One model's predictions, prepared once so that each block of resamples costs a few array passes.

    `score` takes a (resamples, rows) matrix of row counts and returns the metric per resample.
    """

    def __init__(self, y: np.ndarray, proba: np.ndarray, threshold: float) -> None:
        predicted = proba >= threshold
        self.true_pos = (predicted & (y == 1)).astype(float)
        self.false_pos = (predicted & (y == 0)).astype(float)
        self.false_neg = (~predicted & (y == 1)).astype(float)
        eps = np.finfo(float).eps  # the clipping scikit-learn's log_loss applies
        clipped = np.clip(proba, eps, 1 - eps)
        self.row_losses = {
            "log_loss": -(y * np.log(clipped) + (1 - y) * np.log(1 - clipped)),
            "brier": (proba - y) ** 2,
        }
        # Rows sorted by score, and where each run of tied scores starts: the ranking metrics
        # work on the weight of positives and negatives per distinct score.
        self.order = np.argsort(proba, kind="stable")
        ordered = proba[self.order]
        self.tie_starts = np.flatnonzero(np.r_[True, ordered[1:] != ordered[:-1]])
        self.positive_sorted = (y[self.order] == 1).astype(float)

    def _per_score(self, weights: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Weight of positives and of negatives per distinct score, ascending: (resamples, scores) each."""
        ordered = weights[:, self.order]
        total = np.add.reduceat(ordered, self.tie_starts, axis=1)
        positives = np.add.reduceat(ordered * self.positive_sorted, self.tie_starts, axis=1)
        return positives, total - positives

    def _roc_auc(self, weights: np.ndarray) -> np.ndarray:
        pos, neg = self._per_score(weights)
        negatives_below = np.cumsum(neg, axis=1) - neg
        # A positive beats every lower-scored negative and half-beats a tied one.
        wins = (pos * (negatives_below + 0.5 * neg)).sum(axis=1)
        return _ratio(wins, pos.sum(axis=1) * neg.sum(axis=1), empty=np.nan)

    def _average_precision(self, weights: np.ndarray) -> np.ndarray:
        pos, neg = self._per_score(weights)
        pos, neg = pos[:, ::-1], neg[:, ::-1]  # highest score first: the threshold going down
        true_pos = np.cumsum(pos, axis=1)
        precision = _ratio(true_pos, true_pos + np.cumsum(neg, axis=1))
        return _ratio((pos * precision).sum(axis=1), pos.sum(axis=1), empty=np.nan)

    def score(self, metric: str, weights: np.ndarray) -> np.ndarray:
        if metric == "roc_auc":
            return self._roc_auc(weights)
        if metric == "pr_auc":
            return self._average_precision(weights)
        total = weights.sum(axis=1)
        if metric in self.row_losses:
            return np.asarray(weights @ self.row_losses[metric] / total)
        tp, fp, fn = weights @ self.true_pos, weights @ self.false_pos, weights @ self.false_neg
        if metric == "accuracy":
            return np.asarray((total - fp - fn) / total)
        if metric == "precision":
            return _ratio(tp, tp + fp)
        if metric == "recall":
            return _ratio(tp, tp + fn)
        if metric == "f1":
            return _ratio(2 * tp, 2 * tp + fp + fn)
        raise ValueError(f"unknown metric {metric!r}")


def verdict(metric: str, delta: float, ci_low: float, ci_high: float) -> Verdict:
    """Significant when the whole interval lies on one side of zero; "better within noise" is no change."""
    sign = -1.0 if metric in LOWER_IS_BETTER else 1.0
    low, high = sorted((sign * ci_low, sign * ci_high))
    if low > 0:
        return "improved"
    if high < 0:
        return "significant regression"
    return "worse within noise" if sign * delta < 0 else "no measurable change"


def _resample_weights(rng: np.random.Generator, resamples: int, rows: int) -> np.ndarray:
    draws = rng.integers(0, rows, size=(resamples, rows)) + rows * np.arange(resamples)[:, None]
    return np.bincount(draws.ravel(), minlength=resamples * rows).reshape(resamples, rows).astype(float)


def _paired(base: pd.DataFrame, head: pd.DataFrame) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    if not rows_match(base, head):
        raise LastmileError(
            "The two prediction files did not score the same test rows (the split or the data changed): "
            "a paired comparison needs the same rows."
        )
    aligned = head.set_index("row_id").loc[base["row_id"]]
    return (
        base["actual"].to_numpy(int),
        base["probability"].to_numpy(float),
        aligned["probability"].to_numpy(float),
    )


def compare_all(
    base: pd.DataFrame,
    head: pd.DataFrame,
    metrics: Iterable[MetricName],
    *,
    base_threshold: float = 0.5,
    head_threshold: float = 0.5,
    resamples: int = 1000,
    confidence: float = 0.95,
    seed: int = 42,
) -> dict[str, Comparison]:
    """Paired bootstrap of each metric's change (head - base) on the same resampled rows.

    `base` and `head` are predictions frames (`row_id`, `actual`, `probability`); the thresholds
    are each model's decision threshold, used by accuracy, precision, recall and F1.
    """
    y, base_proba, head_proba = _paired(base, head)
    names = list(metrics)
    base_scorer, head_scorer = _Scorer(y, base_proba, base_threshold), _Scorer(y, head_proba, head_threshold)
    rng = np.random.default_rng(seed)
    deltas: dict[str, list[np.ndarray]] = {name: [] for name in names}
    for start in range(0, resamples, BLOCK):
        weights = _resample_weights(rng, min(BLOCK, resamples - start), len(y))
        for name in names:
            deltas[name].append(head_scorer.score(name, weights) - base_scorer.score(name, weights))
    tail = 100 * (1 - confidence) / 2
    results: dict[str, Comparison] = {}
    for name in names:
        everything = np.ones((1, len(y)))
        base_value = float(base_scorer.score(name, everything)[0])
        head_value = float(head_scorer.score(name, everything)[0])
        low, high = np.nanpercentile(np.concatenate(deltas[name]), [tail, 100 - tail])
        delta = head_value - base_value
        results[name] = Comparison(
            metric=name,
            base=round(base_value, DIGITS),
            head=round(head_value, DIGITS),
            delta=round(delta, DIGITS),
            ci_low=round(float(low), DIGITS),
            ci_high=round(float(high), DIGITS),
            confidence=confidence,
            resamples=resamples,
            verdict=verdict(name, delta, float(low), float(high)),
        )
    return results


def compare(
    base: pd.DataFrame,
    head: pd.DataFrame,
    metric: MetricName,
    *,
    base_threshold: float = 0.5,
    head_threshold: float = 0.5,
    resamples: int = 1000,
    confidence: float = 0.95,
    seed: int = 42,
) -> Comparison:
    """`{metric, base, head, delta, ci_low, ci_high, confidence, resamples, verdict}` for one metric.

    verdict: "improved" or "significant regression" when the whole confidence interval of the
    change lies on one side of zero, else "worse within noise" or "no measurable change".
    """
    return compare_all(
        base,
        head,
        [metric],
        base_threshold=base_threshold,
        head_threshold=head_threshold,
        resamples=resamples,
        confidence=confidence,
        seed=seed,
    )[metric]
