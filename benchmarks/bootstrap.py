"""Paired bootstrap benchmark: `lastmile.evaluation.bootstrap` against a plain loop over scikit-learn.

Both compute the same thing: per resample, the metric of the head model minus the base model's on
the same rows drawn with replacement. The baseline is the textbook loop (index the rows, call
`roc_auc_score` twice) timed on a few resamples and scaled per resample. Uses this checkout's
`reports/predictions.csv` as the base and a perturbed copy as the head. Run:
`python benchmarks/bootstrap.py [--resamples 1000] [--loop 100]`.
"""

from __future__ import annotations

import argparse
import time
from pathlib import Path

import numpy as np
from sklearn import metrics as skm

from lastmile.evaluation import bootstrap, predictions

ROOT = Path(__file__).resolve().parents[1]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--resamples", type=int, default=1000)
    parser.add_argument("--loop", type=int, default=100, help="resamples timed for the plain loop")
    args = parser.parse_args()
    path = ROOT / "reports/predictions.csv"
    base = predictions.parse(path.read_text(encoding="utf-8"), str(path))
    rng = np.random.default_rng(0)
    head = base.assign(probability=(base["probability"] + rng.normal(0, 0.02, len(base))).clip(0, 1))
    y, p_base, p_head = (
        base["actual"].to_numpy(),
        base["probability"].to_numpy(),
        head["probability"].to_numpy(),
    )
    print(f"{len(base):,} paired rows, {args.resamples:,} resamples\n")
    print("| metric | lastmile.evaluation.bootstrap | plain loop (scaled) | speed-up |")
    print("| --- | ---: | ---: | ---: |")
    for metric, score in (("roc_auc", skm.roc_auc_score), ("pr_auc", skm.average_precision_score)):
        started = time.perf_counter()
        bootstrap.compare(base, head, metric, resamples=args.resamples)
        vectorised = time.perf_counter() - started
        started = time.perf_counter()
        for _ in range(args.loop):
            rows = rng.integers(0, len(y), len(y))
            score(y[rows], p_head[rows]) - score(y[rows], p_base[rows])
        loop = (time.perf_counter() - started) / args.loop * args.resamples
        print(f"| {metric} | {vectorised:.2f} s | {loop:.2f} s | {loop / vectorised:.0f}x |")


if __name__ == "__main__":
    main()
