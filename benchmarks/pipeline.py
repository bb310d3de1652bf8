"""Pipeline benchmark: Lastmile's DVC pipeline against plain scikit-learn doing the same work.

For each data size (the snapshot resampled to 1x, 4x, 16x its rows) it times, in a throwaway copy
of this repository:
- `dvc repro` of the whole pipeline (ingest, validate, split, train, evaluate: five processes);
- the baseline: one plain Python process that reads the same CSV with pandas, splits it, fits the
  same scikit-learn estimator, computes the same metrics, the same per-slice metrics and fairness
  rates by group (fairlearn), permutation importance (same rows and repeats), and draws the same PNGs;
- at 1x, the no-op re-run (`dvc repro` with nothing changed) and `lastmile summary`.
Prints a Markdown table (paste it into docs/performance.md). Run: `make bench` or
`python benchmarks/pipeline.py --sizes 1 4`.
"""

from __future__ import annotations

import argparse
import gzip
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
BIN = Path(sys.executable).parent

BASELINE = r"""
import sys
import matplotlib
matplotlib.use("Agg")
import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
from sklearn import metrics
from fairlearn.metrics import (MetricFrame, count, demographic_parity_difference, equalized_odds_difference,
                               false_positive_rate, selection_rate, true_positive_rate)
from sklearn.calibration import calibration_curve
from sklearn.inspection import permutation_importance
from sklearn.model_selection import train_test_split
from lastmile.model import build_pipeline
from lastmile.params import load_params

params = load_params()
frame = pd.read_csv(sys.argv[1], skipinitialspace=True, na_values=["?"])
frame["income"] = frame["income"].str.removesuffix(".")
train, test = train_test_split(frame, test_size=0.2, random_state=42, stratify=frame["income"])
model = build_pipeline(params.features, params.model).fit(train[params.features.all], train["income"])
proba = model.predict_proba(test[params.features.all])[:, list(model.classes_).index(">50K")]
y = (test["income"] == ">50K").to_numpy().astype(int)
pred = (proba >= 0.5).astype(int)
scorers = (metrics.accuracy_score, metrics.precision_score, metrics.recall_score, metrics.f1_score)
scores = [f(y, pred) for f in scorers]
scores += [metrics.roc_auc_score(y, proba), metrics.average_precision_score(y, proba),
           metrics.log_loss(y, proba), metrics.brier_score_loss(y, proba)]
curves = [metrics.roc_curve(y, proba)[:2], metrics.precision_recall_curve(y, proba)[:2][::-1],
          calibration_curve(y, proba, n_bins=10, strategy="quantile")[::-1]]
for i, (xs, ys) in enumerate(curves):
    fig, ax = plt.subplots(); ax.plot(xs, ys); fig.savefig(f"baseline-{i}.png"); plt.close(fig)
fig, ax = plt.subplots(); ax.imshow(metrics.confusion_matrix(y, pred))
fig.savefig("baseline-cm.png"); plt.close(fig)
rates = {"rows": count, "selection_rate": selection_rate, "true_positive_rate": true_positive_rate,
         "false_positive_rate": false_positive_rate}
for column in params.features.sensitive:
    groups = test[column].to_numpy()
    MetricFrame(metrics=rates, y_true=y, y_pred=pred, sensitive_features=groups).by_group
    demographic_parity_difference(y, pred, sensitive_features=groups)
    equalized_odds_difference(y, pred, sensitive_features=groups)
bands = pd.cut(test["age"], [0, 25, 35, 45, 55, 65, 200], right=False)
for groups in [*(test[c] for c in params.features.sensitive), bands]:
    for group in groups.dropna().unique():
        mask = (groups == group).to_numpy()
        per_group = [f(y[mask], pred[mask]) for f in scorers]
        if len(np.unique(y[mask])) == 2:
            per_group.append(metrics.roc_auc_score(y[mask], proba[mask]))
imp = params.evaluation.importance
rows = np.random.default_rng(0).choice(len(test), size=min(imp.max_rows, len(test)), replace=False)
result = permutation_importance(model, test[params.features.all].iloc[rows], test["income"].iloc[rows],
                                scoring="roc_auc", n_repeats=imp.n_repeats, random_state=0)
fig, ax = plt.subplots(); ax.barh(params.features.all, result.importances_mean)
fig.savefig("baseline-importance.png"); plt.close(fig)
print(f"roc_auc {scores[4]:.4f}")
"""


def _env() -> dict[str, str]:
    return {**os.environ, "PATH": f"{BIN}{os.pathsep}{os.environ['PATH']}", "DVC_NO_ANALYTICS": "1"}


def timed(cmd: list[str], cwd: Path) -> float:
    started = time.perf_counter()
    subprocess.run(cmd, cwd=cwd, check=True, env=_env(), stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    return time.perf_counter() - started


def copy_repo(dest: Path) -> None:
    listed = subprocess.run(
        ["git", "ls-files", "-co", "--exclude-standard", "-z"],
        cwd=ROOT,
        capture_output=True,
        check=True,
        text=True,
    ).stdout.split("\0")
    for name in filter(None, listed):
        if (ROOT / name).is_file():
            (dest / name).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(ROOT / name, dest / name)
    subprocess.run(["git", "init", "-q"], cwd=dest, check=True)


def resample(factor: int, dest: Path) -> Path:
    """The snapshot's data rows repeated `factor` times (same format and quirks)."""
    lines = gzip.decompress((ROOT / "data/adult.csv.gz").read_bytes()).decode().splitlines()
    path = dest / f"adult-x{factor}.csv"
    path.write_text("\n".join([lines[0], *lines[1:] * factor]) + "\n", encoding="utf-8")
    return path


def set_source(repo: Path, source: Path) -> None:
    params = repo / "params.yaml"
    text = params.read_text(encoding="utf-8").replace("source: data/adult.csv.gz", f"source: {source}")
    params.write_text(text, encoding="utf-8")


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument(
        "--sizes", type=int, nargs="+", default=[1, 4, 16], help="data size factors (default 1 4 16)"
    )
    args = parser.parse_args()
    rows = []
    with tempfile.TemporaryDirectory(prefix="lastmile-bench-") as tmp:
        work = Path(tmp)
        for factor in args.sizes:
            repo = work / f"repo-x{factor}"
            repo.mkdir()
            copy_repo(repo)
            source = resample(factor, work)
            set_source(repo, source)
            print(f"x{factor}: running the pipeline (dvc repro) ...", file=sys.stderr, flush=True)
            pipeline = timed(["dvc", "repro", "--force"], repo)
            print(f"x{factor}: running plain scikit-learn ...", file=sys.stderr, flush=True)
            baseline = timed([sys.executable, "-c", BASELINE, str(source)], repo)
            noop = summary = None
            if factor == args.sizes[0]:
                noop = timed(["dvc", "repro"], repo)
                summary = timed(["lastmile", "summary"], repo)
            rows.append((factor, 48_842 * factor, pipeline, baseline, noop, summary))
    print("| data | rows | pipeline (dvc repro) | plain scikit-learn | ratio | no-op re-run | summary |")
    print("| ---: | ---: | ---: | ---: | ---: | ---: | ---: |")
    for factor, n, pipeline, baseline, noop, summary in rows:
        extra = f"{noop:.1f} s | {summary:.1f} s" if noop is not None and summary is not None else "- | -"
        ratio = pipeline / baseline
        print(f"| x{factor} | {n:,} | {pipeline:.1f} s | {baseline:.1f} s | {ratio:.2f}x | {extra} |")


if __name__ == "__main__":
    main()
