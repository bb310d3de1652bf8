"""Releasing a model: version, model card, SBOM, container image."""
