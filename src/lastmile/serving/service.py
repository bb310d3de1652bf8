"""The prediction service: `POST /predict` (adaptive batching), `POST /explain` and `POST /metadata`.

Serve it with `make serve` (the bento built by `make bento`), or from the source tree with
`bentoml serve lastmile.serving.service:Classifier --arg model_tag=MODEL_NAME:VERSION`. The service,
its page and its labels are named after the project (params.yaml `project:`, packaged with the model).

The request model is built from the data contract packaged with the model, so the API accepts
exactly the rows the pipeline validates. `RequestGuard` answers every invalid request itself,
with a 4xx that names the field, the value and the rule, before BentoML sees it.
"""

from __future__ import annotations

import contextvars
import functools
import gc
import html
import json
import logging
import os
import uuid
from collections import Counter
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import anyio
import anyio.to_thread
import bentoml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, WithJsonSchema
from starlette.responses import JSONResponse

from lastmile.artifacts import MetricsReport
from lastmile.contract import load_contract
from lastmile.model import load_model, positive_proba
from lastmile.monitoring.prediction_log import (
    DROP_REASONS,
    LogSettings,
    PredictionLog,
    Scored,
    make_sink,
    utc_now,
)
from lastmile.params import Label
from lastmile.serving.bentoml_adapter import IOMixin, api_routes, patch_batching
from lastmile.serving.explain import Explainer
from lastmile.serving.packaging import CONTRACT_FILE, model_metadata
from lastmile.serving.records import RecordBase, describe_errors, record_model, to_frame

if TYPE_CHECKING:
    from prometheus_client import Counter as PromCounter
    from prometheus_client import Histogram

if TYPE_CHECKING:
    from starlette.requests import Request
    from starlette.types import ASGIApp, Message, Receive, Scope, Send

log = logging.getLogger("lastmile.serving.service")


# How long a client should wait before retrying a request the server was too busy to queue.
RETRY_AFTER_SECONDS = 1


def _busy() -> JSONResponse:
    """The answer to a request BentoML's batcher refuses: its queue wait would exceed `max_latency_ms`."""
    log.warning("server busy: a request would wait over %d ms for the model; answered 503", MAX_LATENCY_MS)
    return JSONResponse(
        {"error": f"server busy: too many requests queued for the model; retry in {RETRY_AFTER_SECONDS} s."},
        status_code=503,
        headers={"retry-after": str(RETRY_AFTER_SECONDS)},
    )


patch_batching(refused=_busy)  # at import: before BentoML builds the service's batchers


def _env_int(name: str, default: int) -> int:
    raw = os.environ.get(name, "")
    try:
        value = int(raw) if raw else default
    except ValueError as exc:
        raise ValueError(f"{name}={raw!r} is not a whole number") from exc
    if value < 1:
        raise ValueError(f"{name} must be at least 1, got {value}")
    return value


MAX_RECORDS = _env_int("LASTMILE_MAX_RECORDS", 10_000)
# About 1 KiB per record leaves room for pretty-printed JSON; anything bigger is refused.
MAX_BODY_BYTES = _env_int("LASTMILE_MAX_BODY_BYTES", max(1 << 20, MAX_RECORDS * 1024))
# Records per model call: the longest a batch holds the model (and a lone caller queued behind it).
MAX_BATCH_RECORDS = 1000
# How long a request may wait for the model before the batcher refuses it with a 503 (by its own
# estimate). A request's parts are queued from its arrival, so this must exceed the time the largest
# allowed request takes on a busy machine (2-4 s for 10,000 records here, docs/serving.md).
MAX_LATENCY_MS = _env_int("LASTMILE_MAX_LATENCY_MS", 5_000)
VERSION_HEADER = "x-model-version"
REQUEST_ID_HEADER = "x-request-id"
# The one body type the API reads (parameters other than a UTF-8 charset are refused too).
JSON_MEDIA_TYPE = "application/json"
# A body refused before it was read is read and dropped up to these bounds before the answer: a client
# still sending when the server closes gets a reset connection instead of the 4xx (urllib, httpx).
DRAIN_MAX_BYTES = 64 << 20
DRAIN_MAX_SECONDS = 10.0
# Bodies above this size are validated in a worker thread, so that the event loop (and with it the
# health endpoints) is not held for the tens of ms pydantic takes; smaller ones are not worth the hop.
VALIDATE_OFF_LOOP_BYTES = 64 << 10
# Where `RequestGuard` leaves the validated request and the request id for the API (ASGI scope keys).
VALIDATED_SCOPE_KEY = "lastmile.validated"
REQUEST_ID_SCOPE_KEY = "lastmile.request_id"
# Read at import, so that bad settings stop the server at start with a message naming the variable.
LOG_SETTINGS = LogSettings.from_env()


