"""Stage `check`: every value of params.yaml and contract.yaml, and how the two fit, before any work.

DVC removes a stage's outputs just before running its command, so a value that only a later stage
rejects would cost the last good model and reports. This stage runs first (every other stage
depends on its output) and removes nothing else: a bad configuration stops `dvc repro`,
`dvc exp run` and `make run` with the previous model, metrics, plots and `dvc.lock` intact.

Its output names what was checked, not the values, so a valid change re-runs only the stages that
read the changed values.
"""

from __future__ import annotations

import logging
import math
from collections.abc import Callable
from pathlib import Path
from typing import TypeVar

from lastmile import paths
from lastmile.contract import Contract, load_contract
from lastmile.errors import LastmileError, quoted, shorten
from lastmile.files import write_json
from lastmile.metrics import unknown_metrics
from lastmile.params import Params, label_as, load_params

log = logging.getLogger(__name__)
T = TypeVar("T")


def _is_local(source: str) -> bool:
    return "://" not in source or source.startswith("file://")


def _columns(contract: Contract, key: str, names: list[str]) -> list[str]:
    unknown = [name for name in names if name not in contract.columns]
    if not unknown:
        return []
    return [
        f"params.yaml `{key}` names {quoted(unknown)}, which contract.yaml does not declare "
        f"(its columns: {quoted(contract.columns)})"
    ]


def _numeric(contract: Contract, key: str, names: list[str]) -> list[str]:
    text = [n for n in names if n in contract.columns and contract.columns[n].kind == "category"]
    if not text:
        return []
    return [
        f"params.yaml `{key}` names {quoted(text)}, a category column in contract.yaml; "
        "allowed: columns of kind integer or number"
    ]


def _target(params: Params, contract: Contract) -> list[str]:
    spec = contract.columns.get(params.target.column)
    if spec is None:
        return _columns(contract, "target.column", [params.target.column])
    # The label as the validated target column will hold it (text, whole number or boolean).
    try:
        positive = label_as(params.target.positive, spec.label_kind, params.target.column, spec.values or ())
    except LastmileError as exc:
        return [str(exc)]
    column = f"`columns.{shorten(params.target.column)}`"
    if spec.values is not None and positive not in spec.values:
        return [
            f"params.yaml `target.positive` is '{shorten(str(positive))}', which contract.yaml "
            f"{column[:-1]}.values` does not allow; allowed: {quoted(spec.values)}"
        ]
    if isinstance(positive, int) and not isinstance(positive, bool):
        low = -math.inf if spec.min is None else spec.min
        high = math.inf if spec.max is None else spec.max
        if not low <= positive <= high:
            return [
                f"params.yaml `target.positive` is {positive}, outside contract.yaml {column}'s range "
                f"{low:g} to {high:g}"
            ]
    return []


def _source(source: str, root: Path) -> list[str]:
    if not _is_local(source):
        return []
    path = root / source.removeprefix("file://")
    if path.is_file():
        return []
    return [
        f"params.yaml `data.source`: no file at '{shorten(source)}' "
        f"({'a folder' if path.is_dir() else 'not found'}); allowed: a CSV file's path, relative to the "
        "project root, or a URL (https://, s3://, ...)"
    ]


def problems(params: Params, contract: Contract, root: Path = Path()) -> list[str]:
    """What params.yaml asks of the data that contract.yaml cannot give, one sentence each."""
    found = [
        *_source(params.data.source, root),
        *_target(params, contract),
        *_columns(contract, "features.numeric", params.features.numeric),
        *_columns(contract, "features.categorical", params.features.categorical),
        *_numeric(contract, "features.numeric", params.features.numeric),
    ]
    slices = params.evaluation.slices
    found += _columns(contract, "evaluation.slices.columns", slices.columns)
    found += _columns(contract, "evaluation.slices.bands", list(slices.bands))
    found += _numeric(contract, "evaluation.slices.bands", list(slices.bands))
    return found


def _load(load: Callable[[Path], T], file: Path, errors: list[str]) -> T | None:
    try:
        return load(file)
    except LastmileError as exc:
        errors.append(str(exc))
        return None


def run(
    params_file: Path = paths.PARAMS, contract_file: Path = paths.CONTRACT, out: Path = paths.CHECKED
) -> None:
    errors: list[str] = []
    # Both files are read before failing, so one run names every problem.
    params = _load(load_params, params_file, errors)
    contract = _load(load_contract, contract_file, errors)
    if params is not None:
        errors += unknown_metrics(params.gates.metric_names)
    if params is not None and contract is not None:
        errors += problems(params, contract, params_file.parent)
    if errors:
        raise LastmileError(
            " ".join(e.rstrip(".") + "." for e in errors)
            + " Nothing was run: the previous model and reports are unchanged."
        )
    write_json(out, {"checked": [str(params_file), str(contract_file)], "passed": True})
    log.info("check: %s and %s are valid", params_file, contract_file)
