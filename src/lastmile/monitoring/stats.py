"""The statistics of the drift monitor, on counts (never on raw values): SciPy for the distributions.

Every function takes what the streaming accumulators hold, so the monitor never keeps the window's
records: per numeric feature, counts at and between the reference's points; per category, counts.
"""

from __future__ import annotations

from typing import Literal

import numpy as np
from scipy import stats

# A bin with no rows on one side still has a finite PSI term: shares are floored at this.
PSI_FLOOR = 1e-4
# Beyond this effective sample size the Kolmogorov distribution's limit replaces the exact one: its
# p-value differs by about 1 % of itself there, and `kstwo.sf` takes about 0.4 s per call at n = 30,000.
KS_EXACT_UP_TO = 10_000
# Categories expected fewer than this many times in the window are pooled for the chi-square test.
MIN_EXPECTED = 5.0


def interleave(reference_counts: np.ndarray) -> np.ndarray:
    """Reference counts on the window's slots: zero in each gap, the count at each point."""
    slots = np.zeros(2 * reference_counts.size + 1)
    slots[1::2] = reference_counts
    return slots


def slot_of(points: np.ndarray, values: np.ndarray) -> np.ndarray:
    """Slot 2i+1 for a value equal to points[i]; slot 2i for one between points[i-1] and points[i]."""
    index = np.searchsorted(points, values, side="left")
    exact = np.zeros(values.size, dtype=bool)
    inside = index < points.size
    exact[inside] = points[index[inside]] == values[inside]
    return 2 * index + exact


def ks_two_sample(reference_slots: np.ndarray, window_slots: np.ndarray) -> tuple[float, float]:
    """The two-sample Kolmogorov-Smirnov statistic and its p-value, from counts on shared slots.

    Both empirical distribution functions are step functions whose largest gap lies at the end
    of a slot, so the statistic is exactly that of `scipy.stats.ks_2samp` on the two samples; the
    p-value is its asymptotic one (`method="asymp"`), through the limiting distribution for large
    samples (KS_EXACT_UP_TO): ties only make it conservative.
    """
    n, m = reference_slots.sum(), window_slots.sum()
    if n == 0 or m == 0:
        return 0.0, 1.0
    gap = np.abs(np.cumsum(reference_slots) / n - np.cumsum(window_slots) / m)
    statistic = float(gap.max())
    effective = round(n * m / (n + m))
    if effective > KS_EXACT_UP_TO:
        return statistic, float(stats.kstwobign.sf(statistic * np.sqrt(effective)))
    return statistic, float(stats.kstwo.sf(statistic, max(effective, 1)))


def wasserstein(
    points: np.ndarray, reference_counts: np.ndarray, window_slots: np.ndarray, window_sums: np.ndarray
) -> float:
    """The Wasserstein (earth mover's) distance between the reference and the window, in value units.

    The reference's mass sits at its points; the window's at the points it hit exactly and, in each
    gap between points, at the mean of the values that fell there (`window_sums` per slot), which
    keeps how far values moved outside the reference's range. Quantile bins hide a change of spread
    around a value many rows share (hours worked: 40); this distance does not.
    """
    n, m = reference_counts.sum(), window_slots.sum()
    if points.size == 0 or n == 0 or m == 0:
        return 0.0
    locations = np.empty(window_slots.size)
    locations[1::2] = points
    in_gaps = window_slots[0::2]
    # An empty gap carries no mass: placing it on the point before keeps the locations sorted.
    locations[0::2] = np.divide(
        window_sums[0::2], in_gaps, out=np.concatenate([points[:1], points]), where=in_gaps > 0
    )
    gap = np.abs(np.cumsum(interleave(reference_counts)) / n - np.cumsum(window_slots) / m)[:-1]
    return float(np.sum(gap * np.diff(locations)))


def psi(reference: np.ndarray, window: np.ndarray) -> float:
    """Population stability index of two count vectors over the same bins."""
    if reference.sum() == 0 or window.sum() == 0:
        return 0.0
    expected = np.maximum(reference / reference.sum(), PSI_FLOOR)
    actual = np.maximum(window / window.sum(), PSI_FLOOR)
    return float(np.sum((actual - expected) * np.log(actual / expected)))


def pool_rare(reference: np.ndarray, window: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Pool the categories expected fewer than MIN_EXPECTED times in the window into one bin."""
    total = reference.sum() + window.sum()
    if total == 0:
        return reference, window
    expected = (reference + window) * window.sum() / total
    rare = expected < MIN_EXPECTED
    if rare.sum() < 2:
        return reference, window
    keep = ~rare
    return (
        np.append(reference[keep], reference[rare].sum()),
        np.append(window[keep], window[rare].sum()),
    )


def chi_square(reference: np.ndarray, window: np.ndarray) -> float:
    """p-value of the chi-square test that both count vectors come from one distribution."""
    reference, window = pool_rare(reference, window)
    used = (reference + window) > 0
    if used.sum() < 2 or reference.sum() == 0 or window.sum() == 0:
        return 1.0
    table = np.vstack([reference[used], window[used]])
    return float(stats.chi2_contingency(table, correction=False).pvalue)


def two_proportions(k1: float, n1: float, k2: float, n2: float) -> float:
    """p-value of the two-sided z-test that two rates (k1/n1, k2/n2) are equal."""
    if n1 == 0 or n2 == 0:
        return 1.0
    pooled = (k1 + k2) / (n1 + n2)
    if pooled in (0.0, 1.0):
        return 1.0
    z = (k1 / n1 - k2 / n2) / np.sqrt(pooled * (1 - pooled) * (1 / n1 + 1 / n2))
    return float(2 * stats.norm.sf(abs(z)))


def adjust(pvalues: list[float], method: Literal["holm", "benjamini_hochberg"]) -> list[float]:
    """p-values corrected for testing many features at once (Holm: family-wise; BH: false discovery)."""
    if not pvalues:
        return []
    p = np.asarray(pvalues, dtype=float)
    order = np.argsort(p)
    size = p.size
    if method == "holm":
        stepped = np.maximum.accumulate((size - np.arange(size)) * p[order])
    else:
        ranked = p[order] * size / np.arange(1, size + 1)
        stepped = np.minimum.accumulate(ranked[::-1])[::-1]
    adjusted = np.empty(size)
    adjusted[order] = np.minimum(stepped, 1.0)
    return [float(v) for v in adjusted]
