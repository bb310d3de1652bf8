"""The serving image: build it from the bento with `bentoml containerize`, then smoke-test it.

The backend comes from `IMAGE_BACKEND` (`docker` by default). Where there is no Docker engine,
`buildah` builds the same Dockerfile; the oci-local tools' `run-image.sh` (their folder from
`OCI_LOCAL_TOOLS`, nothing else) then runs the image, since buildah itself cannot serve it.
"""

from __future__ import annotations

import json
import logging
import os
import re
import subprocess
import tempfile
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

from lastmile.errors import LastmileError

log = logging.getLogger(__name__)

BACKENDS = ("docker", "buildah", "podman")
READY_TIMEOUT_S = 180.0
OCI_LOCAL_TOOLS = "OCI_LOCAL_TOOLS"  # the variable naming the oci-local tools folder (buildah only)
BASE_IMAGE_FILE = Path("deploy/docker/base-image.Dockerfile")
_BASE_IMAGE = re.compile(r"FROM\s+(?P<ref>[a-z0-9][a-z0-9._/-]*:[A-Za-z0-9._-]+(?:@sha256:[0-9a-f]{64})?)\s*")


class ImageError(LastmileError):
    """The image could not be built, started or did not behave."""


@dataclass(frozen=True)
class SmokeResult:
    image: str
    backend: str
    size_mb: float
    cold_start_s: float
    prediction_status: int
    prediction: Any
    bad_request_status: int
    bad_request_body: str
    server_uid: int

    @property
    def passed(self) -> bool:
        return self.prediction_status == 200 and 400 <= self.bad_request_status < 500 and self.server_uid != 0


def base_image(path: Path = BASE_IMAGE_FILE) -> str:
    """The serving image's base (`name:tag[@sha256:...]`), from the file Dependabot keeps current."""
    try:
        lines = path.read_text(encoding="utf-8").splitlines()
    except OSError as exc:
        raise ImageError(f"Cannot read the base image from {path}: {exc.strerror}.") from exc
    froms = [line for line in lines if line.lstrip().upper().startswith("FROM")]
    match = _BASE_IMAGE.fullmatch(froms[0].strip()) if len(froms) == 1 else None
    if match is None:
        raise ImageError(
            f"{path} must hold exactly one line `FROM name:tag` or `FROM name:tag@sha256:<64 hex>`."
        )
    if "@sha256:" not in match["ref"]:
        log.warning("the base image %s is not pinned by digest (%s)", match["ref"], path)
    return match["ref"]


def _run(cmd: list[str], **kwargs: Any) -> subprocess.CompletedProcess[str]:
    try:
        return subprocess.run(cmd, capture_output=True, text=True, check=False, **kwargs)
    except FileNotFoundError as exc:
        raise ImageError(
            f"{cmd[0]} is not installed. Set IMAGE_BACKEND to a container tool you have "
            f"({', '.join(BACKENDS)}); on a machine without Docker see docs/release.md, The image."
        ) from exc


def _check_backend(backend: str) -> None:
    if backend not in BACKENDS:
        raise ImageError(f"IMAGE_BACKEND={backend!r} is not supported: use one of {', '.join(BACKENDS)}.")


def build(bento: str, image: str, backend: str) -> float:
    """`bentoml containerize` the bento into `image`; returns the seconds it took."""
    _check_backend(backend)
    started = time.monotonic()
    # BentoML 1.4 resolves `docker.dockerfile_template` inside a temporary copy of the bento and
    # refuses paths outside the working directory: run it from the temporary directory's parent.
    result = subprocess.run(
        ["bentoml", "containerize", "--backend", backend, "--image-tag", image, bento],
        cwd=tempfile.gettempdir(),
        check=False,
    )
    if result.returncode != 0:
        raise ImageError(
            f"`bentoml containerize` of {bento} with {backend} failed (exit {result.returncode})."
        )
    return time.monotonic() - started


_UNITS = {"B": 1e-6, "kB": 1e-3, "KB": 1e-3, "MB": 1.0, "GB": 1e3, "TB": 1e6}


def image_size_mb(image: str, backend: str) -> float:
    """Uncompressed size of a local image in MB (10^6 bytes)."""
    if backend == "buildah":
        # buildah reports sizes only as text ("623 MB", decimal units)
        result = _run(["buildah", "images", "--json", image])
        entries = json.loads(result.stdout or "[]") if result.returncode == 0 else []
        if not entries:
            raise ImageError(f"Image {image} not found by buildah: {result.stderr.strip()}")
        number, unit = str(entries[0]["size"]).split()
        return float(number) * _UNITS[unit]
    result = _run([backend, "image", "inspect", "--format", "{{.Size}}", image])
    if result.returncode != 0:
        raise ImageError(f"Image {image} not found by {backend}: {result.stderr.strip()}")
    return float(result.stdout.strip()) / 1e6


def _run_image_script() -> Path:
    """The oci-local tools' `run-image.sh`, from `OCI_LOCAL_TOOLS` only (no path of one machine)."""
    folder = os.environ.get(OCI_LOCAL_TOOLS)
    if not folder:
        raise ImageError(
            f"{OCI_LOCAL_TOOLS} is not set: buildah cannot run an image, so the smoke test starts it with "
            f"the oci-local tools' run-image.sh. Set {OCI_LOCAL_TOOLS} to the folder holding it "
            "(docs/release.md, The image)."
        )
    script = Path(folder) / "run-image.sh"
    if not script.is_file():
        raise ImageError(f"{script} not found: set {OCI_LOCAL_TOOLS} to the oci-local tools folder.")
    return script


@dataclass
class _Running:
    port: int
    uid: int
    cold_start_s: float  # from the server process's start to the first 200 from /readyz


