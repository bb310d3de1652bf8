"""PNG renderings of the evaluation curves, for people who would rather look than read.

The same curves are written as CSV for `dvc plots`; these PNGs go into reports and releases.
"""

from __future__ import annotations

from pathlib import Path

import matplotlib

matplotlib.use("Agg")  # no display on CI runners and servers

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
from matplotlib.figure import Figure

from lastmile.files import atomic_path


def _save(fig: Figure, path: Path) -> None:
    with atomic_path(path) as tmp:
        fig.savefig(tmp, format="png", dpi=100, bbox_inches="tight", metadata={"Software": None})
    plt.close(fig)


def line_plot(
    curves: dict[str, pd.DataFrame], x: str, y: str, title: str, path: Path, diagonal: bool = False
) -> None:
    """One line per named curve (for example "main" and "this branch")."""
    fig, ax = plt.subplots(figsize=(4.5, 4))
    for label, frame in curves.items():
        ax.plot(frame[x], frame[y], label=label, linewidth=1.8, marker="." if len(frame) < 30 else None)
    if diagonal:
        ax.plot([0, 1], [0, 1], linestyle=":", color="grey", linewidth=1)
    ax.set(xlabel=x.replace("_", " "), ylabel=y.replace("_", " "), title=title, xlim=(0, 1), ylim=(0, 1.02))
    ax.grid(alpha=0.3)
    ax.legend(loc="best", fontsize="small")
    _save(fig, path)


def confusion_plot(matrix: np.ndarray, labels: list[str], title: str, path: Path) -> None:
    fig, ax = plt.subplots(figsize=(4, 3.6))
    ax.imshow(matrix, cmap="Blues")
    for (i, j), count in np.ndenumerate(matrix):
        color = "white" if count > matrix.max() / 2 else "black"
        ax.text(j, i, f"{count:,}", ha="center", va="center", color=color)
    ax.set(xticks=range(len(labels)), yticks=range(len(labels)), xticklabels=labels, yticklabels=labels)
    ax.set(xlabel="predicted", ylabel="actual", title=title)
    _save(fig, path)


def bar_plot(
    labels: list[str], values: list[float], errors: list[float], title: str, xlabel: str, path: Path
) -> None:
    """Horizontal bars, largest on top, with error bars (for example permutation importances)."""
    fig, ax = plt.subplots(figsize=(5, 0.35 * len(labels) + 1.2))
    positions = np.arange(len(labels))[::-1]
    ax.barh(positions, values, xerr=errors, color="tab:blue", alpha=0.8, capsize=3)
    ax.set(yticks=positions, yticklabels=labels, xlabel=xlabel, title=title)
    ax.axvline(0, color="grey", linewidth=0.8)
    ax.grid(axis="x", alpha=0.3)
    _save(fig, path)
