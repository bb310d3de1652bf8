"""Release: the next version, the image tags, the model card, the SBOM and the image build context.

`lastmile release prepare` does every step of `.github/workflows/release.yml` that needs no network
and writes it all into one folder (`dist/release/` by default); the workflow then only tags, builds
and pushes the image from that folder's build context, attests it and publishes the GitHub Release.
`make release-dry-run` runs the same command on a laptop.

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
import logging
import re
import shutil
import subprocess
import sys
import tempfile
from collections.abc import Iterator
from contextlib import chdir, contextmanager
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, Literal

from lastmile import paths
from lastmile.data import read_json, write_json, write_text
from lastmile.errors import LastmileError
from lastmile.model import load_metadata
from lastmile.params import Params

log = logging.getLogger(__name__)

REGISTRY = "ghcr.io"
FIRST_VERSION = "0.1.0"
LOCAL_REPOSITORY = "local/lastmile"
_GITHUB_REMOTE = re.compile(r"github\.com[:/]([A-Za-z0-9_.-]+/[A-Za-z0-9_.-]+?)(?:\.git)?/?$")
DOCKERFILE_IN_CONTEXT = Path("env/docker/Dockerfile")
BASE_IMAGE_FILE = Path("deploy/docker/base-image.Dockerfile")
_BASE_IMAGE = re.compile(r"FROM\s+(?P<ref>[a-z0-9][a-z0-9._/-]*:[A-Za-z0-9._-]+(?:@sha256:[0-9a-f]{64})?)\s*")
_TAG = re.compile(r"^v(0|[1-9]\d*)\.(0|[1-9]\d*)\.(0|[1-9]\d*)$")
_BREAKING_SUBJECT = re.compile(r"^[a-zA-Z]+(\([^)]*\))?!:")
_FEATURE_SUBJECT = re.compile(r"^feat(\([^)]*\))?:")
MAX_NOTED_COMMITS = 30
_HEADLINE = ("roc_auc", "pr_auc", "accuracy", "precision", "recall", "f1", "log_loss", "brier")

Bump = Literal["major", "minor", "patch", "first", "explicit", "none"]


class ReleaseError(LastmileError):
    """A release cannot be prepared as asked (bad version, failed gates, missing bento...)."""


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
    try:
        result = subprocess.run(["git", *args], cwd=repo, capture_output=True, text=True, check=True)
    except FileNotFoundError as exc:
        raise ReleaseError("git is not installed: a release needs the repository's history.") from exc
    except subprocess.CalledProcessError as exc:
        raise ReleaseError(f"`git {' '.join(args)}` failed in {repo}: {exc.stderr.strip()}") from exc
    return result.stdout


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
    try:
        url = _git(repo, "remote", "get-url", "origin").strip()
    except ReleaseError:
        return LOCAL_REPOSITORY
    match = _GITHUB_REMOTE.search(url)
    return match.group(1) if match else LOCAL_REPOSITORY


def plan_release(
    repo: Path, repository: str | None = None, explicit: str | None = None, image: str | None = None
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


# ---------------------------------------------------------------------------------------------
# Model card and release notes


def _optional_json(path: Path) -> Any:
    return read_json(path) if path.exists() else None


@dataclass(frozen=True)
class Evidence:
    """Everything the pipeline wrote that a release describes."""

    metadata: dict[str, Any]
    metrics: dict[str, Any]
    data_summary: dict[str, Any] | None
    gates: dict[str, Any] | None
    fairness: dict[str, Any] | None

    @classmethod
    def load(cls, root: Path) -> Evidence:
        return cls(
            metadata=load_metadata(root / paths.MODEL_DIR),
            metrics=read_json(root / paths.METRICS),
            data_summary=_optional_json(root / paths.DATA_SUMMARY),
            gates=_optional_json(root / paths.GATES),
            fairness=_optional_json(root / paths.FAIRNESS),
        )

    def require_passed_gates(self) -> None:
        if self.gates is not None and not self.gates.get("passed", False):
            failed = [g.get("name", "?") for g in self.gates.get("gates", []) if not g.get("passed", False)]
            raise ReleaseError(
                f"The quality gates failed ({', '.join(failed) or 'see reports/gates.json'}): "
                "a model that fails them is not released. Fix the model or the data, then re-run."
            )


def _number(value: Any) -> str:
    if isinstance(value, bool) or value is None:
        return str(value)
    if isinstance(value, int):
        return f"{value:,}"
    if isinstance(value, float):
        return f"{value:.4f}"
    return str(value)


def _table(header: list[str], rows: list[list[str]]) -> list[str]:
    return [
        "| " + " | ".join(header) + " |",
        "|" + "|".join(" --- " for _ in header) + "|",
        *("| " + " | ".join(row) + " |" for row in rows),
    ]


def _gates_section(gates: dict[str, Any] | None) -> list[str]:
    if gates is None:
        return ["No gate report (`reports/gates.json`) was found for this model.", ""]
    rows = [
        [
            str(g.get("name", "")),
            str(g.get("kind", "")),
            _number(g.get("value")),
            _number(g.get("threshold")),
            "pass" if g.get("passed") else "FAIL",
        ]
        for g in gates.get("gates", [])
    ]
    verdict = "all passed" if gates.get("passed") else "FAILED"
    return [
        f"Verdict: **{verdict}**.",
        "",
        *_table(["gate", "kind", "value", "threshold", "result"], rows),
        "",
    ]


def _fairness_section(fairness: dict[str, Any] | None, sensitive: list[str]) -> list[str]:
    if not sensitive:
        return [
            "None configured: the project lists no sensitive features (params.yaml `features.sensitive`),",
            "so no per-group metrics were computed. Add the columns that describe people, if any, there.",
            "",
        ]
    if not fairness:
        return [
            "Per-group metrics were not computed for this model (`reports/fairness.json` is missing).",
            "Do not use it for decisions about people before they are.",
            "",
        ]
    lines: list[str] = []
    for feature, report in fairness.items():
        lines += [
            f"**{feature}**: demographic parity difference "
            f"{_number(report.get('demographic_parity_difference'))}, equalized odds difference "
            f"{_number(report.get('equalized_odds_difference'))}.",
            "",
        ]
        rows = [
            [
                str(group),
                _number(stats.get("rows")),
                _number(stats.get("selection_rate")),
                _number(stats.get("true_positive_rate")),
                _number(stats.get("false_positive_rate")),
            ]
            for group, stats in report.get("groups", {}).items()
        ]
        lines += [*_table(["group", "rows", "selection rate", "TPR", "FPR"], rows), ""]
    return lines


def render_model_card(plan: ReleasePlan, evidence: Evidence, params: Params) -> str:
    """A Markdown model card (after Mitchell et al., 2019) from the pipeline's own outputs."""
    meta, metrics, data = evidence.metadata, evidence.metrics, evidence.data_summary or {}
    features = meta.get("features", {})
    positive = meta.get("target", {}).get("positive", params.target.positive)
    sensitive = list(features.get("sensitive", []))
    metric_rows = [[name, _number(metrics[name])] for name in _HEADLINE if name in metrics]
    if sensitive:
        sensitive_limits = [
            f"- The sensitive features ({', '.join(sensitive)}) are inputs of the model: its scores can "
            "differ across those groups (see the per-group metrics) and reflect patterns, including "
            "inequalities, of the data.",
            "- Groups with few rows have wide uncertainty; per-group rates above are point estimates.",
        ]
    else:
        sensitive_limits = ["- No sensitive features are configured: fairness across groups was not checked."]
    lines = [
        f"# Model card: {params.project.model_name} {plan.version}",
        "",
        "## Model details",
        "",
        *_table(
            ["field", "value"],
            [
                ["release", f"`{plan.tag}` (commit `{plan.commit[:12]}`)"],
                ["model version", f"`{meta.get('model_version', '?')}`"],
                ["model", f"scikit-learn `Pipeline` ({meta.get('model_kind', '?')}), preprocessing inside"],
                ["training data hash", f"`{meta.get('training_data_hash', '?')}`"],
                ["image", f"`{plan.image_tags[0]}`" if plan.image_tags else "-"],
                ["versions", ", ".join(f"{k} {v}" for k, v in sorted(meta.get("versions", {}).items()))],
            ],
        ),
        "",
        "## Intended use",
        "",
        params.project.description,
        "",
        f"Estimates the probability that `{params.target.column}` is `{positive}`. `POST /predict` "
        "returns, per record, the predicted label and the positive-class probability.",
        "",
        "Out of scope, unless audited for it: decisions about individuals (credit, hiring, housing, "
        "insurance, benefits) or any use where an error harms a person. The model reproduces the "
        "patterns of its training data.",
        "",
        "## Data",
        "",
        f"- Source: `{data.get('source', params.data.source)}` (see data/README.md for its origin and "
        f"licence), {_number(data.get('rows', '?'))} rows, data hash `{data.get('data_hash', '?')}`.",
        f"- Target: `{params.target.column}`, positive class `{positive}` "
        f"(positive rate {_number(data.get('positive_rate', '?'))}).",
        f"- Training rows: {_number(meta.get('training_rows', '?'))}; test rows: "
        f"{_number(metrics.get('test_rows', '?'))} (stratified split, seed {params.split.seed}).",
        f"- Numeric features: {', '.join(features.get('numeric', [])) or '-'}.",
        f"- Categorical features: {', '.join(features.get('categorical', [])) or '-'}.",
        f"- Sensitive features (evaluated, not excluded): {', '.join(sensitive) or 'none configured'}.",
        "",
        "## Metrics",
        "",
        f"On the held-out test split, decision threshold {_number(metrics.get('threshold', 0.5))}:",
        "",
        *_table(["metric", "value"], metric_rows),
        "",
        "## Quality gates",
        "",
        *_gates_section(evidence.gates),
        "## Per-group metrics",
        "",
        *_fairness_section(evidence.fairness, sensitive),
        "## Limitations",
        "",
        "- The metrics hold for data like the training data (source and hash above); the world the "
        "data describes changes, and so may the model's quality.",
        *sensitive_limits,
        "- Categories not seen in training are encoded as unknown; values outside the data contract "
        "are rejected by the service.",
        "- Probabilities are not guaranteed to be calibrated outside the test distribution "
        "(see the calibration plot in the pipeline's reports).",
        "",
    ]
    return "\n".join(lines)


