"""`lastmile report` on a real git history: a base model on main, a branch that changes one hyperparameter.

Expected numbers come from the two commits' own metrics files, never from constants here.
"""

from __future__ import annotations

import copy
import json
import re
import shutil
from pathlib import Path

import jinja2
import pytest
import yaml

from lastmile import prose
from lastmile.errors import read_yaml
from lastmile.review import report
from lastmile.review.pr_artifact import PNG_SIGNATURE, pack, validate
from lastmile.review.report_markdown import problems, references
from tests.conftest import PARAMS, git_add_commit, run, trained_clone

HEADLINE = {"roc_auc": "ROC AUC", "pr_auc": "PR AUC", "f1": "F1", "log_loss": "Log loss"}


@pytest.fixture(scope="module")
def history(tmp_path_factory: pytest.TempPathFactory, trained_repo: Path) -> Path:
    """main: the template copy, then a model trained on the sample (a clone of `trained_repo`); tag
    `no-metrics`: a commit with no reports at all (a first PR's base); branch `feature`: learning
    rate halved and `dvc repro` again, committed. The workspace is left on `feature`."""
    repo = trained_clone(trained_repo, tmp_path_factory.mktemp("history") / "repo")
    run(["git", "checkout", "-qb", "no-metrics", "HEAD~1"], cwd=repo)
    run(["git", "rm", "-rq", "reports"], cwd=repo)
    git_add_commit(repo, "a base without any reports")
    run(["git", "checkout", "-q", "main"], cwd=repo)
    run(["dvc", "checkout", "-q"], cwd=repo)
    run(["git", "checkout", "-qb", "feature"], cwd=repo)
    params = repo / "params.yaml"
    text = params.read_text(encoding="utf-8")
    assert "learning_rate: 0.1\n" in text
    params.write_text(text.replace("learning_rate: 0.1\n", "learning_rate: 0.05\n"), encoding="utf-8")
    run(["dvc", "repro", "-q"], cwd=repo)
    git_add_commit(repo, "halve the learning rate")
    return repo


def _report(repo: Path, base: str, out: str) -> str:
    """Through the real CLI, as `make report` and CI run it."""
    run(["lastmile", "report", "--base", base, "--out", out], cwd=repo)
    return (repo / out / "report.md").read_text(encoding="utf-8")


def _report_in_process(repo: Path, base: str, out: str, monkeypatch: pytest.MonkeyPatch) -> str:
    """The same command's function, called in this process (so coverage sees it)."""
    monkeypatch.chdir(repo)
    result = report.run(base, Path(out))
    return result.markdown.read_text(encoding="utf-8")


def _metrics(repo: Path, rev: str) -> dict[str, float]:
    return json.loads(run(["git", "show", f"{rev}:reports/metrics.json"], cwd=repo).stdout)


def _row(markdown: str, label: str) -> list[str]:
    line = next(line for line in markdown.splitlines() if line.startswith(f"| {label} |"))
    return [cell.strip() for cell in line.strip("|").split("|")]


