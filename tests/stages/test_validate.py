import json
from pathlib import Path

import pandas as pd
import pytest

from lastmile.contract import Contract
from lastmile.params import Params
from lastmile.stages import ingest, validate
from lastmile.stages.validate import ValidationFailedError


@pytest.fixture(scope="module")
def raw(tmp_path_factory: pytest.TempPathFactory, params: Params, sample_source: Path) -> pd.DataFrame:
    tmp = tmp_path_factory.mktemp("raw")
    p = params.model_copy(update={"data": params.data.model_copy(update={"source": str(sample_source)})})
    ingest.run(p, out=tmp / "raw.parquet", summary=tmp / "s.json")
    return pd.read_parquet(tmp / "raw.parquet")


def _validate(tmp_path: Path, contract: Contract, frame: pd.DataFrame) -> dict:
    table = tmp_path / "raw.parquet"
    frame.to_parquet(table, index=False)
    return validate.run(
        contract,
        table=table,
        out=tmp_path / "ok.parquet",
        report_json=tmp_path / "v.json",
        report_md=tmp_path / "v.md",
    )


def test_valid_table_passes_and_is_typed(tmp_path: Path, contract: Contract, raw: pd.DataFrame) -> None:
    report = _validate(tmp_path, contract, raw)
    assert report["passed"] and report["rows"] == len(raw)
    out = pd.read_parquet(tmp_path / "ok.parquet")
    assert list(out.columns) == list(contract.columns)
    assert out["age"].dtype == "int64"
    assert "passed" in (tmp_path / "v.md").read_text()


def test_failures_name_column_rule_and_rows(tmp_path: Path, contract: Contract, raw: pd.DataFrame) -> None:
    bad = raw.copy()
    bad.loc[4, "age"] = -5
    bad.loc[9, "age"] = 500
    bad.loc[2, "workclass"] = "Astronaut"
    bad.loc[7, "income"] = "maybe"
    # What ingest writes when a numeric column holds text: the column stays text.
    bad["hours_per_week"] = bad["hours_per_week"].astype("str")
    bad.loc[3, "hours_per_week"] = "forty"
    bad["shoe_size"] = 42
    bad = bad.drop(columns=["race"])
    with pytest.raises(ValidationFailedError) as info:
        _validate(tmp_path, contract, bad)
    message = str(info.value)
    assert "column 'age': must be between 17 and 100 - 2 row(s): row 5 (-5), row 10 (500)" in message
    assert "column 'workclass': must be one of the categories" in message and "row 3 (Astronaut)" in message
    assert "column 'income'" in message and "row 8 (maybe)" in message
    assert "column 'hours_per_week': must be a whole number" in message and "row 4 (forty)" in message
    assert "column 'shoe_size': unexpected column" in message
    assert "column 'race': missing column" in message
    report = json.loads((tmp_path / "v.json").read_text())
    assert report["passed"] is False
    assert {f["column"] for f in report["failures"]} == {
        "age",
        "workclass",
        "income",
        "hours_per_week",
        "shoe_size",
        "race",
    }
    markdown = (tmp_path / "v.md").read_text()
    assert "FAILED" in markdown and "| `age` |" in markdown
    assert not (tmp_path / "ok.parquet").exists()


def test_entirely_null_column_and_too_few_rows(tmp_path: Path, contract: Contract, raw: pd.DataFrame) -> None:
    bad = raw.head(50).copy()
    bad["occupation"] = pd.Series([None] * len(bad), dtype="str")
    with pytest.raises(ValidationFailedError) as info:
        _validate(tmp_path, contract, bad)
    assert "column 'occupation': column has no values at all" in str(info.value)
    assert "at least 100 rows" in str(info.value)


def test_missing_value_in_required_column(tmp_path: Path, contract: Contract, raw: pd.DataFrame) -> None:
    bad = raw.copy()
    bad.loc[0, "sex"] = None
    with pytest.raises(
        ValidationFailedError, match=r"column 'sex': must not be missing - 1 row\(s\): row 1 \(missing\)"
    ):
        _validate(tmp_path, contract, bad)
