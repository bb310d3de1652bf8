from pathlib import Path

import yaml

from lastmile import paths
from tests.conftest import ROOT


def _declared() -> set[str]:
    """Every path `dvc.yaml` declares as a stage's dep or output."""
    stages = yaml.safe_load((ROOT / "dvc.yaml").read_text())["stages"]
    found: set[str] = set()
    for stage in stages.values():
        for key in ("deps", "outs", "metrics", "plots"):
            for entry in stage.get(key, []):
                found.add(next(iter(entry)) if isinstance(entry, dict) else entry)
    return found


# Inputs, and what the commands after the pipeline write: not stage outputs.
NOT_STAGE_OUTPUTS = {"PARAMS", "CONTRACT", "GATES", "PR_REPORT_DIR", "MONITOR_DIR"}


def test_every_artifact_path_is_declared_in_dvc_yaml() -> None:
    artifacts = {
        name: value
        for name, value in vars(paths).items()
        if isinstance(value, Path) and name not in NOT_STAGE_OUTPUTS
    }
    declared = _declared()
    for name, path in artifacts.items():
        inside = any(str(path).startswith(d + "/") for d in declared)  # a file of a declared folder
        holds = any(d.startswith(str(path) + "/") for d in declared)  # a folder of declared files
        covered = str(path) in declared or inside or holds
        assert covered, f"paths.{name} = {path} is not declared in dvc.yaml"
