"""Reviewing a change: quality gates, the base's reports, the PR report and its artifact, the run summary."""
