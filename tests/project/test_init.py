"""`lastmile init` in a throwaway git copy of the template: what it writes, refuses and leaves alone."""

from __future__ import annotations

import os
import re
import shutil
import subprocess
from pathlib import Path

import pytest
import yaml
from dvc.repo import Repo
from typer.testing import CliRunner

from lastmile.cli import app
from lastmile.contract import load_contract
from lastmile.params import HistGradientBoostingParams, load_params
from lastmile.project.init import (
    COPIER_FILES,
    DATA_COMMENTS,
    SLICES_COMMENTS,
    SMALL_DATA_BOOSTING,
    SMALL_DATA_TRAIN_ROWS,
)
from tests.conftest import ROOT, _copy_repo, git_add_commit, run
from tests.project.conftest import as_template_readme


def _init(repo: Path, *options: str, check: bool = True) -> subprocess.CompletedProcess[str]:
    return run(["lastmile", "init", "--no-input", *options], cwd=repo, check=check)


def _status(repo: Path) -> str:
    return run(["git", "status", "--porcelain"], cwd=repo).stdout


def _breast_cancer_options(csv: Path) -> list[str]:
    return [
        "--name",
        "tumour-screen",
        "--github-owner",
        "acme",
        "--source",
        str(csv),
        "--target",
        "target",
        "--positive",
        "1",
        "--sensitive",
        "",
    ]


def test_init_on_new_data_writes_configuration_and_resets_outputs(
    repo_copy: Path, breast_cancer_csv: Path
) -> None:
    before = load_params(repo_copy / "params.yaml")
    if (before.data.source, before.target.column, str(before.target.positive)) == (
        "data/breast_cancer.csv",
        "target",
        "1",
    ):
        pytest.skip(
            "this project is on the breast cancer data already: init keeps its reviewed configuration "
            "(test_init_keeps_a_reviewed_contract_and_tuned_gates_for_the_same_data)"
        )
    result = _init(repo_copy, *_breast_cancer_options(breast_cancer_csv))
    params = load_params(repo_copy / "params.yaml")
    assert params.project.model_dump() == {
        "name": "tumour-screen",
        "github_owner": "acme",
        "model_name": "tumour-screen",
        "service_name": "TumourScreen",
        "image": "ghcr.io/acme/tumour-screen",
        "description": (
            "Predicts whether `target` is `1`, from the other columns of `data/breast_cancer.csv`."
        ),
    }
    # A file outside the project is copied in, so the repository carries its data.
    assert params.data.source == "data/breast_cancer.csv"
    assert (repo_copy / "data/breast_cancer.csv").read_bytes() == breast_cancer_csv.read_bytes()
    assert (params.target.column, params.target.positive) == ("target", "1")
    assert len(params.features.numeric) == 30 and params.features.categorical == []
    # Gates for a first model: a low floor, regression gates on, and no fairness gate for
    # features that this data does not have.
    assert params.features.sensitive == [] and params.gates.fairness == {}
    assert params.gates.floors == {"roc_auc": 0.6}
    assert set(params.gates.max_regression) == {"roc_auc", "pr_auc"}
    assert params.evaluation.slices.bands == {} and params.evaluation.slices.columns == []
    contract = load_contract(repo_copy / "contract.yaml")
    # A 0/1 target keeps its kind, so the service answers the label 1, not "1".
    assert contract.columns["target"].kind == "integer" and contract.columns["target"].values is None
    # dvc.yaml is the template's: DVC names the model artifact from params.yaml `project:`.
    assert (repo_copy / "dvc.yaml").read_text() == (ROOT / "dvc.yaml").read_text()
    with Repo(str(repo_copy)) as repo:
        (artifact,) = repo.artifacts.read()["dvc.yaml"].items()
    assert artifact[0] == "tumour-screen" and artifact[1].desc == params.project.description
    # The example's outputs are gone: the first `make run` trains anew, with no stale baseline.
    assert not (repo_copy / "dvc.lock").exists() and not (repo_copy / "reports").exists()
    assert "make run" in result.stdout and "git add -A" in result.stdout


