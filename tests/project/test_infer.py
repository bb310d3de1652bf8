"""`lastmile schema infer`: the draft validates the data it came from, through the real stages."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml
from typer.testing import CliRunner

from lastmile.artifacts import ValidationReport
from lastmile.cli import app
from lastmile.contract import load_contract
from lastmile.params import DataParams, Params, TargetParams, load_params
from lastmile.project import config
from lastmile.project.infer import InferenceError, detect_reading, infer_source, widen
from lastmile.stages import ingest, validate
from tests.conftest import ROOT


def _ingest_and_validate(params: Params, contract_file: Path, work: Path) -> ValidationReport:
    """The pipeline's own ingest and validate stages on `params.data.source` with `contract_file`."""
    raw = work / "raw.parquet"
    ingest.run(params, out=raw, summary=work / "summary.json")
    return validate.run(
        load_contract(contract_file),
        table=raw,
        out=work / "validated.parquet",
        report_json=work / "validation.json",
        report_md=work / "validation.md",
    )


def test_draft_of_the_shipped_data_validates_it(tmp_path: Path, params: Params) -> None:
    source = str(ROOT / params.data.source)
    out = tmp_path / "contract.yaml"
    result = CliRunner().invoke(
        app, ["schema", "infer", "--source", source, "--out", str(out), "--params", str(ROOT / "params.yaml")]
    )
    assert result.exit_code == 0, result.output
    drafted = load_contract(out)
    assert set(drafted.columns) == set(load_contract(ROOT / "contract.yaml").columns)
    target = drafted.columns[params.target.column]
    if target.kind == "integer":  # whole-number labels keep their kind
        assert target.min is not None and target.max is not None
        assert target.min <= int(params.target.positive) <= target.max
    else:
        assert target.kind == "category" and str(params.target.positive) in (target.values or [])
    assert "# REVIEW" in out.read_text()
    report = _ingest_and_validate(
        params.model_copy(update={"data": params.data.model_copy(update={"source": source})}), out, tmp_path
    )
    assert report.passed is True


def test_draft_of_awkward_data_validates_it(tmp_path: Path, params: Params, awkward_csv: Path) -> None:
    draft = infer_source(str(awkward_csv), "churned", na_values=[""])
    columns = {c.name: c for c in draft.columns}
    # Header names are read as ingest reads them (snake_case).
    assert columns["temperature_c"].spec["kind"] == "number"
    assert columns["temperature_c"].spec["min"] < -15 and columns["temperature_c"].spec["max"] >= 34.25
    assert columns["visits"].spec == {"kind": "integer", "nullable": True, "min": 0, "max": 43}
    assert "a code?" in " ".join(columns["grade"].review)
    assert sorted(columns["colour"].spec["values"]) == ["blue", "green", "red"]
    assert columns["colour"].spec["nullable"] is True
    assert columns["site"].feature is None  # one value only
    assert columns["customer_id"].feature is None and "values" not in columns["customer_id"].spec
    assert draft.labels == ["no", "yes"]
    assert draft.features("numeric") == ["temperature_c", "visits", "grade"]
    assert draft.features("categorical") == ["colour"]

    contract_file = tmp_path / "contract.yaml"
    contract_file.write_text(draft.contract_yaml())
    mine = params.model_copy(
        update={
            "data": DataParams(source=str(awkward_csv), na_values=[""]),
            "target": TargetParams(column="churned", positive="yes"),
        }
    )
    assert _ingest_and_validate(mine, contract_file, tmp_path).passed is True


def test_a_whole_number_target_is_drafted_as_integer(tmp_path: Path, params: Params) -> None:
    """A 0/1 target drafted as text would make the service answer the label "1"; as `integer`, 1."""
    source = tmp_path / "flags.csv"
    source.write_text("size,flag\n" + "".join(f"{i},{int(i % 3 == 0)}\n" for i in range(120)))
    draft = infer_source(str(source), "flag", na_values=[])
    (target,) = [c for c in draft.columns if c.name == "flag"]
    assert target.spec == {"kind": "integer", "min": 0, "max": 1}
    assert draft.labels == ["0", "1"]
    contract_file = tmp_path / "contract.yaml"
    contract_file.write_text(draft.contract_yaml())
    mine = params.model_copy(
        update={
            "data": DataParams(source=str(source), na_values=[]),
            "target": TargetParams(column="flag", positive=1),
        }
    )
    assert _ingest_and_validate(mine, contract_file, tmp_path).passed is True


def test_more_than_two_whole_number_labels_are_drafted_as_text(tmp_path: Path) -> None:
    """Learned as one label against "not <label>", a text label: only a text target can say that."""
    source = tmp_path / "grades.csv"
    source.write_text("size,grade\n" + "".join(f"{i},{i % 3}\n" for i in range(120)))
    draft = infer_source(str(source), "grade", na_values=[])
    (target,) = [c for c in draft.columns if c.name == "grade"]
    assert target.spec == {"kind": "category", "values": ["0", "1", "2"]}