def render_release_notes(plan: ReleasePlan, evidence: Evidence) -> str:
    metrics = evidence.metrics
    since = f"since `{plan.previous_tag}`" if plan.previous_tag else "(first release)"
    changes = [f"- {c.subject} (`{c.sha[:7]}`)" for c in plan.commits[:MAX_NOTED_COMMITS]]
    if len(plan.commits) > MAX_NOTED_COMMITS:
        changes.append(f"- ... and {len(plan.commits) - MAX_NOTED_COMMITS} earlier commits")
    changes = changes or ["- No new commits."]
    gate = (
        "no gate report"
        if evidence.gates is None
        else ("passed" if evidence.gates.get("passed") else "FAILED")
    )
    headline = ", ".join(
        f"{name} {_number(metrics[name])}" for name in ("roc_auc", "pr_auc", "f1") if name in metrics
    )
    return "\n".join(
        [
            f"Model `{evidence.metadata.get('model_version', '?')}`: {headline}; quality gates {gate}.",
            "",
            "## Image",
            "",
            "```",
            *plan.image_tags,
            "```",
            "",
            f"Run it: `docker run --rm -p 3000:3000 {plan.image_tags[0] if plan.image_tags else plan.image}` "
            "then `POST http://localhost:3000/predict`. Deploy it: `deploy/kubernetes/`, docs/release.md.",
            "The image's SBOM (CycloneDX) and model card are attached; its build provenance is attested.",
            "",
            f"## Changes {since}",
            "",
            *changes,
            "",
        ]
    )


