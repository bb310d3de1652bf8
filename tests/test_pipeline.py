"""The real pipeline through DVC: end to end, no-op re-runs, bad sources, reproducibility, data versioning."""

import csv
import gzip
import hashlib
import io
import json
from pathlib import Path

import pytest
import yaml

from lastmile.contract import ColumnSpec, snake_case
from lastmile.errors import read_yaml
from tests.conftest import (
    CONTRACT,
    PARAMS,
    _copy_repo,
    git_add_commit,
    run,
    set_dotted,
    set_source,
    trained_clone,
)

PROTECTED = ["models/model.joblib", "models/model.json", "reports/metrics.json"]
PROTECTED_DIRS = ["reports/plots", "reports/figures"]


def _fingerprint(repo: Path) -> dict[str, str]:
    files = [repo / p for p in PROTECTED] + [f for d in PROTECTED_DIRS for f in sorted((repo / d).iterdir())]
    return {str(f.relative_to(repo)): hashlib.sha256(f.read_bytes()).hexdigest() for f in files}


@pytest.fixture(scope="module")
def pipeline_repo(tmp_path_factory: pytest.TempPathFactory, sample_source: Path) -> Path:
    """A template copy trained by `dvc exp run -S data.source=...`, as a user tries another table."""
    repo = _copy_repo(tmp_path_factory.mktemp("pipeline") / "repo")
    result = run(["dvc", "exp", "run", "-S", f"data.source={sample_source}"], cwd=repo)
    assert "Ran experiment" in result.stdout + result.stderr
    git_add_commit(repo, "trained on the sample")
    return repo


def test_end_to_end_outputs(pipeline_repo: Path) -> None:
    metrics = json.loads((pipeline_repo / "reports/metrics.json").read_text())
    assert {"accuracy", "precision", "recall", "f1", "roc_auc", "pr_auc", "log_loss", "brier"} <= set(metrics)
    assert (
        0.5 < metrics["roc_auc"] <= 1
    )  # better than chance (tests/test_example_data.py: the example's level)
    for name in ("roc", "precision_recall", "calibration", "confusion"):
        assert (pipeline_repo / f"reports/figures/{name}.png").read_bytes().startswith(b"\x89PNG")
    shown = json.loads(run(["dvc", "metrics", "show", "--json"], cwd=pipeline_repo).stdout)
    assert json.dumps(shown).count("roc_auc") >= 1
    assert "model.kind" in run(["dvc", "params", "diff", "--all", "--json"], cwd=pipeline_repo).stdout
    plots = run(["dvc", "plots", "show", "--json"], cwd=pipeline_repo).stdout
    assert "ROC" in plots and "Confusion matrix" in plots


def test_noop_rerun_does_nothing(pipeline_repo: Path) -> None:
    before = _fingerprint(pipeline_repo)
    result = run(["dvc", "repro"], cwd=pipeline_repo)
    assert "Running stage" not in result.stdout
    assert _fingerprint(pipeline_repo) == before


def _model_locks(repo: Path) -> dict[str, object]:
    """dvc.lock's entries for the stages that make and judge the model (`check` may pass, `ingest` fail)."""
    stages = yaml.safe_load((repo / "dvc.lock").read_text(encoding="utf-8"))["stages"]
    return {name: stages[name] for name in ("train", "evaluate")}


def _text(body: list[str]) -> bytes:
    return ("\n".join(body) + "\n").encode()


def _rule(spec: ColumnSpec) -> str:
    """How the validate stage words a value outside `spec`'s range."""
    if spec.min is not None and spec.max is not None:
        return f"must be between {spec.min:g} and {spec.max:g}"
    return f"must be at least {spec.min:g}" if spec.min is not None else f"must be at most {spec.max:g}"


def _outside(spec: ColumnSpec) -> str:
    """A value outside `spec`'s range, written as validation echoes it (-5 for integers, -5.5 for numbers)."""
    shift = 5 if spec.kind == "integer" else 5.5
    value = spec.min - shift if spec.min is not None else (spec.max or 0) + 100 * shift
    return str(int(value) if spec.kind == "integer" else value)