def test_dates_are_drafted_with_what_to_do(tmp_path: Path, params: Params) -> None:
    """A date column (cars' `Year`: 1970-01-01, ...) is text to the contract and a category to the
    model: the draft says so and what to derive, instead of calling many dates "an identifier"."""
    months = ["2024-03-01", "2024-01-01", "2024-02-01"]
    source = tmp_path / "dated.csv"
    source.write_text(
        "day,month,size,label\n"
        + "".join(
            f"2023-{1 + i % 12:02d}-{1 + i % 28:02d}T08:30:00,{months[i % 3]},{i},{'ab'[i % 2]}\n"
            for i in range(120)
        )
    )
    draft = infer_source(str(source), "label", na_values=[])
    columns = {c.name: c for c in draft.columns}
    assert columns["month"].spec == {"kind": "category", "values": sorted(months)}  # in time order
    assert columns["month"].feature == "categorical"
    (note,) = columns["month"].review
    assert note.startswith("dates, 2024-01-01 to 2024-03-01: drafted as a category") and "derive" in note
    assert columns["day"].spec == {"kind": "category"} and columns["day"].feature is None
    (note,) = columns["day"].review
    assert note.startswith("dates, 2023-01-01T08:30:00 to 2023-12-28T08:30:00, ") and "derive" in note
    assert "identifier" not in note

    contract_file = tmp_path / "contract.yaml"
    contract_file.write_text(draft.contract_yaml())
    mine = params.model_copy(
        update={
            "data": DataParams(source=str(source), na_values=[]),
            "target": TargetParams(column="label", positive="a"),
        }
    )
    assert _ingest_and_validate(mine, contract_file, tmp_path).passed is True


def test_na_is_missing_only_where_a_number_was_expected(tmp_path: Path) -> None:
    """`NA` is a code too (North America): in a text column it stays a value, with a note; in a
    column of numbers (penguins' `bill_length_mm`) it means missing, everywhere in the file."""
    rows = [f"{['EU', 'NA', 'AS'][i % 3]},{150 + i},{'ny'[i % 2]}" for i in range(120)]
    source = tmp_path / "regions.csv"
    source.write_text("continent,height,label\n" + "\n".join(rows) + "\n")
    reading = detect_reading(str(source), "label")
    assert reading.na_values == []
    draft = infer_source(str(source), "label", na_values=reading.na_values)
    (continent,) = [c for c in draft.columns if c.name == "continent"]
    assert "NA" in continent.spec["values"] and "nullable" not in continent.spec
    assert "'NA' is one of its values: if it means missing, list it in `data.na_values`" in continent.review

    rows[5] = "EU,NA,n"  # a number missing
    source.write_text("continent,height,label\n" + "\n".join(rows) + "\n")
    assert detect_reading(str(source), "label").na_values == ["NA"]


def test_mixed_types_name_the_column(tmp_path: Path) -> None:
    lines = ["age,city,label"] + [f"{20 + i % 50},Paris,{'a' if i % 2 else 'b'}" for i in range(50)]
    lines[4] = "forty,Paris,a"
    lines[9] = "n/a,Lyon,b"
    source = tmp_path / "mixed.csv"
    source.write_text("\n".join(lines) + "\n")
    result = CliRunner().invoke(
        app,
        ["schema", "infer", "--source", str(source), "--target", "label", "--out", str(tmp_path / "c.yaml")],
    )
    assert result.exit_code == 1
    assert (
        "column 'age': 48 values are numbers but 2 are not: row 4 ('forty'), row 9 ('n/a')" in result.output
    )
    assert "data.na_values" in result.output
    assert not (tmp_path / "c.yaml").exists()


@pytest.mark.parametrize(
    ("target", "message"),
    [("nope", "The target column 'nope' is not in"), ("constant", "a classifier needs at least two")],
)
def test_bad_targets(tmp_path: Path, target: str, message: str) -> None:
    source = tmp_path / "t.csv"
    source.write_text("x,constant\n" + "".join(f"{i},same\n" for i in range(20)))
    with pytest.raises(InferenceError, match=message):
        infer_source(str(source), target, na_values=[])


@pytest.mark.parametrize(
    ("low", "high", "integer", "expected"),
    [
        (17, 90, True, (9, 98)),  # 10% of the span on each side
        (0, 4356, True, (0, 4792)),  # never below 0 when nothing was
        (-15, 34.25, False, (-20.0, 39.2)),  # rounded outwards: -19.925 -> -20.0
        (5, 5, True, (4, 6)),  # a single value still gets a margin
    ],
)
def test_widen(low: float, high: float, integer: bool, expected: tuple[float, float]) -> None:
    assert widen(low, high, integer=integer, margin=0.1) == expected


def test_features_are_written_into_params_keeping_comments(tmp_path: Path, awkward_csv: Path) -> None:
    params_file = tmp_path / "params.yaml"
    params_file.write_text((ROOT / "params.yaml").read_text())
    result = CliRunner().invoke(
        app,
        [
            "schema",
            "infer",
            "--source",
            str(awkward_csv),
            "--target",
            "churned",
            "--out",
            "-",
            "--features",
            "--params",
            str(params_file),
        ],
    )
    assert result.exit_code == 0, result.output
    assert yaml.safe_load(result.stdout)["columns"]["churned"]["values"] == ["no", "yes"]
    text = params_file.read_text()
    # The other sections and the comments are kept (those of dropped fairness gates go with them).
    original = (ROOT / "params.yaml").read_text()
    assert all(line in text for line in original.splitlines() if line.startswith("#"))
    model = original[original.index("\nmodel:") : original.index("\nevaluation:")]
    assert model in text
    written = yaml.safe_load(text)
    assert written["features"] == {
        "numeric": ["temperature_c", "visits", "grade"],
        "categorical": ["colour"],
        "sensitive": [],
    }
    assert written["gates"]["fairness"] == {}
    assert written["evaluation"]["slices"]["bands"] == {}


def test_untouched_params_round_trip_byte_for_byte() -> None:
    text = (ROOT / "params.yaml").read_text()
    assert config.dump(config.load(ROOT / "params.yaml")) == text
    load_params(ROOT / "params.yaml")
