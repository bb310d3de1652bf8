"""Shared fixtures: small real data, and throwaway copies of this repository to run DVC in.

Everything is derived from the project's own params.yaml, contract.yaml and data source, so the
suite runs unchanged on a project instantiated for other data. Facts true only of the example
data (UCI Adult) live in tests/test_example_data.py.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from collections import Counter
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pandas as pd
import pytest
import yaml

from lastmile.contract import Contract, load_contract
from lastmile.errors import read_yaml
from lastmile.params import Params, load_params

ROOT = Path(__file__).resolve().parents[1]
PARAMS = load_params(ROOT / "params.yaml")
CONTRACT = load_contract(ROOT / "contract.yaml")
SAMPLE_ROWS = 3000
# The shipped example (UCI Adult): tests/test_example_data.py runs only while the project uses it.
EXAMPLE_SOURCE = "data/adult.csv.gz"
IS_EXAMPLE = PARAMS.data.source == EXAMPLE_SOURCE

# Commands run by tests find this environment's `lastmile`, `dvc` and `bentoml` first.
os.environ["PATH"] = f"{Path(sys.executable).parent}{os.pathsep}{os.environ['PATH']}"
os.environ.setdefault("BENTOML_DO_NOT_TRACK", "true")
os.environ.setdefault("DVC_NO_ANALYTICS", "1")


def uv_binary() -> str:
    """The uv of the `make` that runs the tests (the Makefile exports UV), else the one this checkout uses."""
    return os.environ.get("UV") or shutil.which("uv") or str(ROOT / ".tools/bin/uv")


def run(cmd: list[str], cwd: Path, check: bool = True, **kwargs: object) -> subprocess.CompletedProcess[str]:
    """Run a command, returning its output; on unexpected failure show what it printed."""
    result = subprocess.run(cmd, cwd=cwd, capture_output=True, text=True, check=False, **kwargs)  # type: ignore[call-overload]
    if check and result.returncode != 0:
        raise AssertionError(f"{' '.join(cmd)} exited {result.returncode}\n{result.stdout}\n{result.stderr}")
    return result


# A prediction log line's keys, in order (`lastmile.prediction/1`, docs/monitoring.md): a contract the
# drift monitor and users' log collectors rely on.
PREDICTION_LINE_KEYS = ["schema", "request_id", "time", "model_version", "record", "probability", "label"]


def prediction_lines(path: Path) -> list[dict[str, Any]]:
    """The whole lines of a prediction log file, parsed (its writer may be half-way through the last one)."""
    text = path.read_text(encoding="utf-8")
    return [json.loads(line) for line in text[: text.rfind("\n") + 1].splitlines()]


@pytest.fixture(scope="session")
def params() -> Params:
    return PARAMS


@pytest.fixture(scope="session")
def contract() -> Contract:
    return CONTRACT


def source_location(source: str) -> str:
    """`data.source` as fsspec opens it from anywhere: a path relative to the project root, or a URL."""
    return source if "://" in source else str(ROOT / source)


@pytest.fixture(scope="session")
def raw_lines(params: Params) -> list[str]:
    """The project's data source (params.yaml `data.source`) as text lines, header first."""
    import fsspec

    with fsspec.open(source_location(params.data.source), "rt", compression="infer", encoding="utf-8") as f:
        lines = f.read().splitlines()
    prefix = params.data.comment_prefix
    return [line for line in lines if line.strip() and not (prefix and line.startswith(prefix))]


@pytest.fixture(scope="session")
def sample_source(tmp_path_factory: pytest.TempPathFactory, raw_lines: list[str]) -> Path:
    """A seeded random sample of the data source (same format, quirks included), for fast real runs."""
    path = tmp_path_factory.mktemp("source") / "sample.csv"
    path.write_text("\n".join([raw_lines[0], *sample_lines(raw_lines[1:])]) + "\n", encoding="utf-8")
    return path


def sample_lines(body: list[str], rows: int = SAMPLE_ROWS) -> list[str]:
    """Up to `rows` lines of `body` drawn at random (seeded), never twice: a row repeated in the
    sample would sit on both sides of the split and of the cross-validation folds (a model scored
    on rows it was trained on)."""
    return pd.Series(body).sample(n=min(rows, len(body)), random_state=7).tolist()


# A real model that learns nothing, on any data: no leaf may hold fewer rows than there are, so no
# tree splits and every row gets the training base rate's score (ROC AUC 0.5, one class predicted).
# For tests that need a model worse than any the project trains: a weakened one (fewer, smaller
# trees) can still rank a small, easy test split perfectly.
LEARNS_NOTHING_PARAMS: dict[str, object] = {
    "model.kind": "hist_gradient_boosting",
    "model.hist_gradient_boosting.min_samples_leaf": 1_000_000_000,
}


def set_dotted(raw: dict[str, Any], dotted: str, value: object) -> None:
    """Set `raw`'s nested key `dotted` (`model.kind`) to `value`, as `dvc exp run -S` would."""
    *parents, key = dotted.split(".")
    node = raw
    for part in parents:
        node = node[part]
    node[key] = value


def write_params(tmp_path: Path, mutate: dict[str, object]) -> Path:
    """The project's params.yaml with `mutate`'s dotted keys set (`model.kind`: ...), written to tmp_path."""
    raw = read_yaml((ROOT / "params.yaml").read_text(encoding="utf-8"))
    for dotted, value in mutate.items():
        set_dotted(raw, dotted, value)
    path = tmp_path / "params.yaml"
    path.write_text(yaml.safe_dump(raw), encoding="utf-8")
    return path


