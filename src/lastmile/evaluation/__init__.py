"""What `evaluate` computes: metrics, slices, fairness, importance, threshold, bootstrap, plots."""
