"""The short summary that ends `make run`: what was trained, how good it is, what to do next."""

from __future__ import annotations

from lastmile import paths
from lastmile.data import read_json
from lastmile.model import load_metadata

HEADLINE = ("roc_auc", "pr_auc", "accuracy", "f1", "log_loss", "brier")


def render() -> str:
    metrics = read_json(paths.METRICS)
    metadata = load_metadata(paths.MODEL_DIR)
    data = read_json(paths.DATA_SUMMARY)
    lines = [
        "",
        f"Model {metadata['model_version']} ({metadata['model_kind']}), "
        f"trained on {metadata['training_rows']:,} rows of {data['source']}",
        "  " + "   ".join(f"{name} {metrics[name]:.4f}" for name in HEADLINE if name in metrics),
        f"  test rows {metrics['test_rows']:,}, threshold {metrics['threshold']}",
        "",
        "Artifacts:",
        f"  model       {paths.MODEL_DIR}/ (pipeline + metadata, tracked by DVC)",
        f"  metrics     {paths.METRICS}",
        f"  validation  {paths.VALIDATION_MD}",
        f"  figures     {paths.FIGURES_DIR}/*.png",
        "",
        "Next:",
        "  dvc metrics show | dvc plots show        inspect metrics and curves",
        "  dvc exp run -S model.kind=logistic_regression   try a change",
        "  make test                                 lint, type-check and run the tests",
    ]
    return "\n".join(lines)
