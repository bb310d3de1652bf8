import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from fairlearn.metrics import (
    MetricFrame,
    demographic_parity_difference,
    equalized_odds_difference,
    false_positive_rate,
    selection_rate,
    true_positive_rate,
)
from pandas.api.types import is_integer_dtype
from sklearn import metrics as skm

from lastmile.artifacts import MetricsReport
from lastmile.data import typed_label
from lastmile.errors import LastmileError
from lastmile.evaluation.slices import MISSING, band_labels
from lastmile.params import Params
from lastmile.stages import evaluate, train

HEADLINE = {"accuracy", "precision", "recall", "f1", "roc_auc", "pr_auc", "log_loss", "brier"}


def _json(path: Path) -> dict:
    return json.loads(path.read_text())


@pytest.fixture(scope="module")
def test_table(trained_repo: Path) -> pd.DataFrame:
    return pd.read_parquet(trained_repo / "data/processed/test.parquet")


@pytest.fixture(scope="module")
def scored(trained_repo: Path, test_table: pd.DataFrame) -> pd.DataFrame:
    """The test table with the predictions the real `dvc repro` wrote, row for row."""
    predictions = pd.read_csv(trained_repo / "reports/predictions.csv")
    assert len(predictions) == len(test_table)
    return pd.concat([test_table.reset_index(drop=True), predictions], axis=1)


def _quick(params: Params, **threshold: object) -> Params:
    """The project's params with a threshold rule and a small importance run (for speed)."""
    evaluation = params.evaluation.model_copy(
        update={
            "threshold": params.evaluation.threshold.model_copy(update=threshold),
            "importance": params.evaluation.importance.model_copy(update={"n_repeats": 1, "max_rows": 200}),
        }
    )
    return params.model_copy(update={"evaluation": evaluation})


def _run(
    repo: Path, params: Params, out: Path, table: Path | None = None, model_dir: Path | None = None
) -> MetricsReport:
    return evaluate.run(
        params,
        table=table or repo / "data/processed/test.parquet",
        train_table=repo / "data/processed/train.parquet",
        model_dir=model_dir or repo / "models",
        out=evaluate.Outputs.under(out),
    )


def test_the_dvc_stage_writes_every_report(trained_repo: Path, scored: pd.DataFrame, params: Params) -> None:
    reports = trained_repo / "reports"
    metrics = _json(reports / "metrics.json")
    assert HEADLINE | {"test_rows", "threshold"} <= set(metrics)
    assert metrics["threshold"] == 0.5 and metrics["test_rows"] == len(scored)
    # predictions.csv: the positive label as 1, unique ids, and the metrics recomputed from it.
    assert list(pd.read_csv(reports / "predictions.csv").columns) == ["row_id", "actual", "probability"]
    assert scored["row_id"].is_unique
    # The positive label as the target's type: `positive: "1"` names the integer 1 (wine trial).
    positive = typed_label(params.target.positive, scored[params.target.column], params.target.column)
    assert (scored["actual"] == (scored[params.target.column] == positive)).all()
    assert metrics["roc_auc"] == pytest.approx(
        skm.roc_auc_score(scored["actual"], scored["probability"]), abs=1e-4
    )
    predicted = scored["probability"] >= metrics["threshold"]
    assert metrics["f1"] == pytest.approx(skm.f1_score(scored["actual"], predicted), abs=1e-4)
    # Importance: every feature, largest first, with its figure.
    importance = _json(reports / "importance.json")
    assert importance["method"] == "permutation"
    means = [f["importance_mean"] for f in importance["features"]]
    assert means == sorted(means, reverse=True)
    assert {f["feature"] for f in importance["features"]} == set(params.features.all)
    for figure in ("importance", "roc", "precision_recall", "calibration", "confusion"):
        assert (reports / "figures" / f"{figure}.png").stat().st_size > 1000


def test_slices_cover_sensitive_features_and_bands(
    trained_repo: Path, scored: pd.DataFrame, params: Params
) -> None:
    slices = _json(trained_repo / "reports/slices.json")["slices"]
    names = {s["slice"] for s in slices}
    assert names == {
        *params.features.sensitive,
        *params.evaluation.slices.bands,
        *params.evaluation.slices.columns,
    }
    for name in names:  # every test row in exactly one group of each slice
        assert sum(s["rows"] for s in slices if s["slice"] == name) == len(scored)


def test_a_band_slice_matches_its_rows(
    tmp_path: Path, trained_repo: Path, scored: pd.DataFrame, params: Params
) -> None:
    """A band cut at the median of the first numeric feature: its `<` group holds exactly the rows below."""
    column = params.features.numeric[0]
    edge = float(scored[column].median())
    slices = params.evaluation.slices.model_copy(update={"bands": {column: [edge]}})
    quick = _quick(params)
    banded = quick.model_copy(update={"evaluation": quick.evaluation.model_copy(update={"slices": slices})})
    _run(trained_repo, banded, tmp_path)
    written = [s for s in _json(tmp_path / "reports/slices.json")["slices"] if s["slice"] == column]
    assert [s["group"] for s in written][:2] == band_labels([edge], is_integer_dtype(scored[column]))
    band = written[0]
    rows = scored[scored[column] < edge]
    assert band["rows"] == len(rows)
    assert band["positive_rate"] == pytest.approx(rows["actual"].mean(), abs=1e-6)
    if rows["actual"].nunique() < 2:
        assert band["metrics"]["roc_auc"] is None  # one class only: no ROC AUC
        return
    assert band["metrics"]["roc_auc"] == pytest.approx(
        skm.roc_auc_score(rows["actual"], rows["probability"]), abs=1e-4
    )