def _first(
    kinds: tuple[str, ...], *, ranged: bool = False, listed: bool = False, nullable: bool = False
) -> str | None:
    """The first feature column of the contract matching the description, if any."""
    for name, spec in CONTRACT.columns.items():
        if name == PARAMS.target.column or spec.kind not in kinds:
            continue
        if ranged and spec.min is None and spec.max is None:
            continue
        if (listed and spec.values is None) or (nullable and not spec.nullable):
            continue
        return name
    return None


def _bad_sources(lines: list[str]) -> dict[str, tuple[bytes | str, str]]:
    """Each bad source (file content, or a path/URL) with a phrase its error must contain.

    Derived from the contract: a case needing a kind of column the project lacks is left out.
    """
    header, rows = lines[0], lines[1:400]
    names = [snake_case(name) for name in _cells(header)]
    target = PARAMS.target.column

    def replace(column: str, value: str) -> bytes:  # the 4th data row gets a bad value
        return _text([header, *[_set(names, r, column, value) if i == 3 else r for i, r in enumerate(rows)]])

    dropped = next(name for name in names if name != target)
    cases: dict[str, tuple[bytes | str, str]] = {
        "source missing": ("MISSING", "params.yaml `data.source`: no file at"),
        "unreachable URL": ("http://127.0.0.1:9/data.csv", ""),
        "empty file": (b"", "is empty"),
        "header only": (_text([header]), "no data rows"),
        "missing column": (
            _text([_drop(names, line, dropped) for line in [header, *rows]]),
            f"column '{dropped}': missing column",
        ),
        "extra column": (
            _text([header + ",shoe_size", *[r + ",42" for r in rows]]),
            "column 'shoe_size': unexpected column",
        ),
        "truncated gzip": (gzip.compress(_text(lines[:3000]))[:-500], "not a complete gzip file"),
        "non-UTF-8 bytes": (_text([header, *rows]).replace(b"\n", b"\n\xe9", 1), "not UTF-8 text: byte 0xe9"),
    }
    if numeric := _first(("integer", "number")):
        kind = "a whole number" if CONTRACT.columns[numeric].kind == "integer" else "a number"
        cases["text in numeric"] = (
            replace(numeric, "forty"),
            f"column '{numeric}': must be {kind} - 1 row(s): row 4 (forty)",
        )
    if ranged := _first(("integer", "number"), ranged=True):
        spec = CONTRACT.columns[ranged]
        cases["out of range"] = (
            replace(ranged, _outside(spec)),
            f"column '{ranged}': {_rule(spec)} - 1 row(s): row 4 ({_outside(spec)})",
        )
    if category := _first(("category",), listed=True):
        cases["unseen category"] = (
            replace(category, "Astronaut"),
            f"column '{category}': must be one of the categories",
        )
    if nullable := _first(("integer", "number", "category"), nullable=True):
        cases["column entirely null"] = (
            _text([header, *[_set(names, r, nullable, "") for r in rows]]),
            f"column '{nullable}': column has no values at all",
        )
    target_spec = CONTRACT.columns[target]
    if target_spec.values is not None or target_spec.min is not None or target_spec.max is not None:
        cases["unknown label"] = (replace(target, "7"), f"column '{target}'")
    return cases


def _cells(row: str) -> list[str]:
    """A CSV line's fields: a quoted field may hold commas (a passenger's "Allen, Miss. Elisabeth")."""
    return next(csv.reader([row]))


def _line(cells: list[str]) -> str:
    buffer = io.StringIO()
    csv.writer(buffer, lineterminator="").writerow(cells)
    return buffer.getvalue()


def _set(names: list[str], row: str, column: str, value: str) -> str:
    cells = _cells(row)
    cells[names.index(column)] = value
    return _line(cells)


