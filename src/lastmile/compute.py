"""How many threads the numeric libraries may use: the CPUs this process can actually get.

OpenMP (scikit-learn's gradient boosting) and BLAS start one thread per core they see, and on a
busy or CPU-limited machine those threads spin waiting for each other: `train` once took 12.9 s
with the default threads and 4.5 s with one, on a loaded 2-core machine. So the count comes from
the affinity mask, a cgroup CPU quota (containers, CI) and the load already on the machine, and
`LASTMILE_THREADS` overrides it. The thread count never changes a result, only the time.
"""

from __future__ import annotations

import math
import os
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from lastmile.errors import LastmileError

THREADS_ENV = "LASTMILE_THREADS"
CGROUP_CPU_MAX = Path("/sys/fs/cgroup/cpu.max")


def _cgroup_quota(cpu_max: Path) -> float | None:
    """CPUs allowed by a cgroup v2 quota (`cpu.max` = "QUOTA PERIOD", or "max PERIOD" for none)."""
    try:
        quota, period = cpu_max.read_text(encoding="ascii").split()[:2]
    except (OSError, ValueError):
        return None
    if quota == "max":
        return None
    return int(quota) / int(period)


def available_cpus(cpu_max: Path = CGROUP_CPU_MAX) -> int:
    """CPUs this process may run on: its affinity mask, capped by a cgroup CPU quota."""
    try:
        count = len(os.sched_getaffinity(0))
    except AttributeError:  # pragma: no cover - not on Linux
        count = os.cpu_count() or 1
    quota = _cgroup_quota(cpu_max)
    if quota is not None:
        count = min(count, max(1, math.floor(quota)))
    return max(1, count)


def thread_count(cpu_max: Path = CGROUP_CPU_MAX, load: float | None = None) -> int:
    """Threads for a compute-bound step: available CPUs not already busy (at least one)."""
    override = os.environ.get(THREADS_ENV)
    if override:
        if not override.isdigit() or int(override) < 1:
            raise LastmileError(f"{THREADS_ENV}={override!r}: expected a whole number of threads, 1 or more.")
        return int(override)
    cpus = available_cpus(cpu_max)
    busy = os.getloadavg()[0] if load is None else load
    return max(1, min(cpus, round(cpus - busy)))


@contextmanager
def limited_threads() -> Iterator[int]:
    """Limit OpenMP and BLAS threads to `thread_count()` inside the block; yields the count."""
    from threadpoolctl import threadpool_limits

    threads = thread_count()
    with threadpool_limits(limits=threads):
        yield threads
