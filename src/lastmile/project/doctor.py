"""`lastmile doctor`: is this project ready for its GitHub loop?

It checks here what can be checked here (configuration, git, the `origin` remote, DVC remotes)
and lists, read from the workflows themselves, what only GitHub can show: the secrets and
variables they read, the permissions they ask for and the checks to require on `main`.
Only a failure makes it exit non-zero: warnings and to-dos are advice.
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

import yaml

from lastmile import git, paths
from lastmile.errors import LastmileError, one_line

Status = Literal["ok", "warn", "fail", "todo"]
WORKFLOWS = Path(".github/workflows")
_CONTEXT = re.compile(r"\$\{\{[^}]*?\b(secrets|vars)\.([A-Za-z_][A-Za-z0-9_]*)")
# What each secret or variable the workflows read is for; GITHUB_TOKEN is GitHub's own.
MEANING = {
    "DVC_REMOTE_URL": "the DVC remote's URL (s3://..., gs://..., https://...); without it CI re-runs the "
    "pipeline from the data",
    "DVC_AWS_ACCESS_KEY_ID": "credentials for an s3:// DVC remote (with DVC_AWS_SECRET_ACCESS_KEY)",
    "DVC_AWS_SECRET_ACCESS_KEY": "credentials for an s3:// DVC remote (with DVC_AWS_ACCESS_KEY_ID)",
    "TRAINING_RUNNER": "the runner label of the training jobs (default ubuntu-latest): a larger or GPU "
    "runner, see docs/making-it-yours.md",
}


@dataclass(frozen=True)
class Finding:
    status: Status
    topic: str
    detail: str
    fix: str = ""


def check_configuration(root: Path) -> Finding:
    from lastmile.contract import load_contract
    from lastmile.params import load_params

    try:
        params = load_params(root / paths.PARAMS)
        load_contract(root / paths.CONTRACT)
    except LastmileError as exc:
        return Finding(
            "fail", "configuration", str(exc), "fix the file named above (`lastmile init` writes both)"
        )
    return Finding(
        "ok", "configuration", f"params.yaml and contract.yaml are valid (project {params.project.name})"
    )


def check_git(root: Path) -> list[Finding]:
    if git.output("rev-parse", "--git-dir", cwd=root) is None:
        return [
            Finding(
                "fail",
                "git repository",
                f"{root} is not a git repository: the loop runs on pull requests",
                "git init -b main && git add -A && git commit -m 'From the template'",
            )
        ]
    findings = [Finding("ok", "git repository", "present")]
    url = (git.output("remote", "get-url", "origin", cwd=root) or "").strip()
    repository = git.github_repository(root)
    if not url:
        findings.append(
            Finding(
                "warn",
                "origin remote",
                "none: nothing to push pull requests to",
                "create the repository on GitHub, then git remote add origin git@github.com:OWNER/NAME.git",
            )
        )
    elif repository is None:
        findings.append(
            Finding("warn", "origin remote", f"{url} is not on GitHub: the workflows need GitHub Actions")
        )
    else:
        findings.append(Finding("ok", "origin remote", f"{url} (GitHub repository {repository})"))
    return findings


def check_project_names(root: Path) -> list[Finding]:
    from lastmile.params import load_params

    try:
        project = load_params(root / paths.PARAMS).project
    except LastmileError:
        return []  # reported by check_configuration
    repository = git.github_repository(root)
    if repository is None:
        return []
    owner = repository.split("/")[0]
    findings = []
    if project.github_owner and project.github_owner.lower() != owner.lower():
        findings.append(
            Finding(
                "warn",
                "project owner",
                f"params.yaml says {project.github_owner!r}, the origin remote {owner!r}",
                "correct `project.github_owner` (or `lastmile init --github-owner ...`)",
            )
        )
    expected = f"ghcr.io/{repository.lower()}"
    if project.image and project.image.startswith("ghcr.io/") and project.image != expected:
        findings.append(
            Finding(
                "warn",
                "image name",
                f"params.yaml says {project.image}; the release workflow pushes to {expected}",
                "set `project.image` to the name the release pushes, or leave it empty",
            )
        )
    return findings


def _remote_reachable(url: str) -> Finding | None:
    """None when `url` exists; otherwise why not. Probed with fsspec and the storage's default
    credentials (environment, ~/.aws, ...): settings kept only in DVC's config are not used."""
    import fsspec

    try:
        fs, path = fsspec.core.url_to_fs(url)
        if fs.exists(path):
            return None
        return Finding("fail", f"DVC remote {url}", "not found", "create it, or fix its URL")
    except Exception as exc:  # every storage backend raises its own errors
        return Finding(
            "fail",
            f"DVC remote {url}",
            f"unreachable: {type(exc).__name__}: {exc}",
            "check the URL and credentials",
        )


_REMOTE_URL = re.compile(r"remote\.(?P<name>.+)\.url=(?P<url>.*)")


def _dvc_remotes(root: Path) -> dict[str, str]:
    """Name -> URL of every DVC remote, from the documented `dvc config --list` (paths resolved)."""
    listed = subprocess.run(
        [sys.executable, "-m", "dvc", "config", "--list"],
        cwd=root,
        capture_output=True,
        text=True,
        check=False,
    )
    if listed.returncode != 0:
        raise LastmileError(one_line(listed.stderr or listed.stdout))
    return {m["name"]: m["url"] for m in map(_REMOTE_URL.fullmatch, listed.stdout.splitlines()) if m}


