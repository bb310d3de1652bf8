import gzip
from pathlib import Path

import pandas as pd
import pytest

from lastmile.data import read_json
from lastmile.errors import LastmileError
from lastmile.params import Params
from lastmile.stages import ingest


def _with_source(params: Params, source: Path) -> Params:
    return params.model_copy(update={"data": params.data.model_copy(update={"source": str(source)})})


def test_ingest_types_labels_and_summary(tmp_path: Path, params: Params, sample_source: Path) -> None:
    out, summary_path = tmp_path / "raw.parquet", tmp_path / "summary.json"
    summary = ingest.run(_with_source(params, sample_source), out=out, summary=summary_path)
    frame = pd.read_parquet(out)
    assert len(frame) == summary["rows"] == 3000
    assert str(frame["age"].dtype) == "Int64"
    # adult.test's labels end with "." in the raw snapshot; ingest strips it.
    assert set(frame["income"].dropna()) == {"<=50K", ">50K"}
    assert frame["workclass"].isna().sum() == frame.isna().sum()["workclass"] > 0  # "?" became missing
    assert read_json(summary_path) == summary
    assert sum(summary["class_counts"].values()) == 3000


def test_ingest_reads_the_raw_uci_test_file_format(
    tmp_path: Path, params: Params, raw_lines: list[str]
) -> None:
    """A source written like adult.test: a `|` first line and `>50K.` labels, gzip-compressed."""
    source = tmp_path / "adult.test.csv.gz"
    body = [raw_lines[0], "|1x3 Cross validator", *raw_lines[-200:]]
    source.write_bytes(gzip.compress("\n".join(body).encode()))
    summary = ingest.run(
        _with_source(params, source), out=tmp_path / "r.parquet", summary=tmp_path / "s.json"
    )
    assert summary["rows"] == 200
    assert set(summary["class_counts"]) <= {"<=50K", ">50K"}


def test_missing_target_column(tmp_path: Path, params: Params) -> None:
    source = tmp_path / "no_target.csv"
    source.write_text("age,sex\n30,Male\n")
    with pytest.raises(LastmileError, match="target column 'income'"):
        ingest.run(_with_source(params, source), out=tmp_path / "r.parquet", summary=tmp_path / "s.json")
    assert not (tmp_path / "r.parquet").exists()
