"""The drift monitor: a window of logged predictions against the reference profile.

Per feature: the population stability index (PSI) and a test with its p-value (two-sample
Kolmogorov-Smirnov for numbers, chi-square for categories), for numbers also the Wasserstein
distance in standard deviations, the missing rate and its test, and the records that break the
data contract; the same distribution tests for the predicted probability. The p-values are
corrected for testing many things at once (Holm, or Benjamini-Hochberg). A change is drift when it
is significant after correction AND larger than its threshold in `params.yaml` `monitor:` (for
numbers: the PSI or the distance): with thousands of records, significance alone flags harmless
changes.

The log is read batch by batch (`lastmile.monitoring.logs`) into fixed-size counters, so memory
stays bounded however long the log is (`--last N` keeps at most N records' columns).
"""

from __future__ import annotations

from collections import Counter, deque
from collections.abc import Iterable, Iterator
from contextlib import closing
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Literal

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from lastmile.artifacts import CategoryReference, NumericReference, Profile
from lastmile.compute import available_cpus
from lastmile.contract import ColumnSpec, Contract
from lastmile.monitoring import logs, stats
from lastmile.params import MonitorParams

SCORE = "probability"  # the name the prediction's score goes by in findings
UNMONITORED = {
    "hash": "hashed in the log (only its missing rate is compared)",
    "drop": "dropped from the log",
}
Kind = Literal["numeric", "categorical", "score"]


@dataclass(frozen=True)
class Window:
    """Which logged records to judge: all, those since a time, and/or only the last N."""

    since: datetime | None = None
    last: int | None = None


class _Numeric:
    def __init__(self, reference: NumericReference) -> None:
        self.reference = reference
        self.points = np.asarray(reference.values, dtype=float)
        self.slots = np.zeros(2 * self.points.size + 1, dtype=np.int64)
        self.sums = np.zeros(self.slots.size)  # per slot, the sum of the values in it
        self.rows = 0
        self.missing = 0

    def add(self, values: np.ndarray) -> None:
        present = values[~np.isnan(values)]
        self.rows += values.size
        self.missing += values.size - present.size
        slots = stats.slot_of(self.points, present)
        self.slots += np.bincount(slots, minlength=self.slots.size)
        self.sums += np.bincount(slots, weights=present, minlength=self.slots.size)

    def distance(self) -> float | None:
        """The Wasserstein distance to the reference in its standard deviations (None if constant)."""
        if not self.reference.std:
            return None
        counts = np.asarray(self.reference.counts, dtype=float)
        return (
            stats.wasserstein(self.points, counts, self.slots.astype(float), self.sums) / self.reference.std
        )

    def bins(self, slots: np.ndarray) -> np.ndarray:
        """Counts per PSI bin: bin k closes with point bin_ends[k] (slot 2*end+1)."""
        cuts = [2 * end + 2 for end in self.reference.bin_ends]
        return np.add.reduceat(slots, [0, *cuts]) if slots.size else slots

    def shares(self) -> tuple[list[str], np.ndarray, np.ndarray]:
        points = self.reference.values
        ends = [*self.reference.bin_ends, len(points) - 1]
        labels = [f"<= {points[end]:g}" for end in ends[:-1]] + [
            f"> {points[ends[-2]]:g}" if len(ends) > 1 else "all"
        ]
        reference = stats.interleave(np.asarray(self.reference.counts))
        return labels, self.bins(reference), self.bins(self.slots.astype(float))


@dataclass(frozen=True)
class _Codes:
    """A batch's category column, dictionary-encoded: per row an index into `values`.

    A missing value has its own entry, None: Arrow then leaves the indices without nulls, so they
    are read as they are, without a copy.
    """

    codes: np.ndarray
    values: list[str | None]

    @classmethod
    def of(cls, column: pa.Array) -> _Codes:
        encoded = pc.dictionary_encode(column, null_encoding="encode")
        return cls(encoded.indices.to_numpy(), encoded.dictionary.to_pylist())

    def missing(self) -> np.ndarray:
        if None not in self.values:
            return np.zeros(self.codes.size, dtype=bool)
        return np.asarray(self.codes == self.values.index(None))


