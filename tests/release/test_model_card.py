"""The model card and release notes, from a real pipeline run."""

from __future__ import annotations

import json
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

    params = load_params(trained_repo / "params.yaml")
    assert f"# Model card: {params.project.model_name} 0.1.0" in card and params.project.description in card
    assert evidence.fairness is not None and set(evidence.fairness.root) == set(params.features.sensitive)
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


def test_model_card_shows_failed_gates_and_missing_fairness(failed_gates_repo: Path) -> None:
    repo = failed_gates_repo
    (repo / "reports" / "fairness.json").unlink()
    evidence = model_card.Evidence.load(repo)
    card = model_card.render_model_card(
        version.plan_release(repo, REPOSITORY), evidence, load_params(repo / "params.yaml")
    )
    assert "Verdict: **FAILED**." in card
    assert "| dp_group | fairness | 0.3000 | 0.2000 | FAIL |" in card
    params = load_params(repo / "params.yaml")
    expected = "Per-group metrics were not computed" if params.features.sensitive else "None configured"
    assert expected in card


def test_model_card_prose_comes_from_the_project(trained_repo: Path) -> None:
    """Another project's description and no sensitive features: nothing of the example's prose stays."""
    evidence = model_card.Evidence.load(trained_repo)
    params = load_params(trained_repo / "params.yaml")
    project = params.project.model_copy(
        update={"model_name": "tumour-screen", "description": "Flags tumours."}
    )
    features = evidence.metadata.features.model_copy(update={"sensitive": []})
    evidence = replace(
        evidence, metadata=evidence.metadata.model_copy(update={"features": features}), fairness=None
    )
    card = model_card.render_model_card(
        version.plan_release(trained_repo, REPOSITORY),
        evidence,
        params.model_copy(update={"project": project}),
    )
    assert card.startswith("# Model card: tumour-screen 0.1.0") and "\nFlags tumours.\n" in card
    assert "None configured: the project lists no sensitive features" in card
    assert "Sensitive features (evaluated, not excluded): none configured." in card
    for example_only in ("annual income", "census", "1994", "uci adult", "historical inequality"):
        assert example_only not in card.replace(params.project.description, "").lower(), example_only
