"""The one module that touches BentoML's private API (BentoML 1.4); everything else uses `bentoml.*`.

Each private name used here is checked, with its signature, by tests/serving/test_bentoml_adapter.py,
so a BentoML upgrade that moves or changes one fails there with what to update, not in a release.
"""

from __future__ import annotations

import os
import shutil
import tempfile
import threading
from collections.abc import Callable
from pathlib import Path
from typing import Any

# No public way to shape a batchable API's request and response bodies (BentoML 1.4): the SDK's mixin,
# whose `from_http_request(cls, request, serde)` and `to_http_response(cls, obj, serde)` the service
# overrides.
from _bentoml_sdk.io_models import IOMixin  # type: ignore[import-untyped]

__all__ = ["IOMixin", "api_routes", "copy_build_context", "patch_batching"]

# The working directory is one per process: only one thread may change it at a time.
_WORKING_DIRECTORY = threading.Lock()


def api_routes(service: Any) -> dict[str, tuple[str, type]]:
    """Endpoint name -> (route, input model) of a `@bentoml.service` class.

    BentoML 1.4 has no public listing of a service's endpoints; its service object keeps them in
    `apis`, a mapping of name to `APIMethod` (with `route` and `input_spec`).
    """
    return {name: (method.route, method.input_spec) for name, method in service.apis.items()}


def copy_build_context(bento: Any, out: Path, *, enable_buildkit: bool = True) -> Path:
    """Copy what `bentoml containerize` builds from into `out`: the bento, its models, the Dockerfile.

    BentoML's public `bentoml.container.get_containerfile` writes only the Dockerfile, without the
    models beside it, so this uses the private `construct_containerfile` that both are built on.
    It resolves `docker.dockerfile_template` inside a temporary copy of the bento and refuses any path
    outside the working directory, and BentoML 1.4 offers no way to pass another one: so it runs from
    the temporary directory's parent, under a lock, and the working directory is restored before
    anything else uses it. `out` must not exist; returns it, absolute.
    """
    from bentoml._internal.container import construct_containerfile

    out = out.resolve()  # before the working directory changes
    with _WORKING_DIRECTORY:
        previous = Path.cwd()
        os.chdir(tempfile.gettempdir())
        try:
            with construct_containerfile(bento, enable_buildkit=enable_buildkit) as (context, _):
                shutil.copytree(context, out, symlinks=True)
        finally:
            os.chdir(previous)
    return out


def patch_batching(refused: Callable[[], Any]) -> None:
    """BentoML's adaptive batching, with two changes; call it before the service's APIs are built.

    - No learned wait (measured in benchmarks/serving.py). BentoML 1.4 holds each batch back by the
      average wait of recent batches. Under load, requests wait behind the batch in flight, so that
      average grows to a batch's duration; afterwards every lone caller is held that long (about
      40 ms more at concurrency 1 after a burst, decaying 5 % per 5 s). Logging no wait keeps the
      rest: a batch is dispatched as soon as the model is free and takes every request that queued
      meanwhile, and overload is still refused by latency estimate.
    - A refusal is the response `refused()` returns, not an exception. BentoML 1.4 raises
      `ServiceUnavailable` from the batcher's fallback; its endpoint wrapper then logs a full
      traceback per refused request and answers "An unexpected error has occurred". A response
      returned by the fallback is passed through as it is (`api_endpoint`: `isinstance(output,
      Response)`), so the client reads an answer that says why, and the log gets one line.

    BentoML 1.4 has no public setting for either: the optimizer class every `CorkDispatcher` builds
    and the dispatcher class `ServiceAppFactory` builds each API's batcher from are replaced.
    """
    from _bentoml_impl.server import app as server_app  # type: ignore[import-untyped]
    from bentoml._internal.marshal import dispatcher

    class QueueingIsNotBatchingWait(dispatcher.Optimizer):
        def log_outbound(self, n: int, wait: float, duration: float) -> None:
            super().log_outbound(n=n, wait=0.0, duration=duration)

    class BusyIsAnAnswer(dispatcher.CorkDispatcher[Any, Any]):
        def __init__(self, *args: Any, **kwargs: Any) -> None:
            super().__init__(*args, **{**kwargs, "fallback": refused})

    dispatcher.Optimizer = QueueingIsNotBatchingWait  # type: ignore[misc]
    server_app.CorkDispatcher = BusyIsAnAnswer
