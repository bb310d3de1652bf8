"""`lastmile schema infer`: draft a data contract (and the `features:` of params.yaml) from a table.

The draft reads the file exactly as `ingest` does (`data.read_source`, then `data.infer_types`),
so the kinds it writes are the ones validation will see. It is a draft: every rule a person should
confirm carries a `# REVIEW` comment above its column.
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

import pandas as pd
import yaml

from lastmile.contract import Contract
from lastmile.data import infer_types, read_source
from lastmile.errors import LastmileError, read_yaml
from lastmile.params import DataParams
from lastmile.project import config

MAX_CATEGORIES = 50
RANGE_MARGIN = 0.1
MIN_ROWS = 100
EXAMPLES = 3
# A text column where at least this share of values are numbers is taken for a numeric column
# with stray entries (a missing-value marker, a typo), not for a category.
MOSTLY_NUMERIC = 0.5

# ISO 8601 dates and times (2024-03-01, 2024-03-01T12:00:00Z) and day/month/year dates (01/03/2024):
# text to the contract, whose kinds are integer, number and category.
DATE = re.compile(
    r"\d{4}-\d{2}-\d{2}([ T]\d{2}:\d{2}(:\d{2}(\.\d+)?)?(Z|[+-]\d{2}:?\d{2})?)?"
    r"|\d{1,2}[/.-]\d{1,2}[/.-]\d{2,4}"
)

FeatureKind = Literal["numeric", "categorical"]

# Whole cell values taken to mean "missing" when a new file is read for the first time
# (`detect_reading`); empty cells always are. A file that uses one as a real value says so
# with `lastmile init --na-values`.
MISSING_MARKERS = ("?", "NA", "N/A", "n/a", "NaN", "nan", "NULL", "null", "#N/A")
# Also a real code (North America, Namibia): taken for "missing" only where a number was expected.
AMBIGUOUS_MARKERS = ("NA",)
# A label suffix is detected when a label also appears with it (`>50K` and `>50K.`).
LABEL_SUFFIXES = (".",)


def detect_reading(source: str, target: str | None = None) -> DataParams:
    """How to read a new file (params.yaml `data:`): the missing-value markers of `MISSING_MARKERS`
    it holds (outside the target; `NA` only in a column of numbers), and a label suffix when the
    target writes some labels with it and without. Comment lines are not guessed:
    `--comment-prefix` declares them."""
    frame = read_source(source, na_values=[])
    markers = set()
    for name, column in frame.items():
        if name == target:
            continue
        present = column.dropna().str.strip()
        found = set(present.unique()) & set(MISSING_MARKERS)
        others = present[~present.isin(MISSING_MARKERS)]
        if pd.to_numeric(others, errors="coerce").isna().any():  # a text column
            found -= set(AMBIGUOUS_MARKERS)
        markers.update(found)
    suffix = ""
    if target is not None and target in frame.columns:
        labels = set(frame[target].dropna().str.strip())
        for end in LABEL_SUFFIXES:
            if any(label.removesuffix(end) in labels for label in labels if label.endswith(end)):
                suffix = end
                break
    return DataParams(source=source, na_values=sorted(markers), comment_prefix=None, label_suffix=suffix)


class InferenceError(LastmileError):
    """The table cannot be drafted into a contract as it is."""


class TargetError(InferenceError):
    """The column named as the target cannot be one (absent, one label, a measurement): another
    column may be, so `lastmile init` asks again."""


@dataclass(frozen=True)
class ColumnDraft:
    name: str
    spec: dict[str, Any]
    feature: FeatureKind | None  # None: the target, or a column not worth training on
    review: list[str] = field(default_factory=list)


@dataclass(frozen=True)
class Draft:
    source: str
    rows: int
    target: str
    labels: list[str]  # as ingest writes them (text), most frequent first
    columns: list[ColumnDraft]

    def features(self, kind: FeatureKind) -> list[str]:
        return [c.name for c in self.columns if c.feature == kind]

    def contract_yaml(self) -> str:
        lines = [
            f"# Data contract drafted by `lastmile schema infer` from {self.source} ({self.rows} rows).",
            "# What `lastmile validate` enforces and the serving API accepts. Read every `# REVIEW`",
            "# note: the draft only knows the rows it saw. Column kinds: integer, number, category.",
            f"min_rows: {min(MIN_ROWS, self.rows)}",
            "columns:",
        ]
        width = max(len(_flow(c.name)) for c in self.columns) + 1
        for column in self.columns:
            if column.review:
                lines.append(f"  # REVIEW {column.name}: {'; '.join(column.review)}")
            lines.append(f"  {(_flow(column.name) + ':').ljust(width)} {_flow(column.spec)}")
        text = "\n".join(lines) + "\n"
        Contract.model_validate(read_yaml(text))  # what we write must load back
        return text


def _flow(value: object) -> str:
    """One-line YAML for a key or a mapping, quoted only where YAML needs it."""
    dumped = yaml.safe_dump(value, default_flow_style=True, sort_keys=False, width=1_000_000_000)
    return dumped.removesuffix("\n...\n").strip()


def _show(number: float) -> str:
    return str(int(number)) if float(number).is_integer() else f"{number:.6g}"


def _round_out(low: float, high: float, step: float) -> tuple[float, float]:
    digits = max(0, -math.floor(math.log10(step)))
    return (
        round(math.floor(low / step) * step, digits),
        round(math.ceil(high / step) * step, digits),
    )


def widen(low: float, high: float, *, integer: bool, margin: float) -> tuple[float, float]:
    """The seen range widened by `margin` of its span on each side, never below 0 if nothing was."""
    span = high - low or abs(high) or 1.0
    wide_low, wide_high = low - span * margin, high + span * margin
    if low >= 0:
        wide_low = max(wide_low, 0.0)
    if integer:
        return float(math.floor(wide_low)), float(math.ceil(wide_high))
    return _round_out(wide_low, wide_high, 10 ** (math.floor(math.log10(wide_high - wide_low)) - 2))


def _numeric(name: str, column: pd.Series, margin: float) -> ColumnDraft:
    integer = str(column.dtype) == "Int64"
    seen_low, seen_high = float(column.min()), float(column.max())
    low, high = widen(seen_low, seen_high, integer=integer, margin=margin)
    spec: dict[str, Any] = {"kind": "integer" if integer else "number"}
    review = [f"seen {_show(seen_low)} to {_show(seen_high)}, allowed {_show(low)} to {_show(high)}"]
    spec |= {"min": int(low), "max": int(high)} if integer else {"min": low, "max": high}
    distinct = column.nunique()
    feature: FeatureKind | None = "numeric"
    if distinct == 1:
        review.append("one value only: not listed as a feature")
        feature = None
    elif integer and distinct <= 10:
        review.append(f"{distinct} distinct values: a code? list it under features.categorical if so")
    return ColumnDraft(name, spec, feature, review)


def _dates(values: pd.Series) -> str | None:
    """'dates, FIRST to LAST' (or 'dates such as ...') when every value is a date, else None.

    The contract has no date kind and the model takes numbers and categories: a date column is a
    category, which cannot be ordered nor take a date not seen. Only the user can say which number
    to derive from it (a year, a month, an age in days).
    """
    if not values.str.fullmatch(DATE).all():
        return None
    if values.str.match(r"\d{4}-").all():  # ISO 8601 text sorts as time does
        return f"dates, {values.min()} to {values.max()}"
    return f"dates such as {values.iloc[0]}"


def _category(name: str, column: pd.Series, max_categories: int) -> ColumnDraft:
    counts = column.value_counts()
    dates = _dates(counts.index.to_series().astype(str))
    derive = "to use time as a number, derive one in your data (the year, say) and list it as a feature"
    if len(counts) > max_categories:
        too_many = (
            f"{dates}, {len(counts)} distinct: not listed as a feature (a model cannot read dates "
            f"as they are); {derive}"
            if dates
            else f"{len(counts)} distinct values (over {max_categories}): no list, any text passes; "
            "not listed as a feature (an identifier or free text?)"
        )
        return ColumnDraft(name, {"kind": "category"}, None, [too_many])
    in_time_order = dates is not None and dates.startswith("dates,")
    values = sorted(counts.index) if in_time_order else sorted(counts.index, key=lambda v: (-counts[v], v))
    review = [
        f"{dates}: drafted as a category of the {len(values)} values seen"
        f"{', in time order' if in_time_order else ''}, so any other date is refused and the model "
        f"cannot order them; {derive}"
        if dates
        else f"the {len(values)} values seen, most frequent first; add any others that can occur"
    ]
    review += [
        f"{value!r} is one of its values: if it means missing, list it in `data.na_values`"
        for value in values
        if value in MISSING_MARKERS
    ]
    feature: FeatureKind | None = "categorical"
    if len(values) == 1:
        review.append("one value only: not listed as a feature")
        feature = None
    return ColumnDraft(name, {"kind": "category", "values": values}, feature, review)


def _target(name: str, typed: pd.Series, labels: list[str]) -> ColumnDraft:
    """The target keeps its kind: two whole-number labels (0/1) are declared `integer`, so the
    model, the service's answers and the reports give them back as numbers; any other labels are
    text (more than two are learned as the positive one against "not <positive>", a text label)."""
    if str(typed.dtype) == "Int64" and len(labels) <= 2:
        low, high = int(typed.min()), int(typed.max())
        return ColumnDraft(
            name,
            {"kind": "integer", "min": low, "max": high},
            None,
            [f"the target: whole-number labels {labels}, answered as numbers; `category` answers text"],
        )
    return ColumnDraft(name, {"kind": "category", "values": labels}, None, ["the target: labels as text"])


def _untypable(name: str, raw: pd.Series) -> str | None:
    """Why a column fits no kind, or None. A text column that is mostly numbers is a numeric
    column with stray entries: guessing either kind would hide them."""
    present = raw.dropna().str.strip()
    if present.empty:
        return f"column '{name}': no values at all"
    numbers = pd.to_numeric(present, errors="coerce")
    words = present[numbers.isna()]
    if words.empty or len(words) > len(present) * (1 - MOSTLY_NUMERIC):
        return None
    shown = ", ".join(
        f"row {position + 1} ({value!r})"
        for position, value in zip(words.index.tolist(), words.head(EXAMPLES), strict=False)
    )
    more = f" and {len(words) - EXAMPLES} more" if len(words) > EXAMPLES else ""
    return (
        f"column '{name}': {len(present) - len(words)} values are numbers but {len(words)} are not: "
        f"{shown}{more}"
    )


def infer(
    frame: pd.DataFrame,
    target: str,
    *,
    label_suffix: str = "",
    source: str = "the table",
    max_categories: int = MAX_CATEGORIES,
    margin: float = RANGE_MARGIN,
) -> Draft:
    """Draft the contract of a raw table as `data.read_source` returns it (all text)."""
    if target not in frame.columns:
        raise TargetError(
            f"The target column {target!r} is not in {source}; its columns are {list(frame.columns)}."
        )
    problems = [p for name in frame.columns if name != target and (p := _untypable(str(name), frame[name]))]
    if problems:
        raise InferenceError(
            f"Could not type {len(problems)} column(s) of {source}:\n"
            + "\n".join(f"  - {p}" for p in problems)
            + "\nFix the data, or, if those entries mean 'missing', list them in `data.na_values` "
            "(params.yaml; `--na-values` here)."
        )
    typed = infer_types(frame)
    # The target as ingest writes it: text labels, the configured suffix stripped.
    labels = frame[target].str.strip()
    if label_suffix:
        labels = labels.str.removesuffix(label_suffix)
    counts = labels.value_counts()
    if len(counts) < 2:
        raise TargetError(
            f"The target column {target!r} of {source} has {len(counts)} label(s) "
            f"({list(counts.index)}): a classifier needs at least two."
        )
    if len(counts) > max_categories:
        raise TargetError(
            f"The target column {target!r} of {source} has {len(counts)} distinct values: "
            "Lastmile trains classifiers, so the target must be a label, not a measurement."
        )
    label_list = sorted(counts.index, key=lambda v: (-counts[v], v))
    columns = []
    for label, column in typed.items():
        name = str(label)
        if name == target:
            draft = _target(name, typed[target], label_list)
        elif pd.api.types.is_numeric_dtype(column.dtype):
            draft = _numeric(name, column, margin)
        else:
            draft = _category(name, column, max_categories)
        missing = int(column.isna().sum()) if name != target else int(labels.isna().sum())
        if missing:
            kind, *rules = draft.spec.items()
            draft = ColumnDraft(
                name,
                dict([kind, ("nullable", True), *rules]),
                draft.feature,
                [*draft.review, f"{missing} of {len(frame)} rows missing ({missing / len(frame):.1%})"],
            )
        columns.append(draft)
    return Draft(source=source, rows=len(frame), target=target, labels=label_list, columns=columns)


def infer_source(
    source: str,
    target: str,
    *,
    na_values: list[str],
    comment_prefix: str | None = None,
    label_suffix: str = "",
    max_categories: int = MAX_CATEGORIES,
    margin: float = RANGE_MARGIN,
    shown_as: str | None = None,
) -> Draft:
    """Read `source` as `ingest` does and draft its contract (`shown_as` names it in messages)."""
    frame = read_source(source, na_values=na_values, comment_prefix=comment_prefix)
    return infer(
        frame,
        target,
        label_suffix=label_suffix,
        source=shown_as or source,
        max_categories=max_categories,
        margin=margin,
    )


def write_features(params_file: Path, draft: Draft) -> None:
    """Put the drafted feature lists into params.yaml, keeping its comments and other sections.

    Sensitive features, their fairness gates and slices that name columns no longer features are
    dropped, so the file stays valid.
    """
    document = config.load(params_file)
    numeric, categorical = draft.features("numeric"), draft.features("categorical")
    features = config.section(document, "features")
    features["numeric"] = config.flow_list(numeric)
    features["categorical"] = config.flow_list(categorical)
    kept = [name for name in features.get("sensitive", []) if name in numeric + categorical]
    features["sensitive"] = config.flow_list(kept)
    config.prune(config.section(document, "gates"), "fairness", lambda name: name in kept)
    slices = config.section(config.section(document, "evaluation"), "slices")
    config.prune(slices, "bands", lambda name: name in numeric)
    if "columns" in slices:
        slices["columns"] = config.flow_list([c for c in slices["columns"] if c in numeric + categorical])
    config.save(params_file, document)
