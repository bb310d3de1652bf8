"""The GitHub workflows stay thin and call only what exists: make targets and `lastmile` commands.

Also the properties the fork-safe PR pair relies on, read from the YAML itself.
"""

from __future__ import annotations

import importlib.util
import re
import shlex
import subprocess
from pathlib import Path
from typing import Any

import pytest
import yaml
from typer.testing import CliRunner

from lastmile.cli import app

ROOT = Path(__file__).resolve().parents[1]
WORKFLOWS = sorted((ROOT / ".github/workflows").glob("*.yml"))
PINNED = re.compile(r"^[\w.-]+/[\w./-]+@[0-9a-f]{40}$")


def _load(path: Path) -> dict[str, Any]:
    data: dict[str, Any] = yaml.safe_load(path.read_text(encoding="utf-8"))
    return data


def _steps(workflow: dict[str, Any]) -> list[dict[str, Any]]:
    return [step for job in workflow["jobs"].values() for step in job.get("steps", [])]


def _commands(script: str) -> list[list[str]]:
    """Each simple command of a `run:` script, as words (shell operators split commands)."""
    commands = []
    for line in script.replace("\\\n", " ").splitlines():
        for part in re.split(r"&&|\|\||;|\|", line):
            words = shlex.split(part, comments=True) if part.strip() else []
            while words and re.fullmatch(r"[A-Z_]+=\S*", words[0]):  # leading VAR=value
                words = words[1:]
            if words:
                commands.append(words)
    return commands


def _make_targets() -> set[str]:
    text = (ROOT / "Makefile").read_text(encoding="utf-8")
    return set(re.findall(r"^([a-zA-Z0-9][\w.-]*)\s*:(?!=)", text, flags=re.MULTILINE))


CALLS = [
    (path.name, words)
    for path in WORKFLOWS
    for step in _steps(_load(path))
    if "run" in step
    for words in _commands(step["run"])
]


def test_workflows_call_something() -> None:
    assert {"pr.yml", "pr-comment.yml"} <= {path.name for path in WORKFLOWS}
    assert any(words[0] == "make" for _, words in CALLS)


@pytest.mark.parametrize(("workflow", "words"), [c for c in CALLS if c[1][0] == "make"], ids=str)
def test_every_make_target_exists(workflow: str, words: list[str]) -> None:
    targets = [w for w in words[1:] if not w.startswith("-") and "=" not in w]
    assert targets, f"{workflow}: bare `make` runs the help target; name one"
    missing = set(targets) - _make_targets()
    assert not missing, f"{workflow} calls make {sorted(missing)}, which the Makefile lacks"


@pytest.mark.parametrize(
    ("workflow", "words"), [c for c in CALLS if Path(c[1][0]).name == "lastmile"], ids=str
)
def test_every_lastmile_command_exists(workflow: str, words: list[str]) -> None:
    args = [w for w in words[1:] if not w.startswith("-")]
    # A group and its command, or a command: its help's usage line names the whole path.
    for depth in (2, 1):
        result = CliRunner().invoke(app, [*args[:depth], "--help"])
        usage = next((line for line in result.output.splitlines() if "Usage:" in line), "")
        if result.exit_code == 0 and f" {' '.join(args[:depth])} " in usage:
            return
    pytest.fail(f"{workflow} calls `lastmile {' '.join(args[:2])}`, which does not exist")


@pytest.mark.parametrize(
    ("workflow", "words"), [c for c in CALLS if len(c[1]) > 2 and c[1][1] == "-m"], ids=str
)
def test_every_python_module_exists(workflow: str, words: list[str]) -> None:
    module = words[2]
    if module.split(".")[0] != "lastmile":  # the standard library's (`python3 -m venv`)
        assert importlib.util.find_spec(module) is not None, f"{workflow}: no {module}"
        return
    assert (ROOT / "src" / Path(*module.split("."))).with_suffix(".py").is_file(), f"{workflow}: no {module}"


@pytest.mark.parametrize("path", WORKFLOWS, ids=lambda p: p.name)
def test_actions_are_pinned_by_sha_with_a_version_comment(path: Path) -> None:
    for line in path.read_text(encoding="utf-8").splitlines():
        match = re.match(r"\s*(?:-\s+)?uses:\s*(\S+)(.*)", line)
        if match and not match.group(1).startswith("./"):
            assert PINNED.match(match.group(1)), f"{path.name}: {match.group(1)} is not pinned by SHA"
            assert re.match(r"\s*# v\d", match.group(2)), (
                f"{path.name}: {line.strip()} has no version comment"
            )


def test_pr_workflow_is_read_only_and_reports_before_failing() -> None:
    workflow = _load(ROOT / ".github/workflows/pr.yml")
    assert workflow["permissions"] == {"contents": "read"}
    assert all("permissions" not in job for job in workflow["jobs"].values())
    steps = _steps(workflow)
    names = [step.get("run", step.get("uses", "")) for step in steps]
    gate = next(i for i, step in enumerate(steps) if "make gate" in step.get("run", ""))
    upload = next(i for i, name in enumerate(names) if "upload-artifact" in name)
    assert steps[gate].get("continue-on-error") is True and gate < upload < len(steps) - 1
    assert steps[-1]["if"] == f"steps.{steps[gate]['id']}.outcome == 'failure'"


