"""`lastmile.git`: the one module that runs git, on real repositories."""

from __future__ import annotations

import re
import subprocess
from pathlib import Path

import pytest

from lastmile import git
from lastmile.errors import LastmileError

PACKAGE = Path(git.__file__).parent


def _repo(path: Path, origin: str | None = None) -> Path:
    path.mkdir(parents=True, exist_ok=True)
    subprocess.run(["git", "init", "-q", "-b", "main"], cwd=path, check=True)
    if origin is not None:
        subprocess.run(["git", "remote", "add", "origin", origin], cwd=path, check=True)
    return path


@pytest.mark.parametrize(
    ("origin", "repository"),
    [
        ("https://github.com/acme/churn-model.git", "acme/churn-model"),
        ("https://github.com/acme/churn-model", "acme/churn-model"),
        ("https://github.com/acme/churn-model/", "acme/churn-model"),
        ("git@github.com:Acme-Labs/churn_model.v2.git", "Acme-Labs/churn_model.v2"),
        ("ssh://git@github.com/acme/churn-model.git", "acme/churn-model"),
        ("https://gitlab.com/acme/churn-model.git", None),
        ("https://github.com/acme", None),  # an owner, no repository
        ("https://github.com/acme/churn-model/tree/main", None),  # a page, not a remote
        ("https://github.com/ac_me/churn-model.git", None),  # `_` is not allowed in GitHub owners
    ],
)
def test_the_github_repository_of_origin(tmp_path: Path, origin: str, repository: str | None) -> None:
    assert git.github_repository(_repo(tmp_path / "repo", origin)) == repository


def test_no_origin_and_no_repository_are_answers_not_errors(tmp_path: Path) -> None:
    assert git.github_repository(_repo(tmp_path / "repo")) is None
    outside = tmp_path / "plain"
    outside.mkdir()
    assert git.github_repository(outside) is None
    assert git.output("rev-parse", "--git-dir", cwd=outside) is None
    assert git.output("status", "--porcelain", cwd=_repo(tmp_path / "repo")) == ""


def test_run_names_the_command_and_gits_message(tmp_path: Path) -> None:
    with pytest.raises(LastmileError, match=r"`git rev-parse --verify nope` failed in .*: fatal"):
        git.run("rev-parse", "--verify", "nope", cwd=_repo(tmp_path / "repo"))


def test_git_is_run_only_by_lastmile_git() -> None:
    """One wrapper: the others ask `lastmile.git` (they used to run `git` with their own error handling)."""
    runs_git = re.compile(r"""\[\s*["']git["']""")
    callers = [
        str(path.relative_to(PACKAGE))
        for path in sorted(PACKAGE.rglob("*.py"))
        if path != Path(git.__file__) and runs_git.search(path.read_text(encoding="utf-8"))
    ]
    assert callers == []