def test_fairness_matches_fairlearn(trained_repo: Path, scored: pd.DataFrame, params: Params) -> None:
    fairness = _json(trained_repo / "reports/fairness.json")
    assert set(fairness) == set(params.features.sensitive)
    y = scored["actual"].to_numpy()
    predicted = (scored["probability"] >= 0.5).to_numpy().astype(int)
    for feature in params.features.sensitive:
        # A missing value is a group of its own, `(missing)`, which fairlearn refuses as NaN
        # (penguins: `sex` is missing in 11 rows).
        groups = scored[feature].astype("string").fillna(MISSING).astype(str)
        assert fairness[feature]["demographic_parity_difference"] == pytest.approx(
            demographic_parity_difference(y, predicted, sensitive_features=groups), abs=1e-5
        )
        assert fairness[feature]["equalized_odds_difference"] == pytest.approx(
            equalized_odds_difference(y, predicted, sensitive_features=groups), abs=1e-5
        )
        frame = MetricFrame(
            metrics={"selection_rate": selection_rate, "tpr": true_positive_rate, "fpr": false_positive_rate},
            y_true=y,
            y_pred=predicted,
            sensitive_features=groups,
        )
        written = fairness[feature]["groups"]
        assert set(written) == set(groups.unique())
        for group, row in frame.by_group.iterrows():
            assert written[group]["rows"] == (groups == group).sum()
            assert written[group]["selection_rate"] == pytest.approx(row["selection_rate"], abs=1e-5)
            assert written[group]["true_positive_rate"] == pytest.approx(row["tpr"], abs=1e-5)
            assert written[group]["false_positive_rate"] == pytest.approx(row["fpr"], abs=1e-5)


def test_threshold_rules_decide_on_the_training_split_only(
    tmp_path: Path, trained_repo: Path, test_table: pd.DataFrame, params: Params
) -> None:
    quick = _quick(params, rule="max_f1")
    # `train` chooses the threshold and stores it with the model; `evaluate` uses the model's.
    model = tmp_path / "model"
    info = train.run(quick, table=trained_repo / "data/processed/train.parquet", out=model)
    assert 0 < info.threshold < 1 and info.threshold != 0.5
    chosen = _run(trained_repo, quick, tmp_path / "a", model_dir=model)
    assert chosen.threshold == info.threshold
    # Scrambling the test labels changes every test metric but not the threshold: the test set
    # has no say in it.
    target = params.target.column
    scrambled = test_table.assign(**{target: test_table[target].sample(frac=1, random_state=0).to_numpy()})
    scrambled.to_parquet(tmp_path / "scrambled.parquet")
    again = _run(trained_repo, quick, tmp_path / "b", table=tmp_path / "scrambled.parquet", model_dir=model)
    assert again.threshold == chosen.threshold and again.values["roc_auc"] != chosen.values["roc_auc"]
    # Everything downstream uses the chosen threshold.
    predictions = pd.read_csv(tmp_path / "a/reports/predictions.csv")
    at_threshold = predictions["probability"] >= chosen.threshold
    assert chosen.values["recall"] == pytest.approx(
        skm.recall_score(predictions["actual"], at_threshold), abs=1e-4
    )
    slices = _json(tmp_path / "a/reports/slices.json")
    assert slices["threshold"] == chosen.threshold
    # The same split gives the same row ids, whatever the threshold.
    reference = pd.read_csv(trained_repo / "reports/predictions.csv")
    assert predictions["row_id"].tolist() == reference["row_id"].tolist()


def test_a_bad_slice_column_fails_before_writing_anything(
    tmp_path: Path, trained_repo: Path, params: Params
) -> None:
    slices = params.evaluation.slices.model_copy(update={"columns": ["shoe_size"]})
    bad = params.model_copy(update={"evaluation": params.evaluation.model_copy(update={"slices": slices})})
    with pytest.raises(LastmileError, match="shoe_size"):
        _run(trained_repo, bad, tmp_path)
    assert not (tmp_path / "reports").exists()


def test_declared_slice_columns_are_reported(tmp_path: Path, trained_repo: Path, params: Params) -> None:
    if not params.features.categorical:
        pytest.skip("the project has no categorical feature to slice by")
    column = params.features.categorical[0]
    slices = params.evaluation.slices.model_copy(update={"columns": [column]})
    quick = _quick(params)
    extra = quick.model_copy(update={"evaluation": quick.evaluation.model_copy(update={"slices": slices})})
    _run(trained_repo, extra, tmp_path)
    written = _json(tmp_path / "reports/slices.json")["slices"]
    groups = [s for s in written if s["slice"] == column]
    assert groups and all(s["rows"] > 0 for s in groups)
    assert np.all(np.diff([s["rows"] for s in groups]) <= 0)  # largest group first
