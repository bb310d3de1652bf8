"""`make demo-drift`: the monitoring loop end to end on this machine, in under a minute.

Starts the bento with `bentoml serve` on a free loopback port, sends a bounded stream of normal
traffic (held-out test rows) and then of shifted traffic (the first numeric feature moved by half
a standard deviation, the first categorical feature's top category's share changed by 20 points),
logs every scored record in the prediction log format from the service's answers, and runs the
monitor on each stream.
"""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import time
import urllib.error
import urllib.request
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import IO, Any

import numpy as np
import pandas as pd

from lastmile.contract import Contract
from lastmile.data import Label, read_table
from lastmile.errors import LastmileError
from lastmile.monitoring import monitor, report
from lastmile.monitoring.profile import Profile
from lastmile.monitoring.shifts import json_value, log_lines, shift_category, shift_numeric
from lastmile.params import Params

BATCH = 100
# Logged records are this far apart in time (the demo's traffic takes seconds, not hours).
STEP = timedelta(milliseconds=5)
READY_SECONDS = 90


@dataclass(frozen=True)
class Outcome:
    normal: monitor.Assessment
    shifted: monitor.Assessment
    shifted_features: list[str]

    @property
    def as_expected(self) -> bool:
        return not self.normal.drifted and set(self.shifted_features) <= set(self.shifted.drifted_features)


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port


def _post(url: str, body: dict[str, Any]) -> Any:
    request = urllib.request.Request(  # noqa: S310  # a loopback URL this module built
        url, data=json.dumps(body).encode(), headers={"Content-Type": "application/json"}, method="POST"
    )
    with urllib.request.urlopen(request, timeout=60) as response:  # noqa: S310
        return json.loads(response.read())


def _wait_ready(base: str, server: subprocess.Popen[bytes], log: Path) -> None:
    deadline = time.monotonic() + READY_SECONDS
    while time.monotonic() < deadline:
        if server.poll() is not None:
            raise LastmileError(f"bentoml serve exited with {server.returncode}: see {log}")
        try:
            with urllib.request.urlopen(f"{base}/readyz", timeout=2) as response:  # noqa: S310
                if response.status == 200:
                    return
        except (urllib.error.URLError, OSError):
            pass
        time.sleep(0.5)
    raise LastmileError(f"the service was not ready after {READY_SECONDS} s: see {log}")


def _send(base: str, frame: pd.DataFrame, features: list[str], log: Path) -> None:
    """Score `frame` through /predict and log each record with the answer it got."""
    records = [{str(k): json_value(v) for k, v in row.items()} for row in frame[features].to_dict("records")]
    started = datetime.now(UTC)
    probabilities: list[float] = []
    labels: list[Label] = []
    version = ""
    for start in range(0, len(records), BATCH):
        answer = _post(f"{base}/predict", {"records": records[start : start + BATCH]})
        probabilities += [p["probability"] for p in answer["predictions"]]
        labels += [p["label"] for p in answer["predictions"]]
        version = answer["model_version"]
    log.parent.mkdir(parents=True, exist_ok=True)
    with log.open("w", encoding="utf-8") as handle:
        handle.writelines(log_lines(records, probabilities, labels, version, start=started, step=STEP))


def _stop(server: subprocess.Popen[bytes]) -> None:
    if server.poll() is None:
        os.killpg(server.pid, signal.SIGTERM)  # the server's own session: its workers too
        try:
            server.wait(timeout=15)
        except subprocess.TimeoutExpired:
            os.killpg(server.pid, signal.SIGKILL)
            server.wait()


def run(
    bento: str,
    params: Params,
    contract: Contract,
    profile: Profile,
    test_table: Path,
    out: Path,
    say: Callable[[str], None],
    records: int = 2000,
    seed: int = 7,
) -> Outcome:
    test = read_table(test_table)
    features = params.features.all
    rng = np.random.default_rng(seed)
    normal = test.sample(n=records, replace=len(test) < records, random_state=seed).reset_index(drop=True)
    shifted = test.sample(n=records, replace=len(test) < records, random_state=seed + 1).reset_index(
        drop=True
    )
    # The project's first numeric and first categorical feature, of those it has.
    moved, categories = params.features.numeric[:1], params.features.categorical[:1]
    changes = []
    for name in moved:
        shifted = shift_numeric(shifted, name, contract.columns[name], rng)
        changes.append(f"{name} +0.5 standard deviation")
    for name in categories:
        shifted, top = shift_category(shifted, name, rng)
        changes.append(f"{name}: share of {top!r} changed by 20 points")
    say(f"shifted traffic: {'; '.join(changes)}")

    port = _free_port()
    base = f"http://127.0.0.1:{port}"
    out.mkdir(parents=True, exist_ok=True)
    server_log = out / "server.log"
    handle: IO[bytes]
    with server_log.open("wb") as handle:
        server = subprocess.Popen(
            ["bentoml", "serve", bento, "--host", "127.0.0.1", "--port", str(port)],
            stdout=handle,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
        try:
            started = time.monotonic()
            _wait_ready(base, server, server_log)
            say(f"{bento} ready on {base} after {time.monotonic() - started:.1f} s")
            say(f"sending {records:,} normal then {records:,} shifted records")
            _send(base, normal, features, out / "normal" / "predictions.jsonl")
            _send(base, shifted, features, out / "shifted" / "predictions.jsonl")
        finally:
            _stop(server)
    results = []
    for name in ("normal", "shifted"):
        result = monitor.assess(str(out / name), profile, contract, params.monitor)
        report.write(result, out / name / "report")
        say(f"{name} traffic -> {result.verdict}")
        results.append(result)
    return Outcome(normal=results[0], shifted=results[1], shifted_features=moved + categories)