_READY_LINE = re.compile(r"answered 200 after ([0-9.]+) s")


def _server_uid_in_group(pgid: int) -> int:
    """The uid of the `bentoml serve` process that run-image.sh started in process group `pgid`."""
    listing = _run(["ps", "-e", "-o", "pgid=,uid=,args="]).stdout.splitlines()
    for line in listing:
        group, uid, args = line.split(None, 2)
        if int(group) == pgid and "bentoml serve" in args:
            return int(uid)
    raise ImageError(f"No `bentoml serve` process found in process group {pgid}.")


@contextmanager
def running(image: str, backend: str, port: int) -> Iterator[_Running]:
    """Start the image listening on 127.0.0.1:`port`, wait for /readyz, stop it afterwards."""
    _check_backend(backend)
    name = f"lastmile-smoke-{port}"
    if backend == "buildah":
        script = _run_image_script()
        start = _run([str(script), image, str(port)], timeout=READY_TIMEOUT_S + 30)
        if start.returncode != 0:
            raise ImageError(f"The image did not become ready:\n{start.stdout}\n{start.stderr}")
        try:
            home = Path(os.environ.get("OCI_LOCAL_HOME", Path.home() / ".cache" / "oci-local"))
            pgid = int((home / "instances" / str(port) / "pgid").read_text().strip())
            # run-image.sh times the process itself, without the working-container copy before it
            ready = _READY_LINE.search(start.stdout)
            if ready is None:
                raise ImageError(f"run-image.sh did not report its ready time:\n{start.stdout}")
            yield _Running(port, _server_uid_in_group(pgid), float(ready.group(1)))
        finally:
            _run([str(script), "stop", str(port)])
        return
    started = _run(
        [backend, "run", "--detach", "--rm", "--name", name, "--publish", f"127.0.0.1:{port}:3000", image]
    )
    if started.returncode != 0:
        raise ImageError(f"`{backend} run {image}` failed: {started.stderr.strip()}")
    started_at = time.monotonic()
    try:
        _wait_ready(port)
        ready_s = time.monotonic() - started_at
        uid = _run([backend, "exec", name, "id", "-u"]).stdout.strip()
        yield _Running(port, int(uid or "0"), ready_s)
    finally:
        _run([backend, "stop", "--time", "10", name])


def _wait_ready(port: int) -> None:
    deadline = time.monotonic() + READY_TIMEOUT_S
    while time.monotonic() < deadline:
        try:
            with urllib.request.urlopen(f"http://127.0.0.1:{port}/readyz", timeout=2) as response:
                if response.status == 200:
                    return
        except (urllib.error.URLError, ConnectionError, TimeoutError):
            pass
        time.sleep(0.2)
    raise ImageError(f"The server on port {port} did not answer /readyz within {READY_TIMEOUT_S:.0f} s.")


def _post(port: int, path: str, body: bytes) -> tuple[int, str]:
    request = urllib.request.Request(
        f"http://127.0.0.1:{port}{path}", data=body, headers={"content-type": "application/json"}
    )
    try:
        with urllib.request.urlopen(request, timeout=30) as response:  # noqa: S310
            return response.status, response.read().decode("utf-8", "replace")
    except urllib.error.HTTPError as exc:
        return exc.code, exc.read().decode("utf-8", "replace")


def smoke(image: str, backend: str, port: int, record: dict[str, Any]) -> SmokeResult:
    """Start the image, time its cold start, send one good and one bad request, check its user."""
    size = image_size_mb(image, backend)
    # A bad request: the record with its first field set to an object, which no contract kind accepts.
    bad_field = next(iter(record))
    with running(image, backend, port) as server:
        status, text = _post(port, "/predict", json.dumps({"records": [record]}).encode())
        bad_status, bad_text = _post(
            port, "/predict", json.dumps({"records": [{**record, bad_field: {"not": "a value"}}]}).encode()
        )
    try:
        prediction: Any = json.loads(text)
    except json.JSONDecodeError:
        prediction = text
    return SmokeResult(
        image=image,
        backend=backend,
        size_mb=round(size, 1),
        cold_start_s=round(server.cold_start_s, 2),
        prediction_status=status,
        prediction=prediction,
        bad_request_status=bad_status,
        bad_request_body=bad_text[:300],
        server_uid=server.uid,
    )


def report(result: SmokeResult) -> str:
    def mark(ok: bool) -> str:
        return "ok  " if ok else "FAIL"

    return "\n".join(
        [
            f"image       {result.image} ({result.backend})",
            f"size        {result.size_mb:.0f} MB",
            f"cold start  {result.cold_start_s:.1f} s (server process start to /readyz = 200)",
            f"{mark(result.prediction_status == 200)} POST /predict one record -> "
            f"{result.prediction_status}: {json.dumps(result.prediction)[:200]}",
            f"{mark(400 <= result.bad_request_status < 500)} POST /predict, a field set to an object -> "
            f"{result.bad_request_status}: {result.bad_request_body[:160]}",
            f"{mark(result.server_uid != 0)} server runs as uid {result.server_uid}",
            "PASSED" if result.passed else "FAILED",
        ]
    )


def as_json(result: SmokeResult) -> dict[str, Any]:
    return {**asdict(result), "passed": result.passed}


def sample_record(table: Path, features: list[str]) -> dict[str, Any]:
    """The first complete row of a pipeline table, as the JSON record the service takes."""
    from lastmile.data import read_table

    frame = read_table(table)[features].dropna()
    if frame.empty:
        raise ImageError(f"{table} has no row without missing values to send as a sample prediction.")
    return json.loads(frame.head(1).to_json(orient="records"))[0]  # type: ignore[no-any-return]
