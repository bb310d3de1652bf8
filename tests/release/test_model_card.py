"""The model card and release notes, from a real pipeline run."""

from __future__ import annotations

import json
import shutil
from dataclasses import replace
from pathlib import Path

from lastmile.params import load_params
from lastmile.release import model_card, version

REPOSITORY = "Acme/Lastmile"


def test_model_card_reports_the_real_metrics(trained_repo: Path) -> None:
    evidence = model_card.Evidence.load(trained_repo)
    metrics = json.loads((trained_repo / "reports/metrics.json").read_text())
    metadata = json.loads((trained_repo / "models/model.json").read_text())
    plan = version.plan_release(trained_repo, REPOSITORY)
    card = model_card.render_model_card(plan, evidence, load_params(trained_repo / "params.yaml"))

    for section in ("Intended use", "Data", "Metrics", "Quality gates", "Per-group metrics", "Limitations"):
        assert f"\n## {section}\n" in card
    assert f"| roc_auc | {metrics['roc_auc']:.4f} |" in card
    assert f"| f1 | {metrics['f1']:.4f} |" in card
    assert f"Training rows: {metadata['training_rows']:,}; test rows: {metrics['test_rows']:,}" in card
    assert metadata["model_version"] in card and metadata["training_data_hash"] in card
    assert "ghcr.io/acme/lastmile:0.1.0" in card

    assert evidence.fairness is not None and set(evidence.fairness.root) == {"sex", "race"}
    for feature, report in evidence.fairness.root.items():
        assert f"**{feature}**: demographic parity difference" in card
        for group, stats in report.groups.items():
            assert f"| {group} | {stats.rows:,} | {stats.selection_rate:.4f} |" in card

    notes = model_card.render_release_notes(plan, evidence)
    assert f"roc_auc {metrics['roc_auc']:.4f}" in notes
    assert "(first release)" in notes and "ghcr.io/acme/lastmile:latest" in notes
    many = [version.Commit(f"{n:040x}", f"fix: change {n}") for n in range(35)]
    # A commit subject is anyone's text: it stays text (lastmile.prose escapes every value).
    many[0] = version.Commit("0" * 40, "fix: <img src=x> [x](/etc/passwd)")
    notes = model_card.render_release_notes(replace(plan, commits=many, previous_tag="v0.1.0"), evidence)
    assert "- fix: &lt;img src=x&gt; \\[x\\](/etc/passwd) (`0000000`)" in notes
    assert "## Changes since `v0.1.0`" in notes and "- fix: change 29 (" in notes
    assert "- fix: change 30 (" not in notes and "- ... and 5 earlier commits" in notes


def test_model_card_shows_failed_gates_and_missing_fairness(trained_repo: Path, tmp_path: Path) -> None:
    repo = tmp_path / "repo"
    shutil.copytree(trained_repo, repo, symlinks=True)
    gates = {
        "passed": False,
        "baseline": None,
        "gates": [
            {
                "name": "roc_auc",
                "kind": "floor",
                "value": 0.91,
                "threshold": 0.85,
                "op": ">=",
                "passed": True,
            },
            {
                "name": "dp_sex",
                "kind": "fairness",
                "value": 0.3,
                "threshold": 0.2,
                "op": "<=",
                "passed": False,
            },
        ],
    }
    (repo / "reports" / "gates.json").write_text(json.dumps(gates))
    (repo / "reports" / "fairness.json").unlink()
    evidence = model_card.Evidence.load(repo)
    card = model_card.render_model_card(
        version.plan_release(repo, REPOSITORY), evidence, load_params(repo / "params.yaml")
    )
    assert "Verdict: **FAILED**." in card
    assert "| dp_sex | fairness | 0.3000 | 0.2000 | FAIL |" in card
    assert "Per-group metrics were not computed for this model" in card
