"""What an evaluation left behind (metrics, fairness, predictions), read from a folder or a git ref.

The evaluate stage writes `reports/metrics.json`, `reports/fairness.json` and
`reports/predictions.csv`, and they are committed with the code (DVC `cache: false`), so the
baseline of a pull request is simply what its base commit holds: `git show REF:./reports/...`.
A base without them (the first pull request) is "no baseline", not an error.
"""

from __future__ import annotations

import json
import subprocess
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pandas as pd

from lastmile import paths
from lastmile.errors import LastmileError
from lastmile.evaluation import predictions


@dataclass(frozen=True)
class Evaluation:
    """One evaluation's outputs; `fairness`, `predictions` and `data` are None when it did not write them."""

    source: str
    metrics: dict[str, Any]
    fairness: dict[str, Any] | None
    predictions: pd.DataFrame | None
    data: dict[str, Any] | None = None  # reports/data_summary.json: what data was evaluated

    def other_data(self, base: Evaluation) -> str | None:
        """How `base` evaluated other data than this evaluation, or None (see `other_data`)."""
        if self.data is None or base.data is None:
            return None
        return other_data(self.data, base.data)


def other_data(summary: dict[str, Any], base_summary: dict[str, Any]) -> str | None:
    """How two data summaries (`reports/data_summary.json`) differ in target, labels or columns, or None.

    Only what both record is compared, so an older base that lacks a field is not called different
    for it. A changed data hash alone (new rows) keeps two evaluations comparable.
    """
    mine, theirs = _identity(summary), _identity(base_summary)
    differences = [
        f"{what} {theirs[what]} -> {mine[what]}"
        for what in mine
        if mine[what] is not None and theirs[what] is not None and mine[what] != theirs[what]
    ]
    return "; ".join(differences) or None


def _identity(summary: dict[str, Any]) -> dict[str, Any]:
    target = summary.get("target")
    counts = summary.get("class_counts")
    names = summary.get("column_names")
    return {
        "target": f"{target.get('column')}={target.get('positive')!r}" if isinstance(target, dict) else None,
        "labels": sorted(map(str, counts)) if isinstance(counts, dict) else None,
        "columns": sorted(map(str, names)) if isinstance(names, list) else None,
    }


def _json(text: str, source: str) -> dict[str, Any]:
    try:
        value = json.loads(text)
    except json.JSONDecodeError as exc:
        raise LastmileError(f"{source} is not valid JSON ({exc}); re-run `dvc repro` to rewrite it.") from exc
    if not isinstance(value, dict):
        raise LastmileError(f"{source} should hold a JSON object; re-run `dvc repro` to rewrite it.")
    return value


# The files an evaluation is read from, in a folder or at a git ref.
FILES = (paths.METRICS, paths.FAIRNESS, paths.PREDICTIONS, paths.DATA_SUMMARY)


def _evaluation(source: str, read: dict[str, str | None]) -> Evaluation | None:
    metrics, fairness, predicted, data = (read[p.name] for p in FILES)
    if metrics is None:
        return None
    return Evaluation(
        source=source,
        metrics=_json(metrics, f"{source}: {paths.METRICS.name}"),
        fairness=None if fairness is None else _json(fairness, f"{source}: {paths.FAIRNESS.name}"),
        predictions=None
        if predicted is None
        else predictions.parse(predicted, f"{source}: {paths.PREDICTIONS.name}"),
        data=None if data is None else _json(data, f"{source}: {paths.DATA_SUMMARY.name}"),
    )


def from_directory(directory: Path) -> Evaluation | None:
    """The evaluation in `directory` (metrics.json, fairness.json, predictions.csv); None without metrics."""
    if not directory.is_dir():
        raise LastmileError(f"Baseline folder {directory} does not exist.")
    files = {p.name: directory / p.name for p in FILES}
    return _evaluation(
        str(directory),
        {name: f.read_text(encoding="utf-8") if f.is_file() else None for name, f in files.items()},
    )


def current(directory: Path = paths.METRICS.parent) -> Evaluation:
    """This working tree's evaluation; it must exist."""
    evaluation = from_directory(directory) if directory.is_dir() else None
    if evaluation is None:
        raise LastmileError(f"No {directory / paths.METRICS.name}: run the pipeline first (`dvc repro`).")
    return evaluation


def _git(args: list[str], cwd: Path) -> subprocess.CompletedProcess[str]:
    try:
        return subprocess.run(["git", *args], cwd=cwd, capture_output=True, text=True, check=False)
    except FileNotFoundError as exc:
        raise LastmileError("git is not installed: it is needed to read the baseline of --base.") from exc


def _resolve(ref: str, cwd: Path) -> tuple[str, str]:
    """(ref, commit); `main` falls back to `origin/main` and back (CI checkouts have no local main)."""
    remote = ref.removeprefix("origin/")
    candidates = [ref, remote] if ref.startswith("origin/") else [ref, f"origin/{ref}"]
    for candidate in candidates:
        found = _git(["rev-parse", "--verify", "--quiet", "--end-of-options", f"{candidate}^{{commit}}"], cwd)
        if found.returncode == 0:
            return candidate, found.stdout.strip()
    raise LastmileError(
        f"Unknown git ref {ref!r} (tried {' and '.join(candidates)}). Fetch it (for example "
        "`git fetch origin main`: CI checkouts are shallow), pass another --base, or leave --base out "
        "to check only the floors and fairness bounds."
    )


def from_git(ref: str, cwd: Path = Path()) -> Evaluation | None:
    """The evaluation committed at `ref` (paths relative to `cwd`); None when it has none."""
    name, commit = _resolve(ref, cwd)
    read: dict[str, str | None] = {}
    for path in FILES:
        spec = f"{commit}:./{path.as_posix()}"
        exists = _git(["cat-file", "-e", spec], cwd).returncode == 0
        read[path.name] = _git(["show", spec], cwd).stdout if exists else None
    return _evaluation(f"{name} ({commit[:7]})", read)
