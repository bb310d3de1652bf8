"""The reference profile `evaluate` writes, and the monitor workflow's shape."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest
import yaml

from lastmile.monitoring.profile import category_reference, numeric_reference
from lastmile.params import ProfileParams
from tests.conftest import ROOT
from tests.monitoring.conftest import Watched


def test_evaluate_writes_a_profile_of_every_feature_and_the_test_scores(watched: Watched) -> None:
    profile, train = watched.profile, pd.read_parquet(watched.repo / "data/processed/train.parquet")
    assert set(profile.features) == set(watched.params.features.all)
    assert profile.model_version == watched.metadata.model_version
    assert profile.training_rows == len(train) and profile.test_rows == len(watched.held_out)
    for name, reference in profile.features.items():
        assert reference.rows == len(train) and reference.missing == int(train[name].isna().sum())
        assert sum(reference.counts.values() if isinstance(reference.counts, dict) else reference.counts) == (
            pytest.approx(len(train) - reference.missing)
        )
    metrics = json.loads((watched.repo / "reports/metrics.json").read_text())
    assert profile.threshold == metrics["threshold"]
    assert sum(profile.score.counts) == pytest.approx(len(watched.held_out))


def test_numeric_reference_keeps_distinct_values_or_quantiles() -> None:
    exact = numeric_reference(np.array([1, 1, 2, 5, np.nan, 5, 5]), ProfileParams())
    assert exact.values == [1, 2, 5] and exact.counts == [2, 1, 3] and exact.missing == 1
    rng = np.random.default_rng(0)
    summarised = numeric_reference(rng.normal(size=50_000), ProfileParams(max_points=200, bins=10))
    assert len(summarised.values) == 200 and sum(summarised.counts) == pytest.approx(50_000)
    assert len(summarised.bin_ends) == 9  # ten quantile bins
    spiky = numeric_reference(np.r_[np.zeros(900), np.arange(1, 101)], ProfileParams(bins=10))
    assert spiky.bin_ends[0] == 0  # the heavy zero closes one bin instead of nine empty ones


def test_category_reference_counts_values_and_missing() -> None:
    reference = category_reference(pd.Series(["a", "b", None, "a"]))
    assert reference.counts == {"a": 2, "b": 1} and reference.missing == 1 and reference.rows == 4


def test_monitor_workflow_least_privilege_and_one_issue_step() -> None:
    workflow = yaml.safe_load((ROOT / ".github/workflows/monitor.yml").read_text())
    triggers = workflow[True]  # YAML 1.1 reads `on` as true
    assert set(triggers) == {"schedule", "workflow_dispatch"}
    assert workflow["permissions"] == {}
    monitor, retrain = workflow["jobs"]["monitor"], workflow["jobs"]["retrain"]
    assert monitor["permissions"] == {"contents": "read", "issues": "write"}
    assert retrain["permissions"] == {"contents": "write", "pull-requests": "write"}
    assert "vars.MONITOR_RETRAIN_PR" in retrain["if"]
    runs = [step.get("run", "") for step in monitor["steps"]]
    assert any("lastmile monitor --logs" in run for run in runs)
    issue = next(step for step in monitor["steps"] if "lastmile monitor issue" in step.get("run", ""))
    assert issue["if"] == "steps.monitor.outputs.status == '1'"
