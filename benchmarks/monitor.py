"""Drift monitor on 100,000 and 1,000,000 logged records: time and peak memory (1M: < 5 s, < 500 MB).

Logs are written once (held-out rows resampled and scored by the model, in the prediction log format)
under benchmarks/.cache/, as the service writes them: `predictions.jsonl` rotated every 100 MiB
(`.jsonl.1`, `.jsonl.2`, ...), which the monitor reads in parallel, one file per available CPU. The
1,000,000 records are also measured as one file (read by one thread). Each measurement runs in a
fresh process and reads its own peak resident memory (VmHWM: ru_maxrss would carry over this
parent's peak through fork and exec); the same process
measured after the imports only gives the baseline, and `pandas.read_json(lines=True)` of the
100,000-record log (the whole log in memory) the naive one.

Run after `dvc repro`: `python benchmarks/monitor.py` (part of `make bench`).
"""

from __future__ import annotations

import json
import os
import resource
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
CACHE = ROOT / "benchmarks" / ".cache"
SIZES = (100_000, 1_000_000)


def _write_log(path: Path, size: int) -> None:
    import numpy as np

    from lastmile import paths
    from lastmile.data import read_table
    from lastmile.model import load_model, positive_proba
    from lastmile.monitoring.shifts import log_lines
    from lastmile.params import load_params

    params = load_params()
    pipeline, metadata = load_model(paths.MODEL_DIR)
    test = read_table(paths.TEST_TABLE)
    features = params.features.all
    # Score 20,000 resampled rows once and repeat them: the reader's work does not depend on it.
    frame = test.sample(n=20_000, replace=True, random_state=0).reset_index(drop=True)
    proba = positive_proba(pipeline, frame[features], params.target.positive)
    labels = np.where(proba >= 0.5, params.target.positive, "other")
    lines = list(log_lines(frame[features].to_dict("records"), proba, labels, metadata.model_version))
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("w", encoding="utf-8") as handle:
        for start in range(0, size, len(lines)):
            handle.writelines(lines[: min(len(lines), size - start)])


def _rotate(log: Path, folder: Path) -> None:
    """`log` cut as the service's writer rotates it: files of at most max_bytes, oldest numbered highest."""
    from lastmile.monitoring.prediction_log import LogSettings

    limit = LogSettings.model_fields["max_bytes"].default
    chunks: list[list[str]] = [[]]
    size = 0
    with log.open(encoding="utf-8") as handle:
        for line in handle:
            if size and size + len(line) > limit:
                chunks.append([])
                size = 0
            chunks[-1].append(line)
            size += len(line)
    folder.mkdir(parents=True, exist_ok=True)
    for age, chunk in enumerate(reversed(chunks)):
        name = "predictions.jsonl" + (f".{age}" if age else "")
        (folder / name).write_text("".join(chunk), encoding="utf-8")


def _peak_resident_kb() -> int:
    """This process's own peak resident memory (Linux), in KiB."""
    for line in Path("/proc/self/status").read_text(encoding="ascii").splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1])
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss  # elsewhere: the best available


def _child(mode: str, log: str) -> None:
    """One measurement, in this (fresh) process: prints seconds and peak memory as JSON."""
    from lastmile import paths
    from lastmile.contract import load_contract
    from lastmile.monitoring import monitor, profile
    from lastmile.params import load_params

    started = time.perf_counter()
    before = resource.getrusage(resource.RUSAGE_SELF)
    if mode == "assess":
        result = monitor.assess(
            log, profile.load(paths.PROFILE), load_contract(), load_params().monitor, monitor.Window()
        )
        records = result.records
    elif mode == "pandas":
        import pandas as pd

        records = len(pd.read_json(log, lines=True))
    else:
        records = 0
    seconds = time.perf_counter() - started
    usage = resource.getrusage(resource.RUSAGE_SELF)
    # CPU seconds (all threads) say more than wall time on a machine shared with other work.
    cpu = usage.ru_utime + usage.ru_stime - before.ru_utime - before.ru_stime
    peak_mb = _peak_resident_kb() / 1024
    print(json.dumps({"seconds": seconds, "cpu_seconds": cpu, "peak_mb": peak_mb, "records": records}))


def _measure(mode: str, log: Path) -> dict[str, float]:
    out = subprocess.run(
        [sys.executable, __file__, "--child", mode, str(log)],
        cwd=ROOT,
        capture_output=True,
        text=True,
        check=True,
    )
    return json.loads(out.stdout.strip().splitlines()[-1])  # type: ignore[no-any-return]


def main() -> None:
    logs = {}
    for size in SIZES:
        log = CACHE / f"predictions-{size}.jsonl"
        if not log.exists():
            print(f"writing {size:,} logged records to {log} ...", flush=True)
            _write_log(log, size)
        rotated = CACHE / f"rotated-{size}"
        if not rotated.exists():
            _rotate(log, rotated)
        logs[size] = log
    baseline = _measure("imports", logs[SIZES[0]])
    print(f"baseline: imports only, peak {baseline['peak_mb']:.0f} MB")
    figures = {}
    for size, log in logs.items():
        megabytes = log.stat().st_size / 1e6
        rotated = CACHE / f"rotated-{size}"
        files = len(list(rotated.iterdir()))
        for label, where in [(f"{files} rotated file(s)", rotated), ("one file", log)]:
            if label == "one file" and files == 1:
                continue
            result = _measure("assess", where)
            figures.setdefault(size, result)  # the rotated log, as the service writes it
            print(
                f"monitor, {size:>9,} records ({megabytes:,.0f} MB of JSON lines, {label}): "
                f"{result['seconds']:.2f} s ({result['cpu_seconds']:.2f} s CPU), "
                f"{size / result['seconds']:,.0f} records/s, peak {result['peak_mb']:.0f} MB "
                f"({result['peak_mb'] - baseline['peak_mb']:+.0f} MB over the imports)"
            )
    small, large = figures[SIZES[0]], figures[SIZES[-1]]
    print(
        f"1M vs 100k: time x{large['seconds'] / small['seconds']:.1f}, "
        f"peak memory x{large['peak_mb'] / small['peak_mb']:.2f} "
        "(bounded: it grows with the parallel readers, not with the log)"
    )
    naive = _measure("pandas", logs[SIZES[0]])
    print(
        f"naive pandas.read_json(lines=True), {SIZES[0]:,} records, load only: {naive['seconds']:.2f} s, "
        f"peak {naive['peak_mb']:.0f} MB -> the monitor is x{naive['seconds'] / small['seconds']:.1f} faster "
        f"and uses x{naive['peak_mb'] / small['peak_mb']:.1f} less memory"
    )
    target = "met" if large["seconds"] < 5 and large["peak_mb"] < 500 else "NOT met"
    print(f"target for 1,000,000 records (< 5 s, < 500 MB): {target}")
    print(
        f"load average while measuring: {os.getloadavg()[0]:.1f} (wall times are noisy above the core count)"
    )


if __name__ == "__main__":
    if len(sys.argv) == 4 and sys.argv[1] == "--child":
        _child(sys.argv[2], sys.argv[3])
    else:
        main()
