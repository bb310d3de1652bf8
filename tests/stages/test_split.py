from pathlib import Path

import pandas as pd
import pytest

from lastmile.errors import LastmileError
from lastmile.params import Params
from lastmile.stages import split


def _table(tmp_path: Path, labels: list[str]) -> Path:
    path = tmp_path / "validated.parquet"
    pd.DataFrame({"x": range(len(labels)), "income": labels}).to_parquet(path, index=False)
    return path


def test_split_is_stratified_seeded_and_complete(tmp_path: Path, params: Params) -> None:
    labels = [">50K"] * 250 + ["<=50K"] * 750
    table = _table(tmp_path, labels)
    runs = []
    for name in ("a", "b"):
        split.run(
            params,
            table=table,
            train_out=tmp_path / f"{name}-train.parquet",
            test_out=tmp_path / f"{name}-test.parquet",
        )
        runs.append(
            (
                pd.read_parquet(tmp_path / f"{name}-train.parquet"),
                pd.read_parquet(tmp_path / f"{name}-test.parquet"),
            )
        )
    (train, test), (_, test2) = runs
    assert len(test) == 200 and len(train) == 800
    assert (test["income"] == ">50K").mean() == 0.25 == (train["income"] == ">50K").mean()
    assert sorted([*train["x"], *test["x"]]) == list(range(1000))
    pd.testing.assert_frame_equal(test, test2)


@pytest.mark.parametrize(
    ("labels", "message"),
    [(["<=50K"] * 10, "No row has the positive label"), ([">50K"] + ["<=50K"] * 10, "at least 2 rows")],
)
def test_split_refuses_unusable_labels(
    tmp_path: Path, params: Params, labels: list[str], message: str
) -> None:
    with pytest.raises(LastmileError, match=message):
        split.run(
            params,
            table=_table(tmp_path, labels),
            train_out=tmp_path / "tr.parquet",
            test_out=tmp_path / "te.parquet",
        )
