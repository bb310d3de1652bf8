"""The real service: the trained sample model packaged into a bento, `bentoml serve` on loopback, HTTP calls.

One server for the module (start-up takes seconds); every test talks to it over HTTP only.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import signal
import socket
import subprocess
import threading
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import pandas as pd
import pytest
import schemathesis
from hypothesis import HealthCheck, given, settings
from openapi_spec_validator.validation.validators import OpenAPIV30SpecValidator

from lastmile.model import load_model, positive_proba
from tests.conftest import (
    CONTRACT,
    PARAMS,
    PREDICTION_LINE_KEYS,
    first_record,
    prediction_lines,
    run,
    serving_env,
)

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


@contextmanager
def _serve(
    packaged: tuple[Path, str], repo: Path, workdir: Path, settings: dict[str, str]
) -> Iterator[Served]:
    """`bentoml serve` of the packaged bento on a free loopback port, with LASTMILE_* `settings`."""
    home, bento_tag = packaged
    port = _free_port()
    log = workdir / "server.log"
    env = serving_env(home) | settings
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
        yield Served(url=url, repo=repo, bento_tag=bento_tag, log=log)
    finally:
        os.killpg(process.pid, signal.SIGTERM)
        try:
            process.wait(timeout=20)
        except subprocess.TimeoutExpired:
            os.killpg(process.pid, signal.SIGKILL)
            process.wait()


@pytest.fixture(scope="module")
def served(
    packaged: tuple[Path, str], trained_repo: Path, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Served]:
    workdir = tmp_path_factory.mktemp("serve")
    settings = {
        "LASTMILE_MAX_RECORDS": str(MAX_RECORDS),
        "LASTMILE_PREDICTION_LOG_DIR": str(workdir / "monitoring"),
    }
    with _serve(packaged, trained_repo, workdir, settings) as server:
        yield server


@pytest.fixture(scope="module")
def rows(trained_repo: Path) -> tuple[pd.DataFrame, list[str]]:
    """Validated rows of the sample (features only) and the model's feature names. A small table
    is repeated: the tests send up to 100 + MAX_RECORDS rows."""
    _, metadata = load_model(trained_repo / "models")
    features = metadata.features.all
    frame = pd.read_parquet(trained_repo / "data/interim/validated.parquet")[features]
    copies = -(-(100 + MAX_RECORDS) // len(frame))
    return pd.concat([frame] * copies, ignore_index=True), features


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
    expected = positive_proba(pipeline, batch, metadata.target.positive)

    response = _post(served, {"records": _records(batch)})

    assert response.status_code == 200, response.text
    body = response.json()
    assert body["model_version"] == metadata.model_version
    assert response.headers["x-model-version"] == metadata.model_version
    probabilities = [p["probability"] for p in body["predictions"]]
    assert probabilities == expected.tolist()
    # Labels at the model's own decision threshold (the one evaluate reported too).
    threshold = metadata.threshold
    assert threshold == json.loads((served.repo / "reports/metrics.json").read_text())["threshold"]
    labels = [p["label"] for p in body["predictions"]]
    positive, negative = metadata.target.positive, metadata.negative
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


# The project's nullable features: a record may leave them out or send null.
OPTIONAL = [f for f in PARAMS.features.all if CONTRACT.columns[f].nullable]


def _out_of_range() -> tuple[str, float, str]:
    """A numeric feature the contract bounds, a value past its bound and the rule that value breaks.

    The value has the column's own JSON type (an integer column's bound is read as a float, and
    250.0 would break the integer rule before the range)."""
    for name in PARAMS.features.all:
        spec = CONTRACT.columns[name]
        typed = int if spec.kind == "integer" else float
        if spec.kind in ("integer", "number") and spec.max is not None:
            return name, typed(spec.max + 150), "less_than_equal"
        if spec.kind in ("integer", "number") and spec.min is not None:
            return name, typed(spec.min - 150), "greater_than_equal"
    pytest.fail("the contract bounds no numeric feature")


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


# The one body type the README documents, with the forms clients send it in (no header: `curl -X POST`).
@pytest.mark.parametrize(
    "content_type", ["application/json", "application/json; charset=utf-8", "Application/JSON", None]
)
def test_json_bodies_are_read(served: Served, rows: tuple[pd.DataFrame, list[str]], content_type: str | None):
    body = json.dumps({"records": _records(rows[0].iloc[:2])}).encode()
    headers = {} if content_type is None else {"content-type": content_type}
    response = httpx.post(f"{served.url}/predict", content=body, headers=headers, timeout=60)
    assert response.status_code == 200, response.text
    assert len(response.json()["predictions"]) == 2


# Valid JSON under any other type is refused: curl's `-d` default, text, forms, other charsets.
@pytest.mark.parametrize(
    "content_type",
    [
        "text/plain",
        "application/x-www-form-urlencoded",
        "multipart/form-data; boundary=x",
        "application/json; charset=latin-1",
        "application/xml",
        "application/vnd.bentoml+pickle",
    ],
)
@pytest.mark.parametrize("path", ["/predict", "/metadata"])
def test_other_body_types_get_415(
    served: Served, rows: tuple[pd.DataFrame, list[str]], content_type: str, path: str
):
    body = json.dumps({"records": _records(rows[0].iloc[:2])}).encode()
    response = httpx.post(f"{served.url}{path}", content=body, headers={"content-type": content_type})
    assert response.status_code == 415, response.text
    assert "application/json" in response.json()["error"]
    assert "Traceback" not in served.log.read_text()


def _curl_status(url: str, body: Path, out: Path, *options: str) -> str:
    result = subprocess.run(
        ["curl", "-sS", "-o", str(out), "-w", "%{http_code}", "--data-binary", f"@{body}", *options, url],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert result.returncode == 0, result.stderr
    return result.stdout


def test_oversized_body_is_a_413_for_every_client(served: Served, tmp_path: Path):
    """urllib and httpx send the whole body before reading the answer, curl waits for 100 Continue:
    all of them must read the 413, not a reset connection."""
    url = f"{served.url}/predict"
    content = b'{"records": [' + b" " * (8 << 20) + b"]}"  # 8 MiB: more than the socket buffers hold
    json_type = {"content-type": "application/json"}

    request = urllib.request.Request(url, data=content, headers=json_type)
    with pytest.raises(urllib.error.HTTPError) as refused:
        urllib.request.urlopen(request, timeout=120)
    assert refused.value.code == 413
    assert "larger than" in json.loads(refused.value.read())["error"]

    response = httpx.post(url, content=content, headers=json_type, timeout=120)
    assert response.status_code == 413
    assert "larger than" in response.json()["error"]

    body_file, out = tmp_path / "body.json", tmp_path / "answer.json"
    body_file.write_bytes(content)
    for options in ([], ["-H", "Expect:"]):  # with curl's `Expect: 100-continue`, and without
        assert _curl_status(url, body_file, out, "-H", "content-type: application/json", *options) == "413"
        assert "larger than" in json.loads(out.read_bytes())["error"]
    # The same holds for a 415 answered before the body is read.
    assert _curl_status(url, body_file, out, "-H", "Expect:") == "415"
    assert httpx.get(f"{served.url}/readyz").status_code == 200


def test_health_answers_while_the_largest_request_is_scored(
    served: Served, rows: tuple[pd.DataFrame, list[str]]
):
    """Scoring runs off the event loop: health checks are answered while it runs (how fast: `make bench`)."""
    body = {"records": _records(rows[0].iloc[:MAX_RECORDS])}
    done: dict[str, httpx.Response] = {}
    scoring = threading.Thread(target=lambda: done.setdefault("predict", _post(served, body)))
    scoring.start()
    checks = 0
    while scoring.is_alive():
        for path in ("/livez", "/readyz"):
            assert httpx.get(f"{served.url}{path}", timeout=30).status_code == 200
        checks += 1
    scoring.join()
    assert done["predict"].status_code == 200
    assert len(done["predict"].json()["predictions"]) == MAX_RECORDS
    assert checks >= 1


@pytest.fixture(scope="module")
def strained(
    packaged: tuple[Path, str], trained_repo: Path, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Served]:
    """A second server, for what must not happen to the first: a batcher that may queue a request
    for only 100 ms, and a prediction log whose folder cannot be created (a file is in the way)."""
    workdir = tmp_path_factory.mktemp("strained")
    (workdir / "blocked").write_text("a file where the log folder should be")
    settings = {
        "LASTMILE_MAX_RECORDS": "1000",
        "LASTMILE_MAX_LATENCY_MS": "100",
        "LASTMILE_PREDICTION_LOG_DIR": str(workdir / "blocked" / "monitoring"),
    }
    # A BentoML home of its own: a server starting clears the home's Prometheus files, which would
    # empty the module's server's /metrics.
    home, bento_tag = packaged
    own_home = workdir / "bentoml-home"
    shutil.copytree(home, own_home, ignore=shutil.ignore_patterns("prometheus_multiproc_dir"))
    with _serve((own_home, bento_tag), trained_repo, workdir, settings) as server:
        yield server


def test_overload_is_a_clean_503(strained: Served, rows: tuple[pd.DataFrame, list[str]]):
    """A bounded burst on loopback (48 requests of 1,000 records, 24 at a time): the requests the
    batcher refuses get a 503 that says the server is busy, with Retry-After, and one log line
    each, no traceback; the others are answered."""
    body = {"records": _records(rows[0].iloc[:1000])}
    with ThreadPoolExecutor(max_workers=24) as pool:
        responses = list(pool.map(lambda _: _post(strained, body), range(48)))
    log = strained.log.read_text()
    statuses = [r.status_code for r in responses]
    busy = [r for r in responses if r.status_code == 503]
    assert set(statuses) <= {200, 503}, statuses
    assert busy, statuses
    for response in busy:
        assert response.headers["retry-after"] == "1"
        assert response.json()["error"].startswith("server busy")
    for response in responses:
        if response.status_code == 200:
            assert len(response.json()["predictions"]) == 1000
    assert "Traceback" not in log
    assert log.count("server busy") == len(busy)


def _metric(metrics: str, name: str, **labels: str) -> float:
    """The sum of a metric's samples whose labels include `labels` (0 when there are none)."""
    total = 0.0
    for match in re.finditer(rf"^{re.escape(name)}(?:\{{([^}}]*)\}})? (\S+)$", metrics, flags=re.M):
        found = dict(re.findall(r'(\w+)="([^"]*)"', match.group(1) or ""))
        if labels.items() <= found.items():
            total += float(match.group(2))
    return total


