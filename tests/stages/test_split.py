from pathlib import Path
from typing import Any

import pandas as pd
import pytest

from lastmile.errors import LastmileError
from lastmile.params import Params
from lastmile.stages import split


def _table(tmp_path: Path, labels: list[Any]) -> Path:
    path = tmp_path / "validated.parquet"
    pd.DataFrame({"x": range(len(labels)), "label": labels}).to_parquet(path, index=False)
    return path


def _target(params: Params, positive: Any) -> Params:
    """The project's params, with a target column `label` whose positive label is `positive`."""
    return params.model_copy(
        update={"target": params.target.model_copy(update={"column": "label", "positive": positive})}
    )


def _split(
    tmp_path: Path, params: Params, labels: list[Any], name: str = "a"
) -> tuple[pd.DataFrame, pd.DataFrame]:
    split.run(
        params,
        table=_table(tmp_path, labels),
        train_out=tmp_path / f"{name}-train.parquet",
        test_out=tmp_path / f"{name}-test.parquet",
    )
    return pd.read_parquet(tmp_path / f"{name}-train.parquet"), pd.read_parquet(
        tmp_path / f"{name}-test.parquet"
    )


def test_split_is_stratified_seeded_and_complete(tmp_path: Path, params: Params) -> None:
    labels = ["yes"] * 250 + ["no"] * 750
    p = _target(params, "yes")
    (train, test), (_, test2) = _split(tmp_path, p, labels, "a"), _split(tmp_path, p, labels, "b")
    size = params.split.test_size
    assert len(test) == round(250 * size) + round(750 * size) and len(train) == 1000 - len(test)
    assert (test["label"] == "yes").mean() == 0.25 == (train["label"] == "yes").mean()
    assert sorted([*train["x"], *test["x"]]) == list(range(1000))
    pd.testing.assert_frame_equal(test, test2)


@pytest.mark.parametrize(
    ("labels", "positive"),
    [
        ([1] * 20 + [0] * 80, 1),  # whole numbers, positive written as a number
        ([1] * 20 + [0] * 80, "1"),  # ... or as text
        ([True] * 20 + [False] * 80, True),  # booleans
        ([True] * 20 + [False] * 80, "true"),
        (["1"] * 20 + ["0"] * 80, 1),  # labels that are text ("category" in the contract), positive a number
    ],
    ids=["int-int", "int-text", "bool-bool", "bool-text", "text-int"],
)
def test_the_positive_label_is_found_whatever_its_type(
    tmp_path: Path, params: Params, labels: list[Any], positive: Any
) -> None:
    train, test = _split(tmp_path, _target(params, positive), labels)
    assert len(train) + len(test) == 100
    assert train["label"].dtype == pd.Series(labels).dtype  # the labels keep their type


@pytest.mark.parametrize(
    ("labels", "positive", "message"),
    [
        (
            ["no"] * 10,
            "yes",
            r"No row of the target column 'label' has the positive label 'yes'.*labels found: \['no'\]",
        ),
        ([1] * 5 + [0] * 5, 2, r"positive label 2 .*labels found: \[0, 1\]"),
        (
            [1] * 5 + [0] * 5,
            "yes",
            r"`target.positive` is 'yes', but the target column 'label' holds integer labels",
        ),
        ([True] * 5 + [False] * 5, 2, r"holds boolean labels: write the positive label as true or false"),
        ([0.5] * 5 + [1.5] * 5, 1, r"decimal numbers, which cannot be class labels"),
        (["yes"] + ["no"] * 10, "yes", "at least 2 rows"),
        ([0, 1, 2] * 4, 1, r"3 whole-number labels \(\[1, 0, 2\]\).*declare the target as text"),
    ],
    ids=["absent", "absent-int", "text-for-int", "int-for-bool", "decimal", "too-few", "three-whole-numbers"],
)
def test_split_refuses_unusable_labels(
    tmp_path: Path, params: Params, labels: list[Any], positive: Any, message: str
) -> None:
    with pytest.raises(LastmileError, match=message):
        _split(tmp_path, _target(params, positive), labels)
    # Refused before anything is written, so no later stage (nor its outputs) is reached.
    assert not list(tmp_path.glob("a-*.parquet"))
