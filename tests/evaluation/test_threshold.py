from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from sklearn import metrics as skm

from lastmile.data import typed_label
from lastmile.errors import LastmileError
from lastmile.evaluation.threshold import choose_threshold, out_of_fold_proba
from lastmile.model import load_model, positive_proba
from lastmile.params import Params, ThresholdParams


def _scores(rows: int = 3000) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(11)
    y = (rng.random(rows) < 0.3).astype(int)
    proba = 1 / (1 + np.exp(-(1.5 * (2 * y - 1) + rng.normal(0, 1.3, rows))))
    return y, proba.round(3)


def _precision_and_f1(y: np.ndarray, proba: np.ndarray, thresholds: np.ndarray) -> np.ndarray:
    """Brute force: precision and F1 at each threshold, shape (2, thresholds)."""
    predicted = proba[None, :] >= thresholds[:, None]
    tp = (predicted & (y == 1)).sum(axis=1)
    fp = (predicted & (y == 0)).sum(axis=1)
    fn = ((~predicted) & (y == 1)).sum(axis=1)
    return np.stack([tp / np.maximum(tp + fp, 1), 2 * tp / (2 * tp + fp + fn)])


def test_fixed_is_the_value() -> None:
    y, proba = _scores()
    assert choose_threshold(ThresholdParams(rule="fixed", value=0.42), y, proba) == 0.42


def test_max_f1_beats_every_other_threshold() -> None:
    y, proba = _scores()
    chosen = choose_threshold(ThresholdParams(rule="max_f1"), y, proba)
    f1_everywhere = _precision_and_f1(y, proba, np.unique(proba))[1]
    assert _precision_and_f1(y, proba, np.array([chosen]))[1, 0] == pytest.approx(f1_everywhere.max())
    assert f1_everywhere.max() == pytest.approx(skm.f1_score(y, proba >= chosen))


@pytest.mark.parametrize("target", [0.7, 0.85])
def test_target_precision_is_the_lowest_threshold_reaching_it(target: float) -> None:
    y, proba = _scores()
    chosen = choose_threshold(ThresholdParams(rule="target_precision", value=target), y, proba)
    assert skm.precision_score(y, proba >= chosen) >= target
    candidates = np.unique(proba)
    precision_below = _precision_and_f1(y, proba, candidates[candidates < chosen])[0]
    assert (precision_below < target).all()


def test_unreachable_precision_says_what_to_change() -> None:
    y = np.array([0, 1, 0, 1])
    proba = np.array([0.9, 0.8, 0.7, 0.1])  # the top score is a negative: precision never reaches 1
    with pytest.raises(LastmileError, match=r"evaluation\.threshold\.value"):
        choose_threshold(ThresholdParams(rule="target_precision", value=1.0), y, proba)


def test_out_of_fold_probabilities_come_from_models_that_never_saw_the_row(
    trained_repo: Path, params: Params
) -> None:
    pipeline, _ = load_model(trained_repo / "models")
    train = pd.read_parquet(trained_repo / "data/processed/train.parquet").head(1200)
    features = train[params.features.all]
    # The positive label as the target's type: `positive: "1"` names the integer 1 (wine trial).
    positive = typed_label(params.target.positive, train[params.target.column], params.target.column)
    y = (train[params.target.column] == positive).to_numpy().astype(int)
    oof = out_of_fold_proba(pipeline, features, y, folds=3, seed=1)
    assert oof.shape == (len(train),) and np.all((oof >= 0) & (oof <= 1))
    np.testing.assert_array_equal(oof, out_of_fold_proba(pipeline, features, y, folds=3, seed=1))
    # The fitted model has seen these rows: its in-sample scores separate the classes better.
    in_sample = positive_proba(pipeline, features, positive)
    assert skm.roc_auc_score(y, oof) < skm.roc_auc_score(y, in_sample)
    with pytest.raises(LastmileError, match="folds"):
        out_of_fold_proba(pipeline, features.head(4), np.array([0, 0, 0, 1]), folds=3, seed=1)
