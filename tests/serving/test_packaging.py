"""`lastmile package`: the DVC-tracked model into the BentoML store unchanged, and the bento built from it."""

from __future__ import annotations

import hashlib
import json
import shutil
import subprocess
import sys
from fnmatch import fnmatch
from pathlib import Path
from typing import Any

import pytest
import yaml

from lastmile.serving.packaging import tag_version
from tests.conftest import PARAMS, ROOT, run, serving_env

pytestmark = pytest.mark.slow


def _inspect(home: Path, bento_tag: str) -> dict[str, Any]:
    """What the store holds, read by BentoML itself in a process using that store."""
    code = """
import json, sys, bentoml
bento = bentoml.bentos.get(sys.argv[1])
model = bentoml.models.get(bento.info.args["model_tag"])
print(json.dumps({
    "bento_labels": bento.info.labels, "args": bento.info.args, "bento_path": bento.path,
    "model_tag": str(model.tag), "model_labels": model.info.labels, "model_path": model.path,
    "model_metadata": model.info.metadata,
}))
"""
    out = run([sys.executable, "-c", code, bento_tag], cwd=home, env=serving_env(home)).stdout
    info: dict[str, Any] = json.loads(out.strip().splitlines()[-1])
    return info


def _sha(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def test_model_is_copied_unchanged_and_the_bento_labelled(packaged: tuple[Path, str], trained_repo: Path):
    home, bento_tag = packaged
    info = _inspect(home, bento_tag)
    model = json.loads((trained_repo / "models/model.json").read_text())
    metrics = json.loads((trained_repo / "reports/metrics.json").read_text())
    stored = Path(info["model_path"])

    assert info["model_tag"] == f"{PARAMS.project.model_name}:{tag_version(model['model_version'])}"
    for name in ("model.joblib", "model.json"):
        assert _sha(stored / name) == _sha(trained_repo / "models" / name)
    assert _sha(stored / "contract.yaml") == _sha(trained_repo / "contract.yaml")
    assert json.loads((stored / "metrics.json").read_text()) == metrics
    assert _sha(stored / "profile.json") == _sha(trained_repo / "reports/profile.json")
    assert info["model_metadata"]["training_data_hash"] == model["training_data_hash"]

    commit = subprocess.run(
        ["git", "rev-parse", "--short=12", "HEAD"],
        cwd=trained_repo,
        capture_output=True,
        text=True,
        check=True,
    ).stdout.strip()
    labels = info["bento_labels"]
    assert labels["model_version"] == model["model_version"]
    assert labels["git_commit"] == commit
    assert float(labels["roc_auc"]) == metrics["roc_auc"]
    assert info["args"] == {"model_tag": info["model_tag"]}
    # Named after the project (params.yaml `project:`): the bento, its labels, the packaged names.
    assert bento_tag.split(":")[0] == PARAMS.project.name
    assert labels["project"] == PARAMS.project.name and labels["model"] == PARAMS.project.model_name
    assert json.loads((stored / "project.json").read_text()) == PARAMS.project.model_dump()


def test_bento_holds_only_what_serving_needs(packaged: tuple[Path, str]):
    home, bento_tag = packaged
    bento = Path(_inspect(home, bento_tag)["bento_path"])
    modules = [str(p.relative_to(bento / "src")) for p in (bento / "src/lastmile").rglob("*.py")]
    included = yaml.safe_load((ROOT / "bentofile.yaml").read_text())["include"]
    # Every module in the bento is listed, and every listed pattern names a module in it.
    assert all(any(fnmatch(m, pattern) for pattern in included) for m in modules), sorted(modules)
    assert all(any(fnmatch(m, pattern) for m in modules) for pattern in included), sorted(modules)
    assert not (bento / "src/lastmile/stages").exists()
    requirements = (bento / "env/python/requirements.txt").read_text()
    from importlib.metadata import version

    # Exact versions from the lock (the same as this environment's), and no pipeline-only packages.
    for package in ("bentoml", "scikit-learn", "pandas", "pydantic"):
        assert f"{package}=={version(package)}" in requirements
    assert "dvc==" not in requirements
    assert "matplotlib==" not in requirements


def test_packaging_again_reuses_the_stored_model(packaged: tuple[Path, str], trained_repo: Path):
    home, _ = packaged
    result = run(["lastmile", "package", "--no-build"], cwd=trained_repo, env=serving_env(home))
    assert "(already in the store)" in result.stdout


def test_changed_files_of_the_same_version_replace_the_stored_model(trained_repo: Path, tmp_path: Path):
    home = tmp_path / "home"  # its own store: the session's bento keeps referring to the original
    work = tmp_path / "work"
    for name in ("models", "reports"):
        shutil.copytree(trained_repo / name, work / name)
    for name in ("contract.yaml", "params.yaml"):  # the contract ships with the model; params names it
        shutil.copy2(trained_repo / name, work / name)
    first = run(["lastmile", "package", "--no-build"], cwd=work, env=serving_env(home))
    metadata_file = work / "models/model.json"
    metadata = json.loads(metadata_file.read_text())
    metadata["training_rows"] = -1
    metadata_file.write_text(json.dumps(metadata))

    second = run(["lastmile", "package", "--no-build"], cwd=work, env=serving_env(home))

    assert "already in the store" not in second.stdout
    tag = second.stdout.split()[1]
    assert tag == first.stdout.split()[1]
    code = "import bentoml,sys; print(bentoml.models.get(sys.argv[1]).path)"
    stored = Path(run([sys.executable, "-c", code, tag], cwd=work, env=serving_env(home)).stdout.strip())
    assert json.loads((stored / "model.json").read_text())["training_rows"] == -1


def test_without_a_trained_model_the_error_says_what_to_do(tmp_path: Path):
    for name in ("contract.yaml", "params.yaml"):
        shutil.copy2(ROOT / name, tmp_path / name)
    result = run(["lastmile", "package"], cwd=tmp_path, check=False, env=serving_env(tmp_path / "home"))
    assert result.returncode == 1
    assert "No trained model in models" in result.stderr
    assert "make run" in result.stderr
    assert "Traceback" not in result.stderr
    assert not (tmp_path / "home" / "models" / PARAMS.project.model_name).exists()


@pytest.mark.parametrize(
    ("version", "tag"),
    [("0.1.0+dcf677efbb18", "0.1.0-dcf677efbb18"), ("1.2.3", "1.2.3"), ("V2+Exp/1", "v2-exp-1")],
)
def test_tag_version_fits_bentoml(version: str, tag: str):
    assert tag_version(version) == tag


def test_a_model_without_its_decision_threshold_is_not_packaged(trained_repo: Path, tmp_path: Path):
    """The threshold belongs to the model: without it packaging (and serving) refuse, never assume 0.5."""
    work, home = tmp_path / "work", tmp_path / "home"
    for name in ("models", "reports"):
        shutil.copytree(trained_repo / name, work / name)
    for name in ("contract.yaml", "params.yaml"):  # the contract ships with the model; params names it
        shutil.copy2(trained_repo / name, work / name)
    metadata_file = work / "models/model.json"
    metadata = json.loads(metadata_file.read_text())
    metadata.pop("threshold", None)
    metadata_file.write_text(json.dumps(metadata))
    result = run(["lastmile", "package", "--no-build"], cwd=work, check=False, env=serving_env(home))
    assert result.returncode == 1 and "Traceback" not in result.stderr
    assert "model.json" in result.stderr and "threshold: Field required" in result.stderr
    assert not (home / "models" / PARAMS.project.model_name).exists()
