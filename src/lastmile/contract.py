"""The data contract: `contract.yaml` read into typed specs and turned into a pandera schema.

The same specs describe the serving API's records, so training and serving agree on what a
valid row is.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import TYPE_CHECKING, Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator

from lastmile.errors import load_config, quoted, shorten
from lastmile.params import LabelKind
from lastmile.paths import CONTRACT

if TYPE_CHECKING:
    import pandas as pd
    import pandera.pandas as pa


def snake_case(name: str) -> str:
    """`Unit Price ` -> `unit_price`: the column names the contract and the API use."""
    return re.sub(r"[^0-9a-z]+", "_", name.strip().lower()).strip("_")


class ColumnSpec(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    # `boolean` is meant for a yes/no target: true/false in any case, or 1/0.
    kind: Literal["integer", "number", "category", "boolean"]
    nullable: bool = False
    min: float | None = None
    max: float | None = None
    values: list[str] | None = Field(default=None, min_length=1)

    @model_validator(mode="after")
    def _fits_kind(self) -> ColumnSpec:
        if self.kind == "category" and (self.min is not None or self.max is not None):
            raise ValueError("a category column takes `values`, not `min`/`max`")
        if self.kind != "category" and self.values is not None:
            raise ValueError(f"a {self.kind} column takes no `values`")
        if self.kind == "boolean" and (self.min is not None or self.max is not None):
            raise ValueError("a boolean column takes no `min`/`max`")
        if self.min is not None and self.max is not None and self.min > self.max:
            raise ValueError(f"`min` ({self.min:g}) is above `max` ({self.max:g})")
        if self.values is not None and len(set(self.values)) < len(self.values):
            repeated = sorted({v for v in self.values if self.values.count(v) > 1})
            raise ValueError(f"`values` lists {quoted(repeated)} more than once")
        return self

    @property
    def label_kind(self) -> LabelKind:
        """What this column holds as a target (`lastmile.params.label_as`)."""
        return "text" if self.kind == "category" else self.kind

    @property
    def dtype(self) -> str:
        if self.kind == "category":
            return "str"
        if self.kind == "boolean":
            # pandas' nullable boolean: coercing text to numpy's bool would make "no" true.
            return "boolean"
        # NaN needs a float or nullable integer column.
        if self.kind == "integer":
            return "Int64" if self.nullable else "int64"
        return "float64"


class Contract(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    min_rows: int = Field(default=1, ge=1)
    columns: dict[str, ColumnSpec] = Field(min_length=1)

    @model_validator(mode="after")
    def _snake_case_names(self) -> Contract:
        # The reader turns the source's header into snake_case: any other name can never match.
        unusable = [name for name in self.columns if snake_case(name) != name]
        if unusable:
            example = f"'{shorten(snake_case(unusable[0]))}' for '{shorten(unusable[0])}'"
            raise ValueError(
                f"column names must be snake_case as the reader writes them ({example}): {quoted(unusable)}"
            )
        return self


def load_contract(path: Path = CONTRACT) -> Contract:
    """Read and validate contract.yaml, raising a `LastmileError` that names the bad key."""
    return load_config(path, Contract, "the data contract is required.")


_BOOLEAN_WORDS = {"true": True, "false": False, "1": True, "0": False}


def parse_booleans(frame: pd.DataFrame, contract: Contract) -> pd.DataFrame:
    """The contract's boolean columns with true/false (any case) and 1/0 as booleans.

    Other values are left as they are, so that validation reports them with their rows.
    """
    import pandas as pd  # imported here: `check` reads the contract without pandas

    out = frame.copy()
    for name, spec in contract.columns.items():
        if spec.kind == "boolean" and name in out.columns:
            out[name] = (
                out[name]
                .map(
                    lambda value: (
                        _BOOLEAN_WORDS.get(str(value).strip().casefold(), value)
                        if not pd.isna(value)
                        else value
                    ),
                )
                .astype(object)
            )
    return out


def _checks(spec: ColumnSpec) -> list[pa.Check]:
    import pandera.pandas as pa

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
    # Imported here: `check` and serving read the contract without paying for pandera's import.
    import pandera.pandas as pa

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
