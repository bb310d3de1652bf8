"""Explanations are exact: base value + contributions = the model's log-odds, for each model kind."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest

from lastmile.data import one_against_the_rest, typed_label
from lastmile.model import build_pipeline
from lastmile.params import FeatureParams, ModelParams, Params, load_params
from lastmile.serving.explain import Explainer, _column_groups


@pytest.fixture(scope="module")
def training(trained_repo: Path) -> tuple[pd.DataFrame, pd.Series, Params]:
    """The features and the labels as `train` learns them: a target with more than two labels (cars'
    origin: USA, Europe, Japan) is the positive one against "not <positive>"."""
    params = load_params(trained_repo / "params.yaml")
    frame = pd.read_parquet(trained_repo / "data/interim/validated.parquet")
    column = params.target.column
    positive = typed_label(params.target.positive, frame[column], column)
    return frame[params.features.all], one_against_the_rest(frame[column], positive, column), params


@pytest.fixture(scope="module", params=["hist_gradient_boosting", "logistic_regression"])
def fitted(request: pytest.FixtureRequest, training: tuple[pd.DataFrame, pd.Series, Params]) -> Any:
    """A pipeline of each model kind, fitted once for both choices of the positive label."""
    features, labels, params = training
    model = ModelParams.model_validate({**params.model.model_dump(), "kind": request.param})
    return build_pipeline(params.features, model).fit(features, labels)


@pytest.mark.parametrize(
    "positive_first", [False, True], ids=["positive-is-classes_[1]", "positive-is-classes_[0]"]
)
def test_base_plus_contributions_is_the_models_log_odds(
    training: tuple[pd.DataFrame, pd.Series, Params], fitted: Any, positive_first: bool
):
    features, _, params = training
    pipeline = fitted
    classes = list(pipeline.classes_)
    positive = classes[0] if positive_first else classes[1]
    explainer = Explainer(pipeline, params.features.all, positive)

    rows = features.iloc[:300]
    explained = explainer.explain(rows)

    sign = -1.0 if positive_first else 1.0
    log_odds = sign * pipeline.decision_function(rows)
    assert explained.contributions.shape == (len(rows), len(params.features.all))
    np.testing.assert_allclose(
        explained.base + explained.contributions.sum(axis=1), log_odds, rtol=0, atol=1e-6
    )
    np.testing.assert_allclose(explained.score, log_odds, rtol=0, atol=1e-12)
    # The log-odds are those of the positive label's probability.
    probability = pipeline.predict_proba(rows)[:, classes.index(positive)]
    np.testing.assert_allclose(1 / (1 + np.exp(-log_odds)), probability, rtol=0, atol=1e-9)
    # Every feature is used by some record: none is silently left out of the grouping.
    assert np.all(np.any(explained.contributions != 0, axis=0))


def test_one_hot_columns_are_grouped_back_to_their_feature(training: tuple[pd.DataFrame, pd.Series, Params]):
    features, labels, params = training
    pipeline = build_pipeline(params.features, params.model).fit(features, labels)
    groups = _column_groups(pipeline.named_steps["preprocess"], params.features.all)
    names = pipeline.named_steps["preprocess"].get_feature_names_out()
    assert len(groups) == len(names)
    for name, group in zip(names, groups, strict=True):
        feature = params.features.all[group]
        assert name == feature or name.startswith(feature + "_")
    assert sorted(set(groups)) == list(range(len(params.features.all)))


@pytest.mark.parametrize("kind", ["hist_gradient_boosting", "logistic_regression"])
@pytest.mark.parametrize("only", ["numeric", "categorical"])
def test_a_project_with_one_kind_of_feature_is_explained_exactly(
    training: tuple[pd.DataFrame, pd.Series, Params], kind: str, only: str
):
    """A project may have numeric features only (or categorical only): the other branch of the
    preprocessing is then never fitted, and must not stop the explainer (nor the service) loading."""
    features, labels, params = training
    kept = getattr(params.features, only)
    if not kept:
        pytest.skip(f"the project has no {only} feature")
    subset = FeatureParams.model_validate({"numeric": [], "categorical": [], only: kept})
    model = ModelParams.model_validate({**params.model.model_dump(), "kind": kind})
    pipeline = build_pipeline(subset, model).fit(features[kept], labels)
    positive = list(pipeline.classes_)[1]
    rows = features[kept].iloc[:100]
    explained = Explainer(pipeline, kept, positive).explain(rows)
    assert explained.contributions.shape == (100, len(kept))
    log_odds = pipeline.decision_function(rows)
    total = explained.base + explained.contributions.sum(axis=1)
    np.testing.assert_allclose(total, log_odds, rtol=0, atol=1e-6)