class _Category:
    def __init__(self, reference: CategoryReference) -> None:
        self.reference = reference
        self.counts: Counter[str] = Counter()
        self.rows = 0
        self.missing = 0

    def add(self, column: _Codes) -> None:
        self.rows += column.codes.size
        for value, count in zip(
            column.values, np.bincount(column.codes, minlength=len(column.values)), strict=True
        ):
            if value is None:
                self.missing += int(count)
            elif count:
                self.counts[value] += int(count)

    def shares(self) -> tuple[list[str], np.ndarray, np.ndarray]:
        known = list(self.reference.counts)
        unseen = sorted(set(self.counts) - set(known))
        labels = known + unseen
        reference = np.array([self.reference.counts.get(name, 0) for name in labels], dtype=float)
        window = np.array([self.counts.get(name, 0) for name in labels], dtype=float)
        return labels, reference, window


class _Hashed:
    """A column the log holds hashed: only whether it is missing can be compared with training."""

    def __init__(self, reference: NumericReference | CategoryReference) -> None:
        self.reference = reference
        self.rows = 0
        self.missing = 0

    def add(self, missing: np.ndarray) -> None:
        self.rows += missing.size
        self.missing += int(missing.sum())


class _ContractCheck:
    """Counts records that break the data contract, per feature and rule.

    Of a hashed column only nullability can be checked (`columns` then holds its missing mask).
    """

    def __init__(
        self, contract: Contract, numeric: list[str], categorical: list[str], hashed: list[str]
    ) -> None:
        self.specs = {
            name: contract.columns[name]
            for name in [*numeric, *categorical, *hashed]
            if name in contract.columns
        }
        self.numeric = set(numeric)
        self.hashed = set(hashed)
        self.broken: Counter[tuple[str, str]] = Counter()
        self.records = 0

    def _numeric_rules(self, spec: ColumnSpec, values: np.ndarray) -> dict[str, np.ndarray]:
        present = ~np.isnan(values)
        rules = {} if spec.nullable else {"missing but not nullable": ~present}
        with np.errstate(invalid="ignore"):
            if spec.min is not None:
                rules[f"below the minimum {spec.min:g}"] = present & (values < spec.min)
            if spec.max is not None:
                rules[f"above the maximum {spec.max:g}"] = present & (values > spec.max)
            if spec.kind == "integer":
                rules["not a whole number"] = present & (values != np.floor(values))
        return rules

    def _category_rules(self, spec: ColumnSpec, column: _Codes) -> dict[str, np.ndarray]:
        rules = {} if spec.nullable else {"missing but not nullable": column.missing()}
        if spec.values is not None:
            known = set(spec.values)
            # Decided once per distinct value (a missing one is not a category: nullability decides).
            allowed = np.array([value is None or value in known for value in column.values])
            rules["not an allowed category"] = ~allowed[column.codes]
        return rules

    def add(self, columns: dict[str, Any], rows: int) -> None:
        any_broken = np.zeros(rows, dtype=bool)
        for name, spec in self.specs.items():
            if name in self.hashed:
                rules = {} if spec.nullable else {"missing but not nullable": columns[name]}
            elif name in self.numeric:
                rules = self._numeric_rules(spec, columns[name])
            else:
                rules = self._category_rules(spec, columns[name])
            for rule, mask in rules.items():
                count = int(mask.sum())
                if count:
                    self.broken[(name, rule)] += count
                    any_broken |= mask
        self.records += int(any_broken.sum())


@dataclass
class Check:
    """One tested quantity: a feature's distribution or missing rate, or the score's distribution."""

    feature: str
    kind: Kind
    test: str
    p_value: float
    size: float  # PSI, or the change of the missing rate
    threshold: float
    adjusted_p: float = 1.0
    drifted: bool = False
    detail: dict[str, Any] = field(default_factory=dict)
    # Numbers only: the Wasserstein distance in reference standard deviations, and its threshold.
    distance: float | None = None
    max_distance: float | None = None

    @property
    def large(self) -> bool:
        """Larger than a threshold: PSI (or missing-rate change), or for numbers the distance."""
        moved = (
            self.distance is not None and self.max_distance is not None and self.distance > self.max_distance
        )
        return self.size > self.threshold or moved


