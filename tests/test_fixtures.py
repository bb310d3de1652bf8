"""The shared fixtures hold on any project's data, however small (tests/conftest.py)."""

from __future__ import annotations

from collections import Counter
from pathlib import Path

from lastmile.data import read_table
from lastmile.model import load_model, positive_proba
from lastmile.params import Params, load_params
from lastmile.stages import ingest, train
from tests.conftest import LEARNS_NOTHING_PARAMS, sample_lines, write_params


def test_the_sample_never_repeats_a_row(raw_lines: list[str]) -> None:
    small = raw_lines[1:151]  # a project of 150 rows, from this project's own data
    assert sorted(sample_lines(small)) == sorted(small)  # all of it, each row once
    drawn = sample_lines(raw_lines[1:], rows=100)
    assert len(drawn) == min(100, len(raw_lines) - 1) and not Counter(drawn) - Counter(raw_lines[1:])


def _learning_nothing(tmp_path: Path, sample_source: Path) -> Params:
    return load_params(write_params(tmp_path, {"data.source": str(sample_source), **LEARNS_NOTHING_PARAMS}))


def test_the_model_that_learns_nothing_scores_every_row_alike(tmp_path: Path, sample_source: Path) -> None:
    params = _learning_nothing(tmp_path, sample_source)
    table = tmp_path / "table.parquet"
    ingest.run(params, out=table, summary=tmp_path / "summary.json")
    train.run(params, table=table, out=tmp_path / "models")
    pipeline, info = load_model(tmp_path / "models")
    scores = positive_proba(pipeline, read_table(table)[params.features.all], info.target.positive)
    assert len(set(scores.round(12).tolist())) == 1
