"""The short summary that ends `make run`: what was trained, how good it is, what to do next."""

from __future__ import annotations

import os
from pathlib import Path

from lastmile import artifacts, paths
from lastmile.artifacts import DataSummary, GatesReport, MetricsReport
from lastmile.metrics import BRIEF
from lastmile.model import load_metadata


def _gates_line() -> str:
    if not paths.GATES.exists():
        return "  not checked yet: `make gate`"
    gates = artifacts.read(paths.GATES, GatesReport)
    if gates.passed:
        return f"  PASS: all {len(gates.gates)} gates (baseline {gates.baseline or 'none'})"
    return f"  FAIL: {', '.join(gates.failed)} (`make gate` shows the table)"


def _bento_line() -> str:
    tag_file = Path(os.environ.get("BENTOML_HOME", ".bentoml")) / "bento.tag"
    if tag_file.exists():
        return f"  bento       {tag_file.read_text().strip()} (make serve, make image)"
    return "  bento       not built yet: `make bento`"


def render() -> str:
    metrics = artifacts.read(paths.METRICS, MetricsReport)
    values = metrics.values
    metadata = load_metadata(paths.MODEL_DIR)
    data = artifacts.read(paths.DATA_SUMMARY, DataSummary)
    fairness = (
        f"fairness in {paths.FAIRNESS}"
        if metadata.features.sensitive
        else "fairness: none configured (params.yaml features.sensitive)"
    )
    lines = [
        "",
        f"Model {metadata.model_version} ({metadata.model_kind}), "
        f"trained on {metadata.training_rows:,} rows of {data.source}",
        "  " + "   ".join(f"{m.name} {values[m.name]:.4f}" for m in BRIEF if m.name in values),
        f"  test rows {metrics.test_rows:,}, decision threshold {metadata.threshold}",
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
        # The stages call `lastmile`: `.venv/bin/dvc exp run` alone fails with "lastmile: command not found".
        "  source .venv/bin/activate                  in a new shell: puts dvc and lastmile on PATH",
        "  dvc exp run -S model.kind=logistic_regression   try a change; `make report` compares",
        "  dvc metrics show                           the metrics (`dvc plots show`: the curves)",
        "  make test                                  lint, type-check and run the tests",
    ]
    return "\n".join(lines)
