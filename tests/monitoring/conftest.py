"""A trained template copy's model, profile and held-out rows, and logs written from them."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest

from lastmile import artifacts
from lastmile.artifacts import ModelInfo
from lastmile.contract import Contract, load_contract
from lastmile.model import load_model, positive_proba
from lastmile.monitoring.shifts import log_lines
from lastmile.params import Params, load_params


@dataclass(frozen=True)
class Watched:
    """What a deployed model is monitored against, from a real `dvc repro` of the template."""

    repo: Path
    params: Params
    contract: Contract
    pipeline: Any
    metadata: ModelInfo
    profile: artifacts.Profile
    held_out: pd.DataFrame

    def score(self, frame: pd.DataFrame) -> np.ndarray:
        return positive_proba(self.pipeline, frame[self.params.features.all], self.metadata.target.positive)

    def write_log(self, path: Path, frame: pd.DataFrame, probability: np.ndarray | None = None) -> Path:
        """Log `frame` as the service would have: its records, the model's (or given) probabilities."""
        proba = self.score(frame) if probability is None else probability
        positive, negative = self.metadata.target.positive, self.metadata.negative
        labels = [positive if p >= self.profile.threshold else negative for p in proba.tolist()]
        records = frame[self.params.features.all].to_dict("records")
        path.parent.mkdir(parents=True, exist_ok=True)
        with path.open("w", encoding="utf-8") as handle:
            handle.writelines(log_lines(records, proba, labels, self.metadata.model_version))
        return path


@pytest.fixture(scope="session")
def watched(trained_repo: Path) -> Watched:
    params = load_params(trained_repo / "params.yaml")
    pipeline, metadata = load_model(trained_repo / "models")
    return Watched(
        repo=trained_repo,
        params=params,
        contract=load_contract(trained_repo / "contract.yaml"),
        pipeline=pipeline,
        metadata=metadata,
        profile=artifacts.read(trained_repo / "reports" / "profile.json", artifacts.Profile),
        held_out=pd.read_parquet(trained_repo / "data" / "processed" / "test.parquet"),
    )


def distinct_rows(held_out: pd.DataFrame, features: list[str]) -> int:
    """How many different records `held_out` holds (a small project's sample repeats its rows)."""
    return len(held_out[features].drop_duplicates())


def fair_resample(watched: Watched, records: int) -> bool:
    """Whether `records` drawn with replacement from the held-out rows can be judged as normal traffic.

    Drawn from far fewer different rows, each row repeats several times and the monitor counts every
    repeat as independent evidence: the test split's own sampling noise then reads as drift (a small
    dataset, e.g. 113 held-out rows with 30 features, or a sample drawn with replacement from 178
    rows). The verdict is only asserted when it is fair.
    """
    return distinct_rows(watched.held_out, watched.params.features.all) >= records // 2


@pytest.fixture
def log_of(watched: Watched, tmp_path: Path) -> Callable[..., Path]:
    """Write a log of `n` held-out rows (a seeded resample) into a temporary folder."""

    def write(n: int = 600, seed: int = 0, name: str = "predictions.jsonl") -> Path:
        frame = watched.held_out.sample(n=n, replace=True, random_state=seed)
        return watched.write_log(tmp_path / "logs" / name, frame)

    return write