class ServiceArgs(BaseModel):
    """Bento arguments (`bentoml build/serve --arg model_tag=...`); `lastmile package` pins the tag."""

    model_tag: str = ""


ARGS = bentoml.use_arguments(ServiceArgs)
if not ARGS.model_tag:
    raise RuntimeError(
        "No model to serve: pass `--arg model_tag=MODEL_NAME:VERSION` (`make serve` serves the built bento)."
    )
MODEL_REF = bentoml.models.BentoModel(ARGS.model_tag)
_stored = MODEL_REF.stored
if _stored is None:
    raise RuntimeError(
        f"Model {ARGS.model_tag} is not in the BentoML model store "
        f"({os.environ.get('BENTOML_HOME', '~/bentoml')}): run `make bento` (or `lastmile package`) first."
    )
MODEL_DIR = Path(_stored.path)
METADATA = model_metadata(MODEL_DIR)
CONTRACT = load_contract(MODEL_DIR / CONTRACT_FILE)
FEATURES: list[str] = METADATA.info.features.all
PROJECT = METADATA.project  # the project's names (params.yaml `project:`), packaged with the model
# The labels keep the data's JSON type (1, "yes", true), as the model and model.json hold them.
POSITIVE: Label = METADATA.info.target.positive
NEGATIVE: Label = METADATA.info.negative
THRESHOLD: float = METADATA.info.threshold  # the model's own: loading fails without one
MODEL_VERSION: str = METADATA.info.model_version
SENSITIVE: list[str] = METADATA.info.features.sensitive

if TYPE_CHECKING:
    Record = RecordBase
else:
    # Built at import from the packaged contract; mypy sees the base class.
    Record = record_model(CONTRACT, FEATURES, METADATA.info.target.column)

Records = Annotated[
    list[Record],
    Field(min_length=1, max_length=MAX_RECORDS, description=f"1 to {MAX_RECORDS:,} rows of raw features."),
]


class ModelMetrics:
    """The model's Prometheus metrics, served on BentoML's /metrics beside its own."""

    def __init__(self) -> None:
        # Imported here, in the worker: BentoML sets PROMETHEUS_MULTIPROC_DIR after importing this
        # module, and prometheus_client picks its multiprocess storage when first imported.
        from prometheus_client import Counter, Histogram

        self.predictions: PromCounter = Counter(
            "lastmile_predictions", "Scored records by predicted label.", ["label"]
        )
        self.positive_probability: Histogram = Histogram(
            "lastmile_positive_probability",
            f"Probability of the positive label ({POSITIVE}) per scored record.",
            buckets=[k / 10 for k in range(1, 11)],
        )
        self.invalid_requests: PromCounter = Counter(
            "lastmile_invalid_requests",
            "Refused requests by field (a contract column, `(unknown)`, `records` or `(body)`) and rule.",
            ["field", "rule"],
        )
        self.request_records: Histogram = Histogram(
            "lastmile_request_records",
            "Records per valid /predict request.",
            buckets=[1, 2, 5, 10, 20, 50, 100, 200, 500, 1000, 2000, 5000, 10000],
        )
        self.log_dropped: PromCounter = Counter(
            "lastmile_prediction_log_dropped_records",
            "Scored records the prediction log could not write, by reason (queue_full, sink_error).",
            ["reason"],
        )

        # Known label values start at 0, so that dashboards and alerts see them before the first event.
        for label in (POSITIVE, NEGATIVE):
            self.predictions.labels(label=label)
        for reason in DROP_REASONS:
            self.log_dropped.labels(reason=reason)

    def dropped(self, reason: str, count: int) -> None:
        self.log_dropped.labels(reason=reason).inc(count)


@functools.cache
def model_metrics() -> ModelMetrics:
    """The worker's metrics, created on first use (after BentoML has set up Prometheus)."""
    return ModelMetrics()


