"""Pipeline benchmark: Lastmile's DVC pipeline against plain scikit-learn doing the same work.

For each data size (the project's `data.source` resampled to 1x and 16x its rows) it times, in a
throwaway copy of this repository:
- `dvc repro` of the whole pipeline (check, ingest, validate, split, train, evaluate: six processes);
- the baseline: one plain Python process that reads the same CSV with pandas, splits it by the
  split stage's rule (the same training rows in the same order), fits the same scikit-learn
  estimator, computes the same metrics, the same per-slice metrics and fairness rates by group
  (fairlearn), permutation importance (same rows and repeats), and draws the same PNGs. It checks
  that both sides made the same model (ROC AUC and boosting iterations), or says the ratio is off;
- the no-op re-run (`dvc repro` with nothing changed) and `lastmile summary`;
- with `--stages`, each stage's command alone (after the last run, on its outputs) and what is left
  of `dvc repro` for DVC itself: where the pipeline's time goes, per size;
- the floor: `dvc repro` of the same stages as processes that only import their stage's module
  (no work), against one process importing them all. The difference is what running the stages
  as separate processes under DVC costs before any work, at any size: the least overhead a
  pipeline of these stages can have.
The sizes run interleaved, three times each by default; the median counts. Prints Markdown tables
(paste them into docs/performance.md). Run: `make bench` or `python benchmarks/pipeline.py --sizes 1 4`.
"""

from __future__ import annotations

import argparse
import gzip
import json
import os
import resource
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import NamedTuple

ROOT = Path(__file__).resolve().parents[1]
BIN = Path(sys.executable).parent

BASELINE = r"""
import json
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
from lastmile.data import one_against_the_rest
from lastmile.model import build_pipeline
from lastmile.params import load_params

params = load_params()
target, positive = params.target.column, params.target.positive
frame = pd.read_csv(sys.argv[1], skipinitialspace=True, na_values=params.data.na_values,
                    comment=params.data.comment_prefix or None)
frame.columns = [c.strip().lower().replace("-", "_") for c in frame.columns]
labels = frame[target].astype(str).str.strip()
if params.data.label_suffix:
    labels = labels.str.removesuffix(params.data.label_suffix)
frame[target] = labels
# The split stage's rule (a seeded sample of each label, rows kept in file order): the same training
# rows in the same order, so both sides fit the same model (early stopping makes the number of
# boosting iterations depend on the rows' order: 158 against 300 at 16x with train_test_split).
test = frame.groupby(labels, group_keys=False).sample(
    frac=params.split.test_size, random_state=params.split.seed)
train = frame.drop(index=test.index)
model = build_pipeline(params.features, params.model).fit(
    train[params.features.all], one_against_the_rest(train[target], str(positive), target))
proba = model.predict_proba(test[params.features.all])[:, list(model.classes_).index(str(positive))]
y = (test[target] == str(positive)).to_numpy().astype(int)
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
slices = params.evaluation.slices
bands = [pd.cut(test[c], [-np.inf, *edges, np.inf], right=False) for c, edges in slices.bands.items()]
for groups in [*(test[c] for c in [*params.features.sensitive, *slices.columns]), *bands]:
    for group in groups.dropna().unique():
        mask = (groups == group).to_numpy()
        per_group = [f(y[mask], pred[mask]) for f in scorers]
        if len(np.unique(y[mask])) == 2:
            per_group.append(metrics.roc_auc_score(y[mask], proba[mask]))
imp = params.evaluation.importance
rows = np.random.default_rng(0).choice(len(test), size=min(imp.max_rows, len(test)), replace=False)
result = permutation_importance(model, test[params.features.all].iloc[rows], test[target].iloc[rows],
                                scoring="roc_auc", n_repeats=imp.n_repeats, random_state=0)
fig, ax = plt.subplots(); ax.barh(params.features.all, result.importances_mean)
fig.savefig("baseline-importance.png"); plt.close(fig)
print(json.dumps({"roc_auc": round(scores[4], 6), "iterations": getattr(model[-1], "n_iter_", None)}))
"""


THREADS = str(len(os.sched_getaffinity(0)))


def stage_names(repo: Path) -> list[str]:
    """The pipeline's stages, in dvc.yaml's order (the order `dvc repro` runs them here)."""
    import yaml

    return list(yaml.safe_load((repo / "dvc.yaml").read_text(encoding="utf-8"))["stages"])


def _imports(stages: list[str]) -> str:
    return "import " + ", ".join(["lastmile.cli", *(f"lastmile.stages.{stage}" for stage in stages)])


