"""Stage `evaluate`: score the model on the held-out test split.

Writes, at the decision threshold chosen by `evaluation.threshold` (see `lastmile.evaluation.threshold`: it is
chosen on the training split, never on the test set):
- the headline metrics for `dvc metrics`, and the curves (ROC, precision-recall, calibration,
  confusion) as CSV for `dvc plots` and as PNG;
- one prediction per test row (`row_id,actual,probability`), so that another commit's model can be
  compared with this one on the same rows (`lastmile.evaluation.bootstrap`);
- metrics per slice (`lastmile.evaluation.slices`), group fairness (`lastmile.evaluation.fairness`)
  and permutation importance with its plot (`lastmile.evaluation.importance`).
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
from sklearn import metrics as skm
from sklearn.calibration import calibration_curve
from sklearn.pipeline import Pipeline

from lastmile import paths
from lastmile.data import atomic_path, read_table, typed_label, write_json
from lastmile.errors import LastmileError
from lastmile.evaluation import predictions
from lastmile.evaluation.fairness import fairness_report
from lastmile.evaluation.importance import permutation_importances
from lastmile.evaluation.plots import bar_plot, confusion_plot, line_plot
from lastmile.evaluation.slices import slice_columns, slice_report
from lastmile.evaluation.threshold import choose_threshold, out_of_fold_proba
from lastmile.model import load_model, positive_proba
from lastmile.params import Params

log = logging.getLogger(__name__)
DIGITS = 6


@dataclass(frozen=True)
class Outputs:
    """Where the stage writes (the paths `dvc.yaml` declares, unless a test redirects them)."""

    metrics: Path = paths.METRICS
    predictions: Path = paths.PREDICTIONS
    slices: Path = paths.SLICES
    fairness: Path = paths.FAIRNESS
    importance: Path = paths.IMPORTANCE
    plots_dir: Path = paths.PLOTS_DIR
    figures_dir: Path = paths.FIGURES_DIR

    @classmethod
    def under(cls, directory: Path) -> Outputs:
        return cls(**{name: directory / getattr(cls(), name) for name in cls.__dataclass_fields__})


def headline_metrics(y_true: np.ndarray, proba: np.ndarray, threshold: float) -> dict[str, float]:
    """The metrics every report shows; `y_true` is 1 for the positive label."""
    predicted = (proba >= threshold).astype(int)
    values = {
        "accuracy": skm.accuracy_score(y_true, predicted),
        "precision": skm.precision_score(y_true, predicted, zero_division=0),
        "recall": skm.recall_score(y_true, predicted, zero_division=0),
        "f1": skm.f1_score(y_true, predicted, zero_division=0),
        "roc_auc": skm.roc_auc_score(y_true, proba),
        "pr_auc": skm.average_precision_score(y_true, proba),
        "log_loss": skm.log_loss(y_true, proba, labels=[0, 1]),
        "brier": skm.brier_score_loss(y_true, proba),
    }
    return {name: round(float(value), DIGITS) for name, value in values.items()}


def curves(y_true: np.ndarray, proba: np.ndarray) -> dict[str, pd.DataFrame]:
    fpr, tpr, _ = skm.roc_curve(y_true, proba)
    precision, recall, _ = skm.precision_recall_curve(y_true, proba)
    observed, predicted = calibration_curve(y_true, proba, n_bins=10, strategy="quantile")
    return {
        "roc": pd.DataFrame({"fpr": fpr, "tpr": tpr}).round(DIGITS),
        "precision_recall": pd.DataFrame({"recall": recall, "precision": precision}).round(DIGITS),
        "calibration": pd.DataFrame({"mean_predicted": predicted, "fraction_positive": observed}).round(
            DIGITS
        ),
    }


def _write_csv(path: Path, frame: pd.DataFrame) -> None:
    with atomic_path(path) as tmp:
        frame.to_csv(tmp, index=False)


def _labels(frame: pd.DataFrame, params: Params) -> np.ndarray:
    """1 for the positive label, else 0."""
    labels = frame[params.target.column]
    positive = typed_label(params.target.positive, labels, params.target.column)
    return (labels == positive).to_numpy(dtype=bool, na_value=False).astype(int)


def decision_threshold(params: Params, pipeline: Pipeline, train_table: Path) -> float:
    """The threshold `evaluation.threshold` picks, from out-of-fold predictions on the training split."""
    rule = params.evaluation.threshold
    if rule.rule == "fixed":
        return rule.value
    train = read_table(train_table)
    y_train = _labels(train, params)
    log.info(
        "evaluate: choosing the threshold (%s) by %d-fold cross-validation on %d training rows",
        rule.rule,
        rule.folds,
        len(train),
    )
    features = train[params.features.all]
    proba = out_of_fold_proba(pipeline, features, y_train, rule.folds, params.evaluation.seed)
    return choose_threshold(rule, y_train, proba)


def _figures(
    named: dict[str, pd.DataFrame],
    results: dict[str, Any],
    confusion: tuple[np.ndarray, list[str]],
    importance: dict[str, Any],
    figures_dir: Path,
) -> None:
    roc_title = f"ROC (AUC {results['roc_auc']:.3f})"
    line_plot({"model": named["roc"]}, "fpr", "tpr", roc_title, figures_dir / "roc.png", diagonal=True)
    line_plot(
        {"model": named["precision_recall"]},
        "recall",
        "precision",
        f"Precision-recall (AP {results['pr_auc']:.3f})",
        figures_dir / "precision_recall.png",
    )
    line_plot(
        {"model": named["calibration"]},
        "mean_predicted",
        "fraction_positive",
        "Calibration",
        figures_dir / "calibration.png",
        diagonal=True,
    )
    matrix, labels = confusion
    confusion_plot(
        matrix,
        labels,
        f"Confusion matrix (threshold {results['threshold']:.3g})",
        figures_dir / "confusion.png",
    )
    ranked = importance["features"]
    bar_plot(
        [f["feature"] for f in ranked],
        [f["importance_mean"] for f in ranked],
        [f["importance_std"] for f in ranked],
        f"Permutation importance ({importance['rows']:,} test rows)",
        "drop in ROC AUC when shuffled",
        figures_dir / "importance.png",
    )


def run(
    params: Params,
    table: Path = paths.TEST_TABLE,
    train_table: Path = paths.TRAIN_TABLE,
    model_dir: Path = paths.MODEL_DIR,
    out: Outputs = Outputs(),
) -> dict[str, Any]:
    pipeline, metadata = load_model(model_dir)
    test = read_table(table)
    positive = typed_label(params.target.positive, test[params.target.column], params.target.column)
    if positive != metadata["target"]["positive"] or positive not in metadata["classes"]:
        raise LastmileError(
            f"The model was trained for the positive label {metadata['target']['positive']!r}, "
            f"not {positive!r}: retrain it (`dvc repro`)."
        )
    named_slices = slice_columns(test, params.features.sensitive, params.evaluation.slices)
    threshold = decision_threshold(params, pipeline, train_table)
    y_true = _labels(test, params)
    proba = positive_proba(pipeline, test[params.features.all], positive)
    results: dict[str, Any] = headline_metrics(y_true, proba, threshold)
    results |= {"test_rows": len(test), "threshold": threshold}

    negative = next(c for c in metadata["classes"] if c != positive)
    # Labels as text in the confusion table: 1 and "1", true and "True" print alike.
    predicted = np.where(proba >= threshold, str(positive), str(negative))
    actual = test[params.target.column].map(str).to_numpy()
    named = curves(y_true, proba)
    for name, frame in named.items():
        _write_csv(out.plots_dir / f"{name}.csv", frame)
    _write_csv(out.plots_dir / "confusion.csv", pd.DataFrame({"actual": actual, "predicted": predicted}))
    _write_csv(out.predictions, predictions.build(test, y_true, proba))

    write_json(out.slices, slice_report(named_slices, y_true, proba, threshold))
    sensitive = {feature: named_slices[feature] for feature in params.features.sensitive}
    write_json(out.fairness, fairness_report(y_true, proba, threshold, sensitive))
    settings = params.evaluation.importance
    log.info(
        "evaluate: permutation importance (%d repeats, up to %d rows)", settings.n_repeats, settings.max_rows
    )
    importance = permutation_importances(
        pipeline,
        test[params.features.all],
        y_true,
        positive,
        n_repeats=settings.n_repeats,
        max_rows=settings.max_rows,
        seed=params.evaluation.seed,
    )
    write_json(out.importance, importance)
    labels = [str(negative), str(positive)]
    matrix = skm.confusion_matrix(actual, predicted, labels=labels)
    _figures(named, results, (matrix, labels), importance, out.figures_dir)

    write_json(out.metrics, results)
    log.info(
        "evaluate: ROC AUC %.4f, accuracy %.4f at threshold %.3f on %d test rows",
        results["roc_auc"],
        results["accuracy"],
        threshold,
        len(test),
    )
    return results
