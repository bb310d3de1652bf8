"""Releasing a model: version, model card, SBOM, container image."""

from lastmile.errors import LastmileError


class ReleaseError(LastmileError):
    """A release cannot be prepared as asked (bad version, failed gates, missing bento...)."""
