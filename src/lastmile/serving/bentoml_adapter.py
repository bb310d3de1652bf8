"""The one module that touches BentoML's private API (BentoML 1.4); everything else uses `bentoml.*`.

Each private name used here is checked, with its signature, by tests/serving/test_bentoml_adapter.py,
so a BentoML upgrade that moves or changes one fails there with what to update, not in a release.
"""

from __future__ import annotations

import os
import shutil
import tempfile
import threading
from pathlib import Path
from typing import Any

# The working directory is one per process: only one thread may change it at a time.
_WORKING_DIRECTORY = threading.Lock()


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