def _eventually(check: Any, seconds: float = 30) -> None:
    """Poll `check` until it passes: the prediction log's writer thread runs after the response."""
    deadline = time.monotonic() + seconds
    while True:
        try:
            check()
            return
        except AssertionError:
            if time.monotonic() > deadline:
                raise
            time.sleep(0.1)


def test_a_broken_log_sink_fails_no_request_and_is_counted(
    strained: Served, rows: tuple[pd.DataFrame, list[str]]
):
    dropped = "lastmile_prediction_log_dropped_records_total"

    def dropped_and_scored() -> tuple[float, float, float]:
        metrics = httpx.get(f"{strained.url}/metrics").text
        return (
            _metric(metrics, dropped, reason="sink_error"),
            _metric(metrics, dropped),
            _metric(metrics, "lastmile_positive_probability_count"),
        )

    def writer_caught_up() -> None:
        # Every record scored so far (earlier tests too) was dropped: by the broken sink, or, during
        # the overload burst, because the queue was full.
        _, lost, scored = dropped_and_scored()
        assert lost == scored

    _eventually(writer_caught_up, seconds=120)
    before, _, _ = dropped_and_scored()
    for count in (1, 4, 10):
        response = _post(strained, {"records": _records(rows[0].iloc[:count])})
        assert response.status_code == 200, response.text
    _eventually(writer_caught_up, seconds=120)
    assert dropped_and_scored()[0] - before == 15
    log = strained.log.read_text()
    assert "Traceback" not in log
    # Reported in the log, at most once a minute with the counts: not once per record.
    assert 1 <= log.count("prediction log: dropped") <= 2


