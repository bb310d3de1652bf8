"""`lastmile monitor demo` (`make demo-drift`): the real service's own prediction log, judged twice."""

from __future__ import annotations

import json
import shutil
import sys
from pathlib import Path

import pandas as pd

from lastmile import paths
from tests.conftest import run, serving_env
from tests.monitoring.conftest import Watched

# A small project's held-out split (the wine trial's had 36 rows): far fewer than a stream's records.
SMALL_TEST_SPLIT = 40


def _small_project(watched: Watched, folder: Path) -> Path:
    """What the demo may read of the trained project, its test split cut to a few dozen rows."""
    for name in (Path("params.yaml"), Path("contract.yaml"), paths.PROFILE, paths.VALIDATED_TABLE):
        (folder / name).parent.mkdir(parents=True, exist_ok=True)
        shutil.copy(watched.repo / name, folder / name)
    (folder / paths.TEST_TABLE).parent.mkdir(parents=True, exist_ok=True)
    watched.held_out.head(SMALL_TEST_SPLIT).to_parquet(folder / paths.TEST_TABLE)
    return folder


def test_the_demo_monitors_the_services_own_log(
    watched: Watched, packaged: tuple[Path, str], tmp_path: Path
) -> None:
    home, tag = packaged
    out = tmp_path / "demo"
    project = _small_project(watched, tmp_path / "project")
    lastmile = str(Path(sys.executable).parent / "lastmile")
    result = run(
        [lastmile, "monitor", "demo", "--bento", tag, "--records", "600", "--out", str(out)],
        cwd=project,
        env=serving_env(home),
        check=False,
    )
    # Normal traffic is drawn from the whole validated table: judged normal however small the test
    # split (600 records resampled from its 40 rows read the split's own sampling noise as drift).
    assert result.returncode == 0, result.stdout + result.stderr
    assert "demo: no alarm on normal traffic; drift in" in result.stdout
    validated = len(pd.read_parquet(project / paths.VALIDATED_TABLE))
    assert f"from the {validated:,} rows of {paths.VALIDATED_TABLE}" in result.stdout

    # Every record sent went through /predict and was logged by the service itself, nothing else.
    logged = [json.loads(line) for line in (out / "log" / "predictions.jsonl").read_text().splitlines()]
    assert len(logged) == 1200
    assert len({line["request_id"] for line in logged}) == 1200 // 100  # one id per request of 100
    normal = json.loads((out / "normal" / "monitor.json").read_text())
    shifted = json.loads((out / "shifted" / "monitor.json").read_text())
    assert normal["files"] == shifted["files"] == [str(out / "log" / "predictions.jsonl")]
    assert normal["records"] == shifted["records"] == 600
    assert normal["drift"] is False and shifted["drift"] is True
    # The features the demo says it shifted are the ones found, read from its own words.
    said = next(line for line in result.stdout.splitlines() if line.startswith("shifted traffic: "))
    moved = [
        part.strip().split(" ")[0].rstrip(":") for part in said.removeprefix("shifted traffic: ").split(";")
    ]
    assert set(moved) <= set(shifted["drifted_features"])
