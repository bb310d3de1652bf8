import numpy as np
import pandas as pd
import pytest
from sklearn import metrics as skm

from lastmile.errors import LastmileError
from lastmile.evaluation import bootstrap

ROWS = 2000


def _predictions(seed: int = 0, rows: int = ROWS) -> pd.DataFrame:
    """Labels and a fair model's probabilities (rounded, so that ties occur as in the real files)."""
    rng = np.random.default_rng(seed)
    actual = (rng.random(rows) < 0.25).astype(int)
    probability = 1 / (1 + np.exp(-(2.0 * actual - 1 + rng.normal(0, 1.2, rows))))
    return pd.DataFrame(
        {"row_id": [f"r{i}" for i in range(rows)], "actual": actual, "probability": probability.round(2)}
    )


def _shift(frame: pd.DataFrame, rows: np.ndarray, towards_truth: bool) -> pd.DataFrame:
    """Move the probability of `rows` towards (better) or away from (worse) their true label."""
    out = frame.copy()
    target = out.loc[rows, "actual"] if towards_truth else 1 - out.loc[rows, "actual"]
    out.loc[rows, "probability"] = 0.5 * out.loc[rows, "probability"] + 0.5 * target
    return out


def test_identical_models_show_no_change() -> None:
    frame = _predictions()
    result = bootstrap.compare(frame, frame.sample(frac=1, random_state=3), "roc_auc")
    assert result.delta == result.ci_low == result.ci_high == 0
    assert result.verdict == "no measurable change"
    assert result.base == result.head == round(skm.roc_auc_score(frame["actual"], frame["probability"]), 6)


def test_a_clearly_better_model_is_improved_and_the_reverse_a_significant_regression() -> None:
    base = _predictions()
    better = _shift(base, base.index[:600].to_numpy(), towards_truth=True)
    improved = bootstrap.compare(base, better, "roc_auc")
    assert improved.verdict == "improved"
    assert 0 < improved.ci_low <= improved.delta <= improved.ci_high
    regression = bootstrap.compare(better, base, "roc_auc")
    assert regression.verdict == "significant regression"
    assert regression.ci_low <= regression.delta <= regression.ci_high < 0
    assert regression.delta == pytest.approx(-improved.delta, abs=1e-6)


def test_a_small_net_loss_with_gains_and_losses_is_worse_within_noise() -> None:
    # The head raises 50 positives' scores and lowers 51 others' by as much: slightly worse overall,
    # but which rows a resample draws decides the sign, so the interval straddles zero.
    base = _predictions()
    positives = base.index[base["actual"] == 1].to_numpy()
    up, down = positives[0::2][:50], positives[1::2][:51]
    mixed = base.copy()
    mixed.loc[up, "probability"] = (mixed.loc[up, "probability"] + 0.05).clip(0, 1)
    mixed.loc[down, "probability"] = (mixed.loc[down, "probability"] - 0.05).clip(0, 1)
    result = bootstrap.compare(base, mixed, "roc_auc")
    assert result.delta < 0
    assert result.ci_low < 0 < result.ci_high
    assert result.verdict == "worse within noise"
    reverse = bootstrap.compare(mixed, base, "roc_auc")
    assert reverse.verdict == "no measurable change"  # better within noise is not a claim


def test_losses_count_a_drop_as_an_improvement() -> None:
    base = _predictions()
    better = _shift(base, base.index[:600].to_numpy(), towards_truth=True)
    for metric in ("log_loss", "brier"):
        result = bootstrap.compare(base, better, metric)
        assert result.delta < 0 and result.ci_high < 0
        assert result.verdict == "improved"
        assert bootstrap.compare(better, base, metric).verdict == "significant regression"


def test_threshold_metrics_use_each_model_s_threshold() -> None:
    frame = _predictions()
    results = bootstrap.compare_all(frame, frame, ["accuracy", "f1"], base_threshold=0.5, head_threshold=0.3)
    y, proba = frame["actual"], frame["probability"]
    for metric, score in (("accuracy", skm.accuracy_score), ("f1", skm.f1_score)):
        assert results[metric].base == pytest.approx(score(y, proba >= 0.5), abs=1e-6)
        assert results[metric].head == pytest.approx(score(y, proba >= 0.3), abs=1e-6)


def test_seeded_and_sized_by_the_caller() -> None:
    base = _predictions()
    head = _shift(base, base.index[:50].to_numpy(), towards_truth=True)
    first = bootstrap.compare(base, head, "pr_auc", resamples=300, seed=5, confidence=0.9)
    assert first == bootstrap.compare(base, head, "pr_auc", resamples=300, seed=5, confidence=0.9)
    assert first.resamples == 300 and first.confidence == 0.9
    wider = bootstrap.compare(base, head, "pr_auc", resamples=300, seed=5, confidence=0.99)
    assert wider.ci_low <= first.ci_low and wider.ci_high >= first.ci_high


def test_rows_must_match() -> None:
    base = _predictions()
    assert bootstrap.rows_match(base, base.sample(frac=1, random_state=0))
    other_rows = base.assign(row_id=[f"x{i}" for i in range(len(base))])
    flipped_label = base.assign(actual=np.where(base.index == 0, 1 - base["actual"], base["actual"]))
    for head in (other_rows, flipped_label, base.iloc[1:]):
        assert not bootstrap.rows_match(base, head)
        with pytest.raises(LastmileError, match="same test rows"):
            bootstrap.compare(base, head, "roc_auc")


@pytest.mark.parametrize(
    ("metric", "delta", "low", "high", "expected"),
    [
        ("roc_auc", 0.01, 0.002, 0.02, "improved"),
        ("roc_auc", -0.01, -0.02, -0.002, "significant regression"),
        ("roc_auc", -0.001, -0.01, 0.008, "worse within noise"),
        ("roc_auc", 0.001, -0.008, 0.01, "no measurable change"),
        ("log_loss", -0.01, -0.02, -0.002, "improved"),
        ("log_loss", 0.01, 0.002, 0.02, "significant regression"),
        ("log_loss", 0.001, -0.008, 0.01, "worse within noise"),
    ],
)
def test_verdict_rules(metric: str, delta: float, low: float, high: float, expected: str) -> None:
    assert bootstrap.verdict(metric, delta, low, high) == expected
