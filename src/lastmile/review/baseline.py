"""The one reader of a base: an evaluation's files at a git revision or in a folder, and the comparison.

The evaluate stage's reports are committed with the code (DVC `cache: false`), so the baseline of a
pull request is what its base commit holds. They are read through DVC's file system at that commit
(`dvc.api.DVCFileSystem`, DVC's public API), which also reaches DVC-cached outputs; `gate` and
`report` both read the base here. A base without reports (the first pull request) is
"no baseline", not an error; a damaged file is an error that names it.

`compare` is the paired bootstrap of every headline metric both evaluations hold, computed once
with the settings of `gates.bootstrap`: the regression gates and the PR report use the same one.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import pandas as pd

from lastmile import artifacts, git, paths
from lastmile.artifacts import Comparison, DataSummary, FairnessReport, MetricsReport
from lastmile.errors import LastmileError
from lastmile.evaluation import predictions
from lastmile.evaluation.bootstrap import compare_all, rows_match
from lastmile.metrics import METRICS
from lastmile.params import BootstrapParams

# Where a revision's files come from: path (relative to the project root) -> bytes, or
# FileNotFoundError when that revision has no such file.
Opener = Callable[[str], bytes]


@dataclass(frozen=True)
class Evaluation:
    """One evaluation's outputs; `fairness`, `predictions` and `data` are None when it did not write them."""

    source: str
    metrics: MetricsReport
    fairness: FairnessReport | None
    predictions: pd.DataFrame | None
    data: DataSummary | None = None  # reports/data_summary.json: what data was evaluated

    def other_data(self, base: Evaluation) -> str | None:
        """How `base` evaluated other data than this evaluation, or None (see `other_data`)."""
        if self.data is None or base.data is None:
            return None
        return other_data(self.data, base.data)


def other_data(summary: DataSummary, base_summary: DataSummary) -> str | None:
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


def _identity(summary: DataSummary) -> dict[str, str | list[str] | None]:
    target = summary.target
    return {
        "target": f"{target.column}={target.positive!r}" if target else None,
        "labels": sorted(summary.class_counts),
        "columns": sorted(summary.column_names) if summary.column_names is not None else None,
    }


@dataclass(frozen=True)
class Revision:
    """The project's files as one revision holds them: a git commit (through DVC) or a folder."""

    label: str  # how reports name it: the ref, or "this branch"
    commit: str | None  # the commit, when there is one
    opener: Opener

    @property
    def rev(self) -> str | None:
        """The short commit."""
        return self.commit[:7] if self.commit else None

    @classmethod
    def at(cls, ref: str, root: Path = Path()) -> Revision:
        """`ref` (`main` falls back to `origin/main`) read through DVC's file system at its commit."""
        from dvc.api import DVCFileSystem

        name, commit = git.resolve(ref, root)
        # Given a path (not a Repo object), DVCFileSystem honours `rev`.
        return cls(name, commit, DVCFileSystem(str(root), rev=commit).read_bytes)

    @classmethod
    def workspace(cls, root: Path = Path(), label: str = "this branch") -> Revision:
        try:
            head: str | None = git.run("rev-parse", "HEAD", cwd=root).strip()
        except LastmileError:
            head = None
        return cls(label, head, lambda path: (root / path).read_bytes())

    @property
    def source(self) -> str:
        return f"{self.label} ({self.rev})" if self.rev else self.label

    def read(self, path: Path) -> bytes | None:
        """The file's bytes, or None when this revision does not have it."""
        try:
            return self.opener(path.as_posix())
        except (FileNotFoundError, IsADirectoryError):
            return None

    def evaluation(self) -> Evaluation | None:
        """metrics.json, fairness.json and predictions.csv; None without metrics.json."""
        files = (paths.METRICS, paths.FAIRNESS, paths.PREDICTIONS, paths.DATA_SUMMARY)
        metrics, fairness, predicted, data = (self.read(path) for path in files)
        if metrics is None:
            return None
        where = f"{self.source}: {{}}"
        return Evaluation(
            source=self.source,
            metrics=artifacts.parse(metrics, MetricsReport, where.format(paths.METRICS.name)),
            fairness=None
            if fairness is None
            else artifacts.parse(fairness, FairnessReport, where.format(paths.FAIRNESS.name)),
            predictions=None
            if predicted is None
            else predictions.parse(predicted.decode(), where.format(paths.PREDICTIONS.name)),
            data=None
            if data is None
            else artifacts.parse(data, DataSummary, where.format(paths.DATA_SUMMARY.name)),
        )


def from_directory(directory: Path) -> Evaluation | None:
    """The evaluation in `directory` (metrics.json, fairness.json, predictions.csv); None without metrics."""
    if not directory.is_dir():
        raise LastmileError(f"Baseline folder {directory} does not exist.")
    # The folder holds the files themselves, not the project's reports/ tree.
    return Revision(
        str(directory), None, lambda path: (directory / Path(path).name).read_bytes()
    ).evaluation()


def current(directory: Path = paths.METRICS.parent) -> Evaluation:
    """This working tree's evaluation; it must exist."""
    evaluation = from_directory(directory) if directory.is_dir() else None
    if evaluation is None:
        raise LastmileError(f"No {directory / paths.METRICS.name}: run the pipeline first (`dvc repro`).")
    return evaluation


def from_git(ref: str, cwd: Path = Path()) -> Evaluation | None:
    """The evaluation committed at `ref` (paths relative to `cwd`); None when it has none."""
    return Revision.at(ref, cwd).evaluation()


@dataclass(frozen=True)
class Paired:
    """The paired-bootstrap comparisons of the headline metrics, or why there are none."""

    comparisons: dict[str, Comparison]
    reason: str  # why there are none; empty when compared


def compare(current: Evaluation, base: Evaluation | None, settings: BootstrapParams) -> Paired:
    """Every headline metric both evaluations hold, compared by paired bootstrap on the same test rows."""
    if base is None:
        return Paired({}, "no baseline")
    if current.other_data(base):
        return Paired({}, "the base evaluated other data")
    if current.predictions is None or base.predictions is None:
        return Paired({}, "no predictions to pair")
    if not rows_match(base.predictions, current.predictions):
        return Paired({}, "the test rows differ from the base's")
    names = [m.name for m in METRICS if m.name in current.metrics.values and m.name in base.metrics.values]
    comparisons = compare_all(
        base.predictions,
        current.predictions,
        names,
        base_threshold=base.metrics.threshold,
        head_threshold=current.metrics.threshold,
        resamples=settings.resamples,
        confidence=settings.confidence,
        seed=settings.seed,
    )
    return Paired(comparisons, "")
