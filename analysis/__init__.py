"""Post-processing and figures (importable as pylmp.analysis)."""
