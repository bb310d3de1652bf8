"""Stage `split`: a stratified, seeded train/test split of the validated table."""

from __future__ import annotations

import logging
from pathlib import Path

from lastmile import paths
from lastmile.data import read_table, write_table
from lastmile.errors import LastmileError
from lastmile.params import Params

log = logging.getLogger(__name__)


def run(
    params: Params,
    table: Path = paths.VALIDATED_TABLE,
    train_out: Path = paths.TRAIN_TABLE,
    test_out: Path = paths.TEST_TABLE,
) -> tuple[int, int]:
    frame = read_table(table)
    labels = frame[params.target.column]
    counts = labels.value_counts()
    if params.target.positive not in counts.index:
        raise LastmileError(
            f"No row has the positive label {params.target.positive!r} (params.yaml `target.positive`); "
            f"labels found: {sorted(map(str, counts.index))}."
        )
    if len(counts) < 2 or counts.min() < 2:
        raise LastmileError(
            f"Each label needs at least 2 rows for a stratified split; counts: {counts.to_dict()}."
        )
    # Stratified by sampling the same fraction of each label (pandas only: importing
    # scikit-learn would double this stage's time).
    test = frame.groupby(labels, group_keys=False).sample(
        frac=params.split.test_size, random_state=params.split.seed
    )
    train = frame.drop(index=test.index)
    write_table(train_out, train)
    write_table(test_out, test)
    log.info("split: %d train rows, %d test rows (seed %d)", len(train), len(test), params.split.seed)
    return len(train), len(test)