def check_dvc_remotes(root: Path) -> list[Finding]:
    try:
        remotes = _dvc_remotes(root)
    except LastmileError as exc:  # not a DVC repository, bad config
        return [Finding("fail", "DVC", f"cannot read the DVC configuration: {exc}", "dvc doctor")]
    findings = [
        _remote_reachable(url) or Finding("ok", f"DVC remote {name}", f"{url} reachable")
        for name, url in remotes.items()
    ]
    url = os.environ.get("DVC_REMOTE_URL")
    if url:
        findings.append(_remote_reachable(url) or Finding("ok", "DVC_REMOTE_URL", f"{url} reachable"))
    if not findings:
        findings.append(
            Finding(
                "ok",
                "DVC remote",
                "none configured: CI re-runs the pipeline from the data (fine while it is quick)",
                "to share outputs: dvc remote add -d store s3://BUCKET/PATH, and the DVC_REMOTE_URL secret",
            )
        )
    return findings


def _workflows(root: Path) -> dict[str, tuple[str, dict[str, Any]]]:
    found = {}
    for path in sorted((root / WORKFLOWS).glob("*.y*ml")):
        text = path.read_text(encoding="utf-8")
        found[path.name] = (text, yaml.safe_load(text) or {})
    return found


def _triggers(workflow: dict[Any, Any]) -> set[str]:
    # PyYAML reads the key `on` as the boolean True.
    on = workflow.get("on", workflow.get(True)) or {}
    return {on} if isinstance(on, str) else {str(name) for name in on}


def required_checks(workflows: dict[str, tuple[str, dict[str, Any]]]) -> list[str]:
    """The check names of the jobs that run on pull requests, matrix values expanded."""
    names = []
    for _, workflow in workflows.values():
        if "pull_request" not in _triggers(workflow):
            continue
        for job_id, job in workflow.get("jobs", {}).items():
            name = str(job.get("name", job_id))
            matrix = job.get("strategy", {}).get("matrix", {})
            expanded = [name]
            for key, values in matrix.items():
                marker = re.compile(r"\$\{\{\s*matrix\." + re.escape(key) + r"\s*\}\}")
                if isinstance(values, list) and marker.search(name):
                    expanded = [marker.sub(str(v), n) for n in expanded for v in values]
            names += expanded
    return names


def github_side(root: Path) -> list[Finding]:
    """What only GitHub can show, read from the workflows: secrets, variables, permissions, checks."""
    workflows = _workflows(root)
    repository = git.github_repository(root) or "OWNER/NAME"
    settings = f"https://github.com/{repository}/settings"
    readers: dict[tuple[str, str], list[str]] = {}
    for file, (text, _) in workflows.items():
        for context, name in _CONTEXT.findall(text):
            if name != "GITHUB_TOKEN":
                readers.setdefault((context, name), [])
                if file not in readers[(context, name)]:
                    readers[(context, name)].append(file)
    findings = []
    for (context, name), files in sorted(readers.items()):
        kind = "secret" if context == "secrets" else "variable"
        command = f"gh {kind} set {name} --repo {repository}" + (
            " --body VALUE" if kind == "variable" else ""
        )
        findings.append(
            Finding(
                "todo",
                f"{kind} {name}",
                f"read by {', '.join(files)}: {MEANING.get(name, 'see the workflow')}; optional",
                f"{command}  (or {settings}/{kind}s/actions)",
            )
        )
    writes = sorted(
        {
            f"{scope}: write"
            for _, workflow in workflows.values()
            for block in [
                workflow.get("permissions"),
                *[j.get("permissions") for j in workflow.get("jobs", {}).values()],
            ]
            if isinstance(block, dict)
            for scope, level in block.items()
            if level == "write"
        }
    )
    if writes:
        findings.append(
            Finding(
                "todo",
                "workflow permissions",
                "the jobs ask for " + ", ".join(writes) + "; an organisation policy can deny them",
                f"{settings}/actions: let Actions use them (the default token may stay read-only)",
            )
        )
    checks = required_checks(workflows)
    gate = [
        str(job.get("name", job_id))
        for _, workflow in workflows.values()
        if "pull_request" in _triggers(workflow)
        for job_id, job in workflow.get("jobs", {}).items()
        if any("make gate" in str(step.get("run", "")) for step in job.get("steps", []))
    ]
    if checks:
        findings.append(
            Finding(
                "todo",
                "branch protection",
                "main should require pull requests and these checks"
                + (f" (the quality gate runs in {', '.join(map(repr, gate))})" if gate else "")
                + ": "
                + ", ".join(repr(c) for c in checks),
                f"{settings}/branches: add a rule for main, require status checks, select them",
            )
        )
    return findings


def run(root: Path) -> list[Finding]:
    findings = [check_configuration(root), *check_git(root), *check_project_names(root)]
    findings += check_dvc_remotes(root)
    findings += github_side(root)
    return findings


def render(findings: list[Finding]) -> str:
    width = max(len(f.topic) for f in findings)
    lines = ["lastmile doctor: checked here what can be checked here; `todo` is for you on GitHub.", ""]
    for finding in findings:
        lines.append(f"  {finding.status:<4}  {finding.topic:<{width}}  {finding.detail}")
        if finding.fix and finding.status != "ok":
            lines.append(f"  {'':<4}  {'':<{width}}  -> {finding.fix}")
    counts = {s: sum(f.status == s for f in findings) for s in ("ok", "warn", "fail", "todo")}
    lines += ["", ", ".join(f"{n} {s}" for s, n in counts.items())]
    return "\n".join(lines)


def failed(findings: list[Finding]) -> bool:
    return any(f.status == "fail" for f in findings)
