"""Lastmile: a GitOps MLOps template (DVC pipeline, CML reports, BentoML serving)."""

from importlib.metadata import PackageNotFoundError, version

try:
    __version__ = version("lastmile")
except PackageNotFoundError:  # pragma: no cover - running from a source tree without install
    __version__ = "0.0.0"
