"""What a release of HEAD is called: its version, git tag and image tags, from the git history.

Version rule (Conventional Commits, read from the commits since the last `vX.Y.Z` tag reachable
from HEAD): a `type!:` subject or a `BREAKING CHANGE:` footer bumps the major version, a `feat:`
subject the minor version, anything else the patch version. The first release is 0.1.0. A commit
that already carries a `vX.Y.Z` tag keeps that version, so re-running a release reproduces it.
An explicit version (`--version`, or the workflow's dispatch input) overrides the rule; it must be
higher than every release tag in the repository (on any branch), unless it is the version already
on HEAD. `latest` moves only with a new release that is higher than every existing one: a re-run
for an already released commit, or a release below a tag of another branch, never moves it back.
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Literal

from lastmile import git
from lastmile.release import ReleaseError

REGISTRY = "ghcr.io"
FIRST_VERSION = "0.1.0"
LOCAL_REPOSITORY = "local/lastmile"
_TAG = re.compile(r"^v(0|[1-9]\d*)\.(0|[1-9]\d*)\.(0|[1-9]\d*)$")
_BREAKING_SUBJECT = re.compile(r"^[a-zA-Z]+(\([^)]*\))?!:")
_FEATURE_SUBJECT = re.compile(r"^feat(\([^)]*\))?:")

Bump = Literal["major", "minor", "patch", "first", "explicit", "none"]


@dataclass(frozen=True, order=True)
class Version:
    major: int
    minor: int
    patch: int

    @classmethod
    def parse(cls, text: str) -> Version:
        match = _TAG.match(text if text.startswith("v") else f"v{text}")
        if not match:
            raise ReleaseError(f"{text!r} is not a semantic version: expected MAJOR.MINOR.PATCH, e.g. 1.4.0.")
        return cls(*(int(part) for part in match.groups()))

    def bump(self, kind: Bump) -> Version:
        if kind == "major":
            return Version(self.major + 1, 0, 0)
        if kind == "minor":
            return Version(self.major, self.minor + 1, 0)
        return Version(self.major, self.minor, self.patch + 1)

    def __str__(self) -> str:
        return f"{self.major}.{self.minor}.{self.patch}"


@dataclass(frozen=True)
class Commit:
    sha: str
    subject: str
    body: str = ""


@dataclass(frozen=True)
class ReleasePlan:
    """What a release of HEAD is called: version, git tag, image references."""

    version: str
    tag: str
    previous_tag: str | None
    bump: Bump
    commit: str
    commits: list[Commit] = field(default_factory=list)
    image: str = ""
    image_tags: list[str] = field(default_factory=list)
    latest: bool = False  # the image's `latest` tag and the GitHub Release's "latest" mark


def _git(repo: Path, *args: str) -> str:
    return git.run(*args, cwd=repo, error=ReleaseError)


def _release_tags(repo: Path, merged_into: str) -> list[tuple[Version, str]]:
    names = _git(repo, "tag", "--list", "v*", "--merged", merged_into).split()
    return sorted((Version.parse(name), name) for name in names if _TAG.match(name))


def _commits(repo: Path, since: str | None) -> list[Commit]:
    # Unit and record separators cannot appear in commit messages typed by people.
    text = _git(repo, "log", "--format=%H%x1f%s%x1f%b%x1e", f"{since}..HEAD" if since else "HEAD")
    commits = []
    for record in filter(None, (r.strip("\n") for r in text.split("\x1e"))):
        sha, subject, body = record.split("\x1f")
        commits.append(Commit(sha, subject.strip(), body.strip()))
    return commits


def bump_for(commits: list[Commit]) -> Bump:
    """The semantic-version bump that a list of commits calls for (see the module docstring)."""
    if any(_BREAKING_SUBJECT.match(c.subject) or "BREAKING CHANGE:" in c.body for c in commits):
        return "major"
    if any(_FEATURE_SUBJECT.match(c.subject) for c in commits):
        return "minor"
    return "patch"


def image_name(repository: str) -> str:
    """`owner/Repo` -> `ghcr.io/owner/repo` (registries require lower case)."""
    if not re.fullmatch(r"[A-Za-z0-9_.-]+/[A-Za-z0-9_.-]+", repository):
        raise ReleaseError(f"Repository {repository!r} is not of the form OWNER/NAME.")
    return f"{REGISTRY}/{repository.lower()}"


def default_repository(repo: Path) -> str:
    """OWNER/NAME of the `origin` remote when it is on GitHub, else `local/lastmile`."""
    return git.github_repository(repo) or LOCAL_REPOSITORY


def plan_release(
    repo: Path, repository: str | None = None, explicit: str | None = None, image: str = ""
) -> ReleasePlan:
    """Compute the version, tag and image tags for releasing the commit checked out in `repo`.

    The image is `image` (params.yaml `project.image`) if set, else the repository's on ghcr.io.
    """
    repository = repository or default_repository(repo)
    head = _git(repo, "rev-parse", "HEAD").strip()
    on_head = [name for name in _git(repo, "tag", "--points-at", "HEAD").split() if _TAG.match(name)]
    previous = [(v, name) for v, name in _release_tags(repo, "HEAD") if name not in on_head]
    previous_version, previous_tag = previous[-1] if previous else (None, None)
    every_tag = [name for name in _git(repo, "tag", "--list", "v*").split() if _TAG.match(name)]
    highest = max(((Version.parse(name), name) for name in every_tag), default=None)
    commits = _commits(repo, previous_tag)

    bump: Bump
    if explicit and (version := Version.parse(explicit)) in {Version.parse(name) for name in on_head}:
        bump = "none"
    elif explicit:
        if highest and version <= highest[0]:
            raise ReleaseError(
                f"Version {version} is not higher than the last release {highest[1]}: choose a higher one."
            )
        bump = "explicit"
    elif on_head:
        version, bump = max(Version.parse(name) for name in on_head), "none"
    elif previous_version is None:
        version, bump = Version.parse(FIRST_VERSION), "first"
    else:
        bump = bump_for(commits)
        version = previous_version.bump(bump)
    latest = bump != "none" and (highest is None or version > highest[0])
    image = image or image_name(repository)
    return ReleasePlan(
        version=str(version),
        tag=f"v{version}",
        previous_tag=previous_tag,
        bump=bump,
        commit=head,
        commits=commits,
        image=image,
        image_tags=[f"{image}:{version}", f"{image}:{head}", *([f"{image}:latest"] if latest else [])],
        latest=latest,
    )


def github_outputs(plan: ReleasePlan, extra: Mapping[str, str] | None = None) -> str:
    """`key=value` lines for `$GITHUB_OUTPUT`: what the workflow's later steps need."""
    values = {
        "version": plan.version,
        "tag": plan.tag,
        "previous_tag": plan.previous_tag or "",
        "image": plan.image,
        "image_tags": ",".join(plan.image_tags),
        "already_released": str(plan.bump == "none").lower(),
        "latest": str(plan.latest).lower(),
        **(extra or {}),
    }
    return "".join(f"{key}={value}\n" for key, value in values.items())


def describe(plan: ReleasePlan) -> str:
    return json.dumps({k: v for k, v in asdict(plan).items() if k != "commits"}, indent=2)
