"""Drift power on the project's own held-out data, with fixed seeds.

20 resamples of the test split with no shift give at most one false alarm; each injected shift
(a numeric feature moved by half a standard deviation, a category's share changed by 20 points,
a missing rate raised to 30 %, the score distribution moved) is caught in at least 19 of 20
resamples, naming the shifted feature and no other; so is a numeric feature whose standard
deviation doubled around its mean (a change of spread that quantile bins hide when many rows share
one value: the Wasserstein distance catches it). Features come from params.yaml and contract.yaml,
so the same tests hold for another dataset. The windows are judged against the profile of the
held-out rows they are drawn from (the `reference` fixture says why).
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from lastmile import artifacts
from lastmile.contract import load_contract
from lastmile.monitoring import profile as profiles
from lastmile.monitoring.monitor import SCORE, Assessment, assess
from lastmile.monitoring.shifts import (
    raise_missing,
    shift_category,
    shift_numeric,
    shift_scores,
    widen_numeric,
)
from lastmile.params import load_params
from tests.conftest import ROOT
from tests.monitoring.conftest import Watched, distinct_rows, fair_resample

pytestmark = pytest.mark.slow

RESAMPLES = 20
WINDOW = 600
PARAMS = load_params(ROOT / "params.yaml")
CONTRACT = load_contract(ROOT / "contract.yaml")
NULLABLE = [f for f in PARAMS.features.all if CONTRACT.columns[f].nullable] or PARAMS.features.all


@pytest.fixture(scope="module")
def reference(watched: Watched) -> artifacts.Profile:
    """The profile of the held-out rows the windows are drawn from, built as `evaluate` builds one.

    Live traffic is a fresh sample of the population each time; windows drawn again and again from
    one small test split all share that split's own sampling noise against the training split (a
    credit table of 3 % positives: 2 of 20 windows flagged an unshifted feature). Against the
    held-out rows' own profile, a window with no shift comes from the reference's distribution, as
    traffic from an unchanged population would.
    """
    held_out, metadata = watched.held_out, watched.metadata
    return profiles.build(
        held_out,
        watched.score(held_out),
        watched.params.features,
        watched.params.monitor.profile,
        model_version=metadata.model_version,
        positive_label=metadata.target.positive,
        threshold=watched.profile.threshold,
    )


def _resamples(
    watched: Watched,
    reference: artifacts.Profile,
    tmp_path: Path,
    change: Callable[[pd.DataFrame, np.random.Generator], tuple[pd.DataFrame, np.ndarray | None]],
) -> list[Assessment]:
    if not fair_resample(watched, WINDOW):
        # Windows drawn with replacement from far fewer rows repeat each several times, and the tests
        # would count every repeat as independent evidence: significance that is not there.
        pytest.skip(
            f"the test split has {distinct_rows(watched.held_out, watched.params.features.all):,} "
            f"different rows: drift power needs at least {WINDOW // 2} to draw windows of {WINDOW} from"
        )
    results = []
    for seed in range(RESAMPLES):
        rng = np.random.default_rng(1000 + seed)
        window = watched.held_out.sample(n=WINDOW, replace=True, random_state=seed).reset_index(drop=True)
        frame, probability = change(window, rng)
        log = watched.write_log(tmp_path / f"window-{seed}.jsonl", frame, probability)
        results.append(assess(str(log), reference, watched.contract, watched.params.monitor))
    return results


def _caught(results: list[Assessment], feature: str) -> int:
    """Resamples that found drift in `feature` and in no other input feature (the score may follow)."""
    return sum(1 for r in results if r.drifted and set(r.drifted_features) - {SCORE} == {feature})


def test_no_shift_gives_at_most_one_false_alarm(
    watched: Watched, reference: artifacts.Profile, tmp_path: Path
) -> None:
    results = _resamples(watched, reference, tmp_path, lambda frame, rng: (frame, None))
    alarms = [r.verdict for r in results if r.drifted]
    assert len(alarms) <= 1, alarms
    assert all(r.records == WINDOW for r in results)


@pytest.mark.parametrize("feature", PARAMS.features.numeric)
def test_numeric_feature_moved_half_a_standard_deviation(
    watched: Watched, reference: artifacts.Profile, tmp_path: Path, feature: str
) -> None:
    spec = watched.contract.columns[feature]
    results = _resamples(
        watched, reference, tmp_path, lambda frame, rng: (shift_numeric(frame, feature, spec, rng), None)
    )
    assert _caught(results, feature) >= 19, [r.verdict for r in results]


@pytest.mark.parametrize("feature", PARAMS.features.numeric)
def test_numeric_feature_with_its_spread_doubled(
    watched: Watched, reference: artifacts.Profile, tmp_path: Path, feature: str
) -> None:
    spec = watched.contract.columns[feature]
    sample = watched.held_out.head(WINDOW)
    changed = (widen_numeric(sample, feature, spec, np.random.default_rng(0)) != sample)[feature].mean()
    if changed < 0.5:
        pytest.skip(
            f"{feature}: most values sit at a bound of its range, so widening changes {changed:.0%} of rows"
        )
    results = _resamples(
        watched, reference, tmp_path, lambda frame, rng: (widen_numeric(frame, feature, spec, rng), None)
    )
    assert _caught(results, feature) >= 19, [r.verdict for r in results]


@pytest.mark.parametrize("feature", PARAMS.features.categorical)
def test_category_share_changed_by_20_points(
    watched: Watched, reference: artifacts.Profile, tmp_path: Path, feature: str
) -> None:
    results = _resamples(
        watched, reference, tmp_path, lambda frame, rng: (shift_category(frame, feature, rng)[0], None)
    )
    assert _caught(results, feature) >= 19, [r.verdict for r in results]


@pytest.mark.parametrize("feature", NULLABLE)
def test_missing_rate_raised_to_30_percent(
    watched: Watched, reference: artifacts.Profile, tmp_path: Path, feature: str
) -> None:
    results = _resamples(
        watched, reference, tmp_path, lambda frame, rng: (raise_missing(frame, feature, rng), None)
    )
    assert _caught(results, feature) >= 19, [r.verdict for r in results]
    assert all(
        any(c.feature == feature and c.test == "missing rate" and c.drifted for c in r.checks)
        for r in results
        if r.drifted
    )


def test_score_distribution_shifted(watched: Watched, reference: artifacts.Profile, tmp_path: Path) -> None:
    results = _resamples(
        watched, reference, tmp_path, lambda frame, rng: (frame, shift_scores(watched.score(frame)))
    )
    caught = sum(1 for r in results if r.drifted_features == [SCORE])
    assert caught >= 19, [r.verdict for r in results]
