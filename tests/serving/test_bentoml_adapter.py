"""BentoML's private names and signatures that serving/bentoml_adapter.py relies on, checked by name.

A BentoML upgrade that moves or changes one fails here, saying what changed and where to adapt,
instead of failing inside a release or a running server.
"""

from __future__ import annotations

import importlib
import inspect
from pathlib import Path
from typing import Any

import bentoml
import pytest
from pydantic import BaseModel

from lastmile.serving.bentoml_adapter import IOMixin, api_routes, copy_build_context, patch_batching

ADAPTER = "update src/lastmile/serving/bentoml_adapter.py (and this test)"


def _private(module: str, name: str) -> Any:
    try:
        return getattr(importlib.import_module(module), name)
    except (ImportError, AttributeError):
        pytest.fail(f"BentoML {bentoml.__version__} changed {module}.{name} (gone): {ADAPTER}")


def _parameters(function: Any, what: str, expected: list[str]) -> None:
    names = list(inspect.signature(function).parameters)
    if names[: len(expected)] != expected:
        pytest.fail(
            f"BentoML {bentoml.__version__} changed the signature of {what}: "
            f"{names} instead of {expected} first: {ADAPTER}"
        )


def test_construct_containerfile_takes_a_bento_and_yields_the_build_context() -> None:
    construct = _private("bentoml._internal.container", "construct_containerfile")
    _parameters(construct, "construct_containerfile", ["bento", "enable_buildkit"])
    # A context manager yielding (build context folder, Dockerfile path).
    source = inspect.getsource(construct)
    if "yield tempdir, " not in source.replace("\n", " "):
        pytest.fail(
            f"BentoML {bentoml.__version__} changed what construct_containerfile yields "
            f"(expected the temporary build context first): {ADAPTER}"
        )


def test_the_dockerfile_template_is_still_refused_outside_the_working_directory() -> None:
    """Why the adapter changes the working directory: the day BentoML drops the check, drop the chdir."""
    resolve = _private("bentoml._internal.utils.filesystem", "resolve_user_filepath")
    _parameters(resolve, "resolve_user_filepath", ["filepath", "ctx", "secure"])
    if "Path().resolve()" not in inspect.getsource(resolve):
        pytest.fail(
            f"BentoML {bentoml.__version__} changed how resolve_user_filepath checks the working "
            f"directory: the chdir in copy_build_context may no longer be needed, {ADAPTER}"
        )


def test_the_working_directory_is_restored_when_building_the_context_fails(tmp_path: Path) -> None:
    before = Path.cwd()
    with pytest.raises(AttributeError):  # not a bento: BentoML fails inside the changed directory
        copy_build_context(object(), tmp_path / "context")
    assert Path.cwd() == before
    assert not (tmp_path / "context").exists()


def test_the_io_mixin_hooks_the_service_overrides() -> None:
    mixin = _private("_bentoml_sdk.io_models", "IOMixin")
    _parameters(mixin.from_http_request, "IOMixin.from_http_request", ["request", "serde"])
    _parameters(mixin.to_http_response, "IOMixin.to_http_response", ["obj", "serde"])


def test_the_batcher_classes_patch_batching_replaces() -> None:
    dispatcher = importlib.import_module("bentoml._internal.marshal.dispatcher")
    optimizer = _private("bentoml._internal.marshal.dispatcher", "Optimizer")
    _parameters(optimizer.log_outbound, "Optimizer.log_outbound", ["self", "n", "wait", "duration"])
    cork = _private("bentoml._internal.marshal.dispatcher", "CorkDispatcher")
    if "fallback" not in inspect.signature(cork.__init__).parameters:
        pytest.fail(f"BentoML {bentoml.__version__} changed CorkDispatcher (no `fallback`): {ADAPTER}")
    # Both are looked up by name when used: replacing the module attributes is what takes effect.
    if "Optimizer(" not in inspect.getsource(cork.__init__):
        pytest.fail(
            f"BentoML {bentoml.__version__} changed how CorkDispatcher builds its optimizer: {ADAPTER}"
        )
    _private("_bentoml_impl.server.app", "CorkDispatcher")
    factory = _private("_bentoml_impl.server.app", "ServiceAppFactory")
    if "CorkDispatcher(" not in inspect.getsource(factory):
        pytest.fail(f"BentoML {bentoml.__version__} changed how the server builds batchers: {ADAPTER}")
    assert dispatcher.Optimizer is optimizer


def test_patch_batching_replaces_both_and_keeps_the_batcher_working(monkeypatch: pytest.MonkeyPatch) -> None:
    """The patched classes, built as BentoML builds them: no learned wait, the refusal is the answer."""
    dispatcher = importlib.import_module("bentoml._internal.marshal.dispatcher")
    server_app = importlib.import_module("_bentoml_impl.server.app")
    # Undone after the test: other tests see BentoML as the service module leaves it.
    monkeypatch.setattr(dispatcher, "Optimizer", dispatcher.Optimizer)
    monkeypatch.setattr(server_app, "CorkDispatcher", server_app.CorkDispatcher)
    refusal = object()
    patch_batching(refused=lambda: refusal)

    optimizer = dispatcher.Optimizer(max_latency=5.0)
    for _ in range(optimizer.N_SKIPPED_SAMPLE + 1):  # BentoML skips the first samples
        optimizer.log_outbound(n=10, wait=3.0, duration=0.5)
    assert list(optimizer.o_stat) == [(10, 0.5, 0.0)]  # (records, duration, wait): the wait is not learned
    batcher = server_app.CorkDispatcher(max_latency_in_ms=5000, max_batch_size=10)
    assert isinstance(batcher.optimizer, dispatcher.Optimizer)
    assert batcher.fallback() is refusal


def test_api_routes_lists_each_endpoint_with_its_route_and_input() -> None:
    """The service's `RequestGuard` finds the endpoints that take records through it."""

    class Body(IOMixin, BaseModel):  # type: ignore[misc]
        value: int

    @bentoml.service
    class Probe:
        @bentoml.api(route="/score", input_spec=Body)  # type: ignore[untyped-decorator]
        def score(self, value: int) -> int:
            return value

        @bentoml.api  # type: ignore[untyped-decorator]
        def ping(self) -> str:
            return "pong"

    routes = api_routes(Probe)
    if set(routes) != {"score", "ping"}:
        pytest.fail(f"BentoML {bentoml.__version__} changed Service.apis: {routes}: {ADAPTER}")
    assert routes["score"] == ("/score", Body)
    route, spec = routes["ping"]
    assert route == "/ping" and isinstance(spec, type) and not issubclass(spec, Body)
