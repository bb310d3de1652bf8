"""Stage `train`: fit the model pipeline on the training split, choose its decision threshold, save both.

The threshold belongs to the model (the service labels with it), so it is chosen here, by the rule
in `evaluation.threshold`, on the training split only (see `lastmile.evaluation.threshold`).
"""

from __future__ import annotations

import hashlib
import json
import logging
import time
from pathlib import Path
from typing import TYPE_CHECKING

import pandas as pd
import sklearn

from lastmile import __version__, paths
from lastmile.artifacts import ModelInfo
from lastmile.data import frame_hash, native, one_against_the_rest, read_table, typed_label
from lastmile.errors import LastmileError
from lastmile.evaluation.threshold import choose_threshold, out_of_fold_proba
from lastmile.model import build_pipeline, save_model
from lastmile.params import Params, TargetParams

if TYPE_CHECKING:
    from sklearn.pipeline import Pipeline

    from lastmile.params import Label

log = logging.getLogger(__name__)


def decision_threshold(
    params: Params, pipeline: Pipeline, features: pd.DataFrame, labels: pd.Series, positive: Label
) -> float:
    """The threshold `evaluation.threshold` picks, from out-of-fold predictions on the training split."""
    rule = params.evaluation.threshold
    if rule.rule == "fixed":
        return rule.value
    log.info(
        "train: choosing the threshold (%s) by %d-fold cross-validation on %d training rows",
        rule.rule,
        rule.folds,
        len(features),
    )
    y_train = (labels == positive).to_numpy().astype(int)
    proba = out_of_fold_proba(pipeline, features, y_train, rule.folds, params.evaluation.seed)
    return choose_threshold(rule, y_train, proba)


def run(params: Params, table: Path = paths.TRAIN_TABLE, out: Path = paths.MODEL_DIR) -> ModelInfo:
    frame = read_table(table)
    missing = [c for c in [*params.features.all, params.target.column] if c not in frame.columns]
    if missing:
        raise LastmileError(f"params.yaml lists column(s) {missing} that the training table does not have.")
    features = frame[params.features.all]
    labels = frame[params.target.column]
    positive = typed_label(params.target.positive, labels, params.target.column)
    if positive not in set(map(native, labels.dropna().unique())):
        raise LastmileError(
            f"The training split has no row of the positive label {positive!r} "
            "(`target.positive` in params.yaml)."
        )
    if pd.api.types.is_bool_dtype(labels):
        labels = labels.astype(bool)  # pandas' nullable booleans: scikit-learn wants numpy's
    labels = one_against_the_rest(labels, positive, params.target.column)
    data_hash = frame_hash(frame)
    pipeline = build_pipeline(params.features, params.model)
    threshold = decision_threshold(params, pipeline, features, labels, positive)
    # Same training inputs -> same version: the version names what the model was made from and its
    # threshold, not how it is evaluated or gated afterwards (the rest of `evaluation`, `gates`).
    made_from = params.model_dump(include={"target", "features", "split", "model"})
    fingerprint = json.dumps({"data": data_hash, "params": made_from, "threshold": threshold}, sort_keys=True)
    version = f"{__version__}+{hashlib.sha256(fingerprint.encode()).hexdigest()[:12]}"

    log.info("train: fitting %s on %d rows x %d features", params.model.kind, len(frame), features.shape[1])
    started = time.perf_counter()
    pipeline.fit(features, labels)
    seconds = time.perf_counter() - started
    # No wall-clock time, host or interpreter version in here: DVC hashes this file, and the same
    # code, data and params must give the same bytes on every machine (the time is only logged).
    info = ModelInfo(
        model_version=version,
        model_kind=params.model.kind,
        training_rows=len(frame),
        training_data_hash=data_hash,
        # The positive label and the classes keep the data's type (1, "yes", true): the service
        # answers with the same JSON type the data holds.
        target=TargetParams(column=params.target.column, positive=positive),
        features=params.features,
        params=params.model.model_dump(),
        classes=[native(c) for c in pipeline.classes_],
        versions={
            "lastmile": __version__,
            "scikit-learn": sklearn.__version__,
        },
        threshold=threshold,
    )
    save_model(out, pipeline, info)
    log.info("train: done in %.1f s -> %s (version %s, threshold %s)", seconds, out, version, threshold)
    return info
