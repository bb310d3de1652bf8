import numpy as np
import pandas as pd
import pytest
from sklearn import metrics as skm

from lastmile.errors import LastmileError
from lastmile.evaluation.slices import MISSING, band_labels, bands, groups, slice_columns, slice_report
from lastmile.params import SliceParams


def test_band_labels_read_naturally() -> None:
    assert band_labels([25, 35, 45], integers=True) == ["<25", "25-34", "35-44", "45+"]
    assert band_labels([2.5, 5], integers=False) == ["<2.5", "2.5 to <5", "5+"]
    assert band_labels([25, 35], integers=False) == ["<25", "25 to <35", "35+"]


def test_bands_include_the_lower_edge_and_keep_missing_values() -> None:
    amounts = pd.Series([17, 25, 34, 35, None, 90], dtype="Int64")
    assert bands(amounts, [25, 35]).astype(str).tolist() == ["<25", "25-34", "25-34", "35+", MISSING, "35+"]
    assert bands(amounts, [25, 35]).cat.categories.tolist() == ["<25", "25-34", "35+", MISSING]


def test_groups_put_the_largest_first_and_name_missing_values() -> None:
    labels = groups(pd.Series(["b", "a", None, "a"], dtype="string"))
    assert labels.cat.categories.tolist() == ["a", "b", MISSING]
    assert labels.astype(str).tolist() == ["b", "a", MISSING, "a"]


def test_slices_name_columns_the_table_has() -> None:
    table = pd.DataFrame({"group": ["F", "M"], "amount": [30, 50]})
    named = slice_columns(table, ["group"], SliceParams(bands={"amount": [40]}, columns=["group"]))
    assert list(named) == ["group", "amount"]  # a sensitive feature listed again is not repeated
    with pytest.raises(LastmileError, match=r"\['colour'\].*evaluation\.slices"):
        slice_columns(table, ["group"], SliceParams(columns=["colour"]))
    with pytest.raises(LastmileError, match=r"\['group'\] into numeric bands"):
        slice_columns(table, ["group"], SliceParams(bands={"group": [1]}))


def test_slice_report_counts_and_metrics() -> None:
    rng = np.random.default_rng(3)
    rows = 500
    y = (rng.random(rows) < 0.3).astype(int)
    proba = np.clip(0.3 * y + rng.random(rows) * 0.7, 0, 1)
    color = pd.Series(rng.choice(["red", "blue"], rows), name="color")
    only_negatives = np.where(y == 1, "mixed", rng.choice(["mixed", "no positives"], rows))
    named = {"color": groups(color), "kind": groups(pd.Series(only_negatives))}
    report = slice_report(named, y, proba, threshold=0.4)
    assert report["threshold"] == 0.4
    by_key = {(s["slice"], s["group"]): s for s in report["slices"]}
    assert sum(s["rows"] for s in report["slices"] if s["slice"] == "color") == rows
    red = by_key[("color", "red")]
    mask = (color == "red").to_numpy()
    assert red["rows"] == mask.sum()
    assert red["positive_rate"] == pytest.approx(y[mask].mean(), abs=1e-6)
    predicted = proba[mask] >= 0.4
    assert red["metrics"]["f1"] == pytest.approx(skm.f1_score(y[mask], predicted), abs=1e-6)
    assert red["metrics"]["roc_auc"] == pytest.approx(skm.roc_auc_score(y[mask], proba[mask]), abs=1e-6)
    assert red["metrics"]["selection_rate"] == pytest.approx(predicted.mean(), abs=1e-6)
    assert by_key[("kind", "no positives")]["metrics"]["roc_auc"] is None
