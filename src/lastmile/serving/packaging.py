"""Packaging: the DVC-tracked model into the BentoML model store, then the bento (`lastmile package`).

Nothing is retrained: the model files are copied byte for byte, with the metrics, the quality
gates (if the pipeline wrote them), the data contract the service builds its API from and the
project's names (params.yaml `project:`), which name the stored model, the bento and the service.
"""

from __future__ import annotations

import hashlib
import json
import logging
import re
import shutil
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from lastmile import artifacts, git, paths
from lastmile.artifacts import GatesReport, MetricsReport, ModelInfo
from lastmile.errors import LastmileError
from lastmile.files import read_json
from lastmile.metrics import BRIEF
from lastmile.model import METADATA_FILE, MODEL_FILE, load_metadata
from lastmile.params import ProjectParams, load_params

log = logging.getLogger(__name__)

CONTRACT_FILE = "contract.yaml"
METRICS_FILE = "metrics.json"
GATES_FILE = "gates.json"
# The drift monitor's reference (`lastmile.monitoring.profile`), shown by /metadata.
PROFILE_FILE = "profile.json"
# params.yaml `project:` as packaged: the service's BentoML name, labels and page title.
PROJECT_FILE = "project.json"
BENTOFILE = Path("bentofile.yaml")
# The bento holds the `lastmile` package, so it is built from src/ (bentofile paths are relative to it).
BUILD_CONTEXT = Path("src")
# The metrics a bento and its model carry as labels.
LABELLED = tuple(metric.name for metric in BRIEF)


class PackagingError(LastmileError):
    """The model or the bento cannot be packaged as asked."""


@dataclass(frozen=True)
class Packaged:
    model_tag: str
    bento_tag: str | None
    reused_model: bool


@dataclass(frozen=True)
class PackagedModel:
    """What a packaged model directory holds besides the pipeline: metadata, metrics, gates, names."""

    info: ModelInfo
    metrics: MetricsReport
    gates: GatesReport | None
    profile: dict[str, Any] | None  # the drift monitor's reference (`lastmile.monitoring.profile`)
    project: ProjectParams

    def as_dict(self) -> dict[str, Any]:
        """The metadata with its metrics and gates, as the service's `/metadata` shows them."""
        return {
            **self.info.model_dump(mode="json"),
            "metrics": self.metrics.model_dump(mode="json"),
            "gates": self.gates.model_dump(mode="json") if self.gates else None,
            "profile": self.profile,
            "project": self.project.model_dump(mode="json"),
        }


def model_metadata(model_dir: Path) -> PackagedModel:
    """The metadata, metrics, gates and project names of a packaged model directory."""
    gates, profile = model_dir / GATES_FILE, model_dir / PROFILE_FILE
    return PackagedModel(
        info=load_metadata(model_dir),
        metrics=artifacts.read(model_dir / METRICS_FILE, MetricsReport),
        gates=artifacts.read(gates, GatesReport) if gates.exists() else None,
        profile=read_json(profile) if profile.exists() else None,
        project=ProjectParams.model_validate(read_json(model_dir / PROJECT_FILE)),
    )


def tag_version(model_version: str) -> str:
    """`0.1.0+dcf677efbb18` -> `0.1.0-dcf677efbb18`: BentoML versions allow [a-z0-9._-] only."""
    version = re.sub(r"[^a-z0-9._-]+", "-", model_version.lower()).strip("-._")
    if not version:
        raise PackagingError(f"model.json has an unusable model_version {model_version!r}.")
    return version


def _digest(files: list[Path], extra: bytes) -> str:
    digest = hashlib.sha256()
    for file in files:
        digest.update(file.name.encode())
        digest.update(hashlib.sha256(file.read_bytes()).digest())
    digest.update(hashlib.sha256(extra).digest())
    return digest.hexdigest()