@dataclass
class Assessment:
    """Everything the reports show; `drifted` decides the exit status."""

    records: int
    files: list[str]
    first_time: str | None
    last_time: str | None
    model_versions: dict[str, int]
    profile_version: str
    checks: list[Check]
    invalid_records: int
    invalid_by_rule: dict[str, int]
    settings: MonitorParams
    plots: dict[str, tuple[list[str], list[float], list[float]]] = field(default_factory=dict)
    # Features whose distribution the log hides (the service's sensitive-column setting), and why.
    not_monitored: dict[str, str] = field(default_factory=dict)
    # Records another model version scored (the profile describes one model): left out, counted.
    other_versions: dict[str, int] = field(default_factory=dict)

    @property
    def invalid_share(self) -> float:
        return self.invalid_records / self.records if self.records else 0.0

    @property
    def contract_broken(self) -> bool:
        return self.invalid_share > self.settings.max_invalid_share

    @property
    def drifted_features(self) -> list[str]:
        """The features (and `probability`) that drifted, most shifted first."""
        found: dict[str, float] = {}
        for check in sorted(self.checks, key=lambda c: -c.size):
            if check.drifted:
                found.setdefault(check.feature, check.size)
        return list(found)

    @property
    def broken_features(self) -> list[str]:
        return sorted({key.split(":", 1)[0] for key in self.invalid_by_rule}) if self.contract_broken else []

    @property
    def drifted(self) -> bool:
        return bool(self.drifted_features) or self.contract_broken

    @property
    def left_out(self) -> str:
        """A sentence on the records of other model versions, if any were left out."""
        if not self.other_versions:
            return ""
        versions = ", ".join(f"{v} ({n:,})" for v, n in self.other_versions.items())
        return (
            f" Left out: {sum(self.other_versions.values()):,} records of other model versions "
            f"({versions}); the profile is of {self.profile_version}."
        )

    @property
    def verdict(self) -> str:
        window = f"{self.records:,} logged records ({self.first_time} to {self.last_time})"
        if not self.drifted:
            return f"OK: no drift in {window}.{self.left_out}"
        parts = []
        for name in self.drifted_features:
            worst = max((c for c in self.checks if c.feature == name and c.drifted), key=lambda c: c.size)
            parts.append(f"{name} ({_describe(worst)})")
        if self.contract_broken:
            parts.append(
                f"{self.invalid_share:.1%} of records break the data contract "
                f"(max {self.settings.max_invalid_share:.1%}): {', '.join(self.broken_features)}"
            )
        return f"DRIFT in {window}: " + "; ".join(parts) + "." + self.left_out


def _describe(check: Check) -> str:
    if check.test == "missing rate":
        before, now = check.detail["reference"], check.detail["window"]
        return f"missing rate {before:.1%} -> {now:.1%}, p={check.adjusted_p:.2g}"
    moved = f", distance {check.distance:.2f} sd" if check.distance is not None else ""
    return f"PSI {check.size:.3f}{moved}, {check.test} p={check.adjusted_p:.2g}"


def _window(batches: Iterable[pa.RecordBatch], window: Window) -> Iterator[pa.RecordBatch]:
    """The batches cut to the window; `last` keeps a bounded queue of the newest batches."""
    recent: deque[pa.RecordBatch] = deque()
    kept = 0
    for parsed in batches:
        batch = parsed
        if window.since is not None:
            batch = batch.filter(
                pc.greater_equal(
                    batch.column("time"), pa.scalar(window.since, batch.schema.field("time").type)
                )
            )
        if not batch.num_rows:
            continue
        if window.last is None:
            yield batch
            continue
        recent.append(batch)
        kept += batch.num_rows
        while kept - recent[0].num_rows >= window.last:
            kept -= recent.popleft().num_rows
    if window.last is not None and recent:
        surplus = kept - window.last
        if surplus > 0:
            recent[0] = recent[0].slice(surplus)
        yield from recent


def _of_version(
    batches: Iterable[pa.RecordBatch], version: str, others: Counter[str]
) -> Iterator[pa.RecordBatch]:
    """The records the profile's model scored (or that name no version); the others counted in `others`.

    After a deploy the log holds both models' records for a while: the old model's scores are not
    comparable with the new profile's, and mixing them could raise or hide a score shift.
    """
    for batch in batches:
        column = batch.column("model_version")
        same = pc.fill_null(pc.equal(column, version), True)
        if pc.all(same).as_py():
            yield batch
            continue
        for item in pc.value_counts(pc.filter(column, pc.invert(same))).to_pylist():
            others[item["values"]] += item["counts"]
        yield batch.filter(same)


