import json
import re
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from lastmile.errors import LastmileError
from lastmile.model import load_model, positive_proba
from lastmile.params import Params
from lastmile.stages import train


@pytest.fixture(scope="module")
def train_table(trained_repo: Path) -> Path:
    return trained_repo / "data/processed/train.parquet"


@pytest.mark.parametrize("kind", ["logistic_regression", "hist_gradient_boosting"])
def test_train_saves_pipeline_with_metadata(
    tmp_path: Path, params: Params, train_table: Path, kind: str
) -> None:
    p = params.model_copy(update={"model": params.model.model_copy(update={"kind": kind})})
    metadata = train.run(p, table=train_table, out=tmp_path)
    pipeline, saved = load_model(tmp_path)
    assert saved == metadata
    assert saved.model_kind == kind and saved.training_rows == len(pd.read_parquet(train_table))
    written = json.loads((tmp_path / "model.json").read_text())
    assert {"model_version", "training_data_hash", "versions", "params", "threshold"} <= set(written)
    assert written["threshold"] == p.evaluation.threshold.value  # rule `fixed`
    # Nothing that differs between two runs or two machines: DVC hashes this file.
    assert not {"trained_at", "training_seconds"} & set(written) and "python" not in written["versions"]
    # Raw records go straight in: the preprocessing is inside the pipeline, unseen categories included.
    frame = pd.read_parquet(train_table).head(5)
    for column in p.features.categorical[:1]:
        frame.loc[frame.index[0], column] = "Astronaut"
    proba = positive_proba(pipeline, frame[p.features.all], saved.target.positive)
    assert proba.shape == (5,) and np.all((proba >= 0) & (proba <= 1))


def test_same_inputs_same_version(tmp_path: Path, params: Params, train_table: Path) -> None:
    params = params.model_copy(
        update={"model": params.model.model_copy(update={"kind": "logistic_regression"})}
    )
    first = train.run(params, table=train_table, out=tmp_path / "a")
    second = train.run(params, table=train_table, out=tmp_path / "b")
    assert first.model_version == second.model_version
    changed = params.model_copy(update={"model": params.model.model_copy(update={"seed": 7})})
    assert train.run(changed, table=train_table, out=tmp_path / "c").model_version != first.model_version


def test_missing_feature_column(tmp_path: Path, params: Params, train_table: Path) -> None:
    table = tmp_path / "t.parquet"
    dropped = params.features.all[0]
    pd.read_parquet(train_table).drop(columns=[dropped]).to_parquet(table)
    with pytest.raises(LastmileError, match=re.escape(f"[{dropped!r}]")):
        train.run(params, table=table, out=tmp_path / "m")
    assert not (tmp_path / "m").exists()


def test_missing_model_says_what_to_run(tmp_path: Path) -> None:
    with pytest.raises(LastmileError, match="dvc repro"):
        load_model(tmp_path)


def test_evaluation_and_gate_settings_do_not_change_the_version(
    tmp_path: Path, params: Params, train_table: Path
) -> None:
    params = params.model_copy(
        update={"model": params.model.model_copy(update={"kind": "logistic_regression"})}
    )
    first = train.run(params, table=train_table, out=tmp_path / "a")
    gates = params.gates.model_copy(update={"floors": {"roc_auc": 0.5}})
    evaluation = params.evaluation.model_copy(update={"seed": 7})
    changed = params.model_copy(update={"gates": gates, "evaluation": evaluation})
    assert train.run(changed, table=train_table, out=tmp_path / "b").model_version == first.model_version


def test_a_target_with_more_labels_is_learned_as_the_positive_against_the_rest(
    tmp_path: Path, params: Params, train_table: Path
) -> None:
    """Three species, one positive: a binary model answering the positive label or "not <positive>"."""
    frame = pd.read_parquet(train_table)
    column, positive = params.target.column, str(params.target.positive)
    labels = frame[column].astype(str)
    others = labels[labels != positive]
    labels.loc[others.index[::2]] = "other " + others.iloc[::2]  # a third label, and more
    frame[column] = labels
    table = tmp_path / "three.parquet"
    frame.to_parquet(table)
    text = params.model_copy(update={"target": params.target.model_copy(update={"positive": positive})})
    info = train.run(text, table=table, out=tmp_path / "m")
    assert sorted(info.classes) == sorted([positive, f"not {positive}"])
    assert info.negative == f"not {positive}"
    pipeline, _ = load_model(tmp_path / "m")
    assert sorted(pipeline.classes_) == sorted(info.classes)
    proba = positive_proba(pipeline, frame[params.features.all].head(20), positive)
    assert proba.shape == (20,)


def test_whole_number_labels_beyond_two_say_to_declare_them_text(
    tmp_path: Path, params: Params, train_table: Path
) -> None:
    frame = pd.read_parquet(train_table)
    column = params.target.column
    frame[column] = pd.array([i % 3 for i in range(len(frame))], dtype="Int64")
    table = tmp_path / "grades.parquet"
    frame.to_parquet(table)
    graded = params.model_copy(update={"target": params.target.model_copy(update={"positive": 2})})
    with pytest.raises(
        LastmileError, match=r"3 whole-number labels \(\[2, 0, 1\]\).*declare the target as text"
    ):
        train.run(graded, table=table, out=tmp_path / "m")
    assert not (tmp_path / "m").exists()
