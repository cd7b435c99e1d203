"""``python -m cnn_course.grading.nbgrader_main ARGS``: the stock ``nbgrader ARGS``, started a second sooner.

``import nbformat`` imports ``jsonschema``, whose optional check of the ``iri`` string format
imports ``rfc3987_syntax`` when it is installed, and that builds a parser for the RFC 3987
grammar at import time: about a second of CPU in every process, on a small machine. Neither
nbformat, nbconvert, nbclient nor nbgrader checks string formats (they validate notebooks
without a ``FormatChecker``), so this marks that module as absent (``jsonschema`` then leaves
the ``iri`` check out, as it does where the package is not installed) and runs nbgrader's own
``__main__`` unchanged.
"""

from __future__ import annotations

import runpy
import sys

SKIPPED = ("rfc3987_syntax",)


def skip_slow_imports() -> None:
    """Make ``import rfc3987_syntax`` fail (ImportError) in this process unless it already happened."""
    for name in SKIPPED:
        sys.modules.setdefault(name, None)


if __name__ == "__main__":
    skip_slow_imports()
    runpy.run_module("nbgrader", run_name="__main__", alter_sys=True)