@dataclass(frozen=True)
class Scoring:
    """The request being answered, from its input spec to its response (same task, same context)."""

    request_id: str
    records: list[RecordBase]


SCORING: contextvars.ContextVar[Scoring] = contextvars.ContextVar("lastmile_scoring")


@dataclass
class Worker:
    """What the service opened at start and the request path's class methods use."""

    prediction_log: PredictionLog | None = None


WORKER = Worker()


class PredictRequest(IOMixin, BaseModel):  # type: ignore[misc]
    """The body of `POST /predict`."""

    model_config = ConfigDict(extra="forbid")
    records: Records

    @classmethod
    async def from_http_request(cls, request: Request, serde: Any) -> PredictRequest:
        """The body `RequestGuard` has validated (it answers invalid ones itself): not parsed twice."""
        validated: PredictRequest = request.scope[VALIDATED_SCOPE_KEY]
        SCORING.set(Scoring(request.scope[REQUEST_ID_SCOPE_KEY], validated.records))
        return validated


class ExplainRequest(PredictRequest):
    """The body of `POST /explain`: the same records, checked the same way, as `/predict`."""


class Prediction(BaseModel):
    label: Label = Field(description=f"Predicted label: {POSITIVE!r} when probability >= {THRESHOLD}.")
    probability: float = Field(description=f"Probability of the positive label {POSITIVE!r}.")


class PredictResponse(IOMixin, BaseModel):  # type: ignore[misc]
    """The body of a `POST /predict` answer.

    A batchable API returns one list per request; `to_http_response` wraps it with the version.
    """

    model_version: str
    predictions: list[Prediction] = Field(description="One prediction per record, in request order.")

    @classmethod
    async def to_http_response(cls, obj: Any, serde: Any) -> Any:
        if WORKER.prediction_log is not None:
            scoring = SCORING.get()
            WORKER.prediction_log.submit(Scored(scoring.request_id, utc_now(), scoring.records, obj))
        body = cls.model_construct(model_version=MODEL_VERSION, predictions=obj)
        return await super().to_http_response(body, serde)


class Contribution(BaseModel):
    feature: str
    value: Annotated[
        str | int | float | None,
        # OpenAPI 3.0 (what BentoML declares) says `nullable`, not pydantic's `anyOf` with null.
        WithJsonSchema({"anyOf": [{"type": "string"}, {"type": "number"}], "nullable": True}),
    ] = Field(description="The record's value (null if missing).")
    contribution: float = Field(description="What the feature adds to the log-odds of the positive label.")


class Explanation(BaseModel):
    base_value: float = Field(
        description="Log-odds of the positive label before any feature is known (the training average)."
    )
    score: float = Field(
        description="The model's log-odds of the positive label: base_value plus the contributions."
    )
    contributions: list[Contribution] = Field(
        description="One per model feature, largest |contribution| first."
    )


class ExplainResponse(BaseModel):
    """The body of a `POST /explain` answer."""

    model_version: str
    explanations: list[Explanation] = Field(description="One explanation per record, in request order.")


class ModelMetadata(BaseModel):
    model_tag: str
    model_version: str
    model_kind: str
    training_rows: int
    training_data_hash: str
    target: dict[str, Label]
    project: dict[str, str]
    features: dict[str, list[str]]
    metrics: MetricsReport  # as reports/metrics.json holds them: test_rows a whole number
    gates: Annotated[
        dict[str, Any] | None,
        # OpenAPI 3.0 (what BentoML declares) says `nullable`, not pydantic's `anyOf` with null.
        WithJsonSchema({"type": "object", "nullable": True, "additionalProperties": True}),
    ] = Field(description="reports/gates.json at packaging time, if present.")
    profile: Annotated[
        dict[str, Any] | None,
        WithJsonSchema({"type": "object", "nullable": True, "additionalProperties": True}),
    ] = Field(description="The drift monitor's reference profile (reports/profile.json), if packaged.")
    max_records: int


def _json_response(status: int, body: dict[str, Any], *, close: bool) -> tuple[Message, Message]:
    content = json.dumps(body).encode()
    headers = [(b"content-type", b"application/json"), (b"content-length", str(len(content)).encode())]
    if close:
        headers.append((b"connection", b"close"))
    start: Message = {"type": "http.response.start", "status": status, "headers": headers}
    return start, {"type": "http.response.body", "body": content}


