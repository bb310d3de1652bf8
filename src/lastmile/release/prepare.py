"""`lastmile release prepare`: everything a release publishes, written into one folder.

It does every step of `.github/workflows/release.yml` that needs no network and writes it all into
one folder (`dist/release/` by default); the workflow then only tags, builds and pushes the image
from that folder's build context, attests it and publishes the GitHub Release.
`make release-dry-run` runs the same command on a laptop. The version rule: `lastmile.release.version`.
"""

from __future__ import annotations

import logging
import shutil
import sys
import tempfile
from dataclasses import asdict, dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from lastmile.files import write_json, write_text
from lastmile.params import Params
from lastmile.release import ReleaseError
from lastmile.release.image import BASE_IMAGE_FILE, base_image
from lastmile.release.model_card import Evidence, render_model_card, render_release_notes
from lastmile.release.sbom import image_requirements, write_sbom
from lastmile.release.version import ReleasePlan, github_outputs, plan_release
from lastmile.serving.bentoml_adapter import copy_build_context

log = logging.getLogger(__name__)

DOCKERFILE_IN_CONTEXT = Path("env/docker/Dockerfile")


def _bento(tag: str) -> Any:
    import bentoml

    try:
        return bentoml.bentos.get(tag)
    except bentoml.exceptions.NotFound as exc:
        raise ReleaseError(
            f"Bento {tag!r} not found in the local store: build it with `make bento`."
        ) from exc


def write_build_context(bento_tag: str, out: Path) -> Path:
    """Copy the bento, its models and the generated Dockerfile into `out` (no container engine needed).

    `docker buildx build -f out/env/docker/Dockerfile out` then builds the same image as
    `bentoml containerize`.
    """
    return copy_build_context(_bento(bento_tag), out) / DOCKERFILE_IN_CONTEXT


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


@dataclass(frozen=True)
class Prepared:
    out: Path
    plan: ReleasePlan
    bento: str
    files: list[str]
    root: Path

    def github_outputs(self) -> str:
        """The plan's outputs plus where the build context, its Dockerfile and the base image are."""
        context = self.out / "context"
        return github_outputs(
            self.plan,
            {
                "context": str(context),
                "dockerfile": str(context / DOCKERFILE_IN_CONTEXT),
                "base_image": base_image(self.root / BASE_IMAGE_FILE),
            },
        )


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
                "model_version": evidence.metadata.model_version,
                "metrics": evidence.metrics.model_dump(mode="json"),
                "gates": evidence.gates.model_dump(mode="json") if evidence.gates else None,
                "fairness": evidence.fairness.model_dump(mode="json") if evidence.fairness else None,
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
    return Prepared(out=out, plan=plan, bento=str(bento.tag), files=files, root=root)
