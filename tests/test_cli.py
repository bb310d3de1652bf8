"""The `lastmile` command as users run it: help everywhere, clean errors, exit codes."""

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from tests.conftest import ROOT, run, set_source

COMMANDS = ["check", "ingest", "validate", "split", "train", "evaluate", "summary"]


@pytest.mark.parametrize("command", ["", *COMMANDS])
def test_every_command_has_help(command: str, tmp_path: Path) -> None:
    result = run(["lastmile", *filter(None, [command]), "--help"], cwd=tmp_path)
    assert "Usage:" in result.stdout


def test_errors_are_one_paragraph_without_traceback(repo_copy: Path) -> None:
    set_source(repo_copy, "data/nope.csv")
    result = run(["lastmile", "ingest"], cwd=repo_copy, check=False)
    assert result.returncode == 1
    assert "\nerror: Data source not found: data/nope.csv. Check `data.source`" in result.stderr
    assert "Traceback" not in result.stderr
    debug = run(["lastmile", "--debug", "ingest"], cwd=repo_copy, check=False)
    assert debug.returncode == 1 and "Traceback" in debug.stderr


def test_unexpected_errors_point_to_debug(tmp_path: Path) -> None:
    (tmp_path / "params.yaml").write_text("data: {source: x}\n")
    result = run(["lastmile", "ingest"], cwd=tmp_path, check=False)
    assert result.returncode == 1
    assert "params.yaml is invalid" in result.stderr and "target" in result.stderr


def test_summary_after_a_run(trained_repo: Path) -> None:
    out = run(["lastmile", "summary"], cwd=trained_repo).stdout
    assert "roc_auc" in out and "models/" in out and "Next:" in out


def test_the_summarys_next_commands_work_as_printed_in_a_new_shell(
    trained_repo: Path, tmp_path: Path
) -> None:
    """The shell commands `make run` ends with, run in order in a shell whose PATH has no .venv/bin
    (`make` targets aside: `make serve` blocks, `make test` is this suite)."""
    repo = tmp_path / "repo"
    shutil.copytree(trained_repo, repo, symlinks=True)
    (repo / ".venv").symlink_to(ROOT / ".venv")
    out = run(["lastmile", "summary"], cwd=repo).stdout
    commands = [
        line.strip().split("   ")[0] for line in out.split("Next:\n", 1)[1].splitlines() if line.strip()
    ]
    shell = [command for command in commands if not command.startswith("make ")]
    assert any("dvc exp run" in command for command in shell), commands
    fresh = {key: value for key, value in os.environ.items() if key not in ("VIRTUAL_ENV", "PATH")}
    fresh["PATH"] = os.pathsep.join(p for p in os.environ["PATH"].split(os.pathsep) if ".venv" not in p)
    result = run(["bash", "-c", " && ".join(["set -e", *shell])], cwd=repo, env=fresh, check=False)
    assert result.returncode == 0, result.stdout + result.stderr


def test_summary_before_a_run_says_what_to_do(tmp_path: Path) -> None:
    result = subprocess.run(
        ["lastmile", "summary"], cwd=tmp_path, capture_output=True, text=True, check=False
    )
    assert result.returncode == 1 and "dvc repro" in result.stderr


@pytest.mark.parametrize("module", ["lastmile.stages.check", "lastmile.review.summary"])
def test_commands_that_only_read_configuration_and_reports_do_not_import_pandas(module: str) -> None:
    """`check` runs first in every `dvc repro` and `summary` after every `make run`: pandas would
    double their time (docs/performance.md)."""
    heavy = "sorted(m for m in ('pandas', 'sklearn') if m in sys.modules)"
    code = f"import sys, lastmile.cli, {module}; print({heavy})"
    assert run([sys.executable, "-c", code], cwd=ROOT).stdout.strip() == "[]"
