from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from sklearn.inspection import permutation_importance
from sklearn.metrics import roc_auc_score
from sklearn.pipeline import Pipeline

from lastmile.evaluation import importance
from lastmile.evaluation.importance import STACKED_ROWS, shuffled_positions
from lastmile.model import load_model, positive_proba
from lastmile.params import Params


def test_each_repeat_is_a_permutation_of_the_rows() -> None:
    repeats = shuffled_positions(50, 4, seed=7)
    assert len(repeats) == 4
    for positions in repeats:
        assert sorted(positions) == list(range(50))
    assert not np.array_equal(repeats[0], repeats[1])


@pytest.mark.parametrize(("n_repeats", "stacked_rows"), [(1, STACKED_ROWS), (3, STACKED_ROWS), (3, 800)])
def test_the_stacked_repeats_give_scikit_learns_permutation_importance(
    trained_repo: Path, params: Params, n_repeats: int, stacked_rows: int, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Same seed, same shuffles, same scores as `sklearn.inspection.permutation_importance`, also when
    the repeats take several predictions (800 stacked rows: two repeats of 400, then one)."""
    monkeypatch.setattr(importance, "STACKED_ROWS", stacked_rows)
    pipeline, metadata = load_model(trained_repo / "models")
    test = pd.read_parquet(trained_repo / "data/processed/test.parquet")
    features = test[params.features.all]
    y_true = (test[params.target.column] == metadata.target.positive).to_numpy().astype(int)
    max_rows, seed = 400, 11

    ours = importance.permutation_importances(
        pipeline,
        features,
        y_true,
        metadata.target.positive,
        n_repeats=n_repeats,
        max_rows=max_rows,
        seed=seed,
    )

    rows = np.sort(np.random.default_rng(seed).choice(len(features), size=max_rows, replace=False))

    def roc_auc(model: Pipeline, frame: pd.DataFrame, y: np.ndarray) -> float:
        return float(roc_auc_score(y, positive_proba(model, frame, metadata.target.positive)))

    theirs = permutation_importance(
        pipeline, features.iloc[rows], y_true[rows], scoring=roc_auc, n_repeats=n_repeats, random_state=seed
    )
    scores = zip(theirs.importances_mean, theirs.importances_std, strict=True)
    expected = dict(zip(features.columns, scores, strict=True))
    assert ours.rows == max_rows and ours.n_repeats == n_repeats
    assert [f.feature for f in ours.features] == sorted(expected, key=lambda name: -expected[name][0])
    for feature in ours.features:
        mean, std = expected[feature.feature]
        assert feature.importance_mean == pytest.approx(mean, abs=1e-6)
        assert feature.importance_std == pytest.approx(std, abs=1e-6)
