"""The "Use this template" path end to end: `make init` in a copy of the template, then a real
`make run`, then init again with the same answers changes nothing.

Slow (a fresh .venv and a pipeline run). The copier path is in test_instantiate_copier.py, a file of
its own so that the two run on different pytest workers.
"""

from __future__ import annotations

import shlex
import shutil
from pathlib import Path

import pytest
import yaml

from lastmile.params import Params
from tests.conftest import _copy_repo, git_add_commit, run
from tests.project.conftest import gate_results, make_in

# A fresh .venv and a pipeline run: minutes on a quiet machine, more than the suite's 900 s per test
# under heavy load.
pytestmark = [pytest.mark.slow, pytest.mark.timeout(1800)]


def test_init_then_make_run(tmp_path: Path, sample_source: Path, params: Params) -> None:
    repo = _copy_repo(tmp_path / "mine")
    shutil.copy(sample_source, repo / "data" / "sample.csv")
    git_add_commit(repo, "our data")
    options = [
        "--no-input",
        "--name",
        "my-model",
        "--github-owner",
        "acme",
        "--source",
        "data/sample.csv",
        "--target",
        params.target.column,
        "--positive",
        str(params.target.positive),
        "--sensitive",
        ",".join(params.features.sensitive[:1]),
    ]
    arguments = "ARGS=" + " ".join(shlex.quote(option) for option in options)
    assert "make run" in make_in(repo, "init", arguments)
    git_add_commit(repo, "made it ours")

    summary = make_in(repo, "run")
    assert "trained on" in summary and "data/sample.csv" in summary
    assert gate_results(repo)["passed"] is True
    assert set(yaml.safe_load((repo / "params.yaml").read_text())["gates"]["fairness"]) == set(
        params.features.sensitive[:1]
    )
    git_add_commit(repo, "first model")
    # Same answers after training: nothing changes, the model stays.
    assert "nothing to change" in make_in(repo, "init", arguments)
    assert run(["git", "status", "--porcelain"], cwd=repo).stdout == ""