def _params_comments_before(text: str, key: str) -> list[str]:
    """The full-line comments right above the top-level `key:` of a params.yaml text."""
    lines = text.splitlines()
    above = lines[: lines.index(f"{key}:")]
    comments: list[str] = []
    while above and above[-1].startswith("#"):
        comments.insert(0, above.pop())
    return comments


def test_init_on_new_data_reads_it_as_written_and_drops_the_old_data(repo_copy: Path, tmp_path: Path) -> None:
    """A new file is read with its own missing-value marker, and nothing of the old file's reading
    options, their comments or the old data file stays behind; the comments of other sections stay."""
    source = tmp_path / "birds.csv"
    rows = ["species,island,mass_g,year"]
    for i in range(150):
        mass = "NA" if i % 25 == 0 else str(3000 + 10 * i)
        island = "NA" if i % 30 == 1 else ["Biscoe", "Dream"][i % 2]
        rows.append(f"{['a', 'b', 'c'][i % 3]},{island},{mass},{2007 + i % 3}")
    source.write_text("\n".join(rows) + "\n")
    before = load_params(repo_copy / "params.yaml")
    text_before = (repo_copy / "params.yaml").read_text()
    options = ["--name", "birds", "--source", str(source), "--target", "species", "--positive", "a"]
    result = _init(repo_copy, *options, "--sensitive", "")

    after = load_params(repo_copy / "params.yaml")
    assert after.data.model_dump() == {
        "source": "data/birds.csv",
        "na_values": ["NA"],
        "comment_prefix": None,
        "label_suffix": "",
    }
    text = (repo_copy / "params.yaml").read_text()
    data_lines = text.split("\ndata:\n", 1)[1].split("\n\n", 1)[0]
    for key, comment in DATA_COMMENTS.items():
        (line,) = [line for line in data_lines.splitlines() if line.strip().startswith(f"{key}:")]
        assert line.endswith(f"# {comment}"), line
        if key == "comment_prefix":  # none: written as YAML's null, not as a blank to fill in
            assert line.split("#", 1)[0].split(":", 1)[1].strip() == "null", line
    slices_lines = text.split("\n  slices:", 1)[1].splitlines()[1:3]
    assert [line.split("# ", 1)[1] for line in slices_lines] == list(SLICES_COMMENTS.values())
    # The comments introducing the sections after `gates:` (which init rewrites) stay.
    for key in ("monitor",):
        if f"\n{key}:" in text_before:
            assert _params_comments_before(text, key) == _params_comments_before(text_before, key)
    contract = load_contract(repo_copy / "contract.yaml")
    assert contract.columns["mass_g"].nullable and contract.columns["island"].nullable
    assert contract.columns["island"].values == ["Biscoe", "Dream"]
    # The previous data file is not read by anything any more: it goes, and init says so.
    old = repo_copy / before.data.source
    if "://" not in before.data.source and before.data.source != after.data.source:
        assert not old.exists()
        assert f"removed {before.data.source}" in result.stdout


def test_keep_generated_leaves_the_trained_state_when_the_data_changes(
    repo_copy: Path, breast_cancer_csv: Path
) -> None:
    """What `copier update` runs in the project (copier.yml): the configuration is written, but the
    model, dvc.lock and committed reports stay for the merge to keep."""
    before = {
        path: path.read_bytes()
        for path in [repo_copy / "dvc.lock", *(repo_copy / "reports").rglob("*")]
        if path.is_file()
    }
    result = _init(repo_copy, "--allow-dirty", "--keep-generated", *_breast_cancer_options(breast_cancer_csv))
    assert load_params(repo_copy / "params.yaml").target.column == "target"
    assert "generated by the example's runs" not in result.stdout
    assert {path: path.read_bytes() for path in before} == before