async def _drain(receive: Receive) -> None:
    """Read and drop what the client still sends of a refused body, within DRAIN_MAX_* bounds."""
    dropped = 0
    with anyio.move_on_after(DRAIN_MAX_SECONDS):
        while dropped <= DRAIN_MAX_BYTES:
            message = await receive()
            if message["type"] == "http.disconnect" or not message.get("more_body", False):
                return
            dropped += len(message.get("body", b""))


def _media_type_problem(content_type: str | None) -> str | None:
    """Why a Content-Type is refused, or None. No header at all is read as JSON (`curl -X POST`)."""
    if content_type is None:
        return None
    media_type, *parameters = (part.strip().lower() for part in content_type.split(";"))
    if media_type != JSON_MEDIA_TYPE:
        return f"Content-Type {media_type!r} is not supported: send {JSON_MEDIA_TYPE}."
    for parameter in parameters:
        name, _, value = parameter.partition("=")
        if name.strip() != "charset" or value.strip().strip('"') not in ("utf-8", "utf8"):
            return f"Content-Type parameter {parameter!r} is not supported: send {JSON_MEDIA_TYPE} in UTF-8."
    return None


PAGE_TITLE = html.escape(f"{PROJECT.name}: {PROJECT.model_name}")
INDEX_HTML = f"""<!DOCTYPE html>
<html lang="en"><head><meta charset="UTF-8"><title>{PAGE_TITLE}</title>
<link rel="stylesheet" href="./static_content/swagger-ui.css"></head>
<body><div id="swagger-ui"></div>
<script src="./static_content/swagger-ui-bundle.js"></script>
<script src="./static_content/swagger-ui-standalone-preset.js"></script>
<script src="./static_content/swagger-initializer.js"></script>
</body></html>
""".encode()


def record_routes() -> frozenset[str]:
    """The routes of the endpoints that take records: those whose input is a `PredictRequest`.

    `RequestGuard` validates their bodies in full, and `PredictRequest.from_http_request` hands the
    endpoint what it validated: an endpoint takes records by declaring such an input, nothing else.
    """
    return frozenset(
        route for route, spec in api_routes(Classifier).values() if issubclass(spec, PredictRequest)
    )


