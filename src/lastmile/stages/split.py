"""Stage `split`: a stratified, seeded train/test split of the validated table."""

from __future__ import annotations

import logging
from pathlib import Path

from lastmile import paths
from lastmile.data import native, one_against_the_rest, read_table, typed_label, write_table
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
    column = params.target.column
    labels = frame[column]
    counts = labels.value_counts()
    positive = typed_label(params.target.positive, labels, column)
    if positive not in set(map(native, counts.index)):
        raise LastmileError(
            f"No row of the target column {column!r} has the positive label {positive!r} "
            f"(params.yaml `target.positive`); labels found: {sorted(map(native, counts.index), key=str)}."
        )
    # Whole-number labels beyond two cannot be learned as one against the rest: refused here,
    # before `train` (whose model DVC would have removed by then) ever runs.
    one_against_the_rest(labels, positive, column)
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
