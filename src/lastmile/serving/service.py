"""The prediction service: `POST /predict` and `POST /metadata`, with BentoML's adaptive batching.

Serve it with `make serve` (the bento built by `make bento`), or from the source tree with
`bentoml serve lastmile.serving.service:Classifier --arg model_tag=MODEL_NAME:VERSION`. The service,
its page and its labels are named after the project (params.yaml `project:`, packaged with the model).

The request model is built from the data contract packaged with the model, so the API accepts
exactly the rows the pipeline validates. `RequestGuard` answers every invalid request itself,
with a 4xx that names the field, the value and the rule, before BentoML sees it.
"""

from __future__ import annotations

import gc
import html
import json
import logging
import os
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import bentoml

# No public way to shape a batchable API's response body (BentoML 1.4): the SDK's own mixin.
from _bentoml_sdk.io_models import IOMixin  # type: ignore[import-untyped]
from bentoml._internal.marshal import dispatcher
from pydantic import BaseModel, ConfigDict, Field, ValidationError, WithJsonSchema

from lastmile.contract import load_contract
from lastmile.data import Label
from lastmile.model import load_model, positive_proba
from lastmile.serving.packaging import CONTRACT_FILE, model_metadata
from lastmile.serving.records import RecordBase, describe_errors, record_model, to_frame

if TYPE_CHECKING:
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
# About 1 KiB per record leaves room for pretty-printed JSON; anything bigger is refused unread.
MAX_BODY_BYTES = _env_int("LASTMILE_MAX_BODY_BYTES", max(1 << 20, MAX_RECORDS * 1024))
VERSION_HEADER = "x-model-version"
# Bodies are read as JSON; curl's default type for `-d` is tolerated so that a forgotten header
# does not turn a valid request into an error.
JSON_MEDIA_TYPES = frozenset({"application/json", "application/x-www-form-urlencoded", "text/plain"})


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
FEATURES: list[str] = [*METADATA["features"]["numeric"], *METADATA["features"]["categorical"]]
PROJECT: dict[str, Any] = METADATA["project"]
# The labels keep the data's JSON type (1, "yes", true), as the model and model.json hold them.
POSITIVE: Label = METADATA["target"]["positive"]
NEGATIVE: Label = next(c for c in METADATA["classes"] if c != POSITIVE)
THRESHOLD: float = float(METADATA["metrics"].get("threshold", 0.5))
MODEL_VERSION: str = METADATA["model_version"]

if TYPE_CHECKING:
    Record = RecordBase
else:
    # Built at import from the packaged contract; mypy sees the base class.
    Record = record_model(CONTRACT, FEATURES, METADATA["target"]["column"])

Records = Annotated[
    list[Record],
    Field(min_length=1, max_length=MAX_RECORDS, description=f"1 to {MAX_RECORDS:,} rows of raw features."),
]


class PredictRequest(BaseModel):
    """The body of `POST /predict`."""

    model_config = ConfigDict(extra="forbid")
    records: Records


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
        body = cls.model_construct(model_version=MODEL_VERSION, predictions=obj)
        return await super().to_http_response(body, serde)


class ModelMetadata(BaseModel):
    model_tag: str
    model_version: str
    model_kind: str
    training_rows: int
    training_data_hash: str
    target: dict[str, Label]
    project: dict[str, str | None]
    features: dict[str, list[str]]
    metrics: dict[str, float]
    gates: Annotated[
        dict[str, Any] | None,
        # OpenAPI 3.0 (what BentoML declares) says `nullable`, not pydantic's `anyOf` with null.
        WithJsonSchema({"type": "object", "nullable": True, "additionalProperties": True}),
    ] = Field(description="reports/gates.json at packaging time, if present.")
    max_records: int


def _json_response(status: int, body: dict[str, Any]) -> tuple[Message, Message]:
    content = json.dumps(body).encode()
    start: Message = {
        "type": "http.response.start",
        "status": status,
        "headers": [(b"content-type", b"application/json"), (b"content-length", str(len(content)).encode())],
    }
    return start, {"type": "http.response.body", "body": content}


PAGE_TITLE = html.escape(f"{PROJECT['name']}: {PROJECT['model_name']}")
INDEX_HTML = f"""<!DOCTYPE html>
<html lang="en"><head><meta charset="UTF-8"><title>{PAGE_TITLE}</title>
<link rel="stylesheet" href="./static_content/swagger-ui.css"></head>
<body><div id="swagger-ui"></div>
<script src="./static_content/swagger-ui-bundle.js"></script>
<script src="./static_content/swagger-ui-standalone-preset.js"></script>
<script src="./static_content/swagger-initializer.js"></script>
</body></html>
""".encode()


