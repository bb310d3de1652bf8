"""Stage `evaluate`: score the model on the held-out test split.

Writes, at the model's decision threshold (chosen by `train` with the rule in `evaluation.threshold`,
on the training split, never on the test set: see `lastmile.evaluation.threshold`):
- the headline metrics for `dvc metrics`, and the curves (ROC, precision-recall, calibration,
  confusion) as CSV for `dvc plots` and as PNG;
- one prediction per test row (`row_id,actual,probability`), so that another commit's model can be
  compared with this one on the same rows (`lastmile.evaluation.bootstrap`);
- metrics per slice (`lastmile.evaluation.slices`), group fairness (`lastmile.evaluation.fairness`)
  and permutation importance with its plot (`lastmile.evaluation.importance`);
- the reference profile of the training features and of the test predictions, which the drift
  monitor compares live traffic with (`lastmile.monitoring.profile`).
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd
from sklearn import metrics as skm
from sklearn.calibration import calibration_curve

from lastmile import artifacts, paths
from lastmile.artifacts import FairnessReport, ImportanceReport, MetricsReport, SlicesReport
from lastmile.data import read_table, typed_label
from lastmile.errors import LastmileError
from lastmile.evaluation import predictions
from lastmile.evaluation.fairness import fairness_report
from lastmile.evaluation.importance import permutation_importances
from lastmile.evaluation.plots import bar_plot, confusion_plot, line_plot
from lastmile.evaluation.slices import slice_columns, slice_report
from lastmile.files import DIGITS, atomic_path
from lastmile.metrics import Scored, headline
from lastmile.model import load_model, positive_proba
from lastmile.monitoring import profile
from lastmile.params import Params

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Outputs:
    """Where the stage writes (the paths `dvc.yaml` declares, unless a test redirects them)."""

    metrics: Path = paths.METRICS
    predictions: Path = paths.PREDICTIONS
    slices: Path = paths.SLICES
    fairness: Path = paths.FAIRNESS
    importance: Path = paths.IMPORTANCE
    profile: Path = paths.PROFILE
    plots_dir: Path = paths.PLOTS_DIR
    figures_dir: Path = paths.FIGURES_DIR

    @classmethod
    def under(cls, directory: Path) -> Outputs:
        return cls(**{name: directory / getattr(cls(), name) for name in cls.__dataclass_fields__})


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


def _figures(
    named: dict[str, pd.DataFrame],
    results: MetricsReport,
    confusion: tuple[np.ndarray, list[str]],
    importance: ImportanceReport,
    figures_dir: Path,
) -> None:
    roc_title = f"ROC (AUC {results.values['roc_auc']:.3f})"
    line_plot({"model": named["roc"]}, "fpr", "tpr", roc_title, figures_dir / "roc.png", diagonal=True)
    line_plot(
        {"model": named["precision_recall"]},
        "recall",
        "precision",
        f"Precision-recall (AP {results.values['pr_auc']:.3f})",
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
        f"Confusion matrix (threshold {results.threshold:.3g})",
        figures_dir / "confusion.png",
    )
    ranked = importance.features
    bar_plot(
        [f.feature for f in ranked],
        [f.importance_mean for f in ranked],
        [f.importance_std for f in ranked],
        f"Permutation importance ({importance.rows:,} test rows)",
        "drop in ROC AUC when shuffled",
        figures_dir / "importance.png",
    )


def run(
    params: Params,
    table: Path = paths.TEST_TABLE,
    train_table: Path = paths.TRAIN_TABLE,
    model_dir: Path = paths.MODEL_DIR,
    out: Outputs = Outputs(),
) -> MetricsReport:
    pipeline, metadata = load_model(model_dir)
    test = read_table(table)
    positive = typed_label(params.target.positive, test[params.target.column], params.target.column)
    if positive != metadata.target.positive or positive not in metadata.classes:
        raise LastmileError(
            f"The model was trained for the positive label {metadata.target.positive!r}, "
            f"not {positive!r}: retrain it (`dvc repro`)."
        )
    named_slices = slice_columns(test, params.features.sensitive, params.evaluation.slices)
    threshold = metadata.threshold  # chosen by `train` on the training split: it belongs to the model
    y_true = _labels(test, params)
    proba = positive_proba(pipeline, test[params.features.all], positive)
    results = MetricsReport.model_validate(
        {
            **headline(Scored(y_true, proba, (proba >= threshold).astype(int))),
            "test_rows": len(test),
            "threshold": threshold,
        }
    )

    negative = metadata.negative
    # Labels as text in the confusion table: 1 and "1", true and "True" print alike.
    predicted = np.where(proba >= threshold, str(positive), str(negative))
    actual = test[params.target.column].map(str).to_numpy()
    named = curves(y_true, proba)
    for name, frame in named.items():
        _write_csv(out.plots_dir / f"{name}.csv", frame)
    _write_csv(out.plots_dir / "confusion.csv", pd.DataFrame({"actual": actual, "predicted": predicted}))
    _write_csv(out.predictions, predictions.build(test, y_true, proba))

    artifacts.write(
        out.slices, SlicesReport.model_validate(slice_report(named_slices, y_true, proba, threshold))
    )
    sensitive = {feature: named_slices[feature] for feature in params.features.sensitive}
    fairness = fairness_report(y_true, proba, threshold, sensitive)
    artifacts.write(out.fairness, FairnessReport.model_validate(fairness))
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
    artifacts.write(out.importance, importance)
    labels = [str(negative), str(positive)]
    matrix = skm.confusion_matrix(actual, predicted, labels=labels)
    _figures(named, results, (matrix, labels), importance, out.figures_dir)

    reference = profile.build(
        read_table(train_table),
        proba,
        params.features,
        params.monitor.profile,
        model_version=metadata.model_version,
        positive_label=positive,
        threshold=threshold,
    )
    artifacts.write(out.profile, reference)
    artifacts.write(out.metrics, results)
    log.info(
        "evaluate: ROC AUC %.4f, accuracy %.4f at threshold %.3f on %d test rows",
        results.values["roc_auc"],
        results.values["accuracy"],
        threshold,
        len(test),
    )
    return results