class RequestGuard:
    """ASGI middleware: checks the bodies of the endpoints that take records (`record_routes`), adds
    the model-version and request-id headers, serves a clean index.

    BentoML 1.4 would answer an empty list with a 500, accept unknown fields, read bodies of
    any size, log every 400 with a traceback and serve a UI that loads a third-party script.
    A request refused before its body was read is answered after the body is drained (or, when
    the client waits for `100 Continue`, without it) and with `Connection: close`, so that every
    client reads the 4xx rather than a reset connection.
    """

    def __init__(self, app: ASGIApp) -> None:
        self.app = app
        self.record_paths = record_routes()
        self.predict_path = api_routes(Classifier)["predict"][0]
        self.version = MODEL_VERSION.encode()

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return

        request_id = uuid.uuid4().hex
        scope[REQUEST_ID_SCOPE_KEY] = request_id

        async def send_with_version(message: Message) -> None:
            if message["type"] == "http.response.start":
                message["headers"] = [
                    *message.get("headers", []),
                    (VERSION_HEADER.encode(), self.version),
                    (REQUEST_ID_HEADER.encode(), request_id.encode()),
                ]
            await send(message)

        if scope["path"] == "/" and scope["method"] in ("GET", "HEAD"):
            await self._reply(send_with_version, 200, INDEX_HTML, b"text/html; charset=utf-8")
        elif scope["method"] == "POST":
            await self._guard_post(scope, receive, send_with_version)
        else:
            await self.app(scope, receive, send_with_version)

    @staticmethod
    async def _reply(send: Send, status: int, content: bytes, media_type: bytes) -> None:
        headers = [(b"content-type", media_type), (b"content-length", str(len(content)).encode())]
        await send({"type": "http.response.start", "status": status, "headers": headers})
        await send({"type": "http.response.body", "body": content})

    @staticmethod
    async def _refuse(send: Send, status: int, body: dict[str, Any], *, close: bool = False) -> None:
        for message in _json_response(status, body, close=close):
            await send(message)

    async def _refuse_unread(
        self, headers: dict[str, str], receive: Receive, send: Send, status: int, error: str
    ) -> None:
        """Answer before the body is read: drain it first unless the client waits for 100 Continue."""
        model_metrics().invalid_requests.labels(field="(body)", rule=REFUSED_UNREAD[status]).inc()
        if headers.get("expect", "").lower() != "100-continue":
            await _drain(receive)
        await self._refuse(send, status, {"error": error}, close=True)

    async def _guard_post(self, scope: Scope, receive: Receive, send: Send) -> None:
        """Every API call: JSON only, bounded size; the bodies of `record_paths` are also checked in full."""
        headers = {k.decode("latin-1").lower(): v.decode("latin-1") for k, v in scope["headers"]}
        media_problem = _media_type_problem(headers.get("content-type"))
        if media_problem is not None:
            await self._refuse_unread(headers, receive, send, 415, media_problem)
            return
        too_big = (
            f"request body is larger than {MAX_BODY_BYTES:,} bytes: "
            f"send at most {MAX_RECORDS:,} records per request (LASTMILE_MAX_BODY_BYTES sets the limit)."
        )
        declared = headers.get("content-length", "")
        if declared.isdigit() and int(declared) > MAX_BODY_BYTES:
            await self._refuse_unread(headers, receive, send, 413, too_big)
            return
        chunks: list[bytes] = []
        size = 0
        while True:
            message = await receive()
            if message["type"] == "http.disconnect":
                return
            chunk = message.get("body", b"")
            size += len(chunk)
            if size > MAX_BODY_BYTES:
                await self._refuse_unread(headers, receive, send, 413, too_big)
                return
            chunks.append(chunk)
            if not message.get("more_body", False):
                break
        body = b"".join(chunks)
        if scope["path"] in self.record_paths:
            if len(body) > VALIDATE_OFF_LOOP_BYTES:
                checked = await anyio.to_thread.run_sync(_check_body, body)
            else:
                checked = _check_body(body)
            if isinstance(checked, Invalid):
                for field, rule in checked.broken:
                    model_metrics().invalid_requests.labels(field=field, rule=rule).inc()
                await self._refuse(send, checked.status, checked.body)
                return
            if scope["path"] == self.predict_path:
                model_metrics().request_records.observe(len(checked.records))
            scope[VALIDATED_SCOPE_KEY] = checked

        replayed = False

        async def replay() -> Message:
            nonlocal replayed
            if not replayed:
                replayed = True
                return {"type": "http.request", "body": body, "more_body": False}
            return await receive()

        await self.app(scope, replay, send)


REFUSED_UNREAD = {413: "too_large", 415: "media_type"}


@dataclass(frozen=True)
class Invalid:
    """A refused body: the answer, and the (field, rule) pairs it broke, for the metrics."""

    status: int
    body: dict[str, Any]
    broken: frozenset[tuple[str, str]]


def _metric_field(loc: tuple[str | int, ...]) -> str:
    """A label with few values: the contract column, else where in the body the problem is."""
    if len(loc) >= 3 and loc[0] == "records" and isinstance(loc[1], int):
        column = str(loc[2])
        return column if column in CONTRACT.columns else "(unknown)"
    return "records" if loc and loc[0] == "records" else "(body)"


def _check_body(body: bytes) -> PredictRequest | Invalid:
    """The validated request, or why it is refused."""
    if not body.strip():
        error = 'request body is empty: send {"records": [{...}, ...]} as JSON.'
        return Invalid(400, {"error": error}, frozenset({("(body)", "empty")}))
    try:
        return PredictRequest.model_validate_json(body)
    except ValidationError as exc:
        errors = exc.errors(include_url=False)
        if errors[0]["type"] == "json_invalid":
            error = f"malformed JSON: {errors[0]['ctx']['error']}"
            return Invalid(
                400, {"error": error, "problems": [], "count": 1}, frozenset({("(body)", "json_invalid")})
            )
        broken = frozenset((_metric_field(tuple(e["loc"])), str(e["type"])) for e in errors)
        return Invalid(422, describe_errors(exc), broken)