def _drop(names: list[str], row: str, column: str) -> str:
    cells = _cells(row)
    del cells[names.index(column)]
    return _line(cells)


# The case names depend on the contract only: a header of its columns is enough to list them.
CASES = list(_bad_sources([",".join(CONTRACT.columns)]))


@pytest.mark.parametrize("case", CASES)
def test_bad_source_stops_pipeline_and_keeps_last_good_model(
    pipeline_repo: Path, raw_lines: list[str], tmp_path: Path, case: str
) -> None:
    payload, message = _bad_sources(raw_lines)[case]
    if isinstance(payload, bytes):
        source: Path | str = tmp_path / ("bad.csv.gz" if case == "truncated gzip" else "bad.csv")
        Path(source).write_bytes(payload)
    else:
        source = tmp_path / payload if payload == "MISSING" else payload
    before = _fingerprint(pipeline_repo)
    lock_before = _model_locks(pipeline_repo)
    set_source(pipeline_repo, source)
    result = run(["dvc", "repro"], cwd=pipeline_repo, check=False)
    output = result.stdout + result.stderr
    assert result.returncode != 0, output
    assert message in output, output
    assert "Traceback" not in output
    assert _fingerprint(pipeline_repo) == before
    assert _model_locks(pipeline_repo) == lock_before


def test_two_forced_runs_give_byte_identical_outputs(pipeline_repo: Path, tmp_path: Path) -> None:
    """Same code, data and params: the same bytes, so dvc.lock does not change and git sees nothing.

    The first run is `pipeline_repo`'s (`dvc exp run`), the second a forced `dvc repro` in a clone."""
    repo = trained_clone(pipeline_repo, tmp_path / "repo")
    first = {**_fingerprint(repo), "dvc.lock": (repo / "dvc.lock").read_text()}
    run(["dvc", "repro", "--force"], cwd=repo)
    assert {**_fingerprint(repo), "dvc.lock": (repo / "dvc.lock").read_text()} == first
    assert run(["git", "status", "--porcelain"], cwd=repo).stdout == ""


def test_push_then_fresh_clone_pulls_and_has_nothing_to_do(pipeline_repo: Path, tmp_path: Path) -> None:
    repo = trained_clone(pipeline_repo, tmp_path / "repo")
    run(["dvc", "remote", "add", "-d", "local", str(tmp_path / "remote")], cwd=repo)
    git_add_commit(repo, "a remote")
    run(["dvc", "push"], cwd=repo)

    clone = tmp_path / "clone"
    run(["git", "clone", "-q", str(repo), str(clone)], cwd=tmp_path)
    assert not (clone / "models").exists()
    run(["dvc", "pull"], cwd=clone)
    assert (clone / "models/model.joblib").read_bytes() == (repo / "models/model.joblib").read_bytes()
    result = run(["dvc", "repro"], cwd=clone)
    assert "Running stage" not in result.stdout
    assert "up to date" in result.stdout


# ---- a bad configuration value fails before any stage removes an output ----------------------

HUGE = "x" * 200_000
FIRST_COLUMN = next(iter(CONTRACT.columns))
# (file, dotted key, bad value, words the message must contain): one per top-level section of each.
BAD_CONFIGURATIONS = [
    (
        "params.yaml",
        "data.source",
        "data/missing.csv",
        "params.yaml `data.source`: no file at 'data/missing.csv'",
    ),
    ("params.yaml", "target.positive", "rich", "params.yaml `target.positive` is 'rich'"),
    (
        "params.yaml",
        "features.numeric",
        [*PARAMS.features.numeric[:1], "shoe_size"],
        "`features.numeric` names 'shoe_size'",
    ),
    ("params.yaml", "split.test_size", 1.5, "`split.test_size`: Input should be less than 1"),
    ("params.yaml", "model.kind", "forest", "`model.kind`: Input should be 'hist_gradient_boosting' or"),
    ("params.yaml", "evaluation.threshold.rule", "best", "`evaluation.threshold.rule`: Input should be"),
    ("params.yaml", "gates.floors", {"acuracy": 0.5}, "`gates.floors` names 'acuracy', not among"),
    ("contract.yaml", "min_rows", -1, "contract.yaml is invalid: `min_rows`: Input should be greater than"),
    (
        "contract.yaml",
        f"columns.{FIRST_COLUMN}.kind",
        "text",
        f"`columns.{FIRST_COLUMN}.kind`: Input should be 'integer'",
    ),
    ("params.yaml", "target.positive", HUGE, "more characters"),
]


