"""Stage `validate`: check the raw table against the data contract and write a report.

On failure the report (Markdown for people, JSON for tools) names each broken rule with its
column, how many rows break it and a few of them; the stage then stops the pipeline.
"""

from __future__ import annotations

import logging
from pathlib import Path

import pandas as pd
import pandera.pandas as pa

from lastmile import artifacts, paths
from lastmile.artifacts import FailedRow, RuleFailure, ValidationReport
from lastmile.contract import ColumnSpec, Contract, build_schema, parse_booleans
from lastmile.data import read_table, write_table
from lastmile.errors import LastmileError, shorten
from lastmile.files import write_text

log = logging.getLogger(__name__)
EXAMPLES = 5


class ValidationFailedError(LastmileError):
    exit_code = 3


def _rule(check: str, spec: ColumnSpec | None) -> str:
    """Plain words for pandera's check names."""
    if check == "column_in_schema":
        return "unexpected column: it is not in contract.yaml"
    if check == "column_in_dataframe":
        return "missing column: contract.yaml requires it"
    if check == "not_nullable":
        return "must not be missing"
    if spec is not None:
        if check.startswith(("coerce_dtype", "dtype")):
            kinds = {"integer": "a whole number", "boolean": "true or false"}
            return f"must be {kinds.get(spec.kind, 'a number')}"
        if check.startswith(("in_range", "greater_than", "less_than")):
            return (
                f"must be between {spec.min:g} and {spec.max:g}"
                if spec.min is not None and spec.max is not None
                else (
                    f"must be at least {spec.min:g}"
                    if spec.min is not None
                    else f"must be at most {spec.max:g}"
                )
            )
        if check.startswith("isin"):
            return "must be one of the categories listed in contract.yaml"
    return check


def _failures(error: pa.errors.SchemaErrors, contract: Contract) -> list[RuleFailure]:
    cases = error.failure_cases.copy()
    cases["check"] = cases["check"].astype(str)
    # When a column cannot be coerced to its type, its range check fails with a TypeError
    # for every row; only the coercion failure is worth reporting.
    uncoercible = set(cases.loc[cases["check"].str.startswith("coerce_dtype"), "column"])
    keep = ~(cases["column"].isin(uncoercible) & ~cases["check"].str.startswith("coerce_dtype"))
    failures = []
    for (column, check), group in cases[keep].groupby(["column", "check"], sort=True):
        column_name = str(column)
        spec = contract.columns.get(column_name)
        if check in ("column_in_schema", "column_in_dataframe"):
            # pandera reports the table as the "column" and the column name as the value.
            for name in group["failure_case"].astype(str):
                failures.append(
                    RuleFailure(
                        column=shorten(name), rule=_rule(check, None), check=check, rows=0, examples=[]
                    )
                )
            continue
        rows = group.dropna(subset=["index"]).sort_values("index")
        examples = [
            FailedRow(
                row=int(r["index"]) + 1,
                # A cell can be any size: reports and messages show its start.
                value=None if pd.isna(r["failure_case"]) else shorten(r["failure_case"]),
            )
            for _, r in rows.head(EXAMPLES).iterrows()
        ]
        failures.append(
            RuleFailure(
                column=shorten(column_name) if spec is not None else "(table)",
                rule=_rule(check, spec) if spec is not None else check,
                check=check,
                rows=int(rows["index"].nunique()),
                examples=examples,
            )
        )
    return failures


def _describe(failure: RuleFailure) -> str:
    text = f"column '{failure.column}': {failure.rule}"
    if failure.rows:
        shown = ", ".join(
            f"row {e.row} ({e.value if e.value is not None else 'missing'})" for e in failure.examples
        )
        more = (
            f" and {failure.rows - len(failure.examples)} more"
            if failure.rows > len(failure.examples)
            else ""
        )
        text += f" - {failure.rows} row(s): {shown}{more}"
    return text


def _markdown(report: ValidationReport) -> str:
    lines = [f"# Data validation: {'passed' if report.passed else 'FAILED'}", ""]
    lines.append(
        f"Table: `{report.table}`, {report.rows} rows, {report.columns} columns; contract: `contract.yaml`."
    )
    lines.append("")
    if report.passed:
        lines.append("Every column and rule of the contract holds.")
    else:
        lines += ["| column | rule | rows | examples (row: value) |", "| --- | --- | ---: | --- |"]
        for f in report.failures:
            examples = ", ".join(f"{e.row}: `{e.value}`" for e in f.examples) or "-"
            lines.append(f"| `{f.column}` | {f.rule} | {f.rows} | {examples} |")
        lines += ["", "Rows are numbered from 1, counting data rows after the header."]
    return "\n".join(lines) + "\n"


def run(
    contract: Contract,
    table: Path = paths.RAW_TABLE,
    out: Path = paths.VALIDATED_TABLE,
    report_json: Path = paths.VALIDATION_JSON,
    report_md: Path = paths.VALIDATION_MD,
) -> ValidationReport:
    frame = read_table(table)
    log.info("validate: checking %d rows against contract.yaml", len(frame))
    failures: list[RuleFailure] = []
    try:
        validated = build_schema(contract).validate(parse_booleans(frame, contract), lazy=True)
    except pa.errors.SchemaErrors as error:
        failures = _failures(error, contract)
    report = ValidationReport(
        table=str(table), rows=len(frame), columns=len(frame.columns), passed=not failures, failures=failures
    )
    artifacts.write(report_json, report)
    write_text(report_md, _markdown(report))
    if not report.passed:
        problems = "\n".join(f"  - {_describe(f)}" for f in report.failures)
        raise ValidationFailedError(
            f"Data validation failed: {len(report.failures)} problem(s) in {table}:\n{problems}\n"
            f"Full report: {report_md}. The previous model and metrics are unchanged."
        )
    write_table(out, validated[list(contract.columns)])
    log.info("validate: passed -> %s", out)
    return report