def _per_file(
    files: list[logs.LogFile], redacted: list[dict[str, str]], profile: Profile
) -> list[Iterator[pa.RecordBatch]]:
    numeric = [n for n, r in profile.features.items() if isinstance(r, NumericReference)]
    categorical = [n for n, r in profile.features.items() if isinstance(r, CategoryReference)]
    return [
        logs.read_batches(file, logs.log_schema(numeric, categorical, hidden))
        for file, hidden in zip(files, redacted, strict=True)
    ]


def _redacted(per_file: list[dict[str, str]]) -> dict[str, str]:
    """Columns hashed or dropped in any file of the log (dropped anywhere wins: it has gaps)."""
    found: dict[str, str] = {}
    for hidden in per_file:
        for name, how in hidden.items():
            if found.get(name) != "drop":
                found[name] = how
    return found


def assess(
    location: str,
    profile: Profile,
    contract: Contract,
    settings: MonitorParams,
    window: Window = Window(),
) -> Assessment:
    """Read the window of the log at `location` and compare it with the profile."""
    files = logs.find_logs(location)
    per_file = [logs.redactions(file) for file in files]
    redacted = _redacted(per_file)
    features = {n: r for n, r in profile.features.items() if n not in redacted}
    numeric = {n: _Numeric(r) for n, r in features.items() if isinstance(r, NumericReference)}
    categorical = {n: _Category(r) for n, r in features.items() if isinstance(r, CategoryReference)}
    hashed = {n: _Hashed(r) for n, r in profile.features.items() if redacted.get(n) == "hash"}
    score = _Numeric(profile.score)
    contract_check = _ContractCheck(contract, list(numeric), list(categorical), list(hashed))
    versions: Counter[str] = Counter()
    first: Any = None
    last: Any = None
    records = 0
    others: Counter[str] = Counter()
    # Every count below is the same in any order of the batches, so the files (rotated every
    # 100 MiB by the service) are read in parallel, except for `--last`, which needs the newest.
    workers = 1 if window.last is not None else available_cpus()
    # Closed when the loop ends or raises, so no reader thread outlives the reading (a thread still
    # inside Arrow at interpreter exit aborts the process instead of exiting 1 or 2).
    with closing(logs.read_ahead(_per_file(files, per_file, profile), workers)) as parsed:
        # Since a time, then of the profile's model, then the newest N of those.
        recent = _window(parsed, Window(since=window.since))
        batches = _of_version(recent, profile.model_version, others)
        for batch in _window(batches, Window(last=window.last)):
            record = batch.column("record")
            columns: dict[str, Any] = {}
            for name, accumulator in numeric.items():
                values = record.field(name).to_numpy(zero_copy_only=False)
                columns[name] = np.asarray(values, dtype=float)
                accumulator.add(columns[name])
            for name, category in categorical.items():
                columns[name] = _Codes.of(record.field(name))
                category.add(columns[name])
            for name, hidden in hashed.items():
                columns[name] = record.field(name).is_null().to_numpy(zero_copy_only=False)
                hidden.add(columns[name])
            score.add(np.asarray(batch.column("probability").to_numpy(zero_copy_only=False), dtype=float))
            contract_check.add(columns, batch.num_rows)
            for item in pc.value_counts(batch.column("model_version").fill_null("(none)")).to_pylist():
                versions[item["values"]] += item["counts"]
            times = pc.min_max(batch.column("time")).as_py()
            first = times["min"] if first is None else min(first, times["min"])
            last = times["max"] if last is None else max(last, times["max"])
            records += batch.num_rows
    if records == 0 and others:
        found = ", ".join(f"{v} ({n:,} records)" for v, n in others.most_common())
        raise logs.UnusableLogError(
            f"The prediction log at {location} holds predictions of model version {found}, none of "
            f"{profile.model_version}, the model the reference profile describes: judge it against that "
            "model's profile (--profile, its reports/profile.json), or wait for traffic of the new model."
        )
    if records == 0:
        scope = " in the window" if window.since or window.last else ""
        raise logs.UnusableLogError(
            f"No logged predictions{scope} at {location} ({len(files)} file(s), all empty"
            f"{' or older than ' + window.since.isoformat() if window.since else ''}): nothing to judge."
        )
    if records < settings.min_records:
        raise logs.UnusableLogError(
            f"Only {records:,} logged predictions in the window at {location}: at least "
            f"{settings.min_records:,} are needed for a verdict (params.yaml monitor.min_records)."
        )
    checks, plots = _checks(numeric, categorical, hashed, score, settings)
    return Assessment(
        records=records,
        files=[f.url for f in files],
        first_time=first.isoformat() if first else None,
        last_time=last.isoformat() if last else None,
        model_versions=dict(versions.most_common()),
        profile_version=profile.model_version,
        checks=checks,
        invalid_records=contract_check.records,
        invalid_by_rule={
            f"{name}: {rule}": count for (name, rule), count in sorted(contract_check.broken.items())
        },
        settings=settings,
        plots=plots,
        not_monitored={
            name: UNMONITORED[how] for name, how in sorted(redacted.items()) if name in profile.features
        },
        other_versions=dict(others.most_common()),
    )


