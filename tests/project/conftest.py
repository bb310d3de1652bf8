"""Fixtures for instantiating the template (a second dataset, a table with every awkward case), and
helpers to run `make` in an instantiated project."""

from __future__ import annotations

import json
import os
from pathlib import Path

import pandas as pd
import pytest

from lastmile.project.init import TEMPLATE_README_MARK
from tests.conftest import git_add_commit, run, uv_binary


@pytest.fixture(scope="session")
def breast_cancer_csv(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """scikit-learn's breast cancer data as a CSV: 30 numeric features, a 0/1 `target`, nothing sensitive."""
    from sklearn.datasets import load_breast_cancer

    path = tmp_path_factory.mktemp("breast-cancer") / "breast_cancer.csv"
    load_breast_cancer(as_frame=True).frame.to_csv(path, index=False)
    return path


@pytest.fixture(scope="session")
def awkward_csv(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Negative and fractional numbers, gaps, a small code, a constant, an identifier, a yes/no target."""
    rows = 300
    frame = pd.DataFrame(
        {
            "Temperature (C)": [(-15 + (i * 7) % 50) + 0.25 for i in range(rows)],
            "visits": [i % 40 if i % 9 else None for i in range(rows)],
            "grade": [1 + i % 3 for i in range(rows)],
            "colour": [["red", "green", "blue"][i % 3] if i % 11 else None for i in range(rows)],
            "site": ["main"] * rows,
            "customer_id": [f"c{i:05d}" for i in range(rows)],
            "churned": ["yes" if i % 4 == 0 else "no" for i in range(rows)],
        }
    )
    path = tmp_path_factory.mktemp("awkward") / "awkward.csv"
    frame.to_csv(path, index=False)
    return path


def instance_env() -> dict[str, str]:
    """For a project instantiated from the template: its `make` finds this uv (no install from
    PyPI), skips bytecode compilation, and git commits have an author."""
    uv = uv_binary()
    identity = {"GIT_AUTHOR_NAME": "test", "GIT_AUTHOR_EMAIL": "test@example.com"}
    identity |= {"GIT_COMMITTER_NAME": "test", "GIT_COMMITTER_EMAIL": "test@example.com"}
    return {
        **os.environ,
        **identity,
        "PATH": f"{Path(uv).parent}{os.pathsep}{os.environ['PATH']}",
        "UV_COMPILE_BYTECODE": "0",
    }


def make_in(repo: Path, *args: str) -> str:
    """Run `make ARGS` in an instantiated project; its output."""
    return run(["make", "--no-print-directory", *args], cwd=repo, env=instance_env()).stdout


def gate_results(repo: Path) -> dict[str, object]:
    gates: dict[str, object] = json.loads((repo / "reports/gates.json").read_text())
    return gates


def as_template_readme(repo: Path, *, commit: bool = True) -> None:
    """In a project made from the template, init wrote its README once: mark it as the template's
    again (and commit it), so that this project's suite tests the README init writes too."""
    readme = repo / "README.md"
    if not readme.read_text().startswith(TEMPLATE_README_MARK):
        readme.write_text(f"{TEMPLATE_README_MARK} -->\n{readme.read_text()}")
        if commit:
            git_add_commit(repo, "the template's README")
