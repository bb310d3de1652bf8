"""The prediction service: `POST /predict` and `POST /metadata`, with BentoML's adaptive batching.

Serve it with `make serve` (the bento built by `make bento`), or from the source tree with
`bentoml serve lastmile.serving.service:IncomeClassifier --arg model_tag=income-classifier:VERSION`.

The request model is built from the data contract packaged with the model, so the API accepts
exactly the rows the pipeline validates. `RequestGuard` answers every invalid request itself,
with a 4xx that names the field, the value and the rule, before BentoML sees it.
"""

from __future__ import annotations

import gc
import json
import logging
import os
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import anyio
import anyio.to_thread
import bentoml
import numpy as np

# No public way to shape a batchable API's request and response bodies (BentoML 1.4): the SDK's mixin.
from _bentoml_impl.server import app as bentoml_app  # type: ignore[import-untyped]
from _bentoml_sdk.io_models import IOMixin  # type: ignore[import-untyped]
from bentoml._internal.marshal import dispatcher
from pydantic import BaseModel, ConfigDict, Field, ValidationError, WithJsonSchema
from starlette.responses import JSONResponse

from lastmile.contract import load_contract
from lastmile.model import load_model, positive_proba
from lastmile.serving.packaging import CONTRACT_FILE, MODEL_NAME, model_metadata
from lastmile.serving.records import RecordBase, describe_errors, record_model, to_frame

if TYPE_CHECKING:
    from starlette.requests import Request
    from starlette.types import ASGIApp, Message, Receive, Scope, Send

log = logging.getLogger("lastmile.serving.service")


class _QueueingIsNotBatchingWait(dispatcher.Optimizer):
    """BentoML's batching optimizer, minus the learned wait (measured in benchmarks/serving.py).

    BentoML 1.4 holds each batch back by the average wait of recent batches. Under load, requests
    wait behind the batch in flight, so that average grows to a batch's duration; afterwards every
    lone caller is held that long (about 40 ms more at concurrency 1 after a burst, decaying 5 % per
    5 s). Logging no wait keeps the rest: a batch is dispatched as soon as the model is free and
    takes every request that queued meanwhile, and overload is still refused by latency estimate.
    """

    def log_outbound(self, n: int, wait: float, duration: float) -> None:
        super().log_outbound(n=n, wait=0.0, duration=duration)


dispatcher.Optimizer = _QueueingIsNotBatchingWait  # type: ignore[misc]  # used by every CorkDispatcher

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


class _BusyIsAnAnswer(dispatcher.CorkDispatcher[Any, Any]):
    """BentoML's batcher, whose refusal is a response instead of an exception.

    BentoML 1.4 raises `ServiceUnavailable` from the batcher's fallback; its endpoint wrapper then
    logs a full traceback per refused request and answers "An unexpected error has occurred". A
    response returned by the fallback is passed through as it is (`api_endpoint`: `isinstance(output,
    Response)`), so the client reads a 503 that says why, and the log gets one line.
    """

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **{**kwargs, "fallback": _busy})


bentoml_app.CorkDispatcher = _BusyIsAnAnswer  # the class ServiceAppFactory builds each API's batcher from


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
# allowed request takes on a busy machine (about 2.5 s for 10,000 records here, docs/serving.md).
MAX_LATENCY_MS = _env_int("LASTMILE_MAX_LATENCY_MS", 5_000)
VERSION_HEADER = "x-model-version"
# The one body type the API reads (parameters other than a UTF-8 charset are refused too).
JSON_MEDIA_TYPE = "application/json"
# A body refused before it was read is read and dropped up to these bounds before the answer: a client
# still sending when the server closes gets a reset connection instead of the 4xx (urllib, httpx).
DRAIN_MAX_BYTES = 64 << 20
DRAIN_MAX_SECONDS = 10.0
# Bodies above this size are validated in a worker thread, so that the event loop (and with it the
# health endpoints) is not held for the tens of ms pydantic takes; smaller ones are not worth the hop.
VALIDATE_OFF_LOOP_BYTES = 64 << 10
# Where `RequestGuard` leaves the validated request for the API's input spec (ASGI scope key).
VALIDATED_SCOPE_KEY = "lastmile.validated"


