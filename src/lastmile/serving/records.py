"""API records from the data contract: one pydantic model per row, and rows back into a typed table.

The service accepts exactly what the contract allows (types, categories, ranges, nullability),
so training and serving cannot disagree about what a valid row is.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Annotated, Any, Literal

import pandas as pd
from pydantic import (
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    StrictBool,
    StrictFloat,
    StrictInt,
    ValidationError,
    WithJsonSchema,
    create_model,
)
from pydantic_core import PydanticCustomError

from lastmile.contract import ColumnSpec, Contract

# Field problems listed in one error response; the count says how many there were in all.
MAX_PROBLEMS_SHOWN = 20
# Offending strings are echoed up to this length, so a huge value cannot blow up the error body.
MAX_VALUE_SHOWN = 100


class RecordBase(BaseModel):
    # An unknown column is a client bug (a typo, or the target sent by mistake): say so.
    model_config = ConfigDict(extra="forbid", frozen=True)


def _whole_number(value: Any) -> Any:
    """A float with no fractional part is the whole number it writes (`127.0` is 127): JSON has one
    number type and many clients write every number with a decimal point. Any other float is refused."""
    if isinstance(value, float):
        if not value.is_integer():
            raise PydanticCustomError(
                "int_from_float", "Input should be a valid integer, got a number with a fractional part"
            )
        return int(value)
    return value


def _field_type(spec: ColumnSpec) -> Any:
    """The Python type a column accepts: strict numbers (no "42" for 42, nor 42.5 for an integer),
    categories as literals."""
    if spec.kind == "category":
        if spec.values is None:
            return Annotated[str, Field(min_length=1)]
        return Literal[tuple(spec.values)]
    if spec.kind == "integer":
        return Annotated[StrictInt, BeforeValidator(_whole_number), Field(ge=spec.min, le=spec.max)]
    if spec.kind == "boolean":
        return StrictBool
    return Annotated[StrictFloat, Field(ge=spec.min, le=spec.max, allow_inf_nan=False)]


def _openapi_schema(spec: ColumnSpec, nullable: bool) -> dict[str, Any]:
    """The field's schema in OpenAPI 3.0 terms (`nullable`), which BentoML's spec declares.

    pydantic writes JSON Schema 2020-12 (`anyOf` with `{"type": "null"}`), invalid in OpenAPI 3.0.
    """
    schema: dict[str, Any] = {
        "type": {"category": "string", "integer": "integer", "number": "number", "boolean": "boolean"}[
            spec.kind
        ]
    }
    if spec.values is not None:
        schema["enum"] = list(spec.values)
    elif spec.kind == "category":
        schema["minLength"] = 1
    if spec.min is not None:
        schema["minimum"] = spec.min
    if spec.max is not None:
        schema["maximum"] = spec.max
    if nullable:
        schema["nullable"] = True
    return schema


def _drop_default(schema: dict[str, Any]) -> None:
    schema.pop("default", None)


def record_model(contract: Contract, features: Sequence[str], target: str) -> type[RecordBase]:
    """A pydantic model for one input row.

    The model's features are required unless the contract lets them be null. The contract's
    other columns (not used by the model) may be sent, so that a row of the raw data can be
    posted as it is; they are checked and ignored. The target column is not accepted.
    """
    fields: dict[str, Any] = {}
    for name, spec in contract.columns.items():
        if name == target:
            continue
        annotation = _field_type(spec)
        if spec.nullable:
            annotation = annotation | None
        schema = WithJsonSchema(_openapi_schema(spec, spec.nullable))
        if spec.nullable:
            field = Field(default=None)
        elif name not in features:
            # May be left out but, if sent, must be valid: the default is not a value to advertise.
            field = Field(default=None, json_schema_extra=_drop_default)
        else:
            field = Field()
        fields[name] = (Annotated[annotation, schema], field)
    missing = [name for name in features if name not in fields]
    if missing:
        raise ValueError(f"the model uses column(s) {missing} that the data contract does not define")
    model: type[RecordBase] = create_model("Record", __base__=RecordBase, **fields)
    return model


def to_frame(records: Sequence[BaseModel], contract: Contract, features: Sequence[str]) -> pd.DataFrame:
    """The model's feature columns with the contract's dtypes, as the validate stage wrote them."""
    columns = {name: [getattr(record, name) for record in records] for name in features}
    frame = pd.DataFrame(columns, columns=list(features))
    dtypes = {name: contract.columns[name].dtype for name in features}
    # A numeric column that is nullable in the contract holds floats or Int64, never object.
    return frame.astype(dtypes)


def _location(loc: tuple[str | int, ...]) -> str:
    text = ""
    for part in loc:
        text += f"[{part}]" if isinstance(part, int) else (f".{part}" if text else str(part))
    return text or "(body)"


def _rule(error: Any) -> str:
    if error["type"] == "extra_forbidden":
        return "unknown field: not a column of the data contract (or it is the target)"
    if error["type"] == "missing":
        return "required field is missing"
    return str(error["msg"])


def _shown(value: Any) -> Any:
    """The offending value, or a short description when it is a whole list or object."""
    if isinstance(value, list):
        return f"a list of {len(value)} item(s)"
    if isinstance(value, dict):
        return f"an object with {len(value)} key(s)"
    if isinstance(value, str) and len(value) > MAX_VALUE_SHOWN:
        return value[:MAX_VALUE_SHOWN] + f"... ({len(value):,} characters)"
    if isinstance(value, float) and not math.isfinite(value):
        return str(value)  # JSON has no NaN or infinity: keep the error body valid JSON
    return value


def describe_errors(exc: ValidationError) -> dict[str, Any]:
    """A response body naming, for each problem, the field, the value sent and the rule broken."""
    problems = []
    for error in exc.errors(include_url=False)[:MAX_PROBLEMS_SHOWN]:
        problem: dict[str, Any] = {"field": _location(tuple(error["loc"])), "rule": _rule(error)}
        if error["type"] != "missing":
            problem["value"] = _shown(error["input"])
        problems.append(problem)
    count = exc.error_count()
    summary = "; ".join(
        f"{p['field']}: {p['rule']}" + (f" (got {p['value']!r})" if "value" in p else "")
        for p in problems[:3]
    )
    more = f" and {count - 3} more" if count > 3 else ""
    return {
        "error": f"invalid request, {count} problem(s): {summary}{more}",
        "problems": problems,
        "count": count,
    }