@bentoml.service(
    name=PROJECT.service_name,
    workers=1,
    # BentoML runs sync APIs in this many threads: a long /explain must not hold up /predict's batches.
    threads=2,
    traffic={"timeout": 60},
    labels={"project": PROJECT.name, "model": PROJECT.model_name},
)
class Classifier:
    """The project's binary classifier: the DVC-tracked scikit-learn pipeline behind an HTTP API."""

    model = MODEL_REF

    def __init__(self) -> None:
        self.pipeline, _ = load_model(Path(self.model.path))
        self.explainer = Explainer(self.pipeline, FEATURES, POSITIVE)
        # The loaded model lives as long as the process: move it out of the collector's sight, so
        # full collections stay short (they caused rare 100+ ms stalls under load).
        gc.collect()
        gc.freeze()
        self.model_info = ModelMetadata.model_validate(
            {**METADATA.as_dict(), "model_tag": str(self.model.tag), "max_records": MAX_RECORDS}
        )
        self.metrics = model_metrics()
        sink = make_sink(LOG_SETTINGS)
        if sink is not None:
            WORKER.prediction_log = PredictionLog(
                sink,
                model_version=MODEL_VERSION,
                sensitive=SENSITIVE,
                sensitive_mode=LOG_SETTINGS.sensitive,
                hash_key=LOG_SETTINGS.hash_key,
                queue_records=LOG_SETTINGS.queue_records,
                on_drop=self.metrics.dropped,
            )
        log.info(
            "Serving %s (model version %s); prediction log: %s",
            self.model.tag,
            MODEL_VERSION,
            "off" if sink is None else getattr(sink, "path", LOG_SETTINGS.sink),
        )

    @bentoml.on_shutdown  # type: ignore[untyped-decorator]
    def close_prediction_log(self) -> None:
        """Write what the prediction log still holds before the worker exits."""
        if WORKER.prediction_log is not None:
            WORKER.prediction_log.close()

    @bentoml.api(  # type: ignore[untyped-decorator]
        batchable=True,
        batch_dim=0,
        max_batch_size=MAX_BATCH_RECORDS,
        max_latency_ms=MAX_LATENCY_MS,
        input_spec=PredictRequest,
        output_spec=PredictResponse,
    )
    def predict(self, records: Records) -> list[Prediction]:
        """Predict the label and the positive-class probability for each record."""
        # Not `async`: BentoML runs each batch in its worker thread, so the event loop stays free
        # to answer health checks and queue requests while a batch is scored.
        frame = to_frame(records, CONTRACT, FEATURES)
        proba = positive_proba(self.pipeline, frame, POSITIVE)
        labels = [POSITIVE if p >= THRESHOLD else NEGATIVE for p in proba.tolist()]
        for label, count in Counter(labels).items():
            self.metrics.predictions.labels(label=str(label)).inc(count)
        for p in proba.tolist():
            self.metrics.positive_probability.observe(p)
        return [
            Prediction.model_construct(label=label, probability=p)
            for label, p in zip(labels, proba.tolist(), strict=True)
        ]

    @bentoml.api(route="/explain", input_spec=ExplainRequest)  # type: ignore[untyped-decorator]
    def explain(self, records: Records) -> ExplainResponse:
        """Per record: the base value and each feature's exact contribution to the log-odds."""
        explained = self.explainer.explain(to_frame(records, CONTRACT, FEATURES))
        explanations = []
        for record, contributions, score in zip(
            records, explained.contributions, explained.score, strict=True
        ):
            ranked = sorted(zip(FEATURES, contributions.tolist(), strict=True), key=lambda fc: -abs(fc[1]))
            explanations.append(
                Explanation(
                    base_value=explained.base,
                    score=float(score),
                    contributions=[
                        Contribution(feature=feature, value=getattr(record, feature), contribution=value)
                        for feature, value in ranked
                    ],
                )
            )
        return ExplainResponse(model_version=MODEL_VERSION, explanations=explanations)

    @bentoml.api(route="/metadata")  # type: ignore[untyped-decorator]
    def metadata(self) -> ModelMetadata:
        """The served model: version, training data hash, metrics and quality gates."""
        return self.model_info


Classifier.add_asgi_middleware(RequestGuard)  # type: ignore[attr-defined]  # a bentoml Service

__all__ = ["Classifier", "PredictRequest", "PredictResponse", "Prediction", "RequestGuard"]
