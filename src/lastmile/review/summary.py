"""The short summary that ends `make run`: what was trained, how good it is, what to do next."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

from lastmile import paths
from lastmile.data import read_json
from lastmile.model import load_metadata

HEADLINE = ("roc_auc", "pr_auc", "accuracy", "f1", "log_loss", "brier")


def _gates_line() -> str:
    if not paths.GATES.exists():
        return "  not checked yet: `make gate`"
    gates: dict[str, Any] = read_json(paths.GATES)
    results = gates["gates"]
    if gates["passed"]:
        return f"  PASS: all {len(results)} gates (baseline {gates.get('baseline') or 'none'})"
    failed = ", ".join(g["name"] for g in results if not g["passed"])
    return f"  FAIL: {failed} (`make gate` shows the table)"


def _bento_line() -> str:
    tag_file = Path(os.environ.get("BENTOML_HOME", ".bentoml")) / "bento.tag"
    if tag_file.exists():
        return f"  bento       {tag_file.read_text().strip()} (make serve, make image)"
    return "  bento       not built yet: `make bento`"


def render() -> str:
    metrics = read_json(paths.METRICS)
    metadata = load_metadata(paths.MODEL_DIR)
    data = read_json(paths.DATA_SUMMARY)
    fairness = (
        f"fairness in {paths.FAIRNESS}"
        if metadata["features"].get("sensitive")
        else "fairness: none configured (params.yaml features.sensitive)"
    )
    lines = [
        "",
        f"Model {metadata['model_version']} ({metadata['model_kind']}), "
        f"trained on {metadata['training_rows']:,} rows of {data['source']}",
        "  " + "   ".join(f"{name} {metrics[name]:.4f}" for name in HEADLINE if name in metrics),
        f"  test rows {metrics['test_rows']:,}, decision threshold {metrics['threshold']}",
        "Quality gates:",
        _gates_line(),
        "",
        "Artifacts:",
        f"  model       {paths.MODEL_DIR}/ (pipeline + metadata, tracked by DVC)",
        f"  metrics     {paths.METRICS}, per group in {paths.SLICES}; {fairness}",
        f"  validation  {paths.VALIDATION_MD}",
        f"  figures     {paths.FIGURES_DIR}/*.png",
        _bento_line(),
        "",
        "Next:",
        "  make serve                                 serve the model on 127.0.0.1:3000",
        "  dvc exp run -S model.kind=logistic_regression   try a change; `make report` compares it with main",
        "  dvc metrics show | dvc plots show          inspect metrics and curves",
        "  make test                                  lint, type-check and run the tests",
    ]
    return "\n".join(lines)