class ServiceArgs(BaseModel):
    """Bento arguments (`bentoml build/serve --arg model_tag=...`); `lastmile package` pins the tag."""

    model_tag: str = f"{MODEL_NAME}:latest"


ARGS = bentoml.use_arguments(ServiceArgs)
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
POSITIVE: str = METADATA.info.target.positive
NEGATIVE: str = METADATA.info.negative
THRESHOLD: float = METADATA.info.threshold  # the model's own: loading fails without one
MODEL_VERSION: str = METADATA.info.model_version

if TYPE_CHECKING:
    Record = RecordBase
else:
    # Built at import from the packaged contract; mypy sees the base class.
    Record = record_model(CONTRACT, FEATURES, METADATA.info.target.column)

Records = Annotated[
    list[Record],
    Field(min_length=1, max_length=MAX_RECORDS, description=f"1 to {MAX_RECORDS:,} rows of raw features."),
]


class PredictRequest(IOMixin, BaseModel):  # type: ignore[misc]
    """The body of `POST /predict`."""

    model_config = ConfigDict(extra="forbid")
    records: Records

    @classmethod
    async def from_http_request(cls, request: Request, serde: Any) -> PredictRequest:
        """The body `RequestGuard` has validated (it answers invalid ones itself): not parsed twice."""
        validated: PredictRequest = request.scope[VALIDATED_SCOPE_KEY]
        return validated


class Prediction(BaseModel):
    label: str = Field(description=f"Predicted label: {POSITIVE!r} when probability >= {THRESHOLD}.")
    probability: float = Field(description=f"Probability of the positive label {POSITIVE!r}.")


class PredictResponse(IOMixin, BaseModel):  # type: ignore[misc]
    """The body of a `POST /predict` answer.

    A batchable API returns one list per request; `to_http_response` wraps it with the version.
    """

    model_version: str
    predictions: list[Prediction] = Field(description="One prediction per record, in request order.")

    @classmethod
    async def to_http_response(cls, obj: Any, serde: Any) -> Any:
        body = cls.model_construct(model_version=MODEL_VERSION, predictions=obj)
        return await super().to_http_response(body, serde)


class ModelMetadata(BaseModel):
    model_tag: str
    model_version: str
    model_kind: str
    training_rows: int
    training_data_hash: str
    target: dict[str, str]
    features: dict[str, list[str]]
    metrics: dict[str, float]
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


INDEX_HTML = b"""<!DOCTYPE html>
<html lang="en"><head><meta charset="UTF-8"><title>Lastmile income classifier</title>
<link rel="stylesheet" href="./static_content/swagger-ui.css"></head>
<body><div id="swagger-ui"></div>
<script src="./static_content/swagger-ui-bundle.js"></script>
<script src="./static_content/swagger-ui-standalone-preset.js"></script>
<script src="./static_content/swagger-initializer.js"></script>
</body></html>
"""


