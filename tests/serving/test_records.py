"""API records built from the data contract: what is required, optional, refused, and how it reads."""

from __future__ import annotations

import pandas as pd
import pytest
from pydantic import BaseModel, ValidationError

from lastmile.contract import Contract
from lastmile.params import Params
from lastmile.serving.records import describe_errors, record_model, to_frame

ROW = {
    "age": 39,
    "workclass": "State-gov",
    "education_num": 13,
    "marital_status": "Never-married",
    "occupation": "Adm-clerical",
    "relationship": "Not-in-family",
    "race": "White",
    "sex": "Male",
    "capital_gain": 2174,
    "capital_loss": 0,
    "hours_per_week": 40,
    "native_country": "United-States",
}


@pytest.fixture
def record(contract: Contract, params: Params) -> type[BaseModel]:
    return record_model(contract, params.features.all, params.target.column)


def test_required_fields_are_the_non_nullable_features(
    record: type[BaseModel], params: Params, contract: Contract
):
    required = {name for name, field in record.model_fields.items() if field.is_required()}
    expected = {name for name in params.features.all if not contract.columns[name].nullable}
    assert required == expected
    assert params.target.column not in record.model_fields


def test_nullable_and_unused_columns(record: type[BaseModel]):
    assert record.model_validate({**ROW, "workclass": None}).workclass is None  # type: ignore[attr-defined]
    assert record.model_validate({**ROW, "fnlwgt": 1234, "education": "Bachelors"})
    with pytest.raises(ValidationError):
        record.model_validate({**ROW, "fnlwgt": None})  # unused, but not nullable in the contract


def test_openapi_schema_uses_nullable_not_any_of(record: type[BaseModel]):
    properties = record.model_json_schema()["properties"]
    assert properties["workclass"]["nullable"] is True
    assert "anyOf" not in properties["workclass"]
    assert "default" not in properties["fnlwgt"]
    assert properties["age"] == {"type": "integer", "minimum": 17, "maximum": 100, "title": "Age"}


def test_to_frame_has_the_contract_dtypes(record: type[BaseModel], contract: Contract, params: Params):
    rows = [record.model_validate(ROW), record.model_validate({**ROW, "occupation": None})]
    frame = to_frame(rows, contract, params.features.all)
    assert list(frame.columns) == params.features.all
    assert frame["age"].dtype == "int64"
    assert pd.isna(frame["occupation"].iloc[1])
    assert frame["occupation"].dtype == pd.Series(["a"], dtype="str").dtype


def test_errors_name_field_value_and_rule(record: type[BaseModel]):
    with pytest.raises(ValidationError) as caught:
        record.model_validate({**ROW, "age": 250, "sex": "X", "salary": 1, "race": None})
    body = describe_errors(caught.value)
    fields = {p["field"]: p for p in body["problems"]}
    assert fields["age"]["value"] == 250
    assert "less than or equal to 100" in fields["age"]["rule"]
    assert fields["sex"]["value"] == "X"
    assert "unknown field" in fields["salary"]["rule"]
    assert body["count"] == len(body["problems"]) == 4
    assert body["error"].startswith("invalid request, 4 problem(s): ")


def test_long_values_are_shortened_in_errors(record: type[BaseModel]):
    with pytest.raises(ValidationError) as caught:
        record.model_validate({**ROW, "sex": "x" * 5000})
    value = describe_errors(caught.value)["problems"][0]["value"]
    assert value.startswith("x" * 100)
    assert value.endswith("(5,000 characters)")
