"""The one way the package runs git: the base of a comparison, a release's history, a build's commit."""

from __future__ import annotations

import subprocess
from pathlib import Path

from lastmile.errors import LastmileError


def run(*args: str, cwd: Path = Path(), error: type[LastmileError] = LastmileError) -> str:
    """`git ARGS` in `cwd`, its output; `error` (naming the command and git's message) when it fails."""
    try:
        result = subprocess.run(["git", *args], cwd=cwd, capture_output=True, text=True, check=False)
    except FileNotFoundError as exc:
        raise error("git is not installed: it is needed to read the repository's history.") from exc
    if result.returncode != 0:
        raise error(f"`git {' '.join(args)}` failed in {cwd}: {result.stderr.strip()}")
    return result.stdout


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