# The same as `dvc exp run` arguments.
LEARNS_NOTHING = [arg for key, value in LEARNS_NOTHING_PARAMS.items() for arg in ("-S", f"{key}={value}")]


def first_record(table: pd.DataFrame, features: list[str]) -> dict[str, Any]:
    """The first row of `table` with every feature present, as the JSON record the service takes."""
    complete = table[features].dropna()
    return json.loads(complete.head(1).to_json(orient="records"))[0]  # type: ignore[no-any-return]


def _copy_repo(dest: Path) -> Path:
    """Copy the tracked and untracked-but-not-ignored files of this checkout into a new git repo."""
    files = run(["git", "ls-files", "-co", "--exclude-standard", "-z"], cwd=ROOT).stdout.split("\0")
    for name in filter(None, files):
        source = ROOT / name
        if source.is_file():
            target = dest / name
            target.parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(source, target)
    run(["git", "init", "-q", "-b", "main"], cwd=dest)
    git_add_commit(dest, "copy of the template")
    return dest


def trained_clone(trained: Path, dest: Path) -> Path:
    """A git clone of a trained copy (`trained_repo`, a module's own) with its DVC outputs checked
    out from a copy of its cache: a trained project of its own (no remote), without training again."""
    run(["git", "clone", "-q", str(trained), str(dest)], cwd=trained)
    run(["git", "remote", "remove", "origin"], cwd=dest)
    shutil.copytree(trained / ".dvc" / "cache", dest / ".dvc" / "cache")
    run(["dvc", "checkout", "-q"], cwd=dest)
    return dest


def git_add_commit(repo: Path, message: str) -> None:
    run(["git", "add", "-A"], cwd=repo)
    run(
        [
            "git",
            "-c",
            "user.name=test",
            "-c",
            "user.email=test@example.com",
            "commit",
            "-qm",
            message,
            "--allow-empty",
        ],
        cwd=repo,
    )


def set_source(repo: Path, source: Path | str) -> None:
    """Point params.yaml `data.source` at another table (keeps the rest of the file as written)."""
    params_file = repo / "params.yaml"
    lines = params_file.read_text(encoding="utf-8").splitlines(keepends=True)
    params_file.write_text(
        "".join(f"  source: {source}\n" if line.startswith("  source:") else line for line in lines),
        encoding="utf-8",
    )


@pytest.fixture
def repo_copy(tmp_path: Path) -> Path:
    """A fresh git repository holding this template, to run real `dvc` commands in."""
    return _copy_repo(tmp_path / "repo")


@pytest.fixture(scope="session")
def trained_repo(tmp_path_factory: pytest.TempPathFactory, sample_source: Path) -> Iterator[Path]:
    """A template copy whose pipeline has run (`dvc repro`) on the sample: model, metrics, reports.

    Shared by the whole session: treat it as read-only, or copy what you change.
    """
    repo = _copy_repo(tmp_path_factory.mktemp("trained") / "repo")
    set_source(repo, sample_source)
    run(["dvc", "repro", "-q"], cwd=repo)
    git_add_commit(repo, "trained on the sample")
    yield repo


# The service runs only inside `bentoml serve`: when pytest-cov measures, the serving subprocesses
# measure too (parallel data files next to .coverage, combined by pytest-cov at the end).
_SUBPROCESS_COVERAGE: dict[str, str] = {}


def pytest_configure(config: pytest.Config) -> None:
    if not getattr(config.option, "cov_source", None) or getattr(config.option, "no_cov", False):
        return
    import coverage

    settings = coverage.Coverage(config_file=str(ROOT / "pyproject.toml")).config
    settings.parallel = True
    settings.sigterm = True
    settings.data_file = str(ROOT / ".coverage")
    _SUBPROCESS_COVERAGE["COVERAGE_PROCESS_CONFIG"] = settings.serialize()


def serving_env(home: Path) -> dict[str, str]:
    """Environment for `lastmile package` / `bentoml` commands using the BentoML store at `home`."""
    return {**os.environ, "BENTOML_HOME": str(home), "BENTOML_DO_NOT_TRACK": "true", **_SUBPROCESS_COVERAGE}


@pytest.fixture(scope="session")
def packaged(trained_repo: Path, tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, str]:
    """The trained sample model imported into a fresh BentoML home and built: (home, bento tag)."""
    home = tmp_path_factory.mktemp("bentoml-home")
    tag_file = home / "bento.tag"
    run(["lastmile", "package", "--tag-file", str(tag_file)], cwd=trained_repo, env=serving_env(home))
    return home, tag_file.read_text(encoding="utf-8").strip()


# Files that take minutes (`--durations`), started first: pytest-xdist hands out whole files
# (`--dist loadfile`), and a long file handed out last leaves one worker running it alone at the end.
# The rest follow by their number of tests, most first (what xdist's own reordering, turned off in
# pyproject.toml because it would put these few-test files last, does).
LONGEST_FILES = [
    "tests/project/test_instantiate_copier.py",
    "tests/project/test_instantiate_init.py",
    "tests/test_pipeline.py",
    "tests/serving/test_service.py",
    "tests/review/test_report.py",
    "tests/test_make_run.py",
]


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    def file_of(item: pytest.Item) -> str:
        return item.nodeid.split("::")[0]

    tests_per_file = Counter(map(file_of, items))

    def order(item: pytest.Item) -> tuple[int, int, str]:
        name = file_of(item)
        rank = LONGEST_FILES.index(name) if name in LONGEST_FILES else len(LONGEST_FILES)
        return rank, -tests_per_file[name], name

    items.sort(key=order)  # stable: the tests of a file keep their order
