from pathlib import Path

import pandas as pd
import pytest

from lastmile.errors import LastmileError
from lastmile.files import read_json
from lastmile.params import Params
from lastmile.stages import ingest
from tests.conftest import SAMPLE_ROWS


def _with_source(params: Params, source: Path) -> Params:
    return params.model_copy(update={"data": params.data.model_copy(update={"source": str(source)})})


def test_ingest_types_labels_and_summary(
    tmp_path: Path, params: Params, contract, sample_source: Path, raw_lines: list[str]
) -> None:
    out, summary_path = tmp_path / "raw.parquet", tmp_path / "summary.json"
    summary = ingest.run(_with_source(params, sample_source), out=out, summary=summary_path)
    frame = pd.read_parquet(out)
    assert (
        len(frame)
        == summary.rows
        == sum(summary.class_counts.values())
        == min(SAMPLE_ROWS, len(raw_lines) - 1)
    )
    for name, spec in contract.columns.items():
        if spec.kind in ("integer", "number"):
            assert pd.api.types.is_numeric_dtype(frame[name]), name
    target = contract.columns[params.target.column]
    if target.values is not None:
        assert set(frame[params.target.column].dropna().astype(str)) <= set(target.values)
    assert summary.target is not None and summary.target.column == params.target.column
    assert summary.column_names == list(frame.columns)
    assert 0 < summary.positive_rate < 1
    assert read_json(summary_path) == summary.model_dump(mode="json")


@pytest.mark.parametrize(
    ("text", "positive", "rate"),
    [
        ("x,y\n1,1\n2,0\n3,0\n4,1\n", 1, 0.5),
        ("x,y\n1,1\n2,0\n3,0\n4,0\n", "1", 0.25),
        ("x,y\n1,True\n2,False\n3,false\n4,FALSE\n", True, 0.25),
        ("x,y\n1,yes.\n2,no\n3,no.\n4,no\n", "yes", 0.25),
    ],
    ids=["int", "int-as-text", "boolean-text", "text-with-suffix"],
)
def test_labels_of_any_type(tmp_path: Path, params: Params, text: str, positive: object, rate: float) -> None:
    source = tmp_path / "t.csv"
    source.write_text(text)
    p = _with_source(params, source).model_copy(
        update={
            "target": params.target.model_copy(update={"column": "y", "positive": positive}),
            "data": params.data.model_copy(update={"source": str(source), "label_suffix": "."}),
        }
    )
    summary = ingest.run(p, out=tmp_path / "r.parquet", summary=tmp_path / "s.json")
    assert summary.positive_rate == rate


def test_missing_target_column(tmp_path: Path, params: Params) -> None:
    source = tmp_path / "no_target.csv"
    source.write_text("some_column,another\n30,x\n")
    with pytest.raises(LastmileError, match=f"target column '{params.target.column}'"):
        ingest.run(_with_source(params, source), out=tmp_path / "r.parquet", summary=tmp_path / "s.json")
    assert not (tmp_path / "r.parquet").exists()


def test_the_default_source_exists(params: Params) -> None:
    from tests.conftest import ROOT

    assert "://" in params.data.source or (ROOT / params.data.source).is_file()
