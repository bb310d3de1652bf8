"""The model: a scikit-learn `Pipeline` with the preprocessing inside, saved with its metadata.

Because imputation, encoding and scaling live in the pipeline, serving feeds it raw records
and cannot drift from training.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

from lastmile import artifacts
from lastmile.artifacts import ModelInfo
from lastmile.errors import LastmileError
from lastmile.files import atomic_path
from lastmile.params import FeatureParams, Label, ModelParams

if TYPE_CHECKING:
    import pandas as pd
    from sklearn.pipeline import Pipeline

MODEL_FILE = "model.joblib"
METADATA_FILE = "model.json"


def build_pipeline(features: FeatureParams, model: ModelParams) -> Pipeline:
    # Imported here: reading a model's metadata (`make run`'s summary) should not pay for scikit-learn.
    from sklearn.compose import ColumnTransformer
    from sklearn.ensemble import HistGradientBoostingClassifier
    from sklearn.impute import SimpleImputer
    from sklearn.linear_model import LogisticRegression
    from sklearn.pipeline import Pipeline, make_pipeline
    from sklearn.preprocessing import OneHotEncoder, StandardScaler

    numeric = make_pipeline(SimpleImputer(strategy="median"), StandardScaler())
    categorical = make_pipeline(
        SimpleImputer(strategy="constant", fill_value="missing"),
        OneHotEncoder(handle_unknown="ignore", sparse_output=False, min_frequency=10),
    )
    preprocess = ColumnTransformer(
        [("numeric", numeric, features.numeric), ("categorical", categorical, features.categorical)],
        remainder="drop",
        verbose_feature_names_out=False,
    )
    classifier: HistGradientBoostingClassifier | LogisticRegression
    if model.kind == "hist_gradient_boosting":
        classifier = HistGradientBoostingClassifier(
            **model.hist_gradient_boosting.model_dump(), random_state=model.seed
        )
    else:
        classifier = LogisticRegression(**model.logistic_regression.model_dump(), random_state=model.seed)
    return Pipeline([("preprocess", preprocess), ("classifier", classifier)])


def positive_proba(pipeline: Pipeline, frame: pd.DataFrame, positive: Label) -> np.ndarray:
    """Probability of the positive label for each row."""
    classes = list(pipeline.classes_)
    return np.asarray(pipeline.predict_proba(frame)[:, classes.index(positive)])


def _forget_machine(pipeline: Pipeline) -> None:
    """Drop what a fit records about the machine, so the saved bytes depend on code, data and params only.

    Histogram gradient boosting keeps the number of OpenMP threads it binned with (the core count);
    it is read again, as None means "all cores", only when fitting.
    """
    for step in pipeline.named_steps.values():
        bin_mapper = getattr(step, "_bin_mapper", None)
        if bin_mapper is not None:
            bin_mapper.n_threads = None


def save_model(directory: Path, pipeline: Pipeline, info: ModelInfo) -> None:
    import joblib  # imported here, as scikit-learn: reading the metadata alone stays light

    _forget_machine(pipeline)
    directory.mkdir(parents=True, exist_ok=True)
    with atomic_path(directory / MODEL_FILE) as tmp:
        joblib.dump(pipeline, tmp)
    artifacts.write(directory / METADATA_FILE, info)


def load_metadata(directory: Path) -> ModelInfo:
    """The model's metadata; a model without a decision threshold (trained before it was stored) fails."""
    path = directory / METADATA_FILE
    if not path.is_file():
        raise LastmileError(f"No trained model in {directory}: run `dvc repro` (or `make run`) first.")
    return artifacts.read(path, ModelInfo)


def load_model(directory: Path) -> tuple[Pipeline, ModelInfo]:
    """Load the pipeline and its metadata. Only load models you trained: joblib runs pickles."""
    import joblib

    metadata = load_metadata(directory)
    pipeline: Pipeline = joblib.load(directory / MODEL_FILE)
    return pipeline, metadata
