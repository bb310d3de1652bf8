from pathlib import Path

import pandas as pd
import pytest

from lastmile.errors import LastmileError
from lastmile.params import Params
from lastmile.stages import split

NEGATIVE = "another label"


def _table(tmp_path: Path, params: Params, labels: list[str]) -> Path:
    """A validated table with the project's target column (its name and labels come from params.yaml)."""
    path = tmp_path / "validated.parquet"
    pd.DataFrame({"x": range(len(labels)), params.target.column: labels}).to_parquet(path, index=False)
    return path


def test_split_is_stratified_seeded_and_complete(tmp_path: Path, params: Params) -> None:
    positive = params.target.positive
    table = _table(tmp_path, params, [positive] * 250 + [NEGATIVE] * 750)
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
    # pandas samples round(fraction x rows) of each label; the fraction is the project's own.
    expected = sum(round(params.split.test_size * n) for n in (250, 750))
    assert len(test) == expected and len(train) == 1000 - expected
    column = params.target.column
    assert (test[column] == positive).mean() == pytest.approx(0.25, abs=1 / len(test))
    assert (train[column] == positive).mean() == pytest.approx(0.25, abs=1 / len(train))
    assert sorted([*train["x"], *test["x"]]) == list(range(1000))
    pd.testing.assert_frame_equal(test, test2)


@pytest.mark.parametrize(
    ("positives", "message"), [(0, "No row has the positive label"), (1, "at least 2 rows")]
)
def test_split_refuses_unusable_labels(tmp_path: Path, params: Params, positives: int, message: str) -> None:
    labels = [params.target.positive] * positives + [NEGATIVE] * 10
    with pytest.raises(LastmileError, match=message):
        split.run(
            params,
            table=_table(tmp_path, params, labels),
            train_out=tmp_path / "tr.parquet",
            test_out=tmp_path / "te.parquet",
        )
