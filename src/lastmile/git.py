"""The one way the package runs git: the base of a comparison, a release's history, a build's commit,
whether a project is committed, and which GitHub repository its `origin` is."""

from __future__ import annotations

import re
import subprocess
from pathlib import Path

from lastmile.errors import LastmileError

# OWNER/NAME in an `origin` URL: https://github.com/OWNER/NAME(.git), git@github.com:OWNER/NAME(.git).
# GitHub owners are letters, digits and dashes; repository names may also hold `_` and `.`.
_GITHUB_REMOTE = re.compile(r"github\.com[:/]([A-Za-z0-9-]+/[A-Za-z0-9_.-]+?)(?:\.git)?/?$")


def run(*args: str, cwd: Path = Path(), error: type[LastmileError] = LastmileError) -> str:
    """`git ARGS` in `cwd`, its output; `error` (naming the command and git's message) when it fails."""
    try:
        result = subprocess.run(["git", *args], cwd=cwd, capture_output=True, text=True, check=False)
    except FileNotFoundError as exc:
        raise error("git is not installed: it is needed to read the repository's history.") from exc
    if result.returncode != 0:
        raise error(f"`git {' '.join(args)}` failed in {cwd}: {result.stderr.strip()}")
    return result.stdout


def output(*args: str, cwd: Path = Path()) -> str | None:
    """`git ARGS` in `cwd`, its output; None when it fails (not a repository, no such remote, no git):
    for questions about a project, where "no" is an answer and not an error."""
    try:
        return run(*args, cwd=cwd)
    except LastmileError:
        return None


def github_repository(cwd: Path = Path()) -> str | None:
    """OWNER/NAME of the `origin` remote when it is on GitHub, else None."""
    url = output("remote", "get-url", "origin", cwd=cwd)
    match = _GITHUB_REMOTE.search(url.strip()) if url else None
    return match.group(1) if match else None


def resolve(ref: str, cwd: Path = Path()) -> tuple[str, str]:
    """(ref, commit); `main` falls back to `origin/main` and back (CI checkouts have no local main)."""
    remote = ref.removeprefix("origin/")
    candidates = [ref, remote] if ref.startswith("origin/") else [ref, f"origin/{ref}"]
    for candidate in candidates:
        try:
            commit = run(
                "rev-parse", "--verify", "--quiet", "--end-of-options", f"{candidate}^{{commit}}", cwd=cwd
            )
        except LastmileError:
            continue
        return candidate, commit.strip()
    raise LastmileError(
        f"Unknown git ref {ref!r} (tried {' and '.join(candidates)}). Fetch it (for example "
        "`git fetch origin main`: CI checkouts are shallow), pass another --base, or leave --base out "
        "to check only the floors and fairness bounds."
    )


def describe_head(cwd: Path = Path()) -> str:
    """HEAD's short commit, with `-dirty` when tracked files changed; `unknown` outside a repository."""
    try:
        commit = run("rev-parse", "--short=12", "HEAD", cwd=cwd).strip()
        dirty = run("status", "--porcelain", "--untracked-files=no", cwd=cwd).strip()
    except LastmileError:
        return "unknown"
    return commit + ("-dirty" if dirty else "")
