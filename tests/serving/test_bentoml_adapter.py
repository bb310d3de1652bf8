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

from lastmile.serving.bentoml_adapter import copy_build_context

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
