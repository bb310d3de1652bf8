"""Exact per-record explanations: the score (log-odds of the positive label) as a base value plus one
contribution per raw feature.

The pipeline's columns (scaled numbers, one-hot categories) are grouped back to the raw feature
they came from, and their contributions summed. Exact means `base + sum(contributions)` equals the
model's raw score (its `decision_function`, negated when the positive label is `classes_[0]`):

- logistic regression: the linear decomposition, base = the intercept, a column's contribution
  = its coefficient x its value;
- histogram gradient boosting: path-dependent TreeSHAP (Lundberg et al., 2018), the algorithm of
  SHAP's `TreeExplainer`, computed over scikit-learn's fitted trees. For a tree, the expected
  output given the features in S is a sum over leaves of `value * prod_f (o_f if f in S else r_f)`
  (o_f: the record meets every split on f along the leaf's path; r_f: the share of training rows
  those splits pass on), so each leaf is a product game whose Shapley values have a closed form;
  it is evaluated for all records and leaves of a tree at once with numpy.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd

from lastmile.errors import LastmileError
from lastmile.params import Label

if TYPE_CHECKING:
    from sklearn.pipeline import Pipeline


class ExplainError(LastmileError):
    """The model cannot be explained exactly."""


@dataclass(frozen=True)
class Explained:
    """Per record: the base value, the contributions of the raw features, and the score they sum to."""

    base: float
    contributions: np.ndarray  # (records, raw features), in `Explainer.features` order
    score: np.ndarray  # (records,): the model's own log-odds of the positive label, for comparison


def _named_after(output: str, column: str) -> bool:
    return output == column or output.startswith(column + "_")


def _column_groups(preprocess: Any, features: list[str]) -> np.ndarray:
    """For each column the preprocessing outputs, the index (in `features`) of the raw feature it came from.

    Each transformer's outputs come in the order of its inputs, named after them (`amount`, or
    `colour_red` for a one-hot column); the longer of two matching names wins, so that
    `amount` and `amount_due` stay apart.
    """
    groups: list[int] = []
    for name, transformer, columns in preprocess.transformers_:
        inputs = list(columns)
        # A kind of feature the project does not have (no categorical columns, say) stays unfitted.
        if name == "remainder" or transformer == "drop" or not inputs:
            continue
        k = 0
        for output in map(str, transformer.get_feature_names_out(inputs)):
            while (
                k + 1 < len(inputs)
                and _named_after(output, inputs[k + 1])
                and (not _named_after(output, inputs[k]) or len(inputs[k + 1]) > len(inputs[k]))
            ):
                k += 1
            if not _named_after(output, inputs[k]):
                raise ExplainError(f"cannot tell which input column the model column {output!r} comes from")
            groups.append(features.index(inputs[k]))
    return np.asarray(groups)


@dataclass(frozen=True)
class _Tree:
    """One tree as leaves x path slots: the features on each leaf's path and what a record must meet."""

    value: np.ndarray  # (L,)
    feature: np.ndarray  # (L, D) column index, 0 where unused
    low: np.ndarray  # (L, D): the record's value must be > low ...
    high: np.ndarray  # (L, D): ... and <= high
    missing_ok: np.ndarray  # (L, D): a missing value meets the path's splits on the feature
    share: np.ndarray  # (L, D): share of training rows the path's splits on the feature pass on (1 unused)
    used: np.ndarray  # (L, D)
    weights: np.ndarray  # (L, D): Shapley weight k!(d-1-k)!/d! for coalitions of size k, d = slots used
    to_raw: np.ndarray  # (D, L, raw features): 1 where the slot's column comes from the raw feature

    @property
    def expected(self) -> float:
        return float(np.sum(self.value * np.prod(self.share, axis=1)))


def _tree(nodes: np.ndarray, groups: np.ndarray, n_raw: int) -> _Tree:
    if np.any(nodes["is_categorical"]):
        raise ExplainError("native categorical splits are not supported (the pipeline one-hot encodes)")
    leaves: list[tuple[float, dict[int, list[Any]]]] = []

    def walk(index: int, path: dict[int, list[Any]]) -> None:
        node = nodes[index]
        if node["is_leaf"]:
            leaves.append((float(node["value"]), path))
            return
        feature, threshold = int(node["feature_idx"]), float(node["num_threshold"])
        for child, goes_left in ((int(node["left"]), True), (int(node["right"]), False)):
            low, high, missing_ok, share = path.get(feature, [-math.inf, math.inf, True, 1.0])
            if goes_left:
                high = min(high, threshold)
            else:
                low = max(low, threshold)
            missing_ok = missing_ok and bool(node["missing_go_to_left"]) == goes_left
            share *= float(nodes[child]["count"]) / float(node["count"])
            walk(child, {**path, feature: [low, high, missing_ok, share]})

    walk(0, {})
    width = max(1, *(len(path) for _, path in leaves))
    shape = (len(leaves), width)
    tree = _Tree(
        value=np.array([value for value, _ in leaves]),
        feature=np.zeros(shape, dtype=np.intp),
        low=np.full(shape, -math.inf),
        high=np.full(shape, math.inf),
        missing_ok=np.ones(shape, dtype=bool),
        share=np.ones(shape),
        used=np.zeros(shape, dtype=bool),
        weights=np.zeros(shape),
        to_raw=np.zeros((width, len(leaves), n_raw)),
    )
    for row, (_, path) in enumerate(leaves):
        d = len(path)
        for slot, (feature, (low, high, missing_ok, share)) in enumerate(path.items()):
            tree.feature[row, slot] = feature
            tree.low[row, slot], tree.high[row, slot] = low, high
            tree.missing_ok[row, slot], tree.share[row, slot] = missing_ok, share
            tree.used[row, slot] = True
            tree.to_raw[slot, row, groups[feature]] = 1.0
        for k in range(d):
            tree.weights[row, k] = math.factorial(k) * math.factorial(d - 1 - k) / math.factorial(d)
    return tree


