"""Instantiate this template for a second dataset in a temporary folder, then `make run` and `make test`.

The dataset is scikit-learn's breast cancer data (569 rows, 30 numeric features, a 0/1 target, no
sensitive features). Only `params.yaml`, `contract.yaml` and `data/` change, as for a user's own
table: if anything else in the repository assumes the example data, this fails.

Run it with `make test-second-dataset` (KEEP=1 keeps the folder, TARGETS="run" runs only `make run`).
Prints the time of each step; exits non-zero if a step fails.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parents[1]
SOURCE = "data/breast_cancer.csv"


def _run(cmd: list[str], cwd: Path, env: dict[str, str] | None = None) -> None:
    subprocess.run(cmd, cwd=cwd, check=True, env=env)


def copy_repo(dest: Path) -> None:
    """The tracked and untracked-but-not-ignored files of this checkout, as a new git repository."""
    listed = subprocess.run(
        ["git", "ls-files", "-co", "--exclude-standard", "-z"], cwd=ROOT, capture_output=True, check=True
    ).stdout.decode()
    for name in filter(None, listed.split("\0")):
        source = ROOT / name
        if source.is_file():
            (dest / name).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(source, dest / name)
    _run(["git", "init", "-q", "-b", "main"], dest)
    _commit(dest, "the template, as published")


def _commit(repo: Path, message: str) -> None:
    _run(["git", "add", "-A"], repo)
    _run(["git", "-c", "user.name=ci", "-c", "user.email=ci@example.com", "commit", "-qm", message], repo)


def write_data(repo: Path) -> list[str]:
    """data/: the breast cancer table as a CSV with a header; the example data removed. Its columns."""
    from sklearn.datasets import load_breast_cancer

    frame = load_breast_cancer(as_frame=True).frame  # 30 features and `target` (1 = benign)
    for old in (repo / "data").glob("*.csv.gz"):
        old.unlink()
    frame.to_csv(repo / SOURCE, index=False)
    (repo / "data" / "README.md").write_text(
        "# Data\n\n`breast_cancer.csv`: the Wisconsin diagnostic breast cancer data as shipped by "
        "scikit-learn (`sklearn.datasets.load_breast_cancer`), 569 rows; `target` is 1 for benign.\n",
        encoding="utf-8",
    )
    return [str(c) for c in frame.columns]


def configure(repo: Path, columns: list[str]) -> None:
    """params.yaml and contract.yaml for the breast cancer table (snake_case names, as ingest writes)."""
    from lastmile.data import snake_case
    from lastmile.project import config

    names = [snake_case(c) for c in columns]
    features = [n for n in names if n != "target"]
    # Edited the way `lastmile init` edits it (a round trip that keeps the file's layout and comments).
    params = config.load(repo / "params.yaml")
    params["project"] = {
        "name": "tumour-check",
        "description": "Estimates whether a breast mass is benign from digitised cell nuclei measurements.",
        "github_owner": "",
        "model_name": "benign-classifier",
        "service_name": "TumourCheck",
        "image": "",
    }
    # Each key set in place, as a user edits the file: their comments stay (init's tests expect them).
    reading = params["data"]
    reading["source"] = SOURCE
    reading["na_values"] = config.flow_list([])
    reading["comment_prefix"] = None  # no comment lines
    reading["label_suffix"] = ""
    params["target"] = {"column": "target", "positive": 1}
    params["features"] = {"numeric": features, "categorical": [], "sensitive": []}
    params["evaluation"]["slices"] = {"bands": {}, "columns": []}
    params["evaluation"]["importance"]["max_rows"] = 1000
    params["gates"]["floors"] = {"roc_auc": 0.9}
    params["gates"]["fairness"] = {}
    config.save(repo / "params.yaml", params)
    contract = {
        "min_rows": 100,
        "columns": {
            **{name: {"kind": "number", "min": 0} for name in features},
            "target": {"kind": "integer", "min": 0, "max": 1},
        },
    }
    (repo / "contract.yaml").write_text(yaml.safe_dump(contract, sort_keys=False), encoding="utf-8")


def main() -> int:
    keep = os.environ.get("KEEP") == "1"
    folder = Path(tempfile.mkdtemp(prefix="lastmile-second-dataset-"))
    repo = folder / "repo"
    repo.mkdir()
    # The copy makes its own .venv (from the shared uv cache) and its own BentoML store.
    env = {k: v for k, v in os.environ.items() if k not in ("VIRTUAL_ENV", "BENTOML_HOME")}
    env["PATH"] = os.pathsep.join(
        p for p in env.get("PATH", "").split(os.pathsep) if not p.startswith(str(ROOT))
    )
    # uv as this checkout found it (on PATH, or installed into .tools/ by the Makefile).
    uv = shutil.which("uv", path=env["PATH"]) or str(ROOT / ".tools" / "bin" / "uv")
    targets = os.environ.get("TARGETS", "run test").split()
    timings: list[tuple[str, float]] = []
    try:
        copy_repo(repo)
        configure(repo, write_data(repo))
        _commit(repo, "breast cancer data: params.yaml, contract.yaml, data/")
        print(f"second dataset: instantiated in {repo}", flush=True)
        for target in targets:
            started = time.perf_counter()
            _run(["make", f"UV={uv}", target], repo, env)
            timings.append((f"make {target}", time.perf_counter() - started))
    except subprocess.CalledProcessError as exc:
        print(f"second dataset: {' '.join(map(str, exc.cmd))} failed in {repo}", file=sys.stderr)
        keep = True
        return 1
    finally:
        for name, seconds in timings:
            print(f"second dataset: {name} took {seconds:.0f} s", flush=True)
        if keep:
            print(f"second dataset: kept {repo}")
        else:
            shutil.rmtree(folder, ignore_errors=True)
    print(f"second dataset: {', '.join(f'make {t}' for t in targets)} passed")
    return 0


if __name__ == "__main__":
    sys.exit(main())
