"""The model card and the release notes, from what the pipeline wrote (metrics, gates, fairness)."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

from lastmile import artifacts, paths
from lastmile.artifacts import FairnessReport, GatesReport, MetricsReport, ModelInfo
from lastmile.data import read_json
from lastmile.metrics import BRIEF, METRICS
from lastmile.model import load_metadata
from lastmile.params import Params
from lastmile.release import ReleaseError
from lastmile.release.version import ReleasePlan

MAX_NOTED_COMMITS = 30


def _optional_json(path: Path) -> Any:
    return read_json(path) if path.exists() else None


@dataclass(frozen=True)
class Evidence:
    """Everything the pipeline wrote that a release describes."""

    metadata: ModelInfo
    metrics: MetricsReport
    data_summary: dict[str, Any] | None
    gates: GatesReport | None
    fairness: FairnessReport | None

    @classmethod
    def load(cls, root: Path) -> Evidence:
        gates, fairness = root / paths.GATES, root / paths.FAIRNESS
        return cls(
            metadata=load_metadata(root / paths.MODEL_DIR),
            metrics=artifacts.read(root / paths.METRICS, MetricsReport),
            data_summary=_optional_json(root / paths.DATA_SUMMARY),
            gates=artifacts.read(gates, GatesReport) if gates.exists() else None,
            fairness=artifacts.read(fairness, FairnessReport) if fairness.exists() else None,
        )

    def require_passed_gates(self) -> None:
        if self.gates is not None and not self.gates.passed:
            raise ReleaseError(
                f"The quality gates failed ({', '.join(self.gates.failed) or 'see reports/gates.json'}): "
                "a model that fails them is not released. Fix the model or the data, then re-run."
            )


def _number(value: Any) -> str:
    if isinstance(value, bool) or value is None:
        return str(value)
    if isinstance(value, int):
        return f"{value:,}"
    if isinstance(value, float):
        return f"{value:.4f}"
    return str(value)


def _table(header: list[str], rows: list[list[str]]) -> list[str]:
    return [
        "| " + " | ".join(header) + " |",
        "|" + "|".join(" --- " for _ in header) + "|",
        *("| " + " | ".join(row) + " |" for row in rows),
    ]


def _gates_section(gates: GatesReport | None) -> list[str]:
    if gates is None:
        return ["No gate report (`reports/gates.json`) was found for this model.", ""]
    rows = [
        [g.name, g.kind, _number(g.value), _number(g.threshold), "pass" if g.passed else "FAIL"]
        for g in gates.gates
    ]
    verdict = "all passed" if gates.passed else "FAILED"
    return [
        f"Verdict: **{verdict}**.",
        "",
        *_table(["gate", "kind", "value", "threshold", "result"], rows),
        "",
    ]


def _fairness_section(fairness: FairnessReport | None) -> list[str]:
    if not fairness or not fairness.root:
        return [
            "Per-group metrics were not computed for this model (`reports/fairness.json` is missing).",
            "Do not use it for decisions about people before they are.",
            "",
        ]
    lines: list[str] = []
    for feature, report in fairness.root.items():
        lines += [
            f"**{feature}**: demographic parity difference "
            f"{_number(report.demographic_parity_difference)}, equalized odds difference "
            f"{_number(report.equalized_odds_difference)}.",
            "",
        ]
        rows = [
            [
                str(group),
                _number(stats.rows),
                _number(stats.selection_rate),
                _number(stats.true_positive_rate),
                _number(stats.false_positive_rate),
            ]
            for group, stats in report.groups.items()
        ]
        lines += [*_table(["group", "rows", "selection rate", "TPR", "FPR"], rows), ""]
    return lines


def render_model_card(plan: ReleasePlan, evidence: Evidence, params: Params) -> str:
    """A Markdown model card (after Mitchell et al., 2019) from the pipeline's own outputs."""
    meta, metrics, data = evidence.metadata, evidence.metrics.values, evidence.data_summary or {}
    features = meta.features
    positive = params.target.positive
    metric_rows = [[m.name, _number(metrics[m.name])] for m in METRICS if m.name in metrics]
    lines = [
        f"# Model card: {params.target.column} classifier {plan.version}",
        "",
        "## Model details",
        "",
        *_table(
            ["field", "value"],
            [
                ["release", f"`{plan.tag}` (commit `{plan.commit[:12]}`)"],
                ["model version", f"`{meta.model_version}`"],
                ["model", f"scikit-learn `Pipeline` ({meta.model_kind}), preprocessing inside"],
                ["training data hash", f"`{meta.training_data_hash}`"],
                ["image", f"`{plan.image_tags[0]}`" if plan.image_tags else "-"],
                ["versions", ", ".join(f"{k} {v}" for k, v in sorted(meta.versions.items()))],
            ],
        ),
        "",
        "## Intended use",
        "",
        f"Estimates the probability that a person's annual income is `{positive}` from census-style "
        "attributes, for research, teaching and as a template for MLOps pipelines. `POST /predict` "
        "returns, per record, the predicted label and the positive-class probability.",
        "",
        "Out of scope: decisions about individuals (credit, hiring, housing, insurance, benefits) "
        "or any use where an error harms a person. The model reproduces patterns of a 1994 census "
        "extract and was not audited for such uses.",
        "",
        "## Data",
        "",
        f"- Source: `{data.get('source', params.data.source)}` "
        "(UCI Adult, Becker & Kohavi 1996, CC BY 4.0, unless `params.yaml` points elsewhere), "
        f"{_number(data.get('rows', '?'))} rows, data hash `{data.get('data_hash', '?')}`.",
        f"- Target: `{params.target.column}`, positive class `{positive}` "
        f"(positive rate {_number(data.get('positive_rate', '?'))}).",
        f"- Training rows: {_number(meta.training_rows)}; test rows: "
        f"{_number(evidence.metrics.test_rows)} (stratified split, seed {params.split.seed}).",
        f"- Numeric features: {', '.join(features.numeric) or '-'}.",
        f"- Categorical features: {', '.join(features.categorical) or '-'}.",
        f"- Sensitive features (evaluated, not excluded): {', '.join(features.sensitive) or '-'}.",
        "",
        "## Metrics",
        "",
        f"On the held-out test split, decision threshold {_number(meta.threshold)}:",
        "",
        *_table(["metric", "value"], metric_rows),
        "",
        "## Quality gates",
        "",
        *_gates_section(evidence.gates),
        "## Per-group metrics",
        "",
        *_fairness_section(evidence.fairness),
        "## Limitations",
        "",
        "- The data is a 1994 US census extract: incomes, categories and their relation to income "
        "have changed since; do not expect the metrics to hold on today's population.",
        "- Groups with few rows (several `race` and `native_country` values) have wide uncertainty; "
        "per-group rates above are point estimates.",
        "- Sex and race are inputs of the model: its scores differ across those groups "
        "(see the per-group metrics) and reflect historical inequality in the data.",
        "- Categories not seen in training are encoded as unknown; values outside the data contract "
        "are rejected by the service.",
        "- Probabilities are not guaranteed to be calibrated outside the test distribution "
        "(see the calibration plot in the pipeline's reports).",
        "",
    ]
    return "\n".join(lines)


