"""`lastmile monitor demo` (`make demo-drift`): the real service's own prediction log, judged twice."""

from __future__ import annotations

import json
import sys
from pathlib import Path

from tests.conftest import run, serving_env
from tests.monitoring.conftest import Watched, fair_resample


def test_the_demo_monitors_the_services_own_log(
    watched: Watched, packaged: tuple[Path, str], tmp_path: Path
) -> None:
    home, tag = packaged
    out = tmp_path / "demo"
    lastmile = str(Path(sys.executable).parent / "lastmile")
    result = run(
        [lastmile, "monitor", "demo", "--bento", tag, "--records", "600", "--out", str(out)],
        cwd=watched.repo,
        env=serving_env(home),
        check=False,
    )
    # Normal traffic is the test split resampled: judged fairly only when it has enough different rows.
    fair = fair_resample(watched, 600)
    if fair:
        assert result.returncode == 0, result.stdout + result.stderr
        assert "demo: no alarm on normal traffic; drift in" in result.stdout
    else:
        assert result.returncode in (0, 1), result.stdout + result.stderr  # a verdict either way

    # Every record sent went through /predict and was logged by the service itself, nothing else.
    logged = [json.loads(line) for line in (out / "log" / "predictions.jsonl").read_text().splitlines()]
    assert len(logged) == 1200
    assert len({line["request_id"] for line in logged}) == 1200 // 100  # one id per request of 100
    normal = json.loads((out / "normal" / "monitor.json").read_text())
    shifted = json.loads((out / "shifted" / "monitor.json").read_text())
    assert normal["files"] == shifted["files"] == [str(out / "log" / "predictions.jsonl")]
    assert normal["records"] == 600 and (normal["drift"] is False or not fair)
    assert shifted["records"] == 600
    # The features the demo says it shifted are the ones found, read from its own words.
    said = next(line for line in result.stdout.splitlines() if line.startswith("shifted traffic: "))
    if fair:
        moved = [
            part.strip().split(" ")[0].rstrip(":")
            for part in said.removeprefix("shifted traffic: ").split(";")
        ]
        assert shifted["drift"] is True
        assert set(moved) <= set(shifted["drifted_features"])