def test_the_prediction_log_matches_the_responses(served: Served, rows: tuple[pd.DataFrame, list[str]]):
    sent: list[tuple[str, list[dict[str, Any]], httpx.Response]] = []
    for start, count in ((0, 1), (10, 5), (40, 20)):
        records = _records(rows[0].iloc[start : start + count])
        for name in OPTIONAL[:1]:
            del records[0][name]  # a nullable column left out is logged as left out
        response = _post(served, {"records": records})
        assert response.status_code == 200
        sent.append((response.headers["x-request-id"], records, response))
    log_file = served.log.parent / "monitoring" / "predictions.jsonl"

    def logged() -> dict[str, list[dict[str, Any]]]:
        by_request: dict[str, list[dict[str, Any]]] = {}
        for entry in prediction_lines(log_file):
            by_request.setdefault(entry["request_id"], []).append(entry)
        return by_request

    def complete() -> None:
        assert log_file.exists()
        entries = logged()
        assert all(len(entries.get(request_id, [])) == len(records) for request_id, records, _ in sent)

    _eventually(complete)
    entries = logged()
    for request_id, records, response in sent:
        body = response.json()
        lines = entries[request_id]
        assert [line["record"] for line in lines] == records
        assert [line["probability"] for line in lines] == [p["probability"] for p in body["predictions"]]
        assert [line["label"] for line in lines] == [p["label"] for p in body["predictions"]]
        for line in lines:
            assert line["schema"] == "lastmile.prediction/1"
            assert line["model_version"] == body["model_version"]
            assert datetime.fromisoformat(line["time"]).utcoffset() == timedelta(0)
            assert list(line) == PREDICTION_LINE_KEYS


