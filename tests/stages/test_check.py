"""Stage `check`: every value of params.yaml and contract.yaml, and how they fit, in one-paragraph errors."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
import yaml

from lastmile.errors import LastmileError, read_yaml
from lastmile.stages import check
from tests.conftest import CONTRACT, PARAMS, ROOT, set_dotted

HUGE = "x" * 200_000
# The project's own columns (never the example's): a numeric feature, a category column if any (other
# than the target, often a category too: naming it as a feature is another error).
NUMERIC = PARAMS.features.numeric[0]
TARGET = PARAMS.target.column
CATEGORY = next(
    (name for name, spec in CONTRACT.columns.items() if spec.kind == "category" and name != TARGET), None
)


def _category_cases() -> list[Any]:
    """Cases that need a category column in the contract (left out when the project has none)."""
    if CATEGORY is None:
        return []
    return [
        (
            {
                "features.numeric": [CATEGORY],
                "features.categorical": [],
                "features.sensitive": [],
                "gates.fairness": {},
            },
            {},
            f"`features.numeric` names '{CATEGORY}', a category column in contract.yaml; "
            "allowed: columns of kind",
        ),
        (
            {"evaluation.slices.bands": {CATEGORY: [1, 2]}},
            {},
            f"`evaluation.slices.bands` names '{CATEGORY}'",
        ),
    ]


def _config(
    tmp_path: Path, params: dict[str, Any] | None = None, contract: dict[str, Any] | None = None
) -> None:
    """params.yaml and contract.yaml in `tmp_path`: the project's, with dotted keys replaced."""
    for name, changes in (("params.yaml", params or {}), ("contract.yaml", contract or {})):
        raw = read_yaml((ROOT / name).read_text(encoding="utf-8"))
        for dotted, value in changes.items():
            set_dotted(raw, dotted, value)
        (tmp_path / name).write_text(yaml.safe_dump(raw), encoding="utf-8")
    source = Path(read_yaml((tmp_path / "params.yaml").read_text())["data"]["source"])
    link = tmp_path / source
    if not source.is_absolute() and (ROOT / source).is_file() and not link.exists():
        link.parent.mkdir(parents=True, exist_ok=True)
        link.symlink_to(ROOT / source)


def _run(tmp_path: Path) -> Path:
    out = tmp_path / "checked.json"
    check.run(tmp_path / "params.yaml", tmp_path / "contract.yaml", out)
    return out


def _error(tmp_path: Path) -> str:
    with pytest.raises(LastmileError) as info:
        _run(tmp_path)
    assert not (tmp_path / "checked.json").exists()
    return str(info.value)


def test_the_project_configuration_passes(tmp_path: Path) -> None:
    _config(tmp_path)
    assert _run(tmp_path).is_file()


def test_the_output_does_not_change_with_valid_values(tmp_path: Path) -> None:
    """Stages downstream depend on it: a valid change must not re-run them all."""
    _config(tmp_path)
    first = _run(tmp_path).read_bytes()
    _config(tmp_path, {"model.kind": "logistic_regression", "gates.floors": {}, "split.seed": 3})
    assert _run(tmp_path).read_bytes() == first


@pytest.mark.parametrize(
    ("params", "contract", "expected"),
    [
        ({"data.source": "data/nope.csv"}, {}, "params.yaml `data.source`: no file at 'data/nope.csv'"),
        ({"target.column": "salary"}, {}, "`target.column` names 'salary', which contract.yaml does not"),
        ({"target.positive": "rich"}, {}, "`target.positive` is 'rich'"),
        ({"features.numeric": [NUMERIC, "shoe_size"]}, {}, "`features.numeric` names 'shoe_size'"),
        *_category_cases(),
        ({"evaluation.slices.columns": ["planet"]}, {}, "`evaluation.slices.columns` names 'planet'"),
        ({"split.test_size": 1.5}, {}, "`split.test_size`: Input should be less than 1"),
        ({"model.kind": "forest"}, {}, "`model.kind`: Input should be 'hist_gradient_boosting' or"),
        ({"model.typo": 1}, {}, "`model.typo`: unknown key; allowed here: kind, seed"),
        (
            {"gates.floors": {"acuracy": 0.5}},
            {},
            "`gates.floors` names 'acuracy', not among the headline metrics (`lastmile.metrics`); allowed: ",
        ),
        ({"gates.max_regression": {"auc": 0.01}}, {}, "`gates.max_regression` names 'auc', not among the"),
        ({"evaluation.threshold.rule": "best"}, {}, "`evaluation.threshold.rule`: Input should be"),
        ({}, {"min_rows": 0}, "contract.yaml is invalid: `min_rows`: Input should be greater than or equal"),
        (
            {},
            {f"columns.{NUMERIC}": {"kind": "integer", "min": 90, "max": 10}},
            f"`columns.{NUMERIC}`: `min` (90) is above",
        ),
        (
            {},
            {f"columns.{NUMERIC}": {"kind": "text"}},
            f"`columns.{NUMERIC}.kind`: Input should be 'integer', 'number'",
        ),
        ({}, {"columns": {}}, "`columns`: Dictionary should have at least 1 item"),
    ],
)
def test_each_problem_names_file_key_and_what_is_allowed(
    tmp_path: Path, params: dict[str, Any], contract: dict[str, Any], expected: str
) -> None:
    _config(tmp_path, params, contract)
    message = _error(tmp_path)
    assert expected in message
    assert "\n" not in message and "pydantic" not in message
    assert message.endswith("the previous model and reports are unchanged.")


def test_both_files_are_reported_in_one_run(tmp_path: Path) -> None:
    _config(tmp_path, {"model.kind": "forest"}, {"min_rows": "many"})
    message = _error(tmp_path)
    assert (
        "params.yaml is invalid: `model.kind`" in message
        and "contract.yaml is invalid: `min_rows`" in message
    )


@pytest.mark.parametrize(
    ("params", "contract"),
    [
        ({"target.positive": HUGE}, {}),
        ({"split.test_size": HUGE}, {}),
        ({"features.numeric": [NUMERIC, HUGE]}, {}),
        ({"model.kind": HUGE}, {}),
        ({}, {f"columns.{TARGET}": {"kind": "category", "values": [HUGE, HUGE]}}),
    ],
)
def test_a_huge_value_is_cut(tmp_path: Path, params: dict[str, Any], contract: dict[str, Any]) -> None:
    _config(tmp_path, params, contract)
    message = _error(tmp_path)
    assert len(message) < 2000 and "more characters" in message


@pytest.mark.parametrize(("values", "passes"), [(["TRUE", "FALSE"], True), (["yes", "no"], False)])
def test_a_boolean_positive_for_text_labels_takes_the_contracts_spelling(
    tmp_path: Path, values: list[str], passes: bool
) -> None:
    """`positive: true` for a category target declared TRUE/FALSE is the label "TRUE", as ingest
    reads it from the data; against yes/no it is no label of the contract."""
    _config(
        tmp_path, {"target.positive": True}, {f"columns.{TARGET}": {"kind": "category", "values": values}}
    )
    if passes:
        assert _run(tmp_path).is_file()
    else:
        assert "`target.positive` is 'True'" in _error(tmp_path)
