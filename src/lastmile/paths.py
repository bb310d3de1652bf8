"""Where each stage reads and writes. `dvc.yaml` declares the same paths (a test checks it)."""

from pathlib import Path

PARAMS = Path("params.yaml")
CONTRACT = Path("contract.yaml")

# Written by the `check` stage when params.yaml and contract.yaml are valid; every stage depends on it.
CHECKED = Path("data/interim/checked.json")
RAW_TABLE = Path("data/interim/raw.parquet")
DATA_SUMMARY = Path("reports/data_summary.json")
VALIDATED_TABLE = Path("data/interim/validated.parquet")
VALIDATION_JSON = Path("reports/validation.json")
VALIDATION_MD = Path("reports/validation.md")
TRAIN_TABLE = Path("data/processed/train.parquet")
TEST_TABLE = Path("data/processed/test.parquet")
MODEL_DIR = Path("models")
METRICS = Path("reports/metrics.json")
PLOTS_DIR = Path("reports/plots")
FIGURES_DIR = Path("reports/figures")
PREDICTIONS = Path("reports/predictions.csv")
SLICES = Path("reports/slices.json")
FAIRNESS = Path("reports/fairness.json")
IMPORTANCE = Path("reports/importance.json")
PROFILE = Path("reports/profile.json")  # the drift monitor's reference, shipped in the bento
# Written outside the DVC pipeline: `lastmile gate`, `lastmile report` and `lastmile monitor`.
GATES = Path("reports/gates.json")
PR_REPORT_DIR = Path("reports/pr")  # the PR comment, its plots and verdict (git-ignored)
MONITOR_DIR = Path("reports/monitor")  # drift reports (git-ignored)