def test_model_metrics_beside_bentomls(served: Served, rows: tuple[pd.DataFrame, list[str]]):
    before = httpx.get(f"{served.url}/metrics").text
    labels: list[str] = []
    for count in (3, 7):
        response = _post(served, {"records": _records(rows[0].iloc[:count])})
        labels += [p["label"] for p in response.json()["predictions"]]
    bounded, too_far, range_rule = _out_of_range()
    category = _first_feature("category", having="values")
    assert _post(served, {"records": [_one(rows, **{bounded: too_far})]}).status_code == 422
    unknown_category = _one(rows, **{category: "?"}) if category else _one(rows)
    assert _post(served, {"records": [_one(rows, salary=1), unknown_category]}).status_code == 422
    plain = httpx.post(f"{served.url}/predict", content=b"{}", headers={"content-type": "text/plain"})
    assert plain.status_code == 415
    after = httpx.get(f"{served.url}/metrics").text

    def delta(name: str, **wanted: str) -> float:
        return _metric(after, name, **wanted) - _metric(before, name, **wanted)

    for label in set(labels):
        # The metric labels a prediction by its label as text (1 -> "1").
        assert delta("lastmile_predictions_total", label=str(label)) == labels.count(label)
    assert delta("lastmile_positive_probability_count") == 10
    assert delta("lastmile_positive_probability_bucket", le="1.0") == 10
    assert delta("lastmile_request_records_count") == 2
    assert delta("lastmile_request_records_bucket", le="5.0") == 1  # the 3-record request
    invalid = "lastmile_invalid_requests_total"
    assert delta(invalid, field=bounded, rule=range_rule) == 1
    assert delta(invalid, field="(unknown)", rule="extra_forbidden") == 1
    if category:
        assert delta(invalid, field=category, rule="literal_error") == 1
    assert delta(invalid, field="(body)", rule="media_type") == 1
    for name, kind in [
        ("lastmile_predictions", "counter"),
        ("lastmile_positive_probability", "histogram"),
        ("lastmile_invalid_requests", "counter"),
        ("lastmile_request_records", "histogram"),
        ("lastmile_prediction_log_dropped_records", "counter"),
    ]:
        # prometheus_client's multiprocess collector names a counter's family with `_total`.
        assert re.search(rf"^# TYPE {name}(_total)? {kind}$", after, flags=re.M), name
    assert "bentoml_service_request_total" in after  # BentoML's own stay


@pytest.fixture(scope="module")
def served_logistic(trained_repo: Path, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Served]:
    """The template trained with the other model kind, packaged and served."""
    workdir = tmp_path_factory.mktemp("logistic")
    repo = workdir / "repo"
    shutil.copytree(trained_repo, repo)
    params = repo / "params.yaml"
    text = params.read_text(encoding="utf-8")
    assert "  kind: hist_gradient_boosting" in text
    params.write_text(text.replace("  kind: hist_gradient_boosting", "  kind: logistic_regression", 1))
    run(["dvc", "repro", "-q"], cwd=repo)
    home = workdir / "bentoml-home"
    tag_file = home / "bento.tag"
    run(["lastmile", "package", "--tag-file", str(tag_file)], cwd=repo, env=serving_env(home))
    with _serve((home, tag_file.read_text().strip()), repo, workdir, {}) as server:
        yield server