# ---------------------------------------------------------------------------------------------
# Bento, build context and SBOM


def _bento(tag: str) -> Any:
    import bentoml

    try:
        return bentoml.bentos.get(tag)
    except bentoml.exceptions.NotFound as exc:
        raise ReleaseError(
            f"Bento {tag!r} not found in the local store: build it with `make bento`."
        ) from exc


@contextmanager
def _containerfile_context(bento: Any, enable_buildkit: bool) -> Iterator[Path]:
    from bentoml._internal.container import construct_containerfile

    # BentoML 1.4 resolves `docker.dockerfile_template` inside a temporary copy of the bento and
    # refuses any path outside the working directory, so work from the temporary directory's parent.
    with (
        chdir(tempfile.gettempdir()),
        construct_containerfile(bento, enable_buildkit=enable_buildkit) as (
            context,
            _,
        ),
    ):
        yield Path(context)


def write_build_context(bento_tag: str, out: Path, enable_buildkit: bool = True) -> Path:
    """Copy the bento, its models and the generated Dockerfile into `out` (no container engine needed).

    `docker buildx build -f out/env/docker/Dockerfile out` then builds the same image as
    `bentoml containerize`.
    """
    out = out.resolve()  # the context below is built from another working directory
    with _containerfile_context(_bento(bento_tag), enable_buildkit) as context:
        shutil.copytree(context, out, symlinks=True)
    return out / DOCKERFILE_IN_CONTEXT