class RequestGuard:
    """ASGI middleware: checks `/predict` bodies, adds the model-version header, serves a clean index.

    BentoML 1.4 would answer an empty list with a 500, accept unknown fields, read bodies of
    any size, log every 400 with a traceback and serve a UI that loads a third-party script.
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

    async def _refuse(self, send: Send, status: int, body: dict[str, Any]) -> None:
        for message in _json_response(status, body):
            await send(message)

    async def _guard_post(self, scope: Scope, receive: Receive, send: Send) -> None:
        """Every API call: JSON only, bounded size; `/predict` bodies are also checked in full."""
        headers = {k.decode("latin-1").lower(): v.decode("latin-1") for k, v in scope["headers"]}
        media_type = headers.get("content-type", "application/json").split(";")[0].strip().lower()
        if media_type not in JSON_MEDIA_TYPES:
            await self._refuse(
                send, 415, {"error": f"Content-Type {media_type!r} is not supported: send application/json."}
            )
            return
        too_big = {
            "error": f"request body is larger than {MAX_BODY_BYTES:,} bytes: "
            f"send at most {MAX_RECORDS:,} records per request (LASTMILE_MAX_BODY_BYTES sets the limit)."
        }
        declared = headers.get("content-length", "")
        if declared.isdigit() and int(declared) > MAX_BODY_BYTES:
            await self._refuse(send, 413, too_big)
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
                await self._refuse(send, 413, too_big)
                return
            chunks.append(chunk)
            if not message.get("more_body", False):
                break
        body = b"".join(chunks)
        problem = _check_body(body) if scope["path"] == self.predict_path else None
        if problem is not None:
            await self._refuse(send, *problem)
            return

        replayed = False

        async def replay() -> Message:
            nonlocal replayed
            if not replayed:
                replayed = True
                return {"type": "http.request", "body": body, "more_body": False}
            return await receive()

        await self.app(scope, replay, send)


def _check_body(body: bytes) -> tuple[int, dict[str, Any]] | None:
    """None if the body is a valid request, else the status and error body to answer with."""
    if not body.strip():
        return 400, {"error": 'request body is empty: send {"records": [{...}, ...]} as JSON.'}
    try:
        PredictRequest.model_validate_json(body)
    except ValidationError as exc:
        first = exc.errors(include_url=False)[0]
        if first["type"] == "json_invalid":
            return 400, {"error": f"malformed JSON: {first['ctx']['error']}", "problems": [], "count": 1}
        return 422, describe_errors(exc)
    return None


@bentoml.service(
    name=PROJECT["name"],
    workers=1,
    traffic={"timeout": 60},
    labels={"project": PROJECT["name"], "model": PROJECT["model_name"]},
)
class Classifier:
    """The project's binary classifier: the DVC-tracked scikit-learn pipeline behind an HTTP API."""

    model = MODEL_REF

    def __init__(self) -> None:
        self.pipeline, _ = load_model(Path(self.model.path))
        # The loaded model lives as long as the process: move it out of the collector's sight, so
        # full collections stay short (they caused rare 100+ ms stalls under load).
        gc.collect()
        gc.freeze()
        self.model_info = ModelMetadata.model_validate(
            {**METADATA, "model_tag": str(self.model.tag), "max_records": MAX_RECORDS}
        )
        log.info("Serving %s (model version %s)", self.model.tag, MODEL_VERSION)

    @bentoml.api(  # type: ignore[untyped-decorator]
        batchable=True,
        batch_dim=0,
        max_batch_size=1000,
        max_latency_ms=1000,
        output_spec=PredictResponse,
    )
    async def predict(self, records: Records) -> list[Prediction]:
        """Predict the label and the positive-class probability for each record."""
        # `async` so BentoML runs each batch on the event loop, as the bare app does: a hop to a
        # worker thread and back cost a lone caller several ms on a busy core (benchmarks/serving.py).
        frame = to_frame(records, CONTRACT, FEATURES)
        proba = positive_proba(self.pipeline, frame, POSITIVE)
        return [
            Prediction.model_construct(label=POSITIVE if p >= THRESHOLD else NEGATIVE, probability=float(p))
            for p in proba
        ]

    @bentoml.api(route="/metadata")  # type: ignore[untyped-decorator]
    def metadata(self) -> ModelMetadata:
        """The served model: version, training data hash, metrics and quality gates."""
        return self.model_info


Classifier.add_asgi_middleware(RequestGuard)  # type: ignore[attr-defined]  # a bentoml Service

__all__ = ["Classifier", "PredictRequest", "PredictResponse", "Prediction", "RequestGuard"]
