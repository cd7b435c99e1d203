"""Grading: hand-ins, the sandbox, kernels, execution and parallel autograde (see the package doc)."""