def test_report_shows_the_branch_against_main(history: Path) -> None:
    markdown = _report(history, "main", "reports/pr")
    base, head = _metrics(history, "main"), _metrics(history, "feature")
    assert base != head, "the hyperparameter change must move the metrics"
    first_line = markdown.splitlines()[0]
    assert first_line.startswith("### ") and "quality gates" in first_line.lower()
    for key, label in HEADLINE.items():
        cells = _row(markdown, label)
        assert cells[1] == f"{base[key]:.4f}" and cells[2] == f"{head[key]:.4f}"
        delta = head[key] - base[key]
        if abs(delta) >= 5e-7:
            assert f"{delta:+.4f}" in cells[3]
            assert ("▲" if delta > 0 else "▼") in cells[3]
        # Both commits wrote per-row predictions: a paired-bootstrap interval and a verdict.
        low, high = (float(x) for x in re.findall(r"[+-]\d\.\d{4}", cells[4]))
        assert low <= high
        assert cells[5].split(" ", 1)[1] in {
            "improved",
            "no measurable change",
            "worse within noise",
            "significant regression",
        }
    assert "1 parameter changed" in markdown
    assert "| `model.hist_gradient_boosting.learning_rate` | `0.1` | `0.05` |" in markdown
    assert "data unchanged" in markdown
    # Data changes come first among the details.
    assert markdown.index("📦 Data") < markdown.index("⚙️ Parameters") < markdown.index("📈 Plots")
    assert "⚖️ Fairness" in markdown and "🔎 Top features" in markdown
    sliced = PARAMS.features.sensitive or PARAMS.evaluation.slices.bands or PARAMS.evaluation.slices.columns
    assert ("🧩 Slices" in markdown) == bool(sliced)
    if not PARAMS.features.sensitive:
        assert "⚖️ Fairness: none configured" in markdown

    folder = history / "reports/pr"
    images = [ref.url for ref in references(markdown) if ref.url.endswith(".png")]
    assert {"roc.png", "precision_recall.png", "calibration.png", "confusion.png"} <= set(images)
    for image in images:
        assert (folder / image).read_bytes().startswith(PNG_SIGNATURE)
    # The folder passes the checks the comment workflow applies to the downloaded artifact.
    artifact = pack(folder, "7")
    assert artifact.pr_number == 7 and validate(folder).conclusion in {"success", "failure", "neutral"}