def make_floor(stages: list[str], dest: Path) -> None:
    """A DVC project with the same stages in a chain, each only importing what its command imports."""
    import yaml

    dest.mkdir()
    chain: dict[str, dict[str, object]] = {}
    for before, stage in zip([None, *stages], stages, strict=False):
        write = f"open('{stage}.out', 'w').write('{stage}')"
        chain[stage] = {"cmd": f'python -c "{_imports([stage])}; {write}"', "outs": [f"{stage}.out"]}
        if before:
            chain[stage]["deps"] = [f"{before}.out"]
    (dest / "dvc.yaml").write_text(yaml.safe_dump({"stages": chain}, sort_keys=False), encoding="utf-8")
    subprocess.run(["git", "init", "-q"], cwd=dest, check=True)
    subprocess.run(["dvc", "init", "-q"], cwd=dest, check=True, env=_env())


def _env() -> dict[str, str]:
    """Both sides get the same thread count (all CPUs, as plain scikit-learn takes on a quiet machine):
    the ratio measures the pipeline's overhead, not `lastmile.compute` dodging a busy machine's load."""
    threads = dict.fromkeys(("LASTMILE_THREADS", "OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS"), THREADS)
    path = f"{BIN}{os.pathsep}{os.environ['PATH']}"
    return {**os.environ, **threads, "PATH": path, "DVC_NO_ANALYTICS": "1"}


class Timing(NamedTuple):
    wall: float
    cpu: float  # user + system seconds of the command and its children: steadier than wall on a busy machine


def timed_output(cmd: list[str], cwd: Path) -> tuple[Timing, str]:
    """The command's timing and its standard output."""
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    started = time.perf_counter()
    done = subprocess.run(cmd, cwd=cwd, check=True, env=_env(), capture_output=True, text=True)
    wall = time.perf_counter() - started
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    return Timing(wall, after.ru_utime - before.ru_utime + after.ru_stime - before.ru_stime), done.stdout


def timed(cmd: list[str], cwd: Path) -> Timing:
    return timed_output(cmd, cwd)[0]


class Fitted(NamedTuple):
    """What each side's model scored, and its boosting iterations: equal when the work was equal."""

    roc_auc: float
    iterations: int | None


def pipeline_fitted(repo: Path) -> Fitted:
    import joblib

    roc_auc = json.loads((repo / "reports" / "metrics.json").read_text(encoding="utf-8"))["roc_auc"]
    classifier = joblib.load(repo / "models" / "model.joblib")[-1]
    return Fitted(roc_auc, getattr(classifier, "n_iter_", None))


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


def _source(repo: Path) -> Path:
    """The project's own data source (a local file: the benchmark resamples it)."""
    import yaml

    source = Path(yaml.safe_load((repo / "params.yaml").read_text(encoding="utf-8"))["data"]["source"])
    return source if source.is_absolute() else repo / source


def resample(factor: int, source: Path, dest: Path) -> tuple[Path, int]:
    """The source's data rows repeated `factor` times (same format and quirks), and the row count."""
    raw = source.read_bytes()
    lines = (gzip.decompress(raw) if source.suffix == ".gz" else raw).decode().splitlines()
    path = dest / f"data-x{factor}.csv"
    path.write_text("\n".join([lines[0], *lines[1:] * factor]) + "\n", encoding="utf-8")
    return path, (len(lines) - 1) * factor