def image_requirements(requirements: str, python_version: str) -> str:
    """The requirement lines that install in the image: markers evaluated for CPython on Linux x86-64.

    A lock for several Pythons pins e.g. one numpy for 3.11 and another for 3.12+; only one is installed.
    """
    from packaging.markers import Marker
    from packaging.requirements import InvalidRequirement, Requirement

    environment = {
        "implementation_name": "cpython",
        "platform_python_implementation": "CPython",
        "os_name": "posix",
        "sys_platform": "linux",
        "platform_system": "Linux",
        "platform_machine": "x86_64",
        "python_version": python_version,
        "python_full_version": f"{python_version}.0",
    }
    kept = []
    for line in requirements.splitlines():
        text = line.split(" #", 1)[0].strip()
        if not text or text.startswith(("#", "-")):
            continue
        try:
            requirement = Requirement(text)
        except InvalidRequirement as exc:
            raise ReleaseError(f"Unreadable requirement {text!r} in the bento: {exc}") from exc
        marker: Marker | None = requirement.marker
        if marker is None or marker.evaluate(environment):
            requirement.marker = None
            kept.append(str(requirement))
    return "\n".join(kept) + "\n"


def write_sbom(requirements: Path, out: Path, name: str, version: str) -> None:
    """CycloneDX JSON of the Python packages the image installs (from the bento's pinned requirements)."""
    pyproject = out.parent / ".sbom-component.toml"
    # The SBOM's root component is the serving image, not this repository's Python package.
    pyproject.write_text(f'[project]\nname = "{name}"\nversion = "{version}"\n', encoding="utf-8")
    try:
        result = subprocess.run(
            [
                sys.executable,
                "-m",
                "cyclonedx_py",
                "requirements",
                str(requirements),
                "--pyproject",
                str(pyproject),
                "--mc-type",
                "application",
                "--output-reproducible",
                "--output-format",
                "JSON",
                "--output-file",
                str(out),
            ],
            capture_output=True,
            text=True,
            check=False,
        )
    finally:
        pyproject.unlink(missing_ok=True)
    if result.returncode != 0:
        raise ReleaseError(f"Could not write the SBOM from {requirements}: {result.stderr.strip()}")


def _image_python(bento: Any) -> str:
    """The image's Python MAJOR.MINOR, as the bento's build options name it."""
    options = getattr(bento.info, "docker", None) or getattr(bento.info, "image", None)
    version = getattr(options, "python_version", None)
    return str(version) if version else f"{sys.version_info.major}.{sys.version_info.minor}"


def _requirements(context: Path) -> Path:
    for name in ("requirements.lock.txt", "requirements.txt"):
        candidate = context / "env" / "python" / name
        if candidate.exists():
            return candidate
    raise ReleaseError(f"The bento has no Python requirements under {context / 'env' / 'python'}.")


# ---------------------------------------------------------------------------------------------
# The whole dry run


@dataclass(frozen=True)
class Prepared:
    out: Path
    plan: ReleasePlan
    bento: str
    files: list[str]


