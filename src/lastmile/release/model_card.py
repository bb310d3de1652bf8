"""The model card and the release notes, from what the pipeline wrote (metrics, gates, fairness).

The prose lives in Jinja templates under `templates/`, which a user reads and edits like any Markdown
(rendered by `lastmile.prose`: every value is escaped for Markdown unless a filter made it Markdown).
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from lastmile import artifacts, paths, prose
from lastmile.artifacts import DataSummary, FairnessReport, GatesReport, MetricsReport, ModelInfo
from lastmile.metrics import BRIEF, METRICS
from lastmile.model import load_metadata
from lastmile.params import Params
from lastmile.release import ReleaseError
from lastmile.release.version import ReleasePlan

MAX_NOTED_COMMITS = 30


@dataclass(frozen=True)
class Evidence:
    """Everything the pipeline wrote that a release describes."""

    metadata: ModelInfo
    metrics: MetricsReport
    data_summary: DataSummary | None
    gates: GatesReport | None
    fairness: FairnessReport | None

    @classmethod
    def load(cls, root: Path) -> Evidence:
        gates, fairness, summary = root / paths.GATES, root / paths.FAIRNESS, root / paths.DATA_SUMMARY
        return cls(
            metadata=load_metadata(root / paths.MODEL_DIR),
            metrics=artifacts.read(root / paths.METRICS, MetricsReport),
            data_summary=artifacts.read(summary, DataSummary) if summary.exists() else None,
            gates=artifacts.read(gates, GatesReport) if gates.exists() else None,
            fairness=artifacts.read(fairness, FairnessReport) if fairness.exists() else None,
        )

    def require_passed_gates(self) -> None:
        if self.gates is not None and not self.gates.passed:
            raise ReleaseError(
                f"The quality gates failed ({', '.join(self.gates.failed) or 'see reports/gates.json'}): "
                "a model that fails them is not released. Fix the model or the data, then re-run."
            )


def render_model_card(plan: ReleasePlan, evidence: Evidence, params: Params) -> str:
    """A Markdown model card (after Mitchell et al., 2019): `templates/model_card.md.j2`."""
    metrics = evidence.metrics.values
    template = prose.templates("lastmile.release").get_template("model_card.md.j2")
    return template.render(
        plan=plan,
        params=params,
        meta=evidence.metadata,
        test_rows=evidence.metrics.test_rows,
        data=evidence.data_summary,
        gates=evidence.gates,
        fairness=evidence.fairness.root if evidence.fairness else {},
        headline=[(m.name, metrics[m.name]) for m in METRICS if m.name in metrics],
    )


def render_release_notes(plan: ReleasePlan, evidence: Evidence) -> str:
    """The GitHub Release's notes: `templates/release_notes.md.j2`."""
    metrics = evidence.metrics.values
    gate = "no gate report" if evidence.gates is None else ("passed" if evidence.gates.passed else "FAILED")
    template = prose.templates("lastmile.release").get_template("release_notes.md.j2")
    return template.render(
        plan=plan,
        meta=evidence.metadata,
        headline=[(m.name, metrics[m.name]) for m in BRIEF if m.name in metrics],
        gate=gate,
        changes=plan.commits[:MAX_NOTED_COMMITS],
        more=max(len(plan.commits) - MAX_NOTED_COMMITS, 0),
    )