@pytest.mark.parametrize(
    "server", ["served", "served_logistic"], ids=["hist_gradient_boosting", "logistic_regression"]
)
def test_explanations_reproduce_the_models_log_odds(
    request: pytest.FixtureRequest, server: str, rows: tuple[pd.DataFrame, list[str]]
):
    """Through the real server, for each model kind: base value + contributions = decision_function."""
    served: Served = request.getfixturevalue(server)
    pipeline, metadata = load_model(served.repo / "models")
    assert metadata.model_kind == request.node.callspec.id
    batch = rows[0].iloc[200:240]
    sent = _records(batch)
    for name in OPTIONAL[:1]:
        sent[0][name] = None  # a missing value is explained too

    response = httpx.post(f"{served.url}/explain", json={"records": sent}, timeout=120)

    assert response.status_code == 200, response.text
    body = response.json()
    assert body["model_version"] == metadata.model_version
    frame = pd.DataFrame(sent).astype(batch.dtypes.to_dict())
    # decision_function is the log-odds of classes_[1]; the explanations are the positive label's
    # (classes_[0] when it sorts first: "Adelie" before "not Adelie").
    sign = 1.0 if list(pipeline.classes_).index(metadata.target.positive) == 1 else -1.0
    log_odds = sign * pipeline.decision_function(frame)
    for record, explanation, expected in zip(sent, body["explanations"], log_odds, strict=True):
        contributions = explanation["contributions"]
        total = explanation["base_value"] + sum(c["contribution"] for c in contributions)
        assert abs(total - expected) <= 1e-6
        assert abs(explanation["score"] - expected) <= 1e-6
        assert sorted(c["feature"] for c in contributions) == sorted(rows[1])
        sizes = [abs(c["contribution"]) for c in contributions]
        assert sizes == sorted(sizes, reverse=True)
        assert all(c["value"] == record.get(c["feature"]) for c in contributions)


def test_explain_takes_the_same_records_and_limits_as_predict(
    served: Served, rows: tuple[pd.DataFrame, list[str]]
):
    url = f"{served.url}/explain"
    record = _records(rows[0].iloc[:1])[0]
    bounded, too_far, _ = _out_of_range()
    for body, status, text in [
        ({"records": [_one(rows, **{bounded: too_far})]}, 422, f"records[0].{bounded}"),
        ({"records": []}, 422, "at least 1"),
        ({"records": [record] * (MAX_RECORDS + 1)}, 422, f"at most {MAX_RECORDS}"),
        ({"records": [record], "debug": True}, 422, "debug: unknown field"),
    ]:
        response = httpx.post(url, json=body, timeout=60)
        assert response.status_code == status, response.text
        assert text in response.json()["error"]
    assert (
        httpx.post(
            url, content=json.dumps({"records": [record]}), headers={"content-type": "text/plain"}
        ).status_code
        == 415
    )
    assert "Traceback" not in served.log.read_text()


def test_metadata_endpoint(served: Served):
    response = httpx.post(f"{served.url}/metadata", timeout=10)
    assert response.status_code == 200
    body = response.json()
    model = json.loads((served.repo / "models/model.json").read_text())
    metrics = json.loads((served.repo / "reports/metrics.json").read_text())
    assert body["model_version"] == model["model_version"]
    assert body["training_data_hash"] == model["training_data_hash"]
    # As metrics.json holds them, JSON types included (test_rows was served as 69.0).
    assert [(k, type(v), v) for k, v in sorted(body["metrics"].items())] == [
        (k, type(v), v) for k, v in sorted(metrics.items())
    ]
    assert body["max_records"] == MAX_RECORDS
    assert body["profile"] == json.loads((served.repo / "reports/profile.json").read_text())
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
    assert {"/predict", "/explain", "/metadata", "/readyz", "/metrics"} <= set(spec["paths"])
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


def _takes_records(spec: dict[str, Any], operation: dict[str, Any]) -> bool:
    """Whether an operation's JSON body has a `records` field (following `$ref`s)."""
    schema = operation.get("requestBody", {}).get("content", {}).get("application/json", {}).get("schema", {})
    while "$ref" in schema:
        schema = spec["components"]["schemas"][schema["$ref"].rsplit("/", 1)[-1]]
    return "records" in schema.get("properties", {})


def test_every_endpoint_that_takes_records_is_guarded(served: Served, rows: tuple[pd.DataFrame, list[str]]):
    """Found from the spec, not listed here: a bad record gets the guard's 422 naming it, on each."""
    spec = httpx.get(f"{served.url}/docs.json").json()
    paths = sorted(
        p for p, ops in spec["paths"].items() if "post" in ops and _takes_records(spec, ops["post"])
    )
    assert {"/predict", "/explain"} <= set(paths)
    record = _records(rows[0].iloc[:1])[0]
    for path in paths:
        response = httpx.post(
            f"{served.url}{path}", json={"records": [{**record, "not_a_column": 10}]}, timeout=60
        )
        assert response.status_code == 422, (path, response.text)
        problem = response.json()["problems"][0]
        assert problem["field"] == "records[0].not_a_column" and "unknown field" in problem["rule"], path
    assert "Traceback" not in served.log.read_text()


@pytest.mark.parametrize("path", ["/predict", "/explain", "/metadata"])
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