def prepare(
    root: Path,
    out: Path,
    *,
    bento_tag: str,
    repository: str | None,
    params: Params,
    explicit_version: str | None = None,
) -> Prepared:
    """Write everything a release publishes into `out`, replacing it only once all of it is written."""
    # Absolute: generating the Dockerfile changes the working directory for a moment.
    root, out = root.resolve(), out.resolve()
    evidence = Evidence.load(root)
    evidence.require_passed_gates()
    plan = plan_release(root, repository, explicit_version, params.project.image)
    log.info("release %s (%s bump, previous %s)", plan.version, plan.bump, plan.previous_tag or "none")

    out.parent.mkdir(parents=True, exist_ok=True)
    staging = Path(tempfile.mkdtemp(prefix=f".{out.name}.", dir=out.parent))
    try:
        log.info("build context and Dockerfile from bento %s", bento_tag)
        bento = _bento(bento_tag)
        dockerfile = write_build_context(str(bento.tag), staging / "context")
        shutil.copy2(dockerfile, staging / "Dockerfile")
        log.info("SBOM (CycloneDX) from the bento's pinned requirements")
        context = staging / "context"
        python_version = _image_python(bento)
        installed = staging / ".image-requirements.txt"
        installed.write_text(image_requirements(_requirements(context).read_text(), python_version))
        write_sbom(installed, staging / "sbom.cdx.json", plan.image, plan.version)
        installed.unlink()
        log.info("model card, release notes, metrics")
        write_text(staging / "model-card.md", render_model_card(plan, evidence, params))
        write_text(staging / "release-notes.md", render_release_notes(plan, evidence))
        write_json(
            staging / "metrics.json",
            {
                "version": plan.version,
                "model_version": evidence.metadata.get("model_version"),
                "metrics": evidence.metrics,
                "gates": evidence.gates,
                "fairness": evidence.fairness,
            },
        )
        manifest = {
            **{k: v for k, v in asdict(plan).items() if k != "commits"},
            "bento": str(bento.tag),
            "dockerfile": "context/" + DOCKERFILE_IN_CONTEXT.as_posix(),
            "prepared_at": datetime.now(UTC).isoformat(timespec="seconds"),
        }
        write_json(staging / "release.json", manifest)
        if out.exists():
            shutil.rmtree(out)
        staging.rename(out)
    finally:
        shutil.rmtree(staging, ignore_errors=True)
    files = sorted(p.name for p in out.iterdir())
    return Prepared(out=out, plan=plan, bento=str(bento.tag), files=files)


def base_image(path: Path = BASE_IMAGE_FILE) -> str:
    """The serving image's base (`name:tag[@sha256:...]`), from the file Dependabot keeps current."""
    try:
        lines = path.read_text(encoding="utf-8").splitlines()
    except OSError as exc:
        raise ReleaseError(f"Cannot read the base image from {path}: {exc.strerror}.") from exc
    froms = [line for line in lines if line.lstrip().upper().startswith("FROM")]
    match = _BASE_IMAGE.fullmatch(froms[0].strip()) if len(froms) == 1 else None
    if match is None:
        raise ReleaseError(
            f"{path} must hold exactly one line `FROM name:tag` or `FROM name:tag@sha256:<64 hex>`."
        )
    if "@sha256:" not in match["ref"]:
        log.warning("the base image %s is not pinned by digest (%s)", match["ref"], path)
    return match["ref"]


def github_outputs(plan: ReleasePlan, out: Path | None = None) -> str:
    """`key=value` lines for `$GITHUB_OUTPUT`: what the workflow's later steps need."""
    values = {
        "version": plan.version,
        "tag": plan.tag,
        "previous_tag": plan.previous_tag or "",
        "image": plan.image,
        "image_tags": ",".join(plan.image_tags),
        "already_released": str(plan.bump == "none").lower(),
        "latest": str(plan.latest).lower(),
    }
    if out is not None:
        values["context"] = str(out.resolve() / "context")
        values["dockerfile"] = str(out.resolve() / "context" / DOCKERFILE_IN_CONTEXT)
        values["base_image"] = base_image()
    return "".join(f"{key}={value}\n" for key, value in values.items())


def describe(plan: ReleasePlan) -> str:
    return json.dumps({k: v for k, v in asdict(plan).items() if k != "commits"}, indent=2)
