"""`lastmile release prepare`: the whole dry run from a real bento, and what it refuses."""

from __future__ import annotations

import json
import os
import re
from pathlib import Path

import pytest

from lastmile.params import load_params
from lastmile.release import image, sbom
from tests.conftest import run

REPOSITORY = "Acme/Lastmile"


def test_a_model_that_failed_its_gates_is_not_released(failed_gates_repo: Path) -> None:
    repo = failed_gates_repo
    out = repo / "dist" / "release"
    result = run(["lastmile", "release", "prepare", "--out", str(out)], cwd=repo, check=False)
    assert result.returncode == 1
    assert "quality gates failed (dp_group)" in result.stderr
    assert not out.exists()


@pytest.mark.slow
def test_dry_run_writes_everything_a_release_publishes(trained_repo: Path, tmp_path: Path) -> None:
    env = {**os.environ, "BENTOML_HOME": str(tmp_path / "bentoml")}
    tag_file = tmp_path / "bento.tag"
    run(["lastmile", "package", "--tag-file", str(tag_file)], cwd=trained_repo, env=env)
    bento = tag_file.read_text().strip()
    out, outputs = tmp_path / "dist" / "release", tmp_path / "github_output"
    relative_out = os.path.relpath(out, trained_repo)  # as `make release-dry-run` passes it
    command = ["lastmile", "release", "prepare", "--out", relative_out, "--bento", bento]
    command += ["--repository", REPOSITORY, "--github-output", str(outputs)]
    result = run(command, cwd=trained_repo, env=env)
    assert "release 0.1.0 (first)" in result.stdout

    assert sorted(p.name for p in out.iterdir()) == [
        "Dockerfile",
        "context",
        "metrics.json",
        "model-card.md",
        "release-notes.md",
        "release.json",
        "sbom.cdx.json",
    ]
    manifest = json.loads((out / "release.json").read_text())
    assert (manifest["version"], manifest["tag"], manifest["bento"]) == ("0.1.0", "v0.1.0", bento)
    # params.yaml `project.image` when the project names one, else the repository's image on ghcr.io.
    image_ref = load_params(trained_repo / "params.yaml").project.image or "ghcr.io/acme/lastmile"
    assert manifest["image_tags"][0] == f"{image_ref}:0.1.0"
    assert f"version=0.1.0\ntag=v0.1.0\nprevious_tag=\nimage={image_ref}\n" in outputs.read_text()
    assert f"context={out / 'context'}\n" in outputs.read_text()

    # The build context is what `docker buildx build` gets: the lean Dockerfile, the bento and its model.
    dockerfile = (out / "Dockerfile").read_text()
    assert dockerfile == (out / manifest["dockerfile"]).read_text()
    assert "AS builder" in dockerfile and "COPY --from=builder /app/.venv /app/.venv" in dockerfile
    # The base image comes from a build argument (the release passes the digest-pinned reference).
    assert dockerfile.index("ARG BASE_IMAGE=python:3.11-slim\n") < dockerfile.index("FROM ")
    assert re.findall(r"^FROM (\S+)", dockerfile, flags=re.MULTILINE) == ["${BASE_IMAGE}", "${BASE_IMAGE}"]
    assert f"base_image={image.base_image(trained_repo / image.BASE_IMAGE_FILE)}\n" in outputs.read_text()
    assert "build-essential" not in dockerfile and "\nUSER bentoml\n" in dockerfile
    model_files = {p.name for p in (out / "context" / "models").rglob("*") if p.is_file()}
    assert {"model.joblib", "model.json"} <= model_files
    assert (out / "context" / "env" / "python" / "requirements.txt").exists()

    # SBOM: every pinned serving requirement, at its version, under the image as root component.
    bom = json.loads((out / "sbom.cdx.json").read_text())
    assert bom["bomFormat"] == "CycloneDX"
    assert bom["metadata"]["component"]["name"] == image_ref
    assert bom["metadata"]["component"]["version"] == "0.1.0"
    components = [(c["name"].lower(), c.get("version")) for c in bom["components"]]
    pins = (out / "context" / "env" / "python" / "requirements.txt").read_text()
    installed = sbom.image_requirements(pins, "3.11").split()
    assert sorted(components) == sorted(tuple(line.lower().split("==")) for line in installed)
    assert {"scikit-learn", "bentoml", "numpy"} <= {name for name, _ in components}
    assert len([name for name, _ in components if name == "numpy"]) == 1  # one per Python in the lock

    metrics = json.loads((out / "metrics.json").read_text())
    assert metrics["metrics"] == json.loads((trained_repo / "reports" / "metrics.json").read_text())
    assert "## Per-group metrics" in (out / "model-card.md").read_text()

    # A second run replaces the folder whole and leaves no staging folder behind.
    run(command, cwd=trained_repo, env=env)
    assert sorted(p.name for p in out.parent.iterdir()) == ["release"]
