"""The pull-request report as an artifact that crosses from untrusted to trusted CI.

`pr.yml` runs the PR's code with a read-only token and uploads the report folder;
`pr-comment.yml` runs the default branch's code with a write token and posts it. Everything
in the folder may have been written by a hostile fork, so the posting side accepts only a flat
folder of plain files with known names and sizes (PNG images with a PNG signature), a PR number
that is a positive integer, a verdict from a fixed set, and Markdown in which every node CML
visits names one of the folder's images, a web address or an anchor (`lastmile.review.report_markdown`:
CML uploads the file behind every other URL, so `/proc/self/environ` would publish the job's token).

The comment workflow runs this module with the runner's Python and only markdown-it-py installed
(`requirements/pr-comment.txt`, hash-checked), without installing the project.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import sys
import urllib.request
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from lastmile.errors import LastmileError
from lastmile.review.report_markdown import problems

REPORT = "report.md"
SUMMARY = "summary.md"  # verdict and metrics only, for the check run
VERDICT = "verdict.json"
PR_FILE = "pr.json"
CONCLUSIONS = ("success", "failure", "neutral")
NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9_.-]{0,99}")
LIMITS = {".md": 60_000, ".json": 10_000, ".png": 5_000_000}  # bytes; a GitHub comment holds 65,536 chars
MAX_FILES = 40
MAX_PR_NUMBER = 2**31 - 1
TITLE_CHARS = 120
PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"
PNG_HEADER = PNG_SIGNATURE + b"\x00\x00\x00\x0dIHDR"  # the first chunk of every PNG


class ArtifactError(LastmileError):
    """The report artifact is not what `lastmile report` writes: refuse to post it."""

    exit_code = 2


@dataclass(frozen=True)
class Artifact:
    pr_number: int
    conclusion: str
    title: str

    def outputs(self) -> str:
        """`key=value` lines for `$GITHUB_OUTPUT` (values are single-line by construction)."""
        return f"pr_number={self.pr_number}\nconclusion={self.conclusion}\ntitle={self.title}\n"


def pr_number(value: object) -> int:
    """A PR number: a positive integer, given as an int or as decimal digits only."""
    if isinstance(value, bool) or not isinstance(value, int | str):
        raise ArtifactError(f"PR number must be a positive integer, got {value!r}.")
    text = str(value).strip() if isinstance(value, str) else str(value)
    if not re.fullmatch(r"[1-9][0-9]{0,9}", text) or int(text) > MAX_PR_NUMBER:
        raise ArtifactError(f"PR number must be a positive integer, got {value!r}.")
    return int(text)


def clean_title(text: str) -> str:
    """One printable line, short enough for a check-run title."""
    line = " ".join("".join(ch if ch.isprintable() else " " for ch in text).split())
    return line if len(line) <= TITLE_CHARS else line[: TITLE_CHARS - 1] + "…"


def write_verdict(folder: Path, conclusion: str, title: str) -> None:
    if conclusion not in CONCLUSIONS:
        raise ValueError(f"conclusion must be one of {CONCLUSIONS}, got {conclusion!r}")
    _write(folder / VERDICT, {"conclusion": conclusion, "title": clean_title(title)})


def pack(folder: Path, number: object) -> Artifact:
    """Add the PR number to a report folder and check the folder as the posting side will."""
    _write(folder / PR_FILE, {"pr_number": pr_number(number)})
    return validate(folder)


def _write(path: Path, payload: dict[str, Any]) -> None:
    tmp = path.with_name(f".{path.name}.tmp")
    tmp.write_text(json.dumps(payload, indent=2) + "\n", encoding="utf-8")
    tmp.replace(path)


def _files(folder: Path) -> dict[str, Path]:
    if folder.is_symlink() or not folder.is_dir():
        raise ArtifactError(f"{folder} is not a folder: the report artifact was not downloaded.")
    entries = sorted(folder.iterdir())
    if len(entries) > MAX_FILES:
        raise ArtifactError(f"{folder} holds {len(entries)} entries; a report has at most {MAX_FILES}.")
    files = {}
    for entry in entries:
        if entry.is_symlink() or not entry.is_file():
            raise ArtifactError(f"{entry.name!r} in {folder} is not a plain file (symlink or folder).")
        if not NAME.fullmatch(entry.name) or entry.suffix not in LIMITS:
            raise ArtifactError(
                f"Unexpected file {entry.name!r} in {folder}: only {', '.join(LIMITS)} files "
                "with plain names belong in a report."
            )
        size = entry.stat().st_size
        if size > LIMITS[entry.suffix]:
            raise ArtifactError(f"{entry.name} is {size:,} bytes; the limit is {LIMITS[entry.suffix]:,}.")
        files[entry.name] = entry
    for required in (REPORT, SUMMARY, VERDICT, PR_FILE):
        if required not in files:
            raise ArtifactError(f"{folder} has no {required}: it is not a `lastmile report` folder.")
    return files


def _json(path: Path) -> dict[str, Any]:
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise ArtifactError(f"{path.name} is not valid JSON: {exc}") from exc
    except RecursionError:
        raise ArtifactError(f"{path.name} is nested too deeply to be a report's JSON.") from None
    if not isinstance(data, dict):
        raise ArtifactError(f"{path.name} must hold a JSON object.")
    return data


def _check_markdown(path: Path, images: set[str]) -> None:
    try:
        text = path.read_text(encoding="utf-8")
    except UnicodeDecodeError as exc:
        raise ArtifactError(f"{path.name} is not UTF-8 text.") from exc
    if any((ord(ch) < 32 and ch not in "\n\t\r") or ord(ch) == 127 for ch in text):
        raise ArtifactError(f"{path.name} contains control characters.")
    found = problems(text, images)
    if found:
        shown = "; ".join(found[:5]) + (f"; and {len(found) - 5} more" if len(found) > 5 else "")
        raise ArtifactError(
            f"{path.name} links to what CML would upload from the runner ({shown}): links and images "
            "may only name the report's own PNG images, https:// web addresses or #anchors."
        )


def validate(folder: Path, expected_prs: list[int] | None = None) -> Artifact:
    """Check a downloaded report folder; return what is safe to use from it.

    `expected_prs` are the PRs GitHub itself associates with the run (empty for forks);
    when there are any, the artifact's number must be one of them.
    """
    files = _files(folder)
    for name, path in files.items():
        if name.endswith(".png") and not path.read_bytes()[:16].startswith(PNG_HEADER):
            raise ArtifactError(f"{name} is not a PNG image (no PNG signature and IHDR chunk).")
    images = {name for name in files if name.endswith(".png")}
    for name in files:
        if name.endswith(".md"):
            _check_markdown(files[name], images)
    number = pr_number(_json(files[PR_FILE]).get("pr_number"))
    if expected_prs and number not in expected_prs:
        raise ArtifactError(f"The artifact names PR #{number}, but the run belongs to {expected_prs}.")
    verdict = _json(files[VERDICT])
    conclusion, title = verdict.get("conclusion"), verdict.get("title")
    if conclusion not in CONCLUSIONS or not isinstance(title, str):
        raise ArtifactError(f"{VERDICT} must hold a conclusion in {CONCLUSIONS} and a title.")
    return Artifact(number, str(conclusion), clean_title(title))


def check_head(
    number: int, head_repository: str, head_branch: str, *, api_url: str, repository: str, token: str
) -> None:
    """Refuse a PR number whose head is not the branch this run built.

    For a fork, GitHub lists no PRs on the run, so the number comes from the (untrusted)
    artifact alone; without this check a fork could aim its comment at someone else's PR.
    Branch and repository, unlike the commit, stay the same when the PR gets a newer push.
    """
    request = urllib.request.Request(  # noqa: S310 - the runner's own GitHub API URL
        f"{api_url.rstrip('/')}/repos/{repository}/pulls/{number}",
        headers={"Authorization": f"Bearer {token}", "Accept": "application/vnd.github+json"},
    )
    with urllib.request.urlopen(request, timeout=30) as response:  # noqa: S310
        head = json.load(response).get("head") or {}
    actual = ((head.get("repo") or {}).get("full_name"), head.get("ref"))
    if actual != (head_repository, head_branch):
        raise ArtifactError(
            f"PR #{number} comes from {actual[0]}:{actual[1]}, but this run built "
            f"{head_repository}:{head_branch}: refusing to post on another PR."
        )


def _expected(text: str) -> list[int]:
    """PR numbers from `toJSON(github.event.workflow_run.pull_requests)`."""
    if not text.strip():
        return []
    items = json.loads(text)
    return [pr_number(item["number"]) for item in items if isinstance(item, dict) and "number" in item]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m lastmile.review.pr_artifact", description=__doc__.split("\n")[0]
    )
    sub = parser.add_subparsers(dest="command", required=True)
    check = sub.add_parser("validate", help="Check a downloaded report folder; print key=value outputs.")
    check.add_argument("folder", type=Path)
    check.add_argument(
        "--pull-requests",
        default="",
        help="JSON list of the run's pull requests (github.event.workflow_run).",
    )
    head = sub.add_parser(
        "check-head",
        help="Check that PR NUMBER's head is HEAD_REPOSITORY:HEAD_BRANCH (GitHub API; GITHUB_TOKEN).",
    )
    head.add_argument("--number", required=True)
    head.add_argument("--head-repository", required=True)
    head.add_argument("--head-branch", required=True)
    args = parser.parse_args(argv)
    try:
        if args.command == "check-head":
            check_head(
                pr_number(args.number),
                args.head_repository,
                args.head_branch,
                api_url=os.environ.get("GITHUB_API_URL", "https://api.github.com"),
                repository=os.environ["GITHUB_REPOSITORY"],
                token=os.environ["GITHUB_TOKEN"],
            )
            return 0
        artifact = validate(args.folder, _expected(args.pull_requests))
    except (LastmileError, ValueError, KeyError, TypeError, OSError) as exc:
        print(f"error: {exc}", file=sys.stderr)  # noqa: T201 - a command-line entry point
        return ArtifactError.exit_code
    sys.stdout.write(artifact.outputs())
    return 0


if __name__ == "__main__":
    sys.exit(main())