def _untouched(repo: Path) -> dict[str, str]:
    """What a failed run must leave byte-identical: model, metrics, plots, data summary, dvc.lock."""
    files = [repo / "dvc.lock", repo / "reports/data_summary.json"]
    return {**_fingerprint(repo), **{f.name: hashlib.sha256(f.read_bytes()).hexdigest() for f in files}}


def _restore(repo: Path) -> None:
    """Back to the committed state (the bad-source tests above leave their source behind)."""
    run(["git", "checkout", "--", "params.yaml", "contract.yaml", "reports"], cwd=repo)


def _set_config(repo: Path, file: str, dotted: str, value: object) -> None:
    raw = read_yaml((repo / file).read_text(encoding="utf-8"))  # as DVC wrote it: `positive: yes` is text
    set_dotted(raw, dotted, value)
    (repo / file).write_text(yaml.safe_dump(raw, sort_keys=False), encoding="utf-8")


@pytest.mark.parametrize(("file", "key", "value", "message"), BAD_CONFIGURATIONS)
def test_bad_configuration_fails_before_anything_is_removed(
    pipeline_repo: Path, file: str, key: str, value: object, message: str
) -> None:
    _restore(pipeline_repo)
    before = _untouched(pipeline_repo)
    _set_config(pipeline_repo, file, key, value)
    try:
        result = run(["dvc", "repro"], cwd=pipeline_repo, check=False)
    finally:
        run(["git", "checkout", "--", file], cwd=pipeline_repo)
    output = result.stdout + result.stderr
    assert result.returncode != 0
    assert message in output, output
    assert "Traceback" not in output and "pydantic" not in output and "Errno" not in output
    assert len(output) < 5000  # a huge value is cut, not echoed
    assert "Running stage 'ingest'" not in output and "Running stage 'train'" not in output
    assert _untouched(pipeline_repo) == before


def test_bad_experiment_fails_first_and_the_documented_recovery_works(pipeline_repo: Path) -> None:
    _restore(pipeline_repo)
    run(["dvc", "repro"], cwd=pipeline_repo)  # back to an up-to-date pipeline
    before = _untouched(pipeline_repo)
    # A value as long as the current one: DVC rewrites params.yaml to the same size, and the failed run
    # leaves git's index with the rewritten file's size and second, so git sees no change.
    current = read_yaml((pipeline_repo / "params.yaml").read_text(encoding="utf-8"))["model"]["kind"]
    invalid = "forest".ljust(len(current), "_")
    result = run(["dvc", "exp", "run", "-S", f"model.kind={invalid}"], cwd=pipeline_repo, check=False)
    output = result.stdout + result.stderr
    assert result.returncode != 0 and "`model.kind`: Input should be" in output, output
    assert _untouched(pipeline_repo) == before
    # README "Troubleshooting": DVC leaves params.yaml changed after a failed experiment, and may leave
    # git's index believing it unchanged (touch makes git compare its content).
    run(["touch", "params.yaml"], cwd=pipeline_repo)
    run(["git", "checkout", "params.yaml", "dvc.lock", "reports"], cwd=pipeline_repo)
    run(["dvc", "checkout"], cwd=pipeline_repo)
    assert "Running stage" not in run(["dvc", "repro"], cwd=pipeline_repo).stdout
    assert _untouched(pipeline_repo) == before
