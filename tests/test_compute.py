from __future__ import annotations

import os
from pathlib import Path

import pytest
from threadpoolctl import threadpool_info

from lastmile.compute import THREADS_ENV, available_cpus, limited_threads, thread_count
from lastmile.errors import LastmileError

AFFINITY = len(os.sched_getaffinity(0))


def _cpu_max(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "cpu.max"
    path.write_text(text)
    return path


def test_a_cgroup_quota_caps_the_cpus(tmp_path: Path) -> None:
    assert available_cpus(_cpu_max(tmp_path, "max 100000\n")) == AFFINITY
    assert available_cpus(_cpu_max(tmp_path, "50000 100000\n")) == 1  # half a CPU still gets one thread
    assert available_cpus(tmp_path / "absent") == AFFINITY
    assert available_cpus(_cpu_max(tmp_path, "garbage")) == AFFINITY


def test_busy_cpus_are_left_alone(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv(THREADS_ENV, raising=False)
    unlimited = _cpu_max(tmp_path, "max 100000")
    assert thread_count(unlimited, load=0.0) == AFFINITY
    assert thread_count(unlimited, load=AFFINITY + 10.0) == 1
    assert 1 <= thread_count(unlimited) <= AFFINITY


def test_the_environment_overrides(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(THREADS_ENV, "3")
    assert thread_count(load=99.0) == 3
    for bad in ("0", "-1", "two", "1.5"):
        monkeypatch.setenv(THREADS_ENV, bad)
        with pytest.raises(LastmileError, match=THREADS_ENV):
            thread_count()


def test_the_limit_reaches_openmp(monkeypatch: pytest.MonkeyPatch) -> None:
    import sklearn.ensemble  # noqa: F401  (loads scikit-learn's OpenMP runtime)

    monkeypatch.setenv(THREADS_ENV, "1")
    with limited_threads() as threads:
        assert threads == 1
        assert {pool["num_threads"] for pool in threadpool_info() if pool["user_api"] == "openmp"} == {1}