def test_comment_workflow_never_runs_pr_code() -> None:
    workflow = _load(ROOT / ".github/workflows/pr-comment.yml")
    triggers = workflow[True] if True in workflow else workflow["on"]  # YAML 1.1 reads `on` as true
    assert set(triggers) == {"workflow_run"}
    assert triggers["workflow_run"]["workflows"] == [_load(ROOT / ".github/workflows/pr.yml")["name"]]
    assert workflow["permissions"] == {}
    (job,) = workflow["jobs"].values()
    assert job["permissions"] == {
        "actions": "read",
        "contents": "read",
        "pull-requests": "write",
        "checks": "write",
    }
    for step in job["steps"]:
        if "checkout" in step.get("uses", ""):
            assert "ref" not in step.get("with", {}) and "repository" not in step.get("with", {})
        assert "head_sha" not in str(step.get("with", {}))
        # The PR number reaches commands only after validation, through the validated output.
        assert "pr-report/pr" not in step.get("run", "").replace("pr-report/report.md", "").replace(
            "pr-report/summary.md", ""
        ).replace("pr-report --pull", "")
    posting = " ".join(step.get("run", "") for step in job["steps"])
    assert "cml comment update" in posting and '--target="pr/$PR_NUMBER"' in posting


def test_a_private_repository_without_attestations_still_releases() -> None:
    steps = _load(ROOT / ".github/workflows/release.yml")["jobs"]["image"]["steps"]
    attest = next(i for i, step in enumerate(steps) if "attest-build-provenance" in step.get("uses", ""))
    # Public repositories always have attestations: there a failure still fails the release.
    assert steps[attest]["continue-on-error"] == "${{ github.event.repository.private }}"
    notice = steps[attest + 1]
    assert notice["if"] == f"steps.{steps[attest]['id']}.outcome == 'failure'"
    assert "::notice" in notice["run"]


def test_release_moves_latest_and_pins_the_base_image_as_the_package_says() -> None:
    workflow = _load(ROOT / ".github/workflows/release.yml")
    outputs = workflow["jobs"]["prepare"]["outputs"]
    assert outputs["latest"] == "${{ steps.prepare.outputs.latest }}"
    assert outputs["base_image"] == "${{ steps.prepare.outputs.base_image }}"
    build = next(s for s in workflow["jobs"]["image"]["steps"] if "build-push-action" in s.get("uses", ""))
    assert build["with"]["build-args"] == "BASE_IMAGE=${{ needs.prepare.outputs.base_image }}"
    release = next(s for s in workflow["jobs"]["publish"]["steps"] if "gh-release" in s.get("uses", ""))
    assert release["with"]["make_latest"] == "${{ needs.prepare.outputs.latest }}"


def test_make_help_lists_every_target() -> None:
    text = (ROOT / "Makefile").read_text(encoding="utf-8")
    phony = set(" ".join(re.findall(r"^\.PHONY:(.*)$", text, flags=re.MULTILINE)).split())
    result = subprocess.run(
        ["make", "--no-print-directory", "help"], cwd=ROOT, capture_output=True, text=True, check=True
    )
    listed = set(re.findall(r"^  make (\S+)", result.stdout, flags=re.MULTILINE))
    assert "lint-k8s" in listed
    assert phony <= listed, f"`make help` misses {sorted(phony - listed)}"


def test_dvc_plots_output_is_git_ignored() -> None:
    ignored = subprocess.run(["git", "check-ignore", "-q", "dvc_plots/index.html"], cwd=ROOT, check=False)
    assert ignored.returncode == 0, "`dvc plots show` writes dvc_plots/: add it to .gitignore"


def test_comment_job_installs_cml_and_the_parser_without_scripts_or_telemetry() -> None:
    (job,) = _load(ROOT / ".github/workflows/pr-comment.yml")["jobs"].values()
    assert job["env"]["ITERATIVE_DO_NOT_TRACK"] == "true"
    runs = [step.get("run", "") for step in job["steps"]]
    npm = next(words for run in runs for words in _commands(run) if words[:2] == ["npm", "install"])
    assert "--ignore-scripts" in npm and "@dvcorg/cml@0.20.6" in npm
    setup_node = next(s for s in job["steps"] if "setup-node" in s.get("uses", ""))
    assert setup_node["with"]["node-version"] == "20"
    pip = next(words for run in runs for words in _commands(run) if "pip" in words[0])
    assert {"--require-hashes", "--no-deps", "requirements/pr-comment.txt"} <= set(pip)
    # The artifact is checked by the interpreter that has the parser, before anything is posted.
    module = ["-m", "lastmile.review.pr_artifact"]
    checks = [words for run in runs for words in _commands(run) if words[1:3] == module]
    assert checks and all(words[0] == "$RUNNER_TEMP/check/bin/python" for words in checks)
    assert runs.index(next(r for r in runs if "validate pr-report" in r)) < runs.index(
        next(r for r in runs if "cml comment" in r)
    )
