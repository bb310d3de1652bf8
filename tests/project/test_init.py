"""`lastmile init` in a throwaway git copy of the template: what it writes, refuses and leaves alone."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import pytest
from dvc.repo import Repo
from typer.testing import CliRunner

from lastmile.cli import app
from lastmile.contract import load_contract
from lastmile.params import load_params
from tests.conftest import ROOT, git_add_commit, run


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
    assert contract.columns["target"].values == ["1", "0"]
    # dvc.yaml is the template's: DVC names the model artifact from params.yaml `project:`.
    assert (repo_copy / "dvc.yaml").read_text() == (ROOT / "dvc.yaml").read_text()
    with Repo(str(repo_copy)) as repo:
        (artifact,) = repo.artifacts.read()["dvc.yaml"].items()
    assert artifact[0] == "tumour-screen" and artifact[1].desc == params.project.description
    # The example's outputs are gone: the first `make run` trains anew, with no stale baseline.
    assert not (repo_copy / "dvc.lock").exists() and not (repo_copy / "reports").exists()
    assert "make run" in result.stdout and "git add -A" in result.stdout


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
    assert "removed" not in result.stdout
    assert {path: path.read_bytes() for path in before} == before


def test_init_twice_with_the_same_answers_changes_nothing(repo_copy: Path, breast_cancer_csv: Path) -> None:
    _init(repo_copy, *_breast_cancer_options(breast_cancer_csv))
    git_add_commit(repo_copy, "made it ours")
    result = _init(repo_copy, *_breast_cancer_options(breast_cancer_csv))
    assert "nothing to change" in result.stdout
    assert _status(repo_copy) == ""


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
    # Name, owner, image (default), source, target, positive (default: the rarer label), sensitive,
    # description (its own words).
    answers = "cells\nacme\n\ndata/cells.csv\ntarget\n\n\nFlags cells to look at twice.\n"
    result = CliRunner().invoke(app, ["init"], input=answers)
    assert result.exit_code == 0, result.output
    assert "Positive label, one of ['1', '0']" in result.output
    params = load_params(repo_copy / "params.yaml")
    assert params.project.image == "ghcr.io/acme/cells"
    assert params.project.description == "Flags cells to look at twice."
    assert (params.data.source, params.target.positive, params.features.sensitive) == (
        "data/cells.csv",
        "0",
        [],
    )
