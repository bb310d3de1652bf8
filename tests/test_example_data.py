"""Facts true only of the shipped example data (UCI Adult, `data/adult.csv.gz`): its columns, labels,
quirks, sizes and the quality a model reaches on it.

Every other test derives what it expects from params.yaml, contract.yaml and the data source, so that
the suite runs on a project instantiated for other data; this module is skipped there.
"""

from __future__ import annotations

import gzip
import json
from pathlib import Path

import pandas as pd
import pytest

from lastmile.contract import Contract, build_schema
from lastmile.params import Params, TargetParams
from lastmile.stages import ingest, validate
from lastmile.stages.validate import ValidationFailedError
from tests.conftest import EXAMPLE_SOURCE, IS_EXAMPLE, ROOT

pytestmark = pytest.mark.skipif(not IS_EXAMPLE, reason=f"the project's data source is not {EXAMPLE_SOURCE}")


def _with_source(params: Params, source: Path) -> Params:
    return params.model_copy(update={"data": params.data.model_copy(update={"source": str(source)})})


def test_the_example_is_the_default_source(params: Params) -> None:
    assert params.data.source == EXAMPLE_SOURCE and (ROOT / EXAMPLE_SOURCE).is_file()
    assert params.target.column == "income" and params.target.positive == ">50K"
    assert params.features.sensitive == ["sex", "race"]


def test_ingest_handles_the_example_quirks(tmp_path: Path, params: Params, sample_source: Path) -> None:
    out, summary_path = tmp_path / "raw.parquet", tmp_path / "summary.json"
    summary = ingest.run(_with_source(params, sample_source), out=out, summary=summary_path)
    frame = pd.read_parquet(out)
    assert len(frame) == summary.rows == 3000
    assert str(frame["age"].dtype) == "Int64"
    # adult.test's labels end with "." in the raw snapshot; ingest strips it.
    assert set(frame["income"].dropna()) == {"<=50K", ">50K"}
    assert frame["workclass"].isna().sum() == frame.isna().sum()["workclass"] > 0  # "?" became missing
    assert summary.target == TargetParams(column="income", positive=">50K")


def test_ingest_reads_the_raw_uci_test_file_format(
    tmp_path: Path, params: Params, raw_lines: list[str]
) -> None:
    """A source written like adult.test: a `|` first line and `>50K.` labels, gzip-compressed."""
    source = tmp_path / "adult.test.csv.gz"
    body = [raw_lines[0], "|1x3 Cross validator", *raw_lines[-200:]]
    source.write_bytes(gzip.compress("\n".join(body).encode()))
    summary = ingest.run(
        _with_source(params, source), out=tmp_path / "r.parquet", summary=tmp_path / "s.json"
    )
    assert summary.rows == 200
    assert set(summary.class_counts) <= {"<=50K", ">50K"}


def test_the_contract_accepts_an_adult_row_and_coerces_types(contract: Contract) -> None:
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
    out = build_schema(Contract(min_rows=1, columns=contract.columns)).validate(pd.DataFrame([row]))
    assert out["age"].dtype == "int64"
    assert out.loc[0, "age"] == 39


def test_validation_names_adult_columns_rules_and_rows(
    tmp_path: Path, params: Params, contract: Contract, sample_source: Path
) -> None:
    ingest.run(_with_source(params, sample_source), out=tmp_path / "raw.parquet", summary=tmp_path / "s.json")
    bad = pd.read_parquet(tmp_path / "raw.parquet")
    bad.loc[4, "age"] = -5
    bad.loc[9, "age"] = 500
    bad.loc[2, "workclass"] = "Astronaut"
    bad.loc[7, "income"] = "maybe"
    bad["hours_per_week"] = bad["hours_per_week"].astype("str")
    bad.loc[3, "hours_per_week"] = "forty"
    bad = bad.drop(columns=["race"])
    table = tmp_path / "bad.parquet"
    bad.to_parquet(table, index=False)
    with pytest.raises(ValidationFailedError) as info:
        validate.run(
            contract,
            table=table,
            out=tmp_path / "ok.parquet",
            report_json=tmp_path / "v.json",
            report_md=tmp_path / "v.md",
        )
    message = str(info.value)
    assert "column 'age': must be between 17 and 100 - 2 row(s): row 5 (-5), row 10 (500)" in message
    assert "column 'workclass': must be one of the categories" in message and "row 3 (Astronaut)" in message
    assert "column 'income'" in message and "row 8 (maybe)" in message
    assert "column 'hours_per_week': must be a whole number" in message and "row 4 (forty)" in message
    assert "column 'race': missing column" in message


def test_a_model_on_the_sample_reaches_the_expected_quality(trained_repo: Path) -> None:
    metrics = json.loads((trained_repo / "reports/metrics.json").read_text())
    assert metrics["roc_auc"] > 0.85  # 3,000-row sample; the full data reaches about 0.93


def test_age_bands_as_configured(trained_repo: Path) -> None:
    slices = json.loads((trained_repo / "reports/slices.json").read_text())["slices"]
    ages = [s for s in slices if s["slice"] == "age"]
    assert [s["group"] for s in ages] == ["<25", "25-34", "35-44", "45-54", "55-64", "65+"]
    fairness = json.loads((trained_repo / "reports/fairness.json").read_text())
    assert set(fairness) == {"sex", "race"} and set(fairness["sex"]["groups"]) == {"Female", "Male"}