def test_copier_update_renders_read_the_projects_copy_of_the_data(
    repo_copy: Path, tmp_path: Path, breast_cancer_csv: Path
) -> None:
    """`copier update` runs init in two throwaway renders of the template and in the project, with
    the recorded answers: the data source recorded there (an absolute path) may be gone, but the
    project holds its copy in data/. The renders say nothing; the project says the next steps once."""
    moved = tmp_path / "downloads" / breast_cancer_csv.name
    moved.parent.mkdir()
    shutil.copy(breast_cancer_csv, moved)
    options = _breast_cancer_options(moved)
    _init(repo_copy, *options)
    git_add_commit(repo_copy, "made it ours")
    moved.unlink()  # the download is gone, or this is another machine
    render = _copy_repo(tmp_path / "copier-render")  # as copier makes it: the template's files,
    shutil.rmtree(render / ".git")  # not a git repository yet
    update = {**os.environ, "COPIER_OPERATION": "update", "PWD": str(repo_copy)}
    update_options = ["--allow-dirty", "--keep-generated", *options]
    in_render = run(["lastmile", "init", "--no-input", *update_options], cwd=render, env=update)
    assert in_render.stdout == ""
    assert load_params(render / "params.yaml").data.source == "data/breast_cancer.csv"
    assert (render / "contract.yaml").read_text() == (repo_copy / "contract.yaml").read_text()
    in_project = run(["lastmile", "init", "--no-input", *update_options], cwd=repo_copy, env=update)
    assert in_project.stdout.count("Next steps") == 1 and "git diff" in in_project.stdout
    assert _status(repo_copy) == ""
    elsewhere = {**update, "PWD": str(tmp_path)}
    lost = run(["lastmile", "init", "--no-input", *update_options], cwd=render, env=elsewhere, check=False)
    assert lost.returncode == 1
    assert f"Data source not found: {moved}" in lost.stderr and "run `copier update` from" in lost.stderr


def test_copier_proposes_the_examples_answers_only_for_its_data(tmp_path: Path) -> None:
    """copier pre-fills each prompt with its default: for another file, the example's target, label
    and sensitive features were pre-filled (typing appended to them) or, kept, named columns the
    file lacks ("Sensitive feature(s) [...] are not features" after minutes of set-up)."""
    if not (ROOT / "copier.yml").exists():
        pytest.skip("no copier.yml: this project was made by `copier copy`, which leaves it out")
    template = _copy_repo(tmp_path / "template")
    other = tmp_path / "other.csv"
    other.write_text("size,kind\n1,a\n2,b\n")
    copier = ["copier", "copy", "--trust", "--defaults", "--skip-tasks", "--vcs-ref", "HEAD"]
    run(
        [*copier, "--data", "project_name=mine", "--data", f"data_source={other}", str(template), "mine"],
        cwd=tmp_path,
    )
    answers = yaml.safe_load((tmp_path / "mine/.copier-answers.yml").read_text())
    assert {
        k: answers[k] for k in ("target_column", "positive_label", "sensitive_features")
    } == dict.fromkeys(("target_column", "positive_label", "sensitive_features"), "")


def test_init_twice_with_the_same_answers_changes_nothing(repo_copy: Path, breast_cancer_csv: Path) -> None:
    _init(repo_copy, *_breast_cancer_options(breast_cancer_csv))
    git_add_commit(repo_copy, "made it ours")
    result = _init(repo_copy, *_breast_cancer_options(breast_cancer_csv))
    assert "nothing to change" in result.stdout
    assert _status(repo_copy) == ""
    # Not trained yet: what is left is to train and commit, not to review again.
    steps = result.stdout.split("Next steps", 1)[1]
    assert "make run" in steps and "git commit" in steps and "Review" not in steps


def test_init_keeps_a_reviewed_contract_and_tuned_gates_for_the_same_data(repo_copy: Path) -> None:
    before = load_params(repo_copy / "params.yaml")
    contract = (repo_copy / "contract.yaml").read_text()
    sensitive = before.features.sensitive[:1]
    _init(
        repo_copy,
        "--name",
        "same-data",
        "--github-owner",
        "",
        "--image",
        "",
        "--source",
        before.data.source,
        "--target",
        before.target.column,
        "--positive",
        str(before.target.positive),
        "--sensitive",
        ",".join(sensitive),
    )
    after = load_params(repo_copy / "params.yaml")
    assert after.project.description == before.project.description  # same data: kept
    assert (repo_copy / "contract.yaml").read_text() == contract
    assert (repo_copy / "dvc.lock").exists()  # same data: nothing to retrain
    assert after.features.sensitive == sensitive
    assert list(after.gates.fairness) == [f for f in before.gates.fairness if f in sensitive]
    assert after.gates.floors == before.gates.floors