def render_release_notes(plan: ReleasePlan, evidence: Evidence) -> str:
    metrics = evidence.metrics.values
    since = f"since `{plan.previous_tag}`" if plan.previous_tag else "(first release)"
    changes = [f"- {c.subject} (`{c.sha[:7]}`)" for c in plan.commits[:MAX_NOTED_COMMITS]]
    if len(plan.commits) > MAX_NOTED_COMMITS:
        changes.append(f"- ... and {len(plan.commits) - MAX_NOTED_COMMITS} earlier commits")
    changes = changes or ["- No new commits."]
    gate = "no gate report" if evidence.gates is None else ("passed" if evidence.gates.passed else "FAILED")
    headline = ", ".join(f"{m.name} {_number(metrics[m.name])}" for m in BRIEF if m.name in metrics)
    return "\n".join(
        [
            f"Model `{evidence.metadata.model_version}`: {headline}; quality gates {gate}.",
            "",
            "## Image",
            "",
            "```",
            *plan.image_tags,
            "```",
            "",
            f"Run it: `docker run --rm -p 3000:3000 {plan.image_tags[0] if plan.image_tags else plan.image}` "
            "then `POST http://localhost:3000/predict`. Deploy it: `deploy/kubernetes/`, docs/release.md.",
            "The image's SBOM (CycloneDX) and model card are attached; its build provenance is attested.",
            "",
            f"## Changes {since}",
            "",
            *changes,
            "",
        ]
    )
