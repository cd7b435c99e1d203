"""Feedback that never shows hidden tests.

nbgrader's feedback is the autograded notebook as HTML: test cells hold their hidden tests
(put back by ``OverwriteCells``), tracebacks quote the failing hidden line, and a student's
own cell may print ``In[...]``. :func:`redact_notebook` removes all of that: each hidden block
becomes one comment line, every error keeps its name and message (the hint) but not its
traceback, and any hidden-test line quoted in code or an output is replaced (markdown, the
course's own text, is left alone: "write `conv2d_single(image, kernel)`" is not a leak). :class:`RedactHiddenTests`
does it inside ``nbgrader generate_feedback`` (the course's ``nbgrader_config.py`` puts it first
in ``GenerateFeedback.preprocessors``), so every feedback page is redacted, whichever command
made it; the instructor's graded notebooks in ``autograded/`` keep everything. Points per test
cell come from nbgrader's template. :func:`placeholder_html` is the feedback page of a
notebook that could not be graded.
"""

from __future__ import annotations

import html
import re
from pathlib import Path

from nbconvert.preprocessors import Preprocessor
from traitlets import Bool

try:
    from nbgrader.coursedir import CourseDirectory
except ImportError:  # only the preprocessor needs it
    CourseDirectory = None

HIDDEN = re.compile(r"^[ \t]*### BEGIN HIDDEN TESTS.*?^[ \t]*### END HIDDEN TESTS[ \t]*$", re.MULTILINE | re.DOTALL)
HIDDEN_NOTE = "# (hidden tests: not shown; their result counts in this cell's points)"
REDACTED = "[hidden test]"
ANSI = re.compile(r"\x1b\[[0-9;]*m")


def hidden_lines(source_nb) -> list[str]:
    """The non-trivial lines of every hidden-test block of an instructor notebook."""
    lines = []
    for cell in source_nb.cells:
        for block in HIDDEN.findall(cell.source):
            for line in block.splitlines()[1:-1]:
                line = line.strip()
                if len(line) >= 12 and not line.startswith("#"):
                    lines.append(line)
    return sorted(set(lines), key=len, reverse=True)


def secret_lines(source_dir: Path, stems) -> list[str]:
    """:func:`hidden_lines` of the source notebooks ``<source_dir>/<stem>.ipynb`` that exist."""
    import nbformat

    lines: set[str] = set()
    for stem in stems:
        path = Path(source_dir) / f"{stem}.ipynb"
        if path.exists():  # the source, and each edition cut from it (its tr() strings resolved)
            from ..editions import LANGUAGES, edition

            nb = nbformat.read(path, as_version=4)
            lines.update(hidden_lines(nb))
            for lang in LANGUAGES:
                lines.update(hidden_lines(edition(nb, lang)))
    return sorted(lines, key=len, reverse=True)


def _scrub(text: str, secret: list[str]) -> str:
    text = HIDDEN.sub(HIDDEN_NOTE, text)
    for line in secret:
        if line in text:
            text = text.replace(line, REDACTED)
    return text


def redact_notebook(nb, secret: list[str]):
    """Remove hidden tests from ``nb`` in place (see module doc); returns ``nb``."""
    for cell in nb.cells:
        if cell.cell_type == "markdown":  # the course's own text, never a hidden test: left as written
            continue
        cell.source = _scrub(cell.source, secret)
        for out in cell.get("outputs", []):
            if out.output_type == "error":
                out.evalue = _scrub(ANSI.sub("", str(out.evalue)), secret)
                out.traceback = [f"{out.ename}: {out.evalue}"]
            elif out.output_type == "stream":
                out.text = _scrub(out.text, secret)
            elif "data" in out:
                for mime in list(out.data):
                    if isinstance(out.data[mime], str) and mime.startswith("text/"):
                        out.data[mime] = _scrub(out.data[mime], secret)
    return nb


class RedactHiddenTests(Preprocessor):
    """nbgrader feedback preprocessor: :func:`redact_notebook` with the hidden lines of the source notebook.

    The source is ``source/<assignment>/<notebook>.ipynb`` under the course root; where it is
    not there, the hidden blocks and tracebacks are still removed.
    """

    enabled = Bool(True, help="nbconvert's preprocessors are off by default; this one is always on").tag(config=True)

    def preprocess(self, nb, resources):
        info = resources.get("nbgrader", {})
        root = Path(CourseDirectory(parent=self).root) if CourseDirectory is not None else Path.cwd()
        secret = secret_lines(root / "source" / str(info.get("assignment", "")), [str(info.get("notebook", ""))])
        return redact_notebook(nb, secret), resources


def placeholder_html(student: str, assignment: str, notebook: str, max_score: float, reason: str) -> str:
    """The feedback page of a notebook that was not graded: score 0, and why."""
    esc = html.escape
    return f"""<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8"><title>{esc(notebook)}: not graded</title>
<style>body{{font-family:sans-serif;max-width:50em;margin:2em auto;line-height:1.5}}
.score{{font-size:1.4em}} .why{{background:#fff3f3;border-left:4px solid #c00;padding:.5em 1em}}</style></head>
<body><h1>{esc(assignment)} / {esc(notebook)}</h1>
<p>Student: <b>{esc(student)}</b></p>
<p class="score">Score: 0 / {max_score:g}</p>
<p class="why">This notebook could not be graded: {esc(reason)}.</p>
<p>Download the notebook again from the course page, copy your answers into it, and hand it in
under its original name ({esc(notebook)}.ipynb); ask your TA if the deadline has passed.</p>
</body></html>
"""