def _tree_shap(tree: _Tree, columns: np.ndarray) -> np.ndarray:
    """(records, raw features): the Shapley values of the tree's columns, summed per raw feature."""
    n, (leaves, width) = len(columns), tree.feature.shape
    x = columns[:, tree.feature]  # (n, L, D)
    meets = np.where(np.isnan(x), tree.missing_ok, (x > tree.low) & (x <= tree.high)) & tree.used
    met = meets.astype(float)
    # Coefficients of prod_j (share_j + met_j t): the weight of each coalition size, per record and leaf.
    poly = np.zeros((n, leaves, width + 1))
    poly[..., 0] = 1.0
    for j in range(width):
        shifted = poly * tree.share[:, j, None]
        shifted[..., 1:] += poly[..., :-1] * met[..., j, None]
        poly = shifted
    # For every slot i at once, the product without slot i: poly / (share_i + met_i t), by synthetic
    # division from the top where met (stable: each step multiplies the error by share_i <= 1),
    # a division by share_i where not.
    divided = np.zeros((n, leaves, width, width))
    divided[..., width - 1] = poly[..., None, width]
    for k in range(width - 1, 0, -1):
        divided[..., k - 1] = poly[..., None, k] - tree.share * divided[..., k]
    rest = np.where(met[..., None] > 0, divided, poly[..., None, :width] / tree.share[..., None])
    total = np.sum(rest * tree.weights[:, None, :], axis=-1)  # (n, L, slots)
    gain = (met - tree.share) * total * tree.value[:, None]
    per_raw: np.ndarray = np.einsum("nls,slr->nr", gain, tree.to_raw)
    return per_raw


class Explainer:
    """Exact explanations of a fitted pipeline (preprocessing, then one classifier)."""

    # Records explained at once: bounds the (records x leaves x path) arrays of the tree method.
    CHUNK = 128

    def __init__(self, pipeline: Pipeline, features: list[str], positive: Label) -> None:
        from sklearn.ensemble import HistGradientBoostingClassifier
        from sklearn.linear_model import LogisticRegression

        self.features = features
        self.preprocess = pipeline[:-1]
        self.classifier = classifier = pipeline[-1]
        classes = list(classifier.classes_)
        if len(classes) != 2:
            raise ExplainError(f"explanations need a binary classifier, this one has classes {classes}")
        # decision_function is the log-odds of classes_[1].
        self.sign = 1.0 if classes[1] == positive else -1.0
        self.groups = _column_groups(pipeline.named_steps["preprocess"], features)
        self.trees: list[_Tree] = []
        if isinstance(classifier, LogisticRegression):
            self.coefficients = np.asarray(classifier.coef_[0], dtype=float)
            self.base = self.sign * float(classifier.intercept_[0])
        elif isinstance(classifier, HistGradientBoostingClassifier):
            self.trees = [
                _tree(predictors[0].nodes, self.groups, len(features))
                for predictors in classifier._predictors
            ]
            baseline = float(np.ravel(classifier._baseline_prediction)[0])
            self.base = self.sign * (baseline + sum(tree.expected for tree in self.trees))
        else:
            raise ExplainError(f"no exact explanation for {type(classifier).__name__}")
        self.kind = type(classifier).__name__

    def _contributions(self, columns: np.ndarray) -> np.ndarray:
        """(records, raw features), before the sign."""
        if not self.trees:
            to_raw = np.zeros((len(self.groups), len(self.features)))
            to_raw[np.arange(len(self.groups)), self.groups] = 1.0
            return np.asarray((columns * self.coefficients) @ to_raw)
        return sum(
            (_tree_shap(tree, columns) for tree in self.trees), np.zeros((len(columns), len(self.features)))
        )

    def explain(self, frame: pd.DataFrame) -> Explained:
        columns = np.asarray(self.preprocess.transform(frame), dtype=float)
        chunks = range(0, len(columns), self.CHUNK)
        contributions = self.sign * np.concatenate(
            [self._contributions(columns[start : start + self.CHUNK]) for start in chunks]
        )
        score = self.sign * np.asarray(self.classifier.decision_function(columns), dtype=float)
        return Explained(self.base, contributions, score)