def import_model(
    project: ProjectParams,
    model_dir: Path = paths.MODEL_DIR,
    metrics: Path = paths.METRICS,
    gates: Path = paths.GATES,
    contract: Path = paths.CONTRACT,
    profile: Path = paths.PROFILE,
) -> tuple[str, bool]:
    """Copy the trained model into the BentoML model store (as `project.model_name`).

    Returns its tag and whether it was there already.
    """
    import bentoml

    metadata = load_metadata(model_dir)
    for required in (model_dir / MODEL_FILE, metrics, contract, profile):
        if not required.is_file():
            raise PackagingError(f"{required} not found: run `dvc repro` (or `make run`) first.")
    files = [model_dir / MODEL_FILE, model_dir / METADATA_FILE, contract, metrics, profile]
    names = [MODEL_FILE, METADATA_FILE, CONTRACT_FILE, METRICS_FILE, PROFILE_FILE]
    if gates.is_file():
        files.append(gates)
        names.append(GATES_FILE)
    measured = artifacts.read(metrics, MetricsReport)
    if measured.threshold != metadata.threshold:
        raise PackagingError(
            f"{metrics} was measured at threshold {measured.threshold}, but the model's threshold is "
            f"{metadata.threshold}: the reports are from another model. Run `dvc repro` first."
        )
    project_json = json.dumps(project.model_dump(), indent=2, sort_keys=True) + "\n"
    digest = _digest(files, extra=project_json.encode())
    tag = f"{project.model_name}:{tag_version(metadata.model_version)}"

    try:
        existing = bentoml.models.get(tag)
    except bentoml.exceptions.NotFound:
        existing = None
    if existing is not None:
        if existing.info.labels.get("content_sha256") == digest:
            log.info("package: model %s is already in the store", tag)
            return tag, True
        # Same version, other files (a hand-edited metadata file, another contract): replace.
        log.info("package: replacing model %s (its files changed)", tag)
        bentoml.models.delete(tag)

    labels = {
        "model_version": metadata.model_version,
        "model_kind": metadata.model_kind,
        "training_data_hash": metadata.training_data_hash[:16],
        "content_sha256": digest,
        **{name: str(measured.values[name]) for name in LABELLED if name in measured.values},
    }
    with bentoml.models.create(
        tag,
        labels=labels,
        metadata={
            "model_version": metadata.model_version,
            "training_data_hash": metadata.training_data_hash,
            "metrics": measured.model_dump(mode="json"),
        },
        module="lastmile",
    ) as stored:
        for source, name in zip(files, names, strict=True):
            shutil.copy2(source, Path(stored.path) / name)
        (Path(stored.path) / PROJECT_FILE).write_text(project_json, encoding="utf-8")
    log.info("package: model %s imported from %s", tag, model_dir)
    return tag, False


def build_bento(
    model_tag: str, project: ProjectParams, bentofile: Path = BENTOFILE, build_ctx: Path = BUILD_CONTEXT
) -> str:
    """`bentoml build` named after the project, with the model pinned and labels for it.

    The labels name the project, model version, commit and metrics: bentofile.yaml names no project.
    """
    import bentoml

    if not bentofile.is_file():
        raise PackagingError(f"{bentofile} not found: run `lastmile package` from the project root.")
    stored = bentoml.models.get(model_tag)
    labels = {
        "project": project.name,
        "model": project.model_name,
        "model_tag": model_tag,
        "model_version": stored.info.labels["model_version"],
        "git_commit": git.describe_head(),
        **{name: value for name, value in stored.info.labels.items() if name in LABELLED},
    }
    try:
        bento = bentoml.bentos.build_bentofile(
            str(bentofile),
            name=project.name,
            build_ctx=str(build_ctx),
            labels=labels,
            args={"model_tag": model_tag},
        )
    except (bentoml.exceptions.BentoMLException, FileNotFoundError, ValueError) as exc:
        raise PackagingError(f"`bentoml build` failed: {exc}") from exc
    log.info("package: bento %s built (model %s)", bento.tag, model_tag)
    return str(bento.tag)


def package(build: bool = True, tag_file: Path | None = None) -> Packaged:
    """Import the model, then build the bento; write the bento tag to `tag_file` if given."""
    project = load_params().project
    model_tag, reused = import_model(project)
    bento_tag = build_bento(model_tag, project) if build else None
    if bento_tag is not None and tag_file is not None:
        tag_file.parent.mkdir(parents=True, exist_ok=True)
        tag_file.write_text(bento_tag + "\n", encoding="utf-8")
    return Packaged(model_tag=model_tag, bento_tag=bento_tag, reused_model=reused)