def test_first_pr_without_baseline_metrics(history: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    markdown = _report_in_process(history, "no-metrics", "reports/pr-first", monkeypatch)
    head = _metrics(history, "feature")
    cells = _row(markdown, "ROC AUC")
    assert cells[1] == "—" and cells[2] == f"{head['roc_auc']:.4f}" and cells[4] == "—"
    assert "No baseline" in markdown and "first model PR" in markdown


def test_nothing_changed(history: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    markdown = _report_in_process(history, "feature", "reports/pr-same", monkeypatch)
    for label in HEADLINE.values():
        cells = _row(markdown, label)
        assert cells[1] == cells[2] and cells[3] == "= 0"
        assert cells[5].endswith("no measurable change")
    assert "Parameters: none changed" in markdown and "data unchanged" in markdown


def test_gate_verdict_comes_first_and_is_checked_on_what_the_report_shows(
    history: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A reports/gates.json left by an earlier run (here: all passing) is not trusted: the report
    checks the gates of params.yaml on the files it shows, as `lastmile gate` does."""
    stale = {"passed": True, "baseline": None, "gates": [{"name": "old", "kind": "floor", "passed": True}]}
    (history / "reports/gates.json").write_text(json.dumps(stale), encoding="utf-8")
    params_file = history / "params.yaml"
    original = params_file.read_text(encoding="utf-8")
    # A floor above the ROC AUC this branch shows, whatever the data (it may exceed 1: the gate must fail).
    raised = read_yaml(original)
    raised["gates"]["floors"]["roc_auc"] = _metrics(history, "feature")["roc_auc"] + 0.01
    params_file.write_text(yaml.safe_dump(raised, sort_keys=False), encoding="utf-8")
    try:
        markdown = _report_in_process(history, "main", "reports/pr-gates", monkeypatch)
        gate = run(["lastmile", "gate", "--base", "main"], cwd=history, check=False)
        checked = json.loads((history / "reports/gates.json").read_text(encoding="utf-8"))
    finally:
        params_file.write_text(original, encoding="utf-8")
        (history / "reports/gates.json").unlink()
    failed = [g["name"] for g in checked["gates"] if not g["passed"]]
    assert gate.returncode == 1 and "roc_auc floor" in failed
    first = markdown.splitlines()[0]
    assert (
        first == f"### ❌ {len(failed)} of {len(checked['gates'])} quality gates failed: {', '.join(failed)}"
    )
    verdict = json.loads((history / "reports/pr-gates/verdict.json").read_text(encoding="utf-8"))
    assert verdict["conclusion"] == "failure" and verdict["title"] == first.removeprefix("### ❌ ")
    summary = (history / "reports/pr-gates/summary.md").read_text(encoding="utf-8")
    assert summary.startswith("### ❌") and "ROC AUC" in summary and ".png" not in summary


def test_base_found_as_a_remote_branch(history: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """CI checkouts have `origin/main` but no local `main`: the bare name must still resolve."""
    main = run(["git", "rev-parse", "main"], cwd=history).stdout.strip()
    run(["git", "remote", "add", "origin", str(history)], cwd=history)
    run(["git", "update-ref", "refs/remotes/origin/only-remote", main], cwd=history)
    markdown = _report_in_process(history, "only-remote", "reports/pr-remote", monkeypatch)
    assert _row(markdown, "ROC AUC")[1] == f"{_metrics(history, 'main')['roc_auc']:.4f}"


def test_unknown_base_is_a_clear_error_and_writes_nothing(history: Path) -> None:
    result = run(
        ["lastmile", "report", "--base", "no-such-branch", "--out", "reports/pr-bad"], history, check=False
    )
    assert result.returncode == 1
    assert "Unknown git ref 'no-such-branch'" in result.stderr and "Traceback" not in result.stderr
    assert not (history / "reports/pr-bad").exists()


def _inputs(repo: Path, base: str, monkeypatch: pytest.MonkeyPatch) -> tuple[report.Inputs, report.Params]:
    monkeypatch.chdir(repo)
    params = report.load_params(repo / "params.yaml")
    return report.gather(base, repo, params.gates.bootstrap), params


def test_the_comment_is_its_template(history: Path, monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    """The layout is all in templates/pr_comment.md.j2: an edited copy changes the comment, and only there."""
    written = _report_in_process(history, "main", "reports/pr-template", monkeypatch)
    inputs, params = _inputs(history, "main", monkeypatch)
    view = report.comment(inputs, params, report.check_gates(params, "main", inputs), tmp_path)
    assert report.markdown(view) == written

    copy = tmp_path / "templates"
    shutil.copytree(Path(report.__file__).parent / "templates", copy)
    template = copy / report.COMMENT_TEMPLATE
    text = template.read_text(encoding="utf-8")
    edits = {"| metric | `{{ comment.base }}` | branch |": "| Metric | `{{ comment.base }}` | this PR |"}
    edits["<sub>`lastmile report`"] = "Reviewed by a human too.\n\n<sub>`lastmile report`"
    for old, new in edits.items():
        assert old in text
        text = text.replace(old, new)
    template.write_text(text, encoding="utf-8")
    edited = report.markdown(view, templates=prose.environment(jinja2.FileSystemLoader(copy)))

    assert "| Metric | `main` | this PR | change | CI | verdict |" in edited
    assert "Reviewed by a human too.\n\n<sub>`lastmile report`" in edited
    assert "| metric | `main` | branch |" not in edited
    assert _row(edited, "ROC AUC") == _row(written, "ROC AUC")


HOSTILE = "a|b\\|c<img src=x>![i](../../../proc/self/environ)[l](/etc/passwd)<details open>`x`\n[d]: /etc/x"


_GROUP = {
    "false_positive_rate": 0.1,
    "positives": 8,
    "rows": 40,
    "selection_rate": 0.3,
    "true_positive_rate": 0.7,
}
_MADE_UP_FAIRNESS = {
    "demographic_parity_difference": 0.1,
    "equalized_odds_difference": 0.2,
    "groups": {"one": _GROUP, "other": _GROUP},
}
_SLICE_METRICS = {
    "accuracy": 0.8,
    "f1": 0.7,
    "precision": 0.75,
    "recall": 0.65,
    "roc_auc": 0.9,
    "selection_rate": 0.3,
}
_MADE_UP_SLICES = [
    {"group": group, "metrics": _SLICE_METRICS, "positive_rate": 0.3, "rows": 40, "slice": "made_up"}
    for group in ("one", "other")
]


def _cells(line: str) -> int:
    """Cells of a GitHub table row: GitHub (cmark-gfm) and markdown-it split at every pipe not right
    after a backslash."""
    return len(re.findall(r"(?<!\\)\|", line)) - 1


def test_hostile_data_cannot_inject_markdown(
    history: Path, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    """Group labels, feature names and validation messages come from the data: written into a real
    report's inputs, they stay text in their own cells, and the comment passes the artifact checks."""
    files = [f"reports/{name}.json" for name in ("fairness", "slices", "importance", "validation")]
    saved = {name: (history / name).read_text(encoding="utf-8") for name in files}
    fairness, slices, importance, validation = (json.loads(saved[name]) for name in files)
    # A project without sensitive features or slice columns has none: made-up ones carry the text.
    feature = next(iter(fairness), None)
    fairness[HOSTILE] = fairness.pop(feature) if feature else copy.deepcopy(_MADE_UP_FAIRNESS)
    groups = fairness[HOSTILE]["groups"]
    groups[HOSTILE] = groups.pop(next(iter(groups)))
    slices["slices"] = slices["slices"] if len(slices["slices"]) >= 2 else copy.deepcopy(_MADE_UP_SLICES)
    slices["slices"][0]["group"] = HOSTILE
    slices["slices"][1]["slice"] = HOSTILE
    importance["features"][0]["feature"] = HOSTILE
    importance["method"] = HOSTILE
    failure = {"column": HOSTILE, "rule": HOSTILE, "check": HOSTILE, "rows": 3, "examples": []}
    validation |= {"passed": False, "failures": [failure]}
    try:
        for name, content in zip(files, (fairness, slices, importance, validation), strict=True):
            (history / name).write_text(json.dumps(content), encoding="utf-8")
        markdown = _report_in_process(history, "main", "reports/pr-hostile", monkeypatch)
    finally:
        for name, content in saved.items():
            (history / name).write_text(content, encoding="utf-8")

    folder = history / "reports/pr-hostile"
    pack(folder, "7")
    assert validate(folder).conclusion in {"success", "failure", "neutral"}
    assert problems(markdown, {p.name for p in folder.glob("*.png")}) == []
    assert "<img" not in markdown and "<details open>`" not in markdown
    assert not re.search(r"(?<!\\)\[(?:i|l|d)\]", markdown), "a link or image survived"
    lines = markdown.splitlines()
    assert sum("a\\|b" in line for line in lines) >= 8  # every place the data shows, as text
    table = None
    for line in lines:
        if line.startswith("| ") and table is None:
            table = _cells(line)
        elif line.startswith("| "):
            assert _cells(line) == table, line
        else:
            table = None


@pytest.mark.parametrize(
    "damaged",
    ["{not json", '{"method": "permutation", "features": [{"feature": "age"}]}', '["a list"]'],
)
def test_a_damaged_importance_file_is_a_note_not_a_section(
    history: Path, monkeypatch: pytest.MonkeyPatch, damaged: str
) -> None:
    """A branch's reports are a fork's files: a damaged one is named in the notes, never half read."""
    path = history / "reports/importance.json"
    saved = path.read_text(encoding="utf-8")
    try:
        path.write_text(damaged, encoding="utf-8")
        markdown = _report_in_process(history, "main", "reports/pr-damaged", monkeypatch)
    finally:
        path.write_text(saved, encoding="utf-8")
    assert "Top features" not in markdown
    notes = next(line for line in markdown.splitlines() if line.startswith("> Notes:"))
    assert "`reports/importance.json` at " in notes and "re-run `dvc repro`" in notes


def test_a_base_that_evaluated_other_data_is_marked_not_comparable(history: Path) -> None:
    """A base whose reports describe another target (a project just made from the template)."""
    run(["git", "checkout", "-qb", "other-data", "main"], cwd=history)
    try:
        summary_file = history / "reports/data_summary.json"
        summary = json.loads(summary_file.read_text())
        summary["target"] = {"column": "another_target", "positive": 1}
        summary_file.write_text(json.dumps(summary))
        git_add_commit(history, "a base that evaluated other data")
    finally:
        run(["git", "checkout", "-q", "feature"], cwd=history)
    markdown = _report(history, "other-data", "reports/pr-other")
    # The reason is data (a target's name and labels): escaped like every value, `>` as `&gt;`.
    assert (
        "> **Not comparable:** `other-data` evaluated other data (target another_target=1 -&gt; " in markdown
    )
    assert "Not comparable" not in _report(history, "main", "reports/pr-main")
