"""API records built from the data contract: what is required, optional, refused, and how it reads."""

from __future__ import annotations

import pandas as pd
import pytest
from pydantic import BaseModel, ValidationError

from lastmile.contract import Contract
from lastmile.params import Params
from lastmile.serving.records import describe_errors, record_model, to_frame

# A small contract of every kind of column: these tests are about the records module, not the data.
CONTRACT = Contract.model_validate(
    {
        "columns": {
            "amount": {"kind": "integer", "min": 0, "max": 100},
            "ratio": {"kind": "number"},
            "colour": {"kind": "category", "nullable": True, "values": ["red", "green"]},
            "name": {"kind": "category"},
            "flag": {"kind": "boolean"},
            "record_id": {"kind": "integer", "min": 1},
            "label": {"kind": "category", "values": ["yes", "no"]},
        }
    }
)
FEATURES = ["amount", "ratio", "colour", "name", "flag"]
TARGET = "label"
ROW = {"amount": 39, "ratio": 0.5, "colour": "red", "name": "Ada", "flag": True}


@pytest.fixture
def record() -> type[BaseModel]:
    return record_model(CONTRACT, FEATURES, TARGET)


def test_the_project_contract_makes_a_record_model(contract: Contract, params: Params):
    record = record_model(contract, params.features.all, params.target.column)
    required = {name for name, field in record.model_fields.items() if field.is_required()}
    assert required == {name for name in params.features.all if not contract.columns[name].nullable}
    assert params.target.column not in record.model_fields


def test_required_fields_are_the_non_nullable_features(record: type[BaseModel]):
    required = {name for name, field in record.model_fields.items() if field.is_required()}
    assert required == {"amount", "ratio", "name", "flag"}
    assert TARGET not in record.model_fields


def test_nullable_and_unused_columns(record: type[BaseModel]):
    assert record.model_validate({**ROW, "colour": None}).colour is None  # type: ignore[attr-defined]
    assert record.model_validate({**ROW, "record_id": 1234})
    with pytest.raises(ValidationError):
        record.model_validate({**ROW, "record_id": None})  # unused, but not nullable in the contract
    with pytest.raises(ValidationError):
        record.model_validate({**ROW, "flag": "yes"})  # booleans are JSON true/false only


def test_integer_columns_take_whole_numbers_written_as_floats(record: type[BaseModel]):
    """Many clients write every JSON number with a decimal point: 39.0 is the integer 39."""
    assert record.model_validate({**ROW, "amount": 39.0}).amount == 39  # type: ignore[attr-defined]
    assert type(record.model_validate({**ROW, "amount": 39.0}).amount) is int  # type: ignore[attr-defined]
    for bad in (39.5, "39", True, float("inf")):
        with pytest.raises(ValidationError) as raised:
            record.model_validate({**ROW, "amount": bad})
        (problem,) = describe_errors(raised.value)["problems"]
        assert problem["field"] == "amount" and "valid integer" in problem["rule"], problem
    with pytest.raises(ValidationError, match="less than or equal to 100"):
        record.model_validate({**ROW, "amount": 101.0})


def test_openapi_schema_uses_nullable_not_any_of(record: type[BaseModel]):
    properties = record.model_json_schema()["properties"]
    assert properties["colour"]["nullable"] is True
    assert "anyOf" not in properties["colour"]
    assert "default" not in properties["record_id"]
    assert properties["amount"] == {"type": "integer", "minimum": 0, "maximum": 100, "title": "Amount"}
    assert properties["flag"] == {"type": "boolean", "title": "Flag"}


def test_to_frame_has_the_contract_dtypes(record: type[BaseModel]):
    rows = [record.model_validate(ROW), record.model_validate({**ROW, "colour": None})]
    frame = to_frame(rows, CONTRACT, FEATURES)
    assert list(frame.columns) == FEATURES
    assert frame["amount"].dtype == "int64"
    assert frame["flag"].dtype == "boolean"
    assert pd.isna(frame["colour"].iloc[1])
    assert frame["colour"].dtype == pd.Series(["a"], dtype="str").dtype


def test_errors_name_field_value_and_rule(record: type[BaseModel]):
    with pytest.raises(ValidationError) as caught:
        record.model_validate({**ROW, "amount": 250, "colour": "X", "salary": 1, "name": None})
    body = describe_errors(caught.value)
    fields = {p["field"]: p for p in body["problems"]}
    assert fields["amount"]["value"] == 250
    assert "less than or equal to 100" in fields["amount"]["rule"]
    assert fields["colour"]["value"] == "X"
    assert "unknown field" in fields["salary"]["rule"]
    assert body["count"] == len(body["problems"]) == 4
    assert body["error"].startswith("invalid request, 4 problem(s): ")


def test_long_values_are_shortened_in_errors(record: type[BaseModel]):
    with pytest.raises(ValidationError) as caught:
        record.model_validate({**ROW, "colour": "x" * 5000})
    value = describe_errors(caught.value)["problems"][0]["value"]
    assert value.startswith("x" * 100)
    assert value.endswith("(5,000 characters)")
