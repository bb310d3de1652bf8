"""Stage `train`: fit the model pipeline on the training split and save it with its metadata."""

from __future__ import annotations

import hashlib
import json
import logging
import time
from pathlib import Path
from typing import Any

import pandas as pd
import sklearn

from lastmile import __version__, paths
from lastmile.data import frame_hash, native, read_table, typed_label
from lastmile.errors import LastmileError
from lastmile.model import build_pipeline, save_model
from lastmile.params import Params

log = logging.getLogger(__name__)


def run(params: Params, table: Path = paths.TRAIN_TABLE, out: Path = paths.MODEL_DIR) -> dict[str, Any]:
    frame = read_table(table)
    missing = [c for c in [*params.features.all, params.target.column] if c not in frame.columns]
    if missing:
        raise LastmileError(f"params.yaml lists column(s) {missing} that the training table does not have.")
    features = frame[params.features.all]
    labels = frame[params.target.column]
    positive = typed_label(params.target.positive, labels, params.target.column)
    if pd.api.types.is_bool_dtype(labels):
        labels = labels.astype(bool)  # pandas' nullable booleans: scikit-learn wants numpy's
    data_hash = frame_hash(frame)
    model_params = params.model.model_dump()
    # Same training inputs -> same version: the version names what the model was made from, not
    # how it is evaluated or gated afterwards (`evaluation`, `gates`).
    made_from = params.model_dump(include={"target", "features", "split", "model"})
    fingerprint = json.dumps({"data": data_hash, "params": made_from}, sort_keys=True)
    version = f"{__version__}+{hashlib.sha256(fingerprint.encode()).hexdigest()[:12]}"

    pipeline = build_pipeline(params.features, params.model)
    log.info("train: fitting %s on %d rows x %d features", params.model.kind, len(frame), features.shape[1])
    started = time.perf_counter()
    pipeline.fit(features, labels)
    seconds = time.perf_counter() - started
    # No wall-clock time, host or interpreter version in here: DVC hashes this file, and the same
    # code, data and params must give the same bytes on every machine (the time is only logged).
    metadata = {
        "model_version": version,
        "model_kind": params.model.kind,
        "training_rows": len(frame),
        "training_data_hash": data_hash,
        # The positive label and the classes keep the data's type (1, "yes", true): the service answers
        # with the same JSON type the data holds.
        "target": {"column": params.target.column, "positive": positive},
        "features": params.features.model_dump(),
        "params": model_params,
        "classes": [native(c) for c in pipeline.classes_],
        "versions": {
            "lastmile": __version__,
            "scikit-learn": sklearn.__version__,
        },
    }
    save_model(out, pipeline, metadata)
    log.info("train: done in %.1f s -> %s (version %s)", seconds, out, version)
    return metadata
