"""Watching the live model: prediction log, reference profile, drift monitor."""
