import json
from pathlib import Path


def test_trained_repo_has_metrics(trained_repo: Path) -> None:
    metrics = json.loads((trained_repo / "reports/metrics.json").read_text())
    assert 0.8 < metrics["roc_auc"] <= 1