class RequestGuard:
    """ASGI middleware: checks `/predict` bodies, adds the model-version header, serves a clean index.

    BentoML 1.4 would answer an empty list with a 500, accept unknown fields, read bodies of
    any size, log every 400 with a traceback and serve a UI that loads a third-party script.
    A request refused before its body was read is answered after the body is drained (or, when
    the client waits for `100 Continue`, without it) and with `Connection: close`, so that every
    client reads the 4xx rather than a reset connection.
    """

    def __init__(self, app: ASGIApp, *, predict_path: str = "/predict") -> None:
        self.app = app
        self.predict_path = predict_path
        self.version = MODEL_VERSION.encode()

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return

        async def send_with_version(message: Message) -> None:
            if message["type"] == "http.response.start":
                message["headers"] = [*message.get("headers", []), (VERSION_HEADER.encode(), self.version)]
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
        if headers.get("expect", "").lower() != "100-continue":
            await _drain(receive)
        await self._refuse(send, status, {"error": error}, close=True)

    async def _guard_post(self, scope: Scope, receive: Receive, send: Send) -> None:
        """Every API call: JSON only, bounded size; `/predict` bodies are also checked in full."""
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
        if scope["path"] == self.predict_path:
            if len(body) > VALIDATE_OFF_LOOP_BYTES:
                checked = await anyio.to_thread.run_sync(_check_body, body)
            else:
                checked = _check_body(body)
            if isinstance(checked, tuple):
                await self._refuse(send, *checked)
                return
            scope[VALIDATED_SCOPE_KEY] = checked

        replayed = False

        async def replay() -> Message:
            nonlocal replayed
            if not replayed:
                replayed = True
                return {"type": "http.request", "body": body, "more_body": False}
            return await receive()

        await self.app(scope, replay, send)


def _check_body(body: bytes) -> PredictRequest | tuple[int, dict[str, Any]]:
    """The validated request, or the status and error body to answer with."""
    if not body.strip():
        return 400, {"error": 'request body is empty: send {"records": [{...}, ...]} as JSON.'}
    try:
        return PredictRequest.model_validate_json(body)
    except ValidationError as exc:
        first = exc.errors(include_url=False)[0]
        if first["type"] == "json_invalid":
            return 400, {"error": f"malformed JSON: {first['ctx']['error']}", "problems": [], "count": 1}
        return 422, describe_errors(exc)


@bentoml.service(
    name="lastmile",
    workers=1,
    traffic={"timeout": 60},
    labels={"project": "lastmile", "model": MODEL_NAME},
)
class IncomeClassifier:
    """Census income classifier: the DVC-tracked scikit-learn pipeline behind an HTTP API."""

    model = MODEL_REF

    def __init__(self) -> None:
        self.pipeline, _ = load_model(Path(self.model.path))
        # The loaded model lives as long as the process: move it out of the collector's sight, so
        # full collections stay short (they caused rare 100+ ms stalls under load).
        gc.collect()
        gc.freeze()
        self.model_info = ModelMetadata.model_validate(
            {**METADATA.as_dict(), "model_tag": str(self.model.tag), "max_records": MAX_RECORDS}
        )
        log.info("Serving %s (model version %s)", self.model.tag, MODEL_VERSION)

    @bentoml.api(  # type: ignore[untyped-decorator]
        batchable=True,
        batch_dim=0,
        max_batch_size=MAX_BATCH_RECORDS,
        max_latency_ms=MAX_LATENCY_MS,
        input_spec=PredictRequest,
        output_spec=PredictResponse,
    )
    def predict(self, records: Records) -> list[Prediction]:
        """Predict the income label and the positive-class probability for each record."""
        # Not `async`: BentoML runs each batch in its worker thread, so the event loop stays free
        # to answer health checks and queue requests while a batch is scored.
        frame = to_frame(records, CONTRACT, FEATURES)
        proba = positive_proba(self.pipeline, frame, POSITIVE)
        labels = np.where(proba >= THRESHOLD, POSITIVE, NEGATIVE)
        return [
            Prediction.model_construct(label=str(label), probability=float(p))
            for label, p in zip(labels, proba, strict=True)
        ]

    @bentoml.api(route="/metadata")  # type: ignore[untyped-decorator]
    def metadata(self) -> ModelMetadata:
        """The served model: version, training data hash, metrics and quality gates."""
        return self.model_info


IncomeClassifier.add_asgi_middleware(RequestGuard)  # type: ignore[attr-defined]  # a bentoml Service

__all__ = ["IncomeClassifier", "PredictRequest", "PredictResponse", "Prediction", "RequestGuard"]