def set_source(repo: Path, source: Path) -> None:
    import yaml

    params_file = repo / "params.yaml"
    params = yaml.safe_load(params_file.read_text(encoding="utf-8"))
    params["data"]["source"] = str(source)
    params_file.write_text(yaml.safe_dump(params, sort_keys=False), encoding="utf-8")


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument(
        "--sizes", type=int, nargs="+", default=[1, 16], help="data size factors (default 1 16)"
    )
    parser.add_argument("--runs", type=int, default=3, help="interleaved runs per size; the median counts")
    parser.add_argument(
        "--stages", action="store_true", help="also time each stage alone and DVC's own share (one run)"
    )
    args = parser.parse_args()
    times: dict[tuple[int, str], list[Timing]] = {}
    stages: dict[tuple[int, str], Timing] = {}
    rows: dict[int, int] = {}
    fitted: dict[int, tuple[Fitted, Fitted]] = {}
    noop = summary = Timing(0.0, 0.0)
    stage_list = stage_names(ROOT)
    with tempfile.TemporaryDirectory(prefix="lastmile-bench-") as tmp:
        work = Path(tmp)
        make_floor(stage_list, work / "floor")
        sources = {}
        for factor in args.sizes:
            repo = work / f"repo-x{factor}"
            repo.mkdir()
            copy_repo(repo)
            sources[factor], rows[factor] = resample(factor, _source(ROOT), work)
            set_source(repo, sources[factor])
        # Interleaved: a slow spell of the machine hits both sides of a ratio, not one.
        for run in range(1, args.runs + 1):
            for factor in args.sizes:
                repo = work / f"repo-x{factor}"
                print(
                    f"run {run}/{args.runs}, x{factor}: pipeline, then plain scikit-learn ...",
                    file=sys.stderr,
                )
                times.setdefault((factor, "pipeline"), []).append(timed(["dvc", "repro", "--force"], repo))
                baseline = [sys.executable, "-c", BASELINE, str(sources[factor])]
                timing, output = timed_output(baseline, repo)
                times.setdefault((factor, "baseline"), []).append(timing)
                fitted[factor] = (pipeline_fitted(repo), Fitted(**json.loads(output)))
            print(f"run {run}/{args.runs}: the floor ...", file=sys.stderr)
            times.setdefault((0, "floor"), []).append(timed(["dvc", "repro", "--force"], work / "floor"))
            one = [sys.executable, "-c", _imports(stage_list)]
            times.setdefault((0, "one process"), []).append(timed(one, work))
        if args.stages:
            for factor in args.sizes:
                print(f"x{factor}: each stage alone ...", file=sys.stderr)
                for stage in stage_list:
                    stages[factor, stage] = timed(["lastmile", stage], work / f"repo-x{factor}")
        first = work / f"repo-x{args.sizes[0]}"
        noop = timed(["dvc", "repro"], first)
        summary = timed(["lastmile", "summary"], first)
    load = os.getloadavg()[0]
    print(f"Median of {args.runs} interleaved runs; {THREADS} threads each side; load {load:.1f}.")
    print("| data | rows | pipeline (dvc repro) | plain scikit-learn | ratio | ratio of CPU seconds |")
    print("| ---: | ---: | ---: | ---: | ---: | ---: |")
    for factor in args.sizes:
        ours, plain = median(times[factor, "pipeline"]), median(times[factor, "baseline"])
        print(
            f"| x{factor} | {rows[factor]:,} | {ours.wall:.1f} s | {plain.wall:.1f} s "
            f"| {ours.wall / plain.wall:.2f}x | {ours.cpu / plain.cpu:.2f}x |"
        )
    print(
        f"No-op re-run (dvc repro, nothing changed): {noop.wall:.1f} s; "
        f"`lastmile summary`: {summary.wall:.1f} s."
    )
    for factor, (our_model, plain_model) in fitted.items():
        alike = our_model.iterations == plain_model.iterations
        alike &= abs(our_model.roc_auc - plain_model.roc_auc) < 1e-5
        same = "the same model" if alike else "DIFFERENT MODELS: the ratio is not like for like"
        print(
            f"x{factor}: pipeline ROC AUC {our_model.roc_auc}, {our_model.iterations} boosting "
            f"iterations; plain {plain_model.roc_auc}, {plain_model.iterations}: {same}."
        )
    print_floor(args.sizes, times)
    if stages:
        print_stages(args.sizes, stage_list, stages, times)


def median(timings: list[Timing]) -> Timing:
    return Timing(statistics.median(t.wall for t in timings), statistics.median(t.cpu for t in timings))


def print_floor(sizes: list[int], times: dict[tuple[int, str], list[Timing]]) -> None:
    """The stages' least overhead, against what each size's ratio target leaves for all overhead."""
    floor, one = median(times[0, "floor"]), median(times[0, "one process"])
    print(
        f"Floor: `dvc repro` of the same stages only importing their modules {floor.wall:.1f} s, "
        f"one process importing them all {one.wall:.1f} s: {floor.wall - one.wall:.1f} s of overhead "
        "before any work, at any size."
    )
    for factor in sizes:
        baseline = median(times[factor, "baseline"]).wall
        print(
            f"x{factor}: the floor alone makes {(baseline + floor.wall - one.wall) / baseline:.2f}x "
            "of plain scikit-learn."
        )


def print_stages(
    sizes: list[int],
    stage_list: list[str],
    stages: dict[tuple[int, str], Timing],
    times: dict[tuple[int, str], list[Timing]],
) -> None:
    """Wall (CPU) seconds of each stage alone, and DVC's share: the median `dvc repro` minus the stages."""
    print()
    print("| stage | " + " | ".join(f"x{f} wall (CPU)" for f in sizes) + " |")
    print("| --- | " + " | ".join("---:" for _ in sizes) + " |")
    for stage in stage_list:
        cells = [f"{stages[f, stage].wall:.1f} s ({stages[f, stage].cpu:.1f} s)" for f in sizes]
        print(f"| {stage} | " + " | ".join(cells) + " |")
    dvc = []
    for factor in sizes:
        total = median(times[factor, "pipeline"])
        alone = [sum(stages[factor, stage][i] for stage in stage_list) for i in (0, 1)]
        share = total.wall - alone[0]
        # Below zero, the machine was slower while the stages ran alone than during `dvc repro`.
        busy = "n/a (machine too busy)"
        dvc.append(f"{share:.1f} s ({total.cpu - alone[1]:.1f} s)" if share >= 0 else busy)
    print("| DVC itself (dvc repro minus the stages) | " + " | ".join(dvc) + " |")


if __name__ == "__main__":
    main()
