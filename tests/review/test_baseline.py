"""Reading an evaluation back: from a folder, from a git ref, and the checks on what is read."""

import shutil
from pathlib import Path

import pytest

from lastmile.errors import LastmileError
from lastmile.evaluation import predictions
from lastmile.params import GateParams, Params
from lastmile.review import baseline, gate
from tests.conftest import git_add_commit, run


def test_from_git_reads_the_committed_evaluation(trained_repo: Path) -> None:
    committed = baseline.from_git("HEAD", cwd=trained_repo)
    on_disk = baseline.from_directory(trained_repo / "reports")
    assert committed is not None and on_disk is not None
    assert committed.source.startswith("HEAD (")
    assert committed.metrics == on_disk.metrics and committed.fairness == on_disk.fairness
    assert committed.predictions is not None and on_disk.predictions is not None
    assert committed.predictions.equals(on_disk.predictions)


def test_a_commit_without_reports_has_no_evaluation(tmp_path: Path) -> None:
    run(["git", "init", "-q", "-b", "main"], cwd=tmp_path)
    (tmp_path / "README.md").write_text("first commit\n")
    git_add_commit(tmp_path, "no reports yet")
    assert baseline.from_git("main", cwd=tmp_path) is None
    assert baseline.from_git("origin/main", cwd=tmp_path) is None  # falls back to the local branch
    with pytest.raises(LastmileError, match="Unknown git ref 'nope'"):
        baseline.from_git("nope", cwd=tmp_path)


def test_folders(tmp_path: Path, trained_repo: Path) -> None:
    with pytest.raises(LastmileError, match="does not exist"):
        baseline.from_directory(tmp_path / "missing")
    assert baseline.from_directory(tmp_path) is None
    with pytest.raises(LastmileError, match="dvc repro"):
        baseline.current(tmp_path)
    shutil.copy(trained_repo / "reports/metrics.json", tmp_path)
    only_metrics = baseline.current(tmp_path)
    assert only_metrics.fairness is None and only_metrics.predictions is None


@pytest.mark.parametrize(
    ("name", "content", "message"),
    [
        ("metrics.json", "{not json", "not valid JSON"),
        ("metrics.json", "[1, 2]", "not as expected"),
        ("metrics.json", '{"roc_auc": 0.9}', "threshold: Field required"),
        ("predictions.csv", "row_id,actual\na,1\n", r"lacks column\(s\) \['probability'\]"),
        ("predictions.csv", "row_id,actual,probability\na,2,0.5\n", "invalid rows"),
        ("predictions.csv", "row_id,actual,probability\na,1,1.5\n", "invalid rows"),
        ("predictions.csv", "row_id,actual,probability\na,1,0.5\na,0,0.2\n", "repeats row ids"),
        ("predictions.csv", "", "not a readable predictions CSV"),
    ],
)
def test_damaged_files_are_named(
    tmp_path: Path, trained_repo: Path, name: str, content: str, message: str
) -> None:
    for source in ("metrics.json", "fairness.json", "predictions.csv"):
        shutil.copy(trained_repo / "reports" / source, tmp_path)
    (tmp_path / name).write_text(content)
    with pytest.raises(LastmileError, match=message) as error:
        baseline.from_directory(tmp_path)
    assert name in str(error.value)


def test_predictions_round_trip(trained_repo: Path) -> None:
    text = (trained_repo / "reports/predictions.csv").read_text()
    frame = predictions.parse(text, "predictions.csv")
    assert list(frame.columns) == predictions.COLUMNS and frame["row_id"].is_unique


def test_run_writes_gates_json(tmp_path: Path, trained_repo: Path, params: Params) -> None:
    gates = GateParams.model_validate({"floors": {"roc_auc": 0.5}, "max_regression": {"roc_auc": 0.01}})
    quick = params.model_copy(update={"gates": gates})
    out = tmp_path / "gates.json"
    report = gate.run(
        quick, baseline_dir=trained_repo / "reports", reports_dir=trained_repo / "reports", out=out
    )
    assert report.passed and out.is_file()
    first_pr = gate.run(quick, baseline_dir=tmp_path, reports_dir=trained_repo / "reports", out=out)
    assert first_pr.passed and first_pr.baseline == f"{tmp_path} holds no evaluation yet"
    with pytest.raises(LastmileError, match="either --base or --baseline-dir"):
        gate.run(quick, base_ref="HEAD", baseline_dir=tmp_path, reports_dir=trained_repo / "reports", out=out)


def test_a_revision_reads_dvc_tracked_outputs_too(trained_repo: Path) -> None:
    """The reader goes through DVC's file system: it reaches the DVC-cached model, which git lacks."""
    revision = baseline.Revision.at("HEAD", trained_repo)
    assert revision.read(Path("models/model.json")) == (trained_repo / "models/model.json").read_bytes()
    assert revision.read(Path("reports/no-such-file.json")) is None
    assert revision.source == f"HEAD ({revision.rev})" and revision.commit is not None


def test_one_comparison_serves_the_gates_and_the_report(trained_repo: Path, params: Params) -> None:
    current = baseline.current(trained_repo / "reports")
    base = baseline.from_directory(trained_repo / "reports")
    settings = params.gates.bootstrap.model_copy(update={"resamples": 200})
    paired = baseline.compare(current, base, settings)
    # Every headline metric both sides hold, once; the gates pick theirs from the same objects.
    assert set(paired.comparisons) == set(current.metrics.values) and paired.reason == ""
    gates = GateParams.model_validate({"max_regression": {"roc_auc": 0.01, "balanced_accuracy": 0.01}})
    report = gate.check(gates, current, base, paired)
    assert [g.comparison for g in report.gates if g.kind == "regression"] == [
        paired.comparisons["roc_auc"],
        paired.comparisons["balanced_accuracy"],
    ]
    assert baseline.compare(current, None, settings).reason == "no baseline"
