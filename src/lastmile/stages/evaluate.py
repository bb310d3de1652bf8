"""Stage `evaluate`: score the model on the held-out test split.

Writes the metrics for `dvc metrics`, the curves as CSV for `dvc plots`, and the same
curves as PNG.
"""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
from sklearn import metrics as skm
from sklearn.calibration import calibration_curve

from lastmile import paths
from lastmile.data import atomic_path, read_table, write_json
from lastmile.errors import LastmileError
from lastmile.model import load_model, positive_proba
from lastmile.params import Params
from lastmile.plots import confusion_plot, line_plot

log = logging.getLogger(__name__)
DIGITS = 6
THRESHOLD = 0.5


def headline_metrics(y_true: np.ndarray, proba: np.ndarray, threshold: float = THRESHOLD) -> dict[str, float]:
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


def run(
    params: Params,
    table: Path = paths.TEST_TABLE,
    model_dir: Path = paths.MODEL_DIR,
    metrics_out: Path = paths.METRICS,
    plots_dir: Path = paths.PLOTS_DIR,
    figures_dir: Path = paths.FIGURES_DIR,
) -> dict[str, Any]:
    pipeline, metadata = load_model(model_dir)
    test = read_table(table)
    positive = params.target.positive
    if positive not in metadata["classes"]:
        raise LastmileError(f"The model was trained without the positive label {positive!r}; retrain it.")
    y_true = (test[params.target.column] == positive).to_numpy().astype(int)
    proba = positive_proba(pipeline, test[params.features.all], positive)
    results: dict[str, Any] = headline_metrics(y_true, proba)
    results |= {"test_rows": len(test), "threshold": THRESHOLD}

    negative = next(c for c in metadata["classes"] if c != positive)
    predicted = np.where(proba >= THRESHOLD, positive, negative)
    actual = test[params.target.column].astype(str).to_numpy()
    named = curves(y_true, proba)
    for name, frame in named.items():
        _write_csv(plots_dir / f"{name}.csv", frame)
    _write_csv(plots_dir / "confusion.csv", pd.DataFrame({"actual": actual, "predicted": predicted}))

    line_plot(
        {"model": named["roc"]},
        "fpr",
        "tpr",
        f"ROC (AUC {results['roc_auc']:.3f})",
        figures_dir / "roc.png",
        diagonal=True,
    )
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
    labels = [negative, positive]
    confusion_plot(
        skm.confusion_matrix(actual, predicted, labels=labels),
        labels,
        "Confusion matrix",
        figures_dir / "confusion.png",
    )

    write_json(metrics_out, results)
    log.info(
        "evaluate: ROC AUC %.4f, accuracy %.4f on %d test rows",
        results["roc_auc"],
        results["accuracy"],
        len(test),
    )
    return results
