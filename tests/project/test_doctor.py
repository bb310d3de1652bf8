"""`lastmile doctor` in a git copy of the template: local checks, DVC remotes, the GitHub list."""

from __future__ import annotations

import re
from pathlib import Path

from tests.conftest import ROOT, run


def _doctor(repo: Path, **env: str) -> tuple[int, str]:
    import os

    result = run(["lastmile", "doctor"], cwd=repo, check=False, env={**os.environ, **env})
    return result.returncode, result.stdout + result.stderr


def _line(output: str, topic: str) -> str:
    return next(line for line in output.splitlines() if f"  {topic}" in line)


def test_fresh_copy_warns_and_lists_what_github_needs(repo_copy: Path) -> None:
    code, output = _doctor(repo_copy)
    assert code == 0, output
    assert _line(output, "configuration").split()[0] == "ok"
    assert _line(output, "origin remote").split()[0] == "warn"
    assert "git remote add origin" in output
    # Every secret and variable the workflows read is listed, with how to set it.
    read = set(
        re.findall(
            r"\$\{\{[^}]*?\b(?:secrets|vars)\.(\w+)",
            "".join(p.read_text() for p in (ROOT / ".github/workflows").glob("*.yml")),
        )
    )
    for name in read - {"GITHUB_TOKEN"}:
        line = next(text for text in output.splitlines() if re.search(rf"(secret|variable) {name}\b", text))
        assert line.split()[0] == "todo", line
    assert "gh secret set DVC_REMOTE_URL --repo OWNER/NAME" in output
    assert "gh variable set TRAINING_RUNNER" in output
    assert "branch protection" in output and "'Train, gate and report'" in output
    assert "packages: write" in output


def test_github_origin_and_names(repo_copy: Path) -> None:
    run(["git", "remote", "add", "origin", "git@github.com:acme/tumour-screen.git"], cwd=repo_copy)
    code, output = _doctor(repo_copy)
    assert code == 0
    assert "GitHub repository acme/tumour-screen" in _line(output, "origin remote")
    assert "gh secret set DVC_REMOTE_URL --repo acme/tumour-screen" in output


def test_dvc_remote_reachable_or_failing(repo_copy: Path, tmp_path: Path) -> None:
    store = tmp_path / "store"
    store.mkdir()
    run(["dvc", "remote", "add", "--local", "store", str(store)], cwd=repo_copy)
    code, output = _doctor(repo_copy)
    assert code == 0 and f"{store} reachable" in output
    store.rmdir()
    code, output = _doctor(repo_copy)
    assert code == 1
    assert _line(output, f"DVC remote {store}").split()[0] == "fail"


def test_dvc_remote_url_from_the_environment(repo_copy: Path, tmp_path: Path) -> None:
    code, output = _doctor(repo_copy, DVC_REMOTE_URL=str(tmp_path / "missing"))
    assert code == 1 and "not found" in _line(output, "DVC remote")


def test_broken_configuration_fails(repo_copy: Path) -> None:
    (repo_copy / "params.yaml").write_text("project: {}\n")
    code, output = _doctor(repo_copy)
    assert code == 1
    assert _line(output, "configuration").split()[0] == "fail"