def _missing_check(
    name: str,
    kind: Kind,
    reference: NumericReference | CategoryReference,
    rows: int,
    missing: int,
    settings: MonitorParams,
) -> Check:
    before = reference.missing / reference.rows if reference.rows else 0.0
    now = missing / rows if rows else 0.0
    return Check(
        feature=name,
        kind=kind,
        test="missing rate",
        p_value=stats.two_proportions(reference.missing, reference.rows, missing, rows),
        size=abs(now - before),
        threshold=settings.max_missing_change,
        detail={"reference": round(before, 6), "window": round(now, 6)},
    )


def _checks(
    numeric: dict[str, _Numeric],
    categorical: dict[str, _Category],
    hashed: dict[str, _Hashed],
    score: _Numeric,
    settings: MonitorParams,
) -> tuple[list[Check], dict[str, tuple[list[str], list[float], list[float]]]]:
    checks: list[Check] = []
    plots: dict[str, tuple[list[str], list[float], list[float]]] = {}
    for name, accumulator, kind in [
        *((n, a, "numeric") for n, a in numeric.items()),
        (SCORE, score, "score"),
    ]:
        reference_slots = stats.interleave(np.asarray(accumulator.reference.counts, dtype=float))
        statistic, p_value = stats.ks_two_sample(reference_slots, accumulator.slots.astype(float))
        labels, reference_bins, window_bins = accumulator.shares()
        checks.append(
            Check(
                feature=name,
                kind=kind,  # type: ignore[arg-type]
                test="Kolmogorov-Smirnov",
                p_value=p_value,
                size=stats.psi(reference_bins, window_bins),
                threshold=settings.max_score_psi if kind == "score" else settings.max_psi,
                detail={"ks_statistic": round(statistic, 6)},
                distance=accumulator.distance(),
                max_distance=settings.max_distance,
            )
        )
        plots[name] = (labels, _shares(reference_bins), _shares(window_bins))
        if kind != "score":
            checks.append(
                _missing_check(
                    name, "numeric", accumulator.reference, accumulator.rows, accumulator.missing, settings
                )
            )
    for name, category in categorical.items():
        labels, reference_counts, window_counts = category.shares()
        checks.append(
            Check(
                feature=name,
                kind="categorical",
                test="chi-square",
                p_value=stats.chi_square(reference_counts, window_counts),
                size=stats.psi(*stats.pool_rare(reference_counts, window_counts)),
                threshold=settings.max_psi,
                detail={"unseen_categories": [n for n in labels if n not in category.reference.counts]},
            )
        )
        plots[name] = (labels, _shares(reference_counts), _shares(window_counts))
        checks.append(
            _missing_check(name, "categorical", category.reference, category.rows, category.missing, settings)
        )
    for name, hidden in hashed.items():
        hidden_kind: Kind = "numeric" if isinstance(hidden.reference, NumericReference) else "categorical"
        checks.append(
            _missing_check(name, hidden_kind, hidden.reference, hidden.rows, hidden.missing, settings)
        )
    adjusted = stats.adjust([c.p_value for c in checks], settings.correction)
    for check, p_value in zip(checks, adjusted, strict=True):
        check.adjusted_p = p_value
        check.drifted = p_value < settings.alpha and check.large
    return checks, plots


def _shares(counts: np.ndarray) -> list[float]:
    total = counts.sum()
    return [round(float(c / total), 6) if total else 0.0 for c in counts]