def test_init_refuses_a_dirty_tree(repo_copy: Path, breast_cancer_csv: Path) -> None:
    (repo_copy / "README.md").write_text("my notes\n")
    params = (repo_copy / "params.yaml").read_text()
    result = _init(repo_copy, *_breast_cancer_options(breast_cancer_csv), check=False)
    assert result.returncode == 1
    assert "uncommitted changes (README.md)" in result.stderr
    assert (repo_copy / "params.yaml").read_text() == params
    assert (repo_copy / "dvc.lock").exists()


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ({"--positive": "malignant"}, "The positive label 'malignant' is not among the labels of 'target'"),
        ({"--sensitive": "age"}, "Sensitive feature(s) ['age'] are not features"),
        ({"--target": "diagnosis"}, "The target column 'diagnosis' is not in"),
        ({"--name": "2nd-try"}, "Invalid project names"),  # must start with a letter
    ],
)
def test_bad_answers_write_nothing(
    repo_copy: Path, breast_cancer_csv: Path, change: dict[str, str], message: str
) -> None:
    options = _breast_cancer_options(breast_cancer_csv)
    for flag, value in change.items():
        options[options.index(flag) + 1] = value
    result = _init(repo_copy, *options, check=False)
    assert result.returncode == 1
    assert message in result.stderr
    assert _status(repo_copy) == ""


