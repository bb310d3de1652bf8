"""Versions, tags and image names from a real git history (Conventional Commits)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from lastmile.release import ReleaseError, version
from tests.conftest import git_add_commit, run

REPOSITORY = "Acme/Lastmile"


def commit(repo: Path, message: str) -> None:
    with (repo / "log.txt").open("a") as log:
        log.write(message + "\n")
    git_add_commit(repo, message)


def tag(repo: Path, name: str) -> None:
    run(["git", "tag", name], cwd=repo)


@pytest.fixture
def history(tmp_path: Path) -> Path:
    repo = tmp_path / "history"
    repo.mkdir()
    run(["git", "init", "-q", "-b", "main"], cwd=repo)
    commit(repo, "chore: start")
    return repo


def test_first_release_is_0_1_0(history: Path) -> None:
    commit(history, "feat: a model")
    plan = version.plan_release(history, REPOSITORY)
    assert (plan.version, plan.tag, plan.previous_tag, plan.bump) == ("0.1.0", "v0.1.0", None, "first")
    head = run(["git", "rev-parse", "HEAD"], cwd=history).stdout.strip()
    assert plan.commit == head
    assert plan.image == "ghcr.io/acme/lastmile"
    assert plan.image_tags == [
        "ghcr.io/acme/lastmile:0.1.0",
        f"ghcr.io/acme/lastmile:{head}",
        "ghcr.io/acme/lastmile:latest",
    ]


@pytest.mark.parametrize(
    ("messages", "expected", "bump"),
    [
        (["fix: handle empty batches", "docs: typo"], "1.4.3", "patch"),
        (["fix: x", "feat(service): metadata endpoint"], "1.5.0", "minor"),
        (["feat!: drop the v1 payload"], "2.0.0", "major"),
        (["refactor(api)!: rename fields"], "2.0.0", "major"),
        (["feat: new field\n\nBREAKING CHANGE: records need `age`"], "2.0.0", "major"),
        (["Merge pull request #3 from someone/branch"], "1.4.3", "patch"),
    ],
)
def test_bump_follows_conventional_commits(
    history: Path, messages: list[str], expected: str, bump: str
) -> None:
    tag(history, "v1.4.2")
    for message in messages:
        commit(history, message)
    plan = version.plan_release(history, REPOSITORY)
    assert (plan.version, plan.bump, plan.previous_tag) == (expected, bump, "v1.4.2")
    assert [c.subject for c in plan.commits] == [m.split("\n")[0] for m in reversed(messages)]


def test_latest_semver_tag_on_this_branch_wins(history: Path) -> None:
    tag(history, "v0.9.0")
    commit(history, "fix: a")
    tag(history, "v0.10.0")  # numeric, not text, order: 0.10.0 > 0.9.0
    tag(history, "latest")  # not a version
    tag(history, "v1.0")  # not MAJOR.MINOR.PATCH
    run(["git", "checkout", "-q", "-b", "other"], cwd=history)
    commit(history, "feat: elsewhere")
    tag(history, "v3.0.0")  # on another branch, not merged into main
    run(["git", "checkout", "-q", "main"], cwd=history)
    commit(history, "fix: b")
    plan = version.plan_release(history, REPOSITORY)
    assert (plan.version, plan.previous_tag) == ("0.10.1", "v0.10.0")


def test_a_tagged_commit_keeps_its_version(history: Path) -> None:
    tag(history, "v0.1.0")
    commit(history, "feat: b")
    tag(history, "v0.2.0")
    plan = version.plan_release(history, REPOSITORY)
    assert (plan.version, plan.bump, plan.previous_tag) == ("0.2.0", "none", "v0.1.0")
    assert "already_released=true" in version.github_outputs(plan)


def test_explicit_version_must_be_higher(history: Path) -> None:
    tag(history, "v1.2.0")
    commit(history, "fix: a")
    assert version.plan_release(history, REPOSITORY, explicit="2.0.0").bump == "explicit"
    with pytest.raises(ReleaseError, match=r"not higher than the last release v1\.2\.0"):
        version.plan_release(history, REPOSITORY, explicit="1.2.0")
    with pytest.raises(ReleaseError, match="not a semantic version"):
        version.plan_release(history, REPOSITORY, explicit="2.0")


def test_a_rerun_for_a_released_commit_does_not_move_latest(history: Path) -> None:
    tag(history, "v0.1.0")
    commit(history, "feat: b")
    tag(history, "v0.2.0")
    commit(history, "fix: c")
    tag(history, "v0.2.1")
    run(["git", "checkout", "-q", "v0.2.0"], cwd=history)  # re-run the release of an older commit
    plan = version.plan_release(history, REPOSITORY)
    assert (plan.version, plan.bump, plan.latest) == ("0.2.0", "none", False)
    assert not any(t.endswith(":latest") for t in plan.image_tags)
    run(["git", "checkout", "-q", "main"], cwd=history)  # ...and of the newest one
    plan = version.plan_release(history, REPOSITORY)
    assert (plan.version, plan.latest) == ("0.2.1", False)
    assert "latest=false\n" in version.github_outputs(plan)
    # The version already on HEAD, given explicitly: a re-run too.
    assert version.plan_release(history, REPOSITORY, explicit="0.2.1").bump == "none"


def test_a_new_release_moves_latest_only_above_every_tag(history: Path) -> None:
    tag(history, "v1.0.0")
    commit(history, "fix: a")
    plan = version.plan_release(history, REPOSITORY)
    assert (plan.version, plan.latest) == ("1.0.1", True)
    assert plan.image_tags[-1] == "ghcr.io/acme/lastmile:latest"
    assert "latest=true\n" in version.github_outputs(plan)
    run(["git", "checkout", "-q", "-b", "next"], cwd=history)
    commit(history, "feat!: elsewhere")
    tag(history, "v2.0.0")  # a higher release on another branch
    run(["git", "checkout", "-q", "main"], cwd=history)
    plan = version.plan_release(history, REPOSITORY)
    assert (plan.version, plan.latest) == ("1.0.1", False)


@pytest.mark.parametrize("where", ["head", "ancestor", "other-branch"])
def test_an_explicit_version_below_an_existing_tag_is_refused(history: Path, where: str) -> None:
    if where == "other-branch":
        run(["git", "checkout", "-q", "-b", "other"], cwd=history)
        commit(history, "feat: elsewhere")
    tag(history, "v1.0.0")
    if where != "head":
        run(["git", "checkout", "-q", "main"], cwd=history)
        commit(history, "fix: later")
    for lower in ["0.5.0"] if where == "head" else ["0.5.0", "1.0.0"]:  # 1.0.0 on HEAD is a re-run
        with pytest.raises(ReleaseError, match=r"not higher than the last release v1\.0\.0"):
            version.plan_release(history, REPOSITORY, explicit=lower)
    assert version.plan_release(history, REPOSITORY, explicit="1.1.0").latest


@pytest.mark.parametrize(
    ("remote", "expected"),
    [
        ("git@github.com:Acme/Thing.git", "ghcr.io/acme/thing"),
        ("https://github.com/acme/thing", "ghcr.io/acme/thing"),
        ("https://gitlab.com/acme/thing.git", "ghcr.io/local/lastmile"),
        (None, "ghcr.io/local/lastmile"),
    ],
)
def test_image_name_defaults_to_the_github_remote(history: Path, remote: str | None, expected: str) -> None:
    if remote:
        run(["git", "remote", "add", "origin", remote], cwd=history)
    assert version.plan_release(history).image == expected


def test_bad_repository_and_no_git(tmp_path: Path, history: Path) -> None:
    with pytest.raises(ReleaseError, match="OWNER/NAME"):
        version.plan_release(history, "not a repo")
    with pytest.raises(ReleaseError, match="git rev-parse HEAD"):
        version.plan_release(tmp_path, REPOSITORY)


def test_version_command_prints_the_plan(history: Path) -> None:
    tag(history, "v0.3.0")
    commit(history, "feat: more")
    outputs = history / "github_output"
    command = ["lastmile", "release", "version", "--repository", REPOSITORY, "--github-output", str(outputs)]
    result = run(command, cwd=history)
    assert json.loads(result.stdout)["version"] == "0.4.0"
    assert "version=0.4.0\ntag=v0.4.0\nprevious_tag=v0.3.0\n" in outputs.read_text()
    bad = run(["lastmile", "release", "version", "--version", "0.1.0"], cwd=history, check=False)
    assert bad.returncode == 1 and "not higher than the last release v0.3.0" in bad.stderr
    assert "Traceback" not in bad.stderr


def test_the_project_image_replaces_the_remote_default(history: Path) -> None:
    """params.yaml `project.image`, when set, names the release image."""
    plan = version.plan_release(history, REPOSITORY, image="registry.example.com/team/model")
    assert plan.image == "registry.example.com/team/model"
    assert plan.image_tags[0] == f"registry.example.com/team/model:{plan.version}"
