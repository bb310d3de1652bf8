"""`make demo-drift`: the monitoring loop end to end on this machine, in under a minute.

Starts the bento with `bentoml serve` on a free loopback port, its prediction log written to a
file of its own, sends a bounded stream of normal traffic through `/predict`, and runs the monitor
on the service's log; then a stream of shifted traffic (a numeric feature moved by half a standard
deviation, a category's share changed by 20 points: of these, the ones the project has), and the
monitor on the log's newest records. Which features are shifted follows from `params.yaml`.

Both streams are drawn from the whole validated table, not from the test split alone. The monitor
compares features with the training split, most of that table, so a resample of it is normal
traffic at any size; a small test split (113 rows for 569 in all) resampled to 2,000 records
repeats each row about 18 times, the monitor counts every repeat as evidence, and the split's own
sampling difference from the training rows reads as drift.
"""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import IO, Any

import numpy as np
import pandas as pd

from lastmile.artifacts import Profile
from lastmile.contract import Contract
from lastmile.data import read_table
from lastmile.errors import LastmileError
from lastmile.monitoring import monitor, report
from lastmile.monitoring.shifts import json_value, shift_category, shift_numeric
from lastmile.params import Params

BATCH = 100
# Concurrent clients: the service batches their requests together (one at a time waits on its own).
CLIENTS = 8
READY_SECONDS = 90
# How long the service's log writer may take to write what it was sent.
LOGGED_SECONDS = 30
LOG_FILE = "predictions.jsonl"


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


def _send(base: str, frame: pd.DataFrame, features: list[str]) -> int:
    """Score `frame` through /predict, BATCH records a request, CLIENTS at a time; returns the count."""
    records = [{str(k): json_value(v) for k, v in row.items()} for row in frame[features].to_dict("records")]
    chunks = [records[start : start + BATCH] for start in range(0, len(records), BATCH)]
    with ThreadPoolExecutor(CLIENTS) as clients:
        for _ in clients.map(lambda chunk: _post(f"{base}/predict", {"records": chunk}), chunks):
            pass
    return len(records)


def _wait_logged(log: Path, lines: int) -> None:
    """Wait until the service's log writer (a background thread) has written `lines` lines."""
    deadline = time.monotonic() + LOGGED_SECONDS
    while time.monotonic() < deadline:
        if log.exists() and log.read_bytes().count(b"\n") >= lines:
            return
        time.sleep(0.2)
    raise LastmileError(
        f"the service logged fewer than {lines:,} predictions in {log} after {LOGGED_SECONDS} s: "
        "see its server.log (a full queue or a failing sink is reported there and on /metrics)"
    )


def _server_env(log_dir: Path) -> dict[str, str]:
    """The caller's environment with the prediction log to a file in `log_dir`, columns as sent."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("LASTMILE_PREDICTION_LOG")}
    return {**env, "LASTMILE_PREDICTION_LOG": "file", "LASTMILE_PREDICTION_LOG_DIR": str(log_dir.resolve())}


def _shifted_features(params: Params, table: pd.DataFrame) -> tuple[str | None, str | None]:
    """The most spread numeric feature (the smallest share of its most frequent value), and the
    first categorical one with two values or more; None for a kind the project does not have."""
    spread = [name for name in params.features.numeric if table[name].nunique() >= 2]
    categorical = [name for name in params.features.categorical if table[name].nunique() >= 2]
    if not spread and not categorical:
        raise LastmileError(
            "the drift demo shifts a numeric or a categorical feature with two values or more in the "
            "validated data: params.yaml `features` has none"
        )
    numeric = (
        min(spread, key=lambda name: table[name].value_counts(normalize=True).iloc[0]) if spread else None
    )
    return numeric, categorical[0] if categorical else None


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
    validated_table: Path,
    out: Path,
    say: Callable[[str], None],
    records: int = 2000,
    seed: int = 7,
) -> Outcome:
    table = read_table(validated_table)
    features = params.features.all
    rng = np.random.default_rng(seed)
    repeat = len(table) < records
    normal = table.sample(n=records, replace=repeat, random_state=seed).reset_index(drop=True)
    shifted = table.sample(n=records, replace=repeat, random_state=seed + 1).reset_index(drop=True)
    say(
        f"traffic: {records:,} records a stream, drawn {'with' if repeat else 'without'} replacement "
        f"from the {len(table):,} rows of {validated_table}"
    )
    moved, category = _shifted_features(params, table)
    changes = []
    if moved:
        shifted = shift_numeric(shifted, moved, contract.columns[moved], rng)
        changes.append(f"{moved} +0.5 standard deviation")
    if category:
        shifted, top = shift_category(shifted, category, rng)
        changes.append(f"{category}: share of {top!r} changed by 20 points")
    say(f"shifted traffic: {'; '.join(changes)}")

    port = _free_port()
    base = f"http://127.0.0.1:{port}"
    log_dir = out / "log"
    # A fresh log: the windows below are the newest records, which must be this run's.
    (log_dir / LOG_FILE).unlink(missing_ok=True)
    out.mkdir(parents=True, exist_ok=True)
    server_log = out / "server.log"
    results: list[monitor.Assessment] = []
    handle: IO[bytes]
    with server_log.open("wb") as handle:
        server = subprocess.Popen(
            [sys.executable, "-m", "bentoml", "serve", bento, "--host", "127.0.0.1", "--port", str(port)],
            stdout=handle,
            stderr=subprocess.STDOUT,
            env=_server_env(log_dir),
            start_new_session=True,
        )
        try:
            started = time.monotonic()
            _wait_ready(base, server, server_log)
            say(
                f"{bento} ready on {base} after {time.monotonic() - started:.1f} s; prediction log: {log_dir}"
            )
            logged = 0
            for name, frame in (("normal", normal), ("shifted", shifted)):
                logged += _send(base, frame, features)
                _wait_logged(log_dir / LOG_FILE, logged)
                result = monitor.assess(
                    str(log_dir), profile, contract, params.monitor, monitor.Window(last=len(frame))
                )
                report.write(result, out / name)
                say(f"{len(frame):,} {name} records sent and logged -> {result.verdict}")
                results.append(result)
        finally:
            _stop(server)
    shifted_features = [name for name in (moved, category) if name]
    return Outcome(normal=results[0], shifted=results[1], shifted_features=shifted_features)
