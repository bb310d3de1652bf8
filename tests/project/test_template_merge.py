"""The "Use this template" path's updates (docs/making-it-yours.md, "Taking template improvements"):
after `lastmile init`, a git merge from the template brings its later changes in; the README init
wrote is the project's (the one conflict, kept as ours), copier's files merge without conflict."""

from __future__ import annotations

import os
import subprocess
from pathlib import Path

from lastmile.project.init import COPIER_FILES
from tests.conftest import _copy_repo, run
from tests.project.conftest import as_template_readme


def _commit(repo: Path, message: str, when: str, *, amend: bool = False) -> None:
    """Commit everything at a given time (the documented commands find the start by date);
    `amend`: the last commit instead."""
    stamp = {"GIT_AUTHOR_DATE": when, "GIT_COMMITTER_DATE": when}
    identity = {"GIT_AUTHOR_NAME": "test", "GIT_AUTHOR_EMAIL": "t@example.com"}
    identity |= {"GIT_COMMITTER_NAME": "test", "GIT_COMMITTER_EMAIL": "t@example.com"}
    run(["git", "add", "-A"], cwd=repo)
    command = ["git", "commit", "-qm", message, *(["--amend", f"--date={when}"] if amend else [])]
    run(command, cwd=repo, env={**os.environ, **stamp, **identity})


def _git(repo: Path, *args: str, check: bool = True) -> subprocess.CompletedProcess[str]:
    identity = {"GIT_AUTHOR_NAME": "test", "GIT_AUTHOR_EMAIL": "t@example.com"}
    identity |= {"GIT_COMMITTER_NAME": "test", "GIT_COMMITTER_EMAIL": "t@example.com"}
    return run(["git", *args], cwd=repo, check=check, env={**os.environ, **identity})


def test_a_template_improvement_merges_into_a_project_made_with_init(
    tmp_path: Path, breast_cancer_csv: Path
) -> None:
    template = _copy_repo(tmp_path / "template")
    as_template_readme(template, commit=False)  # the amend below commits it
    _commit(template, "template as it was", "2026-01-01T10:00:00", amend=True)
    # "Use this template": the same files in a repository of its own, with a fresh history.
    project = _copy_repo(tmp_path / "project")
    as_template_readme(project, commit=False)
    _commit(project, "Initial commit", "2026-01-02T10:00:00", amend=True)
    options = ["--name", "tumour-screen", "--github-owner", "acme", "--source", str(breast_cancer_csv)]
    options += ["--target", "target", "--positive", "1", "--sensitive", ""]
    run(["lastmile", "init", "--no-input", *options], cwd=project)
    _commit(project, "Make it ours", "2026-01-02T11:00:00")
    ours = (project / "README.md").read_text()
    gone = _git(project, "diff", "--name-only", "--diff-filter=D", "HEAD~", "HEAD").stdout.split()

    # The template improves later: its docs, its README, copier's questions.
    for name in ["CONTRIBUTING.md", "README.md", *COPIER_FILES]:
        if (template / name).is_file():
            with (template / name).open("a") as changed:
                changed.write("\n# A later template improvement.\n")
    _commit(template, "template: a later improvement", "2026-02-01T10:00:00")

    # The documented commands, as written there.
    _git(project, "remote", "add", "template", str(template))
    _git(project, "fetch", "-q", "template")
    first = _git(project, "log", "--reverse", "--format=%cI").stdout.splitlines()[0]
    start = _git(project, "log", "-1", "--format=%H", "template/main", f"--until={first}").stdout.strip()
    _git(project, "merge", "-s", "ours", "--allow-unrelated-histories", "-m", "Record the start", start)
    merged = _git(project, "merge", "template/main", check=False)
    conflicts = _git(project, "diff", "--name-only", "--diff-filter=U").stdout.split()
    assert conflicts == ["README.md"], merged.stdout + merged.stderr
    _git(project, "checkout", "--ours", "--", "README.md")
    _git(project, "add", "README.md")
    _git(project, "commit", "-qm", "Update from the template")

    assert (project / "README.md").read_text() == ours
    for name in ["CONTRIBUTING.md", *COPIER_FILES]:
        if (template / name).is_file():
            assert (project / name).read_text().endswith("# A later template improvement.\n"), name
    # What init removed (the example's data, lock and reports) does not come back.
    assert not [name for name in gone if (project / name).exists()]
