"""The decision threshold: a rule from params.yaml, applied to predictions on the training split.

Where the threshold is chosen matters more than how:

- Not on the test set. A threshold tuned on the test rows makes every metric measured at it on
  those same rows optimistic, and the test set stops being a fair judge of the next change.
- Not on the fitted model's predictions for its own training rows either: a boosted model fits
  those rows closely, so its probabilities there are more extreme than on new rows, and a
  threshold tuned on them would be off.
- On out-of-fold predictions of the training split: k-fold cross-validation refits the same
  pipeline (same hyperparameters) k times, so every training row gets a probability from a model
  that never saw it. Those behave like predictions on new data, and the test set stays untouched.
  This costs k extra fits, and only for the rules that need it (`fixed` needs no data at all).
"""

from __future__ import annotations

import numpy as np
import pandas as pd
from sklearn.base import clone
from sklearn.metrics import precision_recall_curve
from sklearn.model_selection import StratifiedKFold, cross_val_predict
from sklearn.pipeline import Pipeline
from threadpoolctl import threadpool_limits

from lastmile.errors import LastmileError
from lastmile.files import DIGITS
from lastmile.params import ThresholdParams


def out_of_fold_proba(
    pipeline: Pipeline, features: pd.DataFrame, y_true: np.ndarray, folds: int, seed: int
) -> np.ndarray:
    """Positive-class probability for each row from a copy of `pipeline` fitted without that row."""
    if np.bincount(y_true, minlength=2).min() < folds:
        raise LastmileError(
            f"The training split has fewer than {folds} rows of one label: too few to choose the "
            "threshold by cross-validation. Lower `evaluation.threshold.folds` or use rule `fixed`."
        )
    splitter = StratifiedKFold(n_splits=folds, shuffle=True, random_state=seed)
    # One thread per fit: on a busy machine OpenMP threads thrash (measured here at load 6: 34 s with
    # two threads, 12 s with one, for three folds of 39,000 rows).
    with threadpool_limits(limits=1, user_api="openmp"):
        proba = cross_val_predict(clone(pipeline), features, y_true, cv=splitter, method="predict_proba")
    return np.asarray(proba[:, 1])


def choose_threshold(rule: ThresholdParams, y_true: np.ndarray, proba: np.ndarray) -> float:
    """The threshold `rule` picks from out-of-fold training predictions (`fixed` ignores them).

    Rows with probability >= threshold are predicted positive.
    - `fixed`: `rule.value`.
    - `max_f1`: the threshold with the highest F1.
    - `target_precision`: the lowest threshold whose precision reaches `rule.value`, which is the
      one with the highest recall among those reaching it.
    """
    if rule.rule == "fixed":
        return rule.value
    precision, recall, thresholds = precision_recall_curve(y_true, proba)
    # The curve's last point (precision 1, recall 0) has no threshold.
    precision, recall = precision[:-1], recall[:-1]
    if rule.rule == "max_f1":
        denominator = precision + recall
        f1 = np.divide(
            2 * precision * recall, denominator, out=np.zeros_like(denominator), where=denominator > 0
        )
        chosen = thresholds[int(np.argmax(f1))]
    else:
        reaching = np.flatnonzero(precision >= rule.value)
        if reaching.size == 0:
            raise LastmileError(
                f"No threshold reaches precision {rule.value} on the training split (best: "
                f"{precision.max():.3f}). Lower `evaluation.threshold.value` or pick another rule."
            )
        chosen = thresholds[reaching[0]]
    # Rounded down, so that every row the rule put at or above the threshold stays there.
    return float(np.floor(chosen * 10**DIGITS) / 10**DIGITS)
