"""The real service: the trained sample model packaged into a bento, `bentoml serve` on loopback, HTTP calls.

One server for the module (start-up takes seconds); every test talks to it over HTTP only.
"""

from __future__ import annotations

import json
import os
import re
import signal
import socket
import subprocess
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pandas as pd
import pytest
import schemathesis
from hypothesis import HealthCheck, given, settings
from openapi_spec_validator.validation.validators import OpenAPIV30SpecValidator

from lastmile.model import load_model, positive_proba
from tests.conftest import CONTRACT, PARAMS, first_record, serving_env

pytestmark = pytest.mark.slow
MAX_RECORDS = 1500  # small, so that "too many records" is cheap to send


@dataclass(frozen=True)
class Served:
    url: str
    repo: Path
    bento_tag: str
    log: Path


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@pytest.fixture(scope="module")
def served(
    packaged: tuple[Path, str], trained_repo: Path, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Served]:
    home, bento_tag = packaged
    port = _free_port()
    workdir = tmp_path_factory.mktemp("serve")
    log = workdir / "server.log"
    env = serving_env(home) | {"LASTMILE_MAX_RECORDS": str(MAX_RECORDS)}
    with log.open("w") as out:
        process = subprocess.Popen(
            ["bentoml", "serve", bento_tag, "--host", "127.0.0.1", "--port", str(port)],
            cwd=workdir,
            env=env,
            stdout=out,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 120
        while True:
            if process.poll() is not None:
                pytest.fail(f"bentoml serve exited {process.returncode}:\n{log.read_text()}")
            try:
                if httpx.get(f"{url}/readyz", timeout=2).status_code == 200:
                    break
            except httpx.TransportError:
                pass
            if time.monotonic() > deadline:
                pytest.fail(f"server not ready after 120 s:\n{log.read_text()}")
            time.sleep(0.25)
        yield Served(url=url, repo=trained_repo, bento_tag=bento_tag, log=log)
    finally:
        os.killpg(process.pid, signal.SIGTERM)
        try:
            process.wait(timeout=20)
        except subprocess.TimeoutExpired:
            os.killpg(process.pid, signal.SIGKILL)
            process.wait()


@pytest.fixture(scope="module")
def rows(trained_repo: Path) -> tuple[pd.DataFrame, list[str]]:
    """Validated rows of the sample (features only) and the model's feature names."""
    _, metadata = load_model(trained_repo / "models")
    features = [*metadata["features"]["numeric"], *metadata["features"]["categorical"]]
    frame = pd.read_parquet(trained_repo / "data/interim/validated.parquet")
    return frame[features], features


def _records(frame: pd.DataFrame) -> list[dict[str, Any]]:
    records: list[dict[str, Any]] = json.loads(frame.to_json(orient="records"))
    return records


def _post(served: Served, body: Any, **kwargs: Any) -> httpx.Response:
    return httpx.post(f"{served.url}/predict", json=body, timeout=60, **kwargs)


# 1,500 rows exceed one batch (max_batch_size 1,000): the split request must come back whole, in order.
@pytest.mark.parametrize("count", [1, 1000, MAX_RECORDS])
def test_predictions_equal_the_pipeline_exactly(
    served: Served, rows: tuple[pd.DataFrame, list[str]], count: int
):
    frame, _ = rows
    batch = frame.iloc[100 : 100 + count]
    pipeline, metadata = load_model(served.repo / "models")
    expected = positive_proba(pipeline, batch, metadata["target"]["positive"])

    response = _post(served, {"records": _records(batch)})

    assert response.status_code == 200, response.text
    body = response.json()
    assert body["model_version"] == metadata["model_version"]
    assert response.headers["x-model-version"] == metadata["model_version"]
    probabilities = [p["probability"] for p in body["predictions"]]
    assert probabilities == expected.tolist()
    # Labels at the decision threshold the evaluation chose and reported.
    threshold = json.loads((served.repo / "reports/metrics.json").read_text())["threshold"]
    labels = [p["label"] for p in body["predictions"]]
    positive = metadata["target"]["positive"]
    negative = next(c for c in metadata["classes"] if c != positive)
    assert labels == [positive if p >= threshold else negative for p in expected]
    # The labels come back with the JSON type the data holds (1, "yes", true), not as text.
    assert {type(label) for label in labels} <= {type(positive)}


def test_optional_and_unused_columns(served: Served, rows: tuple[pd.DataFrame, list[str]]):
    frame, features = rows
    record = _records(frame.iloc[:1])[0]
    nullable = [f for f in features if CONTRACT.columns[f].nullable]
    unused = [c for c, spec in CONTRACT.columns.items() if c not in features and c != PARAMS.target.column]
    if not nullable and not unused:
        pytest.skip("the contract has no nullable feature and no column the model leaves unused")
    # Nullable in the contract: may be null or left out. Not used by the model: accepted and checked.
    for name in nullable[:1]:
        record[name] = None
    for name in nullable[1:2]:
        del record[name]
    validated = pd.read_parquet(served.repo / "data/interim/validated.parquet")
    record |= first_record(validated, unused) if unused else {}
    assert _post(served, {"records": [record]}).status_code == 200
    ranged = [c for c in unused if CONTRACT.columns[c].min is not None]
    if ranged:
        record[ranged[0]] = CONTRACT.columns[ranged[0]].min - 1  # type: ignore[operator]
        response = _post(served, {"records": [record]})
        assert response.status_code == 422
        assert response.json()["problems"][0]["field"] == f"records[0].{ranged[0]}"


def _one(rows: tuple[pd.DataFrame, list[str]], **changes: Any) -> dict[str, Any]:
    record = _records(rows[0].iloc[:1])[0]
    for name, value in changes.items():
        if value is ...:
            del record[name]
        else:
            record[name] = value
    return record


def _first_feature(kind: str, *, having: str | None = None, nullable: bool | None = None) -> str | None:
    for name in PARAMS.features.all:
        spec = CONTRACT.columns[name]
        if spec.kind != kind or (having and getattr(spec, having) is None):
            continue
        if nullable is not None and spec.nullable != nullable:
            continue
        return name
    return None


def _invalid_cases() -> list[Any]:
    """Bad values for the project's own columns, one per rule the contract can break (if it has one)."""
    cases: list[Any] = []

    def case(changes: dict[str, Any], value: Any, rule: str, id_: str) -> None:
        field = f"records[0].{next(iter(changes))}"
        cases.append(pytest.param(changes, field, value, rule, id=id_))

    required = [f for f in PARAMS.features.all if not CONTRACT.columns[f].nullable]
    rules = {"integer": "valid integer", "number": "valid number", "boolean": "valid boolean"}
    if required:
        case({required[0]: ...}, None, "required field is missing", "missing")
    if integer := _first_feature("integer"):
        for id_, bad in [("word", "forty"), ("numeric-string", "42"), ("fraction", 42.5), ("boolean", True)]:
            case({integer: bad}, bad, "valid integer", id_)
    if number := _first_feature("number"):
        case({number: "forty"}, "forty", "valid number", "word-in-number")
    if category := _first_feature("category", having="values"):
        case({category: "Unknown"}, "Unknown", repr(CONTRACT.columns[category].values[0]), "category")  # type: ignore[index]
    for kind in ("integer", "number"):
        if high := _first_feature(kind, having="max"):
            too_high = CONTRACT.columns[high].max + 150  # type: ignore[operator]
            case(
                {high: int(too_high) if kind == "integer" else too_high},
                None,
                "less than or equal to",
                f"above-max-{kind}",
            )
        if low := _first_feature(kind, having="min"):
            too_low = CONTRACT.columns[low].min - 150  # type: ignore[operator]
            case(
                {low: int(too_low) if kind == "integer" else too_low},
                None,
                "greater than or equal to",
                f"below-min-{kind}",
            )
    if required:
        spec = CONTRACT.columns[required[0]]
        rule = repr(spec.values[0]) if spec.values else rules.get(spec.kind, "valid string")
        case({required[0]: None}, None, rule, "null-required")
    case({"not_a_column": 10}, 10, "unknown field", "extra")
    case({PARAMS.target.column: PARAMS.target.positive}, PARAMS.target.positive, "unknown field", "target")
    return cases


@pytest.mark.parametrize(("changes", "field", "value", "rule"), _invalid_cases())
def test_invalid_record_names_field_value_and_rule(
    served: Served,
    rows: tuple[pd.DataFrame, list[str]],
    changes: dict[str, Any],
    field: str,
    value: Any,
    rule: str,
):
    response = _post(served, {"records": [_records(rows[0].iloc[:1])[0], _one(rows, **changes)]})

    assert response.status_code == 422
    body = response.json()
    problem = body["problems"][0]
    assert problem["field"] == field.replace("[0]", "[1]")
    assert rule in problem["rule"]
    if value is not None:
        assert problem["value"] == value
    assert field.replace("[0]", "[1]") in body["error"]


def test_request_level_errors(served: Served, rows: tuple[pd.DataFrame, list[str]]):
    record = _records(rows[0].iloc[:1])[0]
    url = f"{served.url}/predict"
    json_type = {"content-type": "application/json"}
    nan_record = f'{{"records": [{{"{PARAMS.features.all[0]}": NaN}}]}}'.encode()
    cases: list[tuple[httpx.Response, int, str]] = [
        (_post(served, {"records": []}), 422, "at least 1"),
        (_post(served, {"records": [record] * (MAX_RECORDS + 1)}), 422, f"at most {MAX_RECORDS}"),
        (_post(served, {}), 422, "records: required field is missing"),
        (_post(served, {"records": [record], "debug": True}), 422, "debug: unknown field"),
        (_post(served, [record]), 422, "should be an object"),
        (_post(served, {"records": record}), 422, "valid array"),
        (httpx.post(url, content=b'{"records": [{"x": 3', headers=json_type), 400, "malformed JSON"),
        (httpx.post(url, content=b"", headers=json_type), 400, "body is empty"),
        (httpx.post(url, content=b"\xff\xfe", headers=json_type), 400, "malformed JSON"),
        (
            httpx.post(url, content=b"a=1", headers={"content-type": "multipart/form-data"}),
            415,
            "not supported",
        ),
        (httpx.post(url, content=b"x" * (MAX_RECORDS * 1024 + 1), headers=json_type), 413, "larger than"),
        (httpx.post(url, content=nan_record, headers=json_type), 422, '"value": "nan"'),
        (
            httpx.post(
                f"{served.url}/metadata",
                content=b"x",
                headers={"content-type": "application/vnd.bentoml+pickle"},
            ),
            415,
            "not supported",
        ),
        (httpx.get(url), 405, ""),
    ]
    for response, status, text in cases:
        assert response.status_code == status, (status, text, response.text)
        assert text in response.text
        if status != 405:
            assert response.json()["error"]  # valid JSON with a message, whatever was sent
    log = served.log.read_text()
    assert "Traceback" not in log


def test_oversized_body_is_refused_unread_even_without_length(served: Served):
    def chunks() -> Iterator[bytes]:
        yield b'{"records": ['
        for _ in range(2000):
            yield b"x" * 1024

    response = httpx.post(
        f"{served.url}/predict", content=chunks(), headers={"content-type": "application/json"}
    )
    assert response.status_code == 413


def test_metadata_endpoint(served: Served):
    response = httpx.post(f"{served.url}/metadata", timeout=10)
    assert response.status_code == 200
    body = response.json()
    model = json.loads((served.repo / "models/model.json").read_text())
    metrics = json.loads((served.repo / "reports/metrics.json").read_text())
    assert body["model_version"] == model["model_version"]
    assert body["training_data_hash"] == model["training_data_hash"]
    assert body["metrics"]["roc_auc"] == metrics["roc_auc"]
    assert body["max_records"] == MAX_RECORDS
    assert body["model_tag"].startswith(f"{PARAMS.project.model_name}:")
    assert body["project"]["name"] == PARAMS.project.name
    assert body["target"] == model["target"]
    assert response.headers["x-model-version"] == model["model_version"]


def test_health_and_index_endpoints(served: Served):
    for path in ("/healthz", "/livez", "/readyz"):
        assert httpx.get(f"{served.url}{path}").status_code == 200
    index = httpx.get(f"{served.url}/")
    assert index.status_code == 200
    assert "swagger-ui" in index.text
    assert f"<title>{PARAMS.project.name}: {PARAMS.project.model_name}</title>" in index.text
    # Only the server's own scripts: no third-party tag manager in the UI.
    sources = re.findall(r'src="([^"]+)"', index.text)
    assert sources
    assert all(src.startswith("./static_content/") for src in sources)
    assert "googletagmanager" not in index.text


def _counter(metrics: str, path: str, code: int) -> float:
    labels = rf'[^}}]*endpoint="{re.escape(path)}"[^}}]*http_response_code="{code}"[^}}]*'
    pattern = rf"^bentoml_service_request_total\{{{labels}\}} (\S+)$"
    return sum(float(m) for m in re.findall(pattern, metrics, flags=re.M))


def test_metrics_count_requests(served: Served, rows: tuple[pd.DataFrame, list[str]]):
    before = httpx.get(f"{served.url}/metrics").text
    for _ in range(3):
        assert _post(served, {"records": _records(rows[0].iloc[:2])}).status_code == 200
    assert _post(served, {"records": []}).status_code == 422
    after = httpx.get(f"{served.url}/metrics").text
    assert _counter(after, "/predict", 200) - _counter(before, "/predict", 200) == 3
    assert _counter(after, "/predict", 422) - _counter(before, "/predict", 422) == 1


def test_openapi_spec_is_valid(served: Served):
    spec = httpx.get(f"{served.url}/docs.json").json()
    errors = list(OpenAPIV30SpecValidator(spec).iter_errors())
    # BentoML 1.4's own task-status schema uses JSON Schema's `anyOf` null in an OpenAPI 3.0 spec;
    # everything this service declares must validate.
    foreign = {"TaskStatusResponse"}
    ours = [e for e in errors if not (len(e.path) > 2 and e.path[2] in foreign)]
    assert not ours, "\n".join(str(e) for e in ours)
    assert {"/predict", "/metadata", "/readyz", "/metrics"} <= set(spec["paths"])
    record = spec["components"]["schemas"]["Record"]
    assert record["additionalProperties"] is False
    required = {f for f in PARAMS.features.all if not CONTRACT.columns[f].nullable}
    assert set(record.get("required", [])) == required
    for name, column in CONTRACT.columns.items():
        if name == PARAMS.target.column:
            continue
        properties = record["properties"][name]
        assert properties.get("maximum") == column.max and properties.get("minimum") == column.min
        assert properties.get("nullable", False) is column.nullable


@pytest.mark.parametrize("path", ["/predict", "/metadata"])
def test_fuzzed_requests_never_get_a_server_error(served: Served, path: str):
    """Property-based requests generated from the service's own OpenAPI spec (schemathesis)."""
    schema = schemathesis.openapi.from_url(f"{served.url}/docs.json")
    operation = schema[path]["POST"]
    seen: list[int] = []

    @settings(max_examples=60, deadline=None, suppress_health_check=list(HealthCheck), database=None)
    @given(case=operation.as_strategy())
    def call(case: Any) -> None:
        response = case.call(timeout=30)
        seen.append(response.status_code)
        assert response.status_code < 500, response.text

    call()
    assert seen
    assert "Traceback" not in served.log.read_text()
