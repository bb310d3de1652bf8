import re
from pathlib import Path

import pandas as pd
import pytest
from pandera.errors import SchemaErrors

from lastmile.contract import Contract, build_schema, load_contract, parse_booleans, snake_case
from lastmile.errors import LastmileError
from lastmile.stages import ingest


def test_contract_covers_every_feature_and_the_target(contract: Contract, params) -> None:
    assert {*params.features.all, params.target.column} <= set(contract.columns)


def test_schema_accepts_rows_as_text_and_coerces_types(
    contract: Contract, params, sample_source: Path, tmp_path: Path
) -> None:
    """Rows of the project's own data, every value as text: the schema types them as the contract says."""
    source = params.data.model_copy(update={"source": str(sample_source)})
    ingest.run(
        params.model_copy(update={"data": source}), out=tmp_path / "r.parquet", summary=tmp_path / "s.json"
    )
    rows = pd.read_parquet(tmp_path / "r.parquet").dropna().head(5)
    as_text = rows.astype(str)
    out = build_schema(Contract(min_rows=1, columns=contract.columns)).validate(
        parse_booleans(as_text, contract)
    )
    for name, spec in contract.columns.items():
        if spec.kind == "integer":
            # int64, or pandas' nullable Int64 for a column that may be missing.
            assert out[name].dtype == spec.dtype and out[name].tolist() == rows[name].astype("int64").tolist()
        elif spec.kind == "number":
            assert out[name].dtype == "float64"


def test_boolean_columns_take_true_false_and_one_zero() -> None:
    contract = Contract.model_validate({"columns": {"flag": {"kind": "boolean"}}})
    frame = pd.DataFrame({"flag": ["True", "false", "1", "0", "TRUE"]})
    out = build_schema(contract).validate(parse_booleans(frame, contract))
    assert out["flag"].tolist() == [True, False, True, False, True]
    with pytest.raises(SchemaErrors) as info:
        build_schema(contract).validate(
            parse_booleans(pd.DataFrame({"flag": ["yes", "true"]}), contract), lazy=True
        )
    assert info.value.failure_cases["failure_case"].tolist()[0] == "yes"


def test_schema_reports_every_broken_rule(contract: Contract) -> None:
    frame = pd.DataFrame({name: pd.Series(dtype=spec.dtype) for name, spec in contract.columns.items()})
    with pytest.raises(SchemaErrors) as info:
        build_schema(contract).validate(frame, lazy=True)
    assert "at least 100 rows" in str(info.value.failure_cases["check"].tolist())


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("columns: {a: {kind: category, min: 1}}", "takes `values`"),
        ("columns: {a: {kind: integer, values: [x]}}", "takes no `values`"),
        ("columns: {a: {kind: boolean, min: 0}}", "takes no `min`/`max`"),
        (
            "columns: {a: {kind: text}}",
            "`columns.a.kind`: Input should be 'integer', 'number', 'category' or 'boolean'",
        ),
        (
            "columns: {a: {kind: integer, typo: 1}}",
            "`columns.a.typo`: unknown key; allowed here: kind, nullable",
        ),
        ("columns: {Age: {kind: integer}}", "column names must be snake_case"),
        ("columns: {a: {kind: category, values: [x, x]}}", "`values` lists 'x' more than once"),
        ("columns: [", "not valid YAML"),
    ],
)
def test_invalid_contracts_are_rejected(tmp_path: Path, text: str, message: str) -> None:
    path = tmp_path / "contract.yaml"
    path.write_text(text)
    with pytest.raises(LastmileError, match=re.escape(message)) as info:
        load_contract(path)
    # One paragraph of our own words: no pydantic text, link or input dump.
    assert "\n" not in str(info.value) and "pydantic" not in str(info.value)


def test_missing_contract(tmp_path: Path) -> None:
    with pytest.raises(LastmileError, match="not found"):
        load_contract(tmp_path / "contract.yaml")


def test_snake_case() -> None:
    assert snake_case(" Colour-Name ") == "colour_name"
    assert snake_case("mean radius") == "mean_radius"
