import re
from pathlib import Path

import pandas as pd
import pytest
from pandera.errors import SchemaErrors

from lastmile.contract import Contract, build_schema, load_contract
from lastmile.errors import LastmileError


def test_contract_covers_every_feature_and_the_target(contract: Contract, params) -> None:
    assert {*params.features.all, params.target.column} <= set(contract.columns)


def test_schema_accepts_a_valid_row_and_coerces_types(contract: Contract) -> None:
    row = {
        "age": "39",
        "workclass": "Private",
        "fnlwgt": "77516",
        "education": "Bachelors",
        "education_num": "13",
        "marital_status": "Never-married",
        "occupation": "Adm-clerical",
        "relationship": "Not-in-family",
        "race": "White",
        "sex": "Male",
        "capital_gain": "2174",
        "capital_loss": "0",
        "hours_per_week": "40",
        "native_country": "United-States",
        "income": "<=50K",
    }
    small = Contract(min_rows=1, columns=contract.columns)
    out = build_schema(small).validate(pd.DataFrame([row]))
    assert out["age"].dtype == "int64"
    assert out.loc[0, "age"] == 39


def test_schema_reports_every_broken_rule(contract: Contract) -> None:
    frame = pd.DataFrame({name: pd.Series(dtype=spec.dtype) for name, spec in contract.columns.items()})
    with pytest.raises(SchemaErrors) as info:
        build_schema(contract).validate(frame, lazy=True)
    assert "at least 100 rows" in str(info.value.failure_cases["check"].tolist())


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("columns: {a: {kind: category, min: 1}}", "takes `values`"),
        ("columns: {a: {kind: integer, values: [x]}}", "takes `min`/`max`"),
        ("columns: {a: {kind: text}}", "`columns.a.kind`: Input should be 'integer', 'number' or 'category'"),
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
