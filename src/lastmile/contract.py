"""The data contract: `contract.yaml` read into typed specs and turned into a pandera schema.

The same specs describe the serving API's records, so training and serving agree on what a
valid row is.
"""

from __future__ import annotations

from pathlib import Path
from typing import Literal

import pandera.pandas as pa
import yaml
from pydantic import BaseModel, ConfigDict, ValidationError, model_validator

from lastmile.errors import LastmileError
from lastmile.paths import CONTRACT


class ColumnSpec(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    kind: Literal["integer", "number", "category"]
    nullable: bool = False
    min: float | None = None
    max: float | None = None
    values: list[str] | None = None

    @model_validator(mode="after")
    def _fits_kind(self) -> ColumnSpec:
        if self.kind == "category" and (self.min is not None or self.max is not None):
            raise ValueError("a category column takes `values`, not `min`/`max`")
        if self.kind != "category" and self.values is not None:
            raise ValueError("a numeric column takes `min`/`max`, not `values`")
        return self

    @property
    def dtype(self) -> str:
        if self.kind == "category":
            return "str"
        # NaN needs a float or nullable integer column.
        if self.kind == "integer":
            return "Int64" if self.nullable else "int64"
        return "float64"


class Contract(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    min_rows: int = 1
    columns: dict[str, ColumnSpec]


def load_contract(path: Path = CONTRACT) -> Contract:
    try:
        raw = yaml.safe_load(path.read_text(encoding="utf-8"))
        return Contract.model_validate(raw)
    except FileNotFoundError as exc:
        raise LastmileError(f"{path} not found: the data contract is required.") from exc
    except (yaml.YAMLError, ValidationError) as exc:
        raise LastmileError(f"{path} is not a valid data contract: {exc}") from exc


def _checks(spec: ColumnSpec) -> list[pa.Check]:
    checks: list[pa.Check] = []
    if spec.min is not None and spec.max is not None:
        checks.append(pa.Check.in_range(spec.min, spec.max))
    elif spec.min is not None:
        checks.append(pa.Check.ge(spec.min))
    elif spec.max is not None:
        checks.append(pa.Check.le(spec.max))
    if spec.values is not None:
        checks.append(pa.Check.isin(spec.values))
    if spec.nullable:
        # Nulls are allowed, a column of nothing but nulls is a broken extract.
        checks.append(
            pa.Check(
                lambda s: bool(s.notna().any()),
                element_wise=False,
                ignore_na=False,
                name="not_entirely_null",
                error="column has no values at all",
            )
        )
    return checks


def build_schema(contract: Contract) -> pa.DataFrameSchema:
    """A strict schema: exactly the contract's columns, coerced to its types, every rule checked."""
    return pa.DataFrameSchema(
        {
            name: pa.Column(spec.dtype, checks=_checks(spec), nullable=spec.nullable, coerce=True)
            for name, spec in contract.columns.items()
        },
        checks=[
            pa.Check(
                lambda df: len(df) >= contract.min_rows,
                name="min_rows",
                error=f"the table needs at least {contract.min_rows} rows",
            )
        ],
        strict=True,
        ordered=False,
        name="raw_table",
    )
