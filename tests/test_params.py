import sys
from pathlib import Path

import pytest
import yaml

from lastmile.errors import LastmileError, read_yaml
from lastmile.params import Params, load_params
from tests.conftest import PARAMS, run, write_params


def test_project_params_load(params: Params) -> None:
    assert params.target.column not in params.features.all
    assert set(params.features.sensitive) <= set(params.features.all)


@pytest.mark.parametrize(
    ("mutate", "message"),
    [
        ({"split.test_size": 1.5}, "split.test_size"),
        ({"model.kind": "random_forest"}, "model.kind"),
        ({"model.typo": 1}, "model.typo"),
        (
            {"features.numeric": ["both", "x"], "features.categorical": ["both"]},
            "both numeric and categorical",
        ),
        ({"features.sensitive": ["not_a_feature"]}, "sensitive features must also be features"),
        ({"target.column": PARAMS.features.all[0]}, "also listed as a feature"),
        ({"target.positive": 1.5}, "target.positive"),
        ({"target.positive": None}, "target.positive"),
        ({"project.model_name": "My Model"}, "project.model_name"),
        ({"project.name": ""}, "project.name"),
    ],
)
def test_invalid_params_name_the_key(tmp_path: Path, mutate: dict[str, object], message: str) -> None:
    with pytest.raises(LastmileError, match=message):
        load_params(write_params(tmp_path, mutate))


def test_missing_and_malformed_file(tmp_path: Path) -> None:
    with pytest.raises(LastmileError, match="not found"):
        load_params(tmp_path / "nope.yaml")
    bad = tmp_path / "bad.yaml"
    bad.write_text("data: [unclosed")
    with pytest.raises(LastmileError, match="not valid YAML"):
        load_params(bad)


# Tests that read the project's params.yaml (through the `params` fixture) without training a model.
PARAM_READING_TESTS = ["tests/stages/test_split.py", "tests/stages/test_check.py", "tests/test_contract.py"]


def test_tests_hold_when_a_user_tunes_the_parameters(repo_copy: Path) -> None:
    """A pull request that tunes params.yaml must not fail tests: they derive expectations from it."""
    path = repo_copy / "params.yaml"
    raw = read_yaml(path.read_text(encoding="utf-8"))
    raw["split"] = {"test_size": 0.3, "seed": 1}
    raw["model"]["kind"] = "logistic_regression"
    raw["evaluation"]["threshold"]["value"] = 0.4
    raw["gates"]["floors"] = {"roc_auc": 0.5}
    path.write_text(yaml.safe_dump(raw), encoding="utf-8")
    result = run(
        [sys.executable, "-m", "pytest", "-q", "--no-cov", "-p", "no:cacheprovider", *PARAM_READING_TESTS],
        cwd=repo_copy,
        check=False,
    )
    assert result.returncode == 0, result.stdout[-3000:]


@pytest.mark.parametrize("positive", ["high", "yes", 1, 0, True, False])
def test_the_positive_label_keeps_its_yaml_type(tmp_path: Path, positive: object) -> None:
    loaded = load_params(write_params(tmp_path, {"target.positive": positive})).target.positive
    assert loaded == positive and type(loaded) is type(positive)


@pytest.mark.parametrize("positive", ["yes", "off"])
def test_a_label_dvc_writes_unquoted_is_still_text(tmp_path: Path, positive: str) -> None:
    """`dvc exp run -S` rewrites params.yaml with DVC's own YAML 1.2 writer, which leaves "yes" unquoted
    (a YAML 1.1 reader such as PyYAML takes it for the boolean True): lastmile reads it as DVC does.

    The real `dvc exp run -S`, in a project of one stage that does nothing."""
    path = write_params(tmp_path, {"target.positive": positive})
    (tmp_path / "dvc.yaml").write_text("stages:\n  noop:\n    cmd: python -c pass\n    params: [model]\n")
    run(["git", "init", "-q"], cwd=tmp_path)
    run(["dvc", "init", "-q"], cwd=tmp_path)
    run(["git", "add", "-A"], cwd=tmp_path)
    run(["git", "-c", "user.name=t", "-c", "user.email=t@t", "commit", "-qm", "params"], cwd=tmp_path)
    run(["dvc", "exp", "run", "-q", "-S", "model.kind=logistic_regression"], cwd=tmp_path)
    assert f"positive: {positive}\n" in path.read_text(encoding="utf-8")
    assert load_params(path).target.positive == positive