def test_init_asks_for_what_is_not_given(
    repo_copy: Path, breast_cancer_csv: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    shutil.copy(breast_cancer_csv, repo_copy / "data" / "cells.csv")
    git_add_commit(repo_copy, "my data")
    monkeypatch.chdir(repo_copy)
    # The default positive label: the project's own when the new target has it (a project on other
    # 0/1 data keeps its "1"), else the rarer label ("0": 212 of 569 rows).
    current = load_params(repo_copy / "params.yaml").target.positive
    positive_default = current if current in ("1", "0") else "0"
    # Name, owner, image (default), source, target, positive (default), sensitive, description.
    answers = "cells\nacme\n\ndata/cells.csv\ntarget\n\n\nFlags cells to look at twice.\n"
    result = CliRunner().invoke(app, ["init"], input=answers)
    assert result.exit_code == 0, result.output
    assert "Positive label, one of ['1', '0']" in result.output
    params = load_params(repo_copy / "params.yaml")
    assert params.project.image == "ghcr.io/acme/cells"
    assert params.project.description == "Flags cells to look at twice."
    assert (params.data.source, params.target.positive, params.features.sensitive) == (
        "data/cells.csv",
        positive_default,
        [],
    )


def test_init_proposes_no_target_for_new_data(repo_copy: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """The last column of new data is not proposed as the target (a penguin table ends with `year`):
    Enter asks again, and --no-input without --target says what to give."""
    rows = ["kind,mass,year"] + [f"{'ab'[i % 2]},{3000 + i},{2007 + i % 3}" for i in range(120)]
    (repo_copy / "data" / "other.csv").write_text("\n".join(rows) + "\n")
    git_add_commit(repo_copy, "other data")
    monkeypatch.chdir(repo_copy)
    result = CliRunner().invoke(app, ["init", "--no-input", "--name", "other", "--source", "data/other.csv"])
    assert result.exit_code == 1
    assert "nothing to propose for: Target column, one of ['kind', 'mass', 'year']" in result.output
    assert _status(repo_copy) == ""

    result = CliRunner().invoke(app, ["init"], input="")  # no terminal, no answers
    assert result.exit_code == 1
    assert "No answer to: Project name" in result.output and "--no-input" in result.output
    assert "unexpected error" not in result.output

    answers = "other\n\n\ndata/other.csv\n\nkind\nb\n\n\n"  # Enter at the target: asked again
    result = CliRunner().invoke(app, ["init"], input=answers)
    assert result.exit_code == 0, result.output
    assert result.output.count("Target column, one of ['kind', 'mass', 'year']: ") == 2
    assert load_params(repo_copy / "params.yaml").target.column == "kind"


def test_init_proposes_no_sensitive_feature_for_new_data(
    repo_copy: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """New data with columns named like the old sensitive features: none is proposed (Enter keeps none)."""
    before = load_params(repo_copy / "params.yaml")
    names = [*before.features.sensitive, "mass"]
    rows = [",".join([*names, "kind"])]
    rows += [
        ",".join([*[f"g{i % 2}" for _ in before.features.sensitive], str(i), "ab"[i % 2]]) for i in range(120)
    ]
    (repo_copy / "data" / "other.csv").write_text("\n".join(rows) + "\n")
    git_add_commit(repo_copy, "other data")
    monkeypatch.chdir(repo_copy)
    answers = "other\n\n\ndata/other.csv\nkind\nb\n\n\n"
    result = CliRunner().invoke(app, ["init"], input=answers)
    assert result.exit_code == 0, result.output
    assert "Sensitive features (comma-separated; empty for none) []" in result.output
    assert load_params(repo_copy / "params.yaml").features.sensitive == []


def test_the_printed_steps_run_in_order_in_a_folder_without_git(repo_copy: Path, tmp_path: Path) -> None:
    """copier copies the template without .git: the steps init prints must work as printed, in order
    (`make run` before `git init` stopped at once: "... is not a git repository")."""
    project = tmp_path / "rendered"
    shutil.copytree(repo_copy, project, ignore=shutil.ignore_patterns(".git"))
    params = load_params(project / "params.yaml")
    result = _init(
        project,
        "--allow-dirty",
        *("--name", "rendered", "--github-owner", "", "--image", "", "--source", params.data.source),
        *("--target", params.target.column, "--positive", str(params.target.positive)),
        *("--sensitive", ",".join(params.features.sensitive)),
    )
    steps = [line.split(". ", 1)[1] for line in result.stdout.split("Next steps:")[1].splitlines() if line]
    commands = [step.split("  #")[0].strip() for step in steps if step.startswith(("git ", "make "))]
    identity = {"GIT_AUTHOR_NAME": "test", "GIT_COMMITTER_NAME": "test"}
    identity |= {"GIT_AUTHOR_EMAIL": "test@example.com", "GIT_COMMITTER_EMAIL": "test@example.com"}
    for command in commands[: commands.index("make run")]:
        run(["bash", "-c", command], cwd=project, env={**os.environ, **identity})
    # What `make run` starts with: DVC needs a git repository, the gates a `main` to compare with.
    run(["dvc", "status"], cwd=project)
    assert run(["git", "rev-parse", "main"], cwd=project).stdout.strip()


def _other_data(repo: Path, extra: tuple[str, ...] = ()) -> str:
    """A small new table in the project's data/ (committed): `kind` (a, b) is the target to choose,
    `mass` has too many values to be one; each `extra` column holds x or y."""
    rows = [",".join(["kind", "mass", "year", *extra])]
    rows += [
        ",".join(["ab"[i % 2], str(3000 + i), str(2007 + i % 3), *("xy"[i % 3 % 2] for _ in extra)])
        for i in range(120)
    ]
    (repo / "data" / "other.csv").write_text("\n".join(rows) + "\n")
    git_add_commit(repo, "other data")
    return "data/other.csv"


def test_init_explains_a_wrong_answer_and_asks_again(
    repo_copy: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Typed at the prompt, a wrong name, source, target, label or sensitive feature is explained,
    with the valid choices, and asked again (it ended init with an error, the answers typed lost)."""
    source = _other_data(repo_copy)
    monkeypatch.chdir(repo_copy)
    typed = [
        ("2nd try", "'2nd-try' is not a valid answer: lower case letters"),
        ("other", None),
        ("", None),  # GitHub owner: none
        ("", None),  # image: none
        ("data/missing.csv", "Data source not found"),
        (source, None),
        ("Kind", "'Kind' is not a column of data/other.csv; its columns are ['kind', 'mass', 'year']"),
        ("mass", "The target column 'mass' of data/other.csv has 120 distinct values"),
        ("kind", None),
        ("c", "'c' is not a label of 'kind': ['a', 'b']"),
        ("b", None),
        ("sex", "['sex'] are not features of data/other.csv; choose among ['mass', 'year'], or none"),
        ("year", None),
        ("", None),  # description: drafted
    ]
    result = CliRunner().invoke(app, ["init"], input="".join(f"{answer}\n" for answer, _ in typed))
    assert result.exit_code == 0, result.output
    for _, problem in typed:
        if problem:
            assert problem in result.output
    assert result.output.count("Target column, one of ['kind', 'mass', 'year']: ") == 3
    params = load_params(repo_copy / "params.yaml")
    assert (params.project.name, params.data.source, params.target.column) == ("other", source, "kind")
    assert (params.target.positive, params.features.sensitive) == ("b", ["year"])


def test_a_wrong_answer_without_a_terminal_stops_and_writes_nothing(
    repo_copy: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Input that ends after a wrong answer (a script, a pipe): the problem is said, init stops with a
    non-zero exit and writes nothing."""
    source = _other_data(repo_copy)
    monkeypatch.chdir(repo_copy)
    result = CliRunner().invoke(app, ["init", "--name", "other", "--source", source], input="\n\nweight\n")
    assert result.exit_code == 1
    assert "'weight' is not a column of data/other.csv" in result.output
    assert "No answer to: Target column" in result.output and "unexpected error" not in result.output
    assert _status(repo_copy) == ""


def test_init_proposes_the_configured_target_only_for_its_data(
    repo_copy: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """New data that happens to have a column named like the configured target: it is not proposed
    (a column of the same name in another file may be anything: a feature, an identifier)."""
    configured = load_params(repo_copy / "params.yaml").target
    if configured.column in {"kind", "mass", "year"}:
        pytest.skip(f"the configured target {configured.column!r} is a column of the new table already")
    source = _other_data(repo_copy, (configured.column,))
    monkeypatch.chdir(repo_copy)
    result = CliRunner().invoke(app, ["init", "--no-input", "--name", "other", "--source", source])
    assert result.exit_code == 1
    assert "nothing to propose for: Target column, one of ['kind', 'mass', 'year'," in result.output
    assert _status(repo_copy) == ""


def test_init_again_on_a_committed_project_lists_only_what_is_left(repo_copy: Path) -> None:
    """Same answers again on a project whose configuration and dvc.lock are committed: nothing
    changed, so nothing to review, train or commit (it printed every step, `git commit` included)."""
    before = load_params(repo_copy / "params.yaml")
    options = [
        *("--name", "same-data", "--github-owner", "acme", "--source", before.data.source),
        *("--target", before.target.column, "--positive", str(before.target.positive)),
        *("--sensitive", ",".join(before.features.sensitive)),
    ]
    first = _init(repo_copy, *options)
    assert "git commit" in first.stdout.split("Next steps", 1)[1]
    git_add_commit(repo_copy, "named it")
    assert (repo_copy / "dvc.lock").exists()  # same data: trained already

    again = _init(repo_copy, *options)
    assert "nothing to change" in again.stdout
    steps = again.stdout.split("Next steps", 1)[1]
    assert "make doctor" in steps and "make test" in steps
    assert "git commit" not in steps and "make run" not in steps and "Review" not in steps
    assert _status(repo_copy) == ""


def _readme_links(readme: str) -> list[str]:
    return re.findall(r"\]\(([^)]+)\)", readme)


def test_init_writes_the_projects_readme_once(repo_copy: Path, breast_cancer_csv: Path) -> None:
    """The template's README (Lastmile, the example data) becomes the project's, naming its data and
    linking the template's documentation; the user's edits to it are never overwritten."""
    as_template_readme(repo_copy)
    result = _init(repo_copy, *_breast_cancer_options(breast_cancer_csv))
    assert "wrote README.md" in result.stdout
    readme = (repo_copy / "README.md").read_text()
    assert readme.startswith("# tumour-screen\n")
    assert "`data/breast_cancer.csv`" in readme and "`target`, positive label `1`" in readme
    links = _readme_links(readme)
    assert "docs/making-it-yours.md" in links
    assert all((repo_copy / link).is_file() for link in links)
    # "Use this template" keeps copier's files (a deletion would conflict with each template change
    # to them): the README says what they are.
    kept = [name for name in COPIER_FILES if (repo_copy / name).is_file()]
    assert kept == [name for name in COPIER_FILES if (ROOT / name).is_file()]
    assert all(f"`{name}`" in readme for name in kept)

    with (repo_copy / "README.md").open("a") as notes:
        notes.write("\nOur team's notes.\n")
    git_add_commit(repo_copy, "our notes")
    _init(repo_copy, *_breast_cancer_options(breast_cancer_csv), "--description", "Flags cells.")
    assert (repo_copy / "README.md").read_text() == readme + "\nOur team's notes.\n"


def test_copier_copy_gives_the_projects_readme(tmp_path: Path, breast_cancer_csv: Path) -> None:
    """What `copier copy` makes: the files copier copies, then its task `lastmile init` (copier.yml);
    the README is the project's, and copier's own files are left out."""
    if not (ROOT / "copier.yml").exists():
        pytest.skip("no copier.yml: this project was made by `copier copy`, which leaves it out")
    template = _copy_repo(tmp_path / "template")
    as_template_readme(template)
    copier = ["copier", "copy", "--trust", "--defaults", "--skip-tasks", "--vcs-ref", "HEAD"]
    run([*copier, "--data", "project_name=tumour-screen", str(template), "rendered"], cwd=tmp_path)
    project = tmp_path / "rendered"
    options = ["--allow-dirty", "--reset-generated", *_breast_cancer_options(breast_cancer_csv)]
    _init(project, *options)
    readme = (project / "README.md").read_text()
    assert readme.startswith("# tumour-screen\n") and "`data/breast_cancer.csv`" in readme
    assert all((project / link).is_file() for link in _readme_links(readme))
    assert (project / ".copier-answers.yml").is_file()
    assert not any((project / name).exists() for name in COPIER_FILES)
    assert "copier.yml" not in readme


def test_init_regularises_the_first_model_on_a_small_table(repo_copy: Path, tmp_path: Path) -> None:
    """Below SMALL_DATA_TRAIN_ROWS training rows (where scikit-learn stops no boosting early) the
    first model's gradient boosting is regularised; on a larger table it gets the defaults back."""
    test_size = load_params(repo_copy / "params.yaml").split.test_size
    train_share = 1 - test_size
    for rows, expected in [
        (int(SMALL_DATA_TRAIN_ROWS / train_share) - 10, SMALL_DATA_BOOSTING),
        (int(SMALL_DATA_TRAIN_ROWS / train_share) + 10, HistGradientBoostingParams()),
    ]:
        source = tmp_path / f"table_{rows}.csv"
        lines = ["size,group,kind", *(f"{i % 97},{'xyz'[i % 3]},{'ab'[i % 2]}" for i in range(rows))]
        source.write_text("\n".join(lines) + "\n")
        options = ["--name", "table", "--source", str(source), "--target", "kind", "--positive", "a"]
        _init(repo_copy, "--allow-dirty", *options, "--sensitive", "")
        params = load_params(repo_copy / "params.yaml")
        assert params.model.hist_gradient_boosting == expected, rows
        comment = next(
            line
            for line in (repo_copy / "params.yaml").read_text().splitlines()
            if "  hist_gradient_boosting:" in line
        )
        assert f"{round(rows * train_share):,} training rows" in comment
