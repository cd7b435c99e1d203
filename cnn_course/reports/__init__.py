"""Reports: per-student rows, item analysis, feedback without hidden tests, the quiz answer key."""
