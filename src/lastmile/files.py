"""Writing reports and artifacts atomically, and reading them back.

Every write goes to a temporary file first and is renamed into place, so a failing stage never
leaves a half-written artifact behind. Standard library only: the commands that just read or write
JSON (`check`, `summary`, `gate`) do not pay for pandas.
"""

from __future__ import annotations

import json
import os
import tempfile
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import IO, Any

from lastmile.errors import LastmileError

# Decimal digits kept in every number the pipeline writes (metrics, curves, rates, probabilities).
DIGITS = 6


@contextmanager
def atomic_path(path: Path) -> Iterator[Path]:
    """Yield a temporary path next to `path`; rename it into place only if the block succeeds."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, name = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    os.close(fd)
    tmp = Path(name)
    # mkstemp makes the file private (0600); artifacts get the usual permissions, so that a
    # server running as another user (the image's) can read them.
    umask = os.umask(0)
    os.umask(umask)
    tmp.chmod(0o666 & ~umask)
    try:
        yield tmp
        tmp.replace(path)
    finally:
        tmp.unlink(missing_ok=True)


def _write(path: Path, writer: Callable[[IO[str]], Any]) -> None:
    with atomic_path(path) as tmp, tmp.open("w", encoding="utf-8") as handle:
        writer(handle)


def write_json(path: Path, payload: Any) -> None:
    _write(path, lambda f: f.write(json.dumps(payload, indent=2, sort_keys=True) + "\n"))


def write_text(path: Path, text: str) -> None:
    _write(path, lambda f: f.write(text))


def read_json(path: Path) -> Any:
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError as exc:
        raise LastmileError(f"{path} not found: run the earlier pipeline stages (`dvc repro`).") from exc
