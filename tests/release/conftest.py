"""Fixtures of the release tests."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest


@pytest.fixture
def failed_gates_repo(trained_repo: Path, tmp_path: Path) -> Path:
    """A copy of the trained repository whose `reports/gates.json` says a fairness gate (`dp_group`)
    failed while the `roc_auc` floor passed."""
    repo = tmp_path / "repo"
    shutil.copytree(trained_repo, repo, symlinks=True)
    passing = {"name": "roc_auc", "kind": "floor", "value": 0.91, "threshold": 0.85, "op": ">="}
    failing = {"name": "dp_group", "kind": "fairness", "value": 0.3, "threshold": 0.2, "op": "<="}
    results = [passing | {"passed": True}, failing | {"passed": False}]
    gates = {"passed": False, "baseline": None, "gates": results}
    (repo / "reports" / "gates.json").write_text(json.dumps(gates), encoding="utf-8")
    return repo
