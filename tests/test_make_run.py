"""`make run` as a new user runs it: one model, one bento, one verdict; a second run builds nothing."""

from __future__ import annotations

import json
import os
import shutil
from pathlib import Path

import pytest

from tests.conftest import LEARNS_NOTHING, _copy_repo, git_add_commit, run, serving_env, set_source, uv_binary


def _make(repo: Path, home: Path, *targets: str) -> str:
    """`make` in `repo` with this environment's tools (no `uv sync`), the BentoML store at `home`."""
    # Gitignored markers, newer than uv.lock: make sees both environments (full and run-only) as set up.
    (repo / ".venv").mkdir(exist_ok=True)
    for marker in (".synced", ".synced-run"):
        (repo / ".venv" / marker).touch()
    result = run(
        ["make", "--no-print-directory", f"UV={uv_binary()}", *targets],
        cwd=repo,
        env={**serving_env(home), "BENTOML_HOME": str(home)},
    )
    return result.stdout + result.stderr


def _bentos(repo: Path, home: Path) -> list[str]:
    listed = run(["bentoml", "list", "-o", "json"], cwd=repo, env=serving_env(home)).stdout
    return [str(b["tag"]) for b in json.loads(listed)]


@pytest.fixture(scope="module")
def made(tmp_path_factory: pytest.TempPathFactory, sample_source: Path) -> tuple[Path, Path, str]:
    """A template copy on the sample, after one `make run`, committed: (repo, BentoML home, output)."""
    repo = _copy_repo(tmp_path_factory.mktemp("make-run") / "repo")
    set_source(repo, sample_source)
    git_add_commit(repo, "the sample as data source")
    home = tmp_path_factory.mktemp("bentoml-home")
    output = _make(repo, home, "run")
    git_add_commit(repo, "first make run")
    return repo, home, output


def test_second_make_run_builds_nothing_and_serves_the_summarised_bento(made: tuple[Path, Path, str]) -> None:
    repo, home, first = made
    assert "Running stage 'train'" in first
    tag_file = home / "bento.tag"
    tag = tag_file.read_text(encoding="utf-8").strip()
    assert _bentos(repo, home) == [tag]
    assert f"bento       {tag} " in first  # the summary shows the tag `make serve` serves
    stamp = tag_file.stat().st_mtime_ns

    second = _make(repo, home, "run")

    assert (
        "Running stage" not in second and "lastmile package" not in second and "bento lastmile:" not in second
    )
    assert tag_file.stat().st_mtime_ns == stamp and _bentos(repo, home) == [tag]
    assert f"bento       {tag} " in second
    assert run(["git", "status", "--porcelain"], cwd=repo).stdout == ""


def test_report_after_an_experiment_shows_the_gates_of_what_it_reports(
    made: tuple[Path, Path, str], tmp_path: Path
) -> None:
    """Gates pass on the committed model; an experiment learning nothing fails a floor; then make report."""
    repo = tmp_path / "repo"
    shutil.copytree(made[0], repo, symlinks=True)
    home = tmp_path / "home"
    run(["lastmile", "gate", "--base", "main"], cwd=repo)  # passes: reports/gates.json says so
    assert json.loads((repo / "reports/gates.json").read_text())["passed"] is True
    # Raising a floor alone fails nothing when the model is perfect (a small, easy test split).
    run(
        ["dvc", "exp", "run", *LEARNS_NOTHING, "-S", "gates.floors.roc_auc=0.75"],
        cwd=repo,
        env=os.environ.copy(),
    )

    _make(repo, home, "report")

    verdict = json.loads((repo / "reports/pr/verdict.json").read_text(encoding="utf-8"))
    gate = run(["lastmile", "gate", "--base", "main"], cwd=repo, check=False)
    assert gate.returncode == 1 and verdict["conclusion"] == "failure"
    assert "roc_auc floor" in verdict["title"]
    markdown = (repo / "reports/pr/report.md").read_text(encoding="utf-8")
    assert markdown.splitlines()[0] == f"### ❌ {verdict['title']}"
