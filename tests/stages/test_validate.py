import json
from pathlib import Path

import pandas as pd
import pytest

from lastmile.artifacts import ValidationReport
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


def _validate(tmp_path: Path, contract: Contract, frame: pd.DataFrame) -> ValidationReport:
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
    assert report.passed and report.rows == len(raw)
    out = pd.read_parquet(tmp_path / "ok.parquet")
    assert list(out.columns) == list(contract.columns)
    for name, spec in contract.columns.items():
        assert str(out[name].dtype) == (spec.dtype if spec.kind != "category" else str(out[name].dtype)), name
    assert "passed" in (tmp_path / "v.md").read_text()


def _column(
    contract: Contract, params: Params, *kinds: str, ranged: bool = False, other_than: str | None = None
) -> str | None:
    for name, spec in contract.columns.items():
        if name in (params.target.column, other_than) or spec.kind not in kinds:
            continue
        if ranged and spec.min is None:
            continue
        return name
    return None


def test_failures_name_column_rule_and_rows(
    tmp_path: Path, contract: Contract, params: Params, raw: pd.DataFrame
) -> None:
    bad = raw.copy()
    expected: dict[str, str] = {}
    if ranged := _column(contract, params, "integer", "number", ranged=True):
        low = contract.columns[ranged].min - 5  # type: ignore[operator]
        bad[ranged] = bad[ranged].astype("float64")
        bad.loc[4, ranged] = low
        bad.loc[9, ranged] = low
        expected[ranged] = f"column '{ranged}': must be"
    numeric = _column(contract, params, "integer", "number", other_than=ranged)
    if numeric is not None:
        # What ingest writes when a numeric column holds text: the column stays text.
        bad[numeric] = bad[numeric].astype("str")
        bad.loc[3, numeric] = "forty"
        expected[numeric] = "row 4 (forty)"
    category = _column(contract, params, "category")
    if category is not None and contract.columns[category].values is not None:
        bad.loc[2, category] = "Astronaut"
        expected[category] = "row 3 (Astronaut)"
    bad["shoe_size"] = 42
    expected["shoe_size"] = "column 'shoe_size': unexpected column"
    dropped = next(c for c in contract.columns if c not in expected and c != params.target.column)
    bad = bad.drop(columns=[dropped])
    expected[dropped] = f"column '{dropped}': missing column"
    with pytest.raises(ValidationFailedError) as info:
        _validate(tmp_path, contract, bad)
    message = str(info.value)
    for text in expected.values():
        assert text in message
    report = json.loads((tmp_path / "v.json").read_text())
    assert report["passed"] is False
    assert {f["column"] for f in report["failures"]} == set(expected)
    markdown = (tmp_path / "v.md").read_text()
    assert "FAILED" in markdown and f"| `{dropped}` |" in markdown
    assert not (tmp_path / "ok.parquet").exists()


def test_entirely_null_column_and_too_few_rows(
    tmp_path: Path, contract: Contract, params: Params, raw: pd.DataFrame
) -> None:
    bad = raw.head(contract.min_rows - 1).copy()
    nullable = next((c for c, spec in contract.columns.items() if spec.nullable), None)
    if nullable is not None:
        bad[nullable] = pd.Series([None] * len(bad), dtype="str")
    with pytest.raises(ValidationFailedError) as info:
        _validate(tmp_path, contract, bad)
    if nullable is not None:
        assert f"column '{nullable}': column has no values at all" in str(info.value)
    assert f"at least {contract.min_rows} rows" in str(info.value)


def test_missing_value_in_required_column(tmp_path: Path, contract: Contract, raw: pd.DataFrame) -> None:
    required = next(c for c, spec in contract.columns.items() if not spec.nullable)
    bad = raw.copy()
    bad[required] = bad[required].astype("object")
    bad.loc[0, required] = None
    with pytest.raises(
        ValidationFailedError,
        match=rf"column '{required}': must [a-z ]+ - 1 row\(s\): row 1 \(missing\)",
    ):
        _validate(tmp_path, contract, bad)
