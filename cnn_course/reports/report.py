"""Grade report: one row per student of an assignment: scores from the gradebook, status from grading.

Every student with a folder under ``submitted/`` (or a grade in the gradebook) gets a row.
Its scores come from the gradebook that :meth:`Course.gradebook_url` names; its status and
reason from what ``cnn-course autograde`` recorded in ``autograded/.grading/<assignment>/``:

* ``graded``: every notebook handed in was autograded (a notebook not handed in scores zero,
  and the reason names it);
* ``invalid``: a notebook file could not be read (broken JSON, ...); it scores zero;
* ``missing``: nothing of the assignment was handed in;
* ``timeout``: a cell ran past the time limit (it scores zero, the others count);
* ``kernel-died``: the kernel died in a cell (``os._exit``, a segfault, a resource limit):
  the cells graded before it keep their points, the reason names the cell;
* ``error``: nbgrader could not grade a readable hand-in (see the logs);
* ``not graded``: no ``cnn-course autograde`` result yet.
"""

from __future__ import annotations

import csv
import json
from dataclasses import dataclass, field
from pathlib import Path

from nbgrader.api import Gradebook, MissingEntry

from ..layout import Course


@dataclass
class Row:
    student_id: str
    score: float
    max_score: float
    status: str
    reason: str = ""
    notebooks: dict[str, float] = field(default_factory=dict)


def assignment_report(course: Course, assignment: str, db_url: str | None = None) -> list[Row]:
    """Rows for every student who has a ``submitted/<student>/<assignment>`` folder or a grade."""
    names = [p.stem for p in course.release_notebooks(assignment)]
    rows = []
    with Gradebook(course.gradebook_url(assignment, db_url)) as gb:
        try:
            nb_max = {nb.name: float(nb.max_score) for nb in gb.find_assignment(assignment).notebooks}
        except MissingEntry:
            nb_max = {}
        max_total = sum(nb_max.values())
        students = sorted(set(course.students(assignment)) | {s.student_id for s in _submissions(gb, assignment)})
        for sid in students:
            scores = {}
            for name in names:
                try:
                    scores[name] = float(gb.find_submission_notebook(name, assignment, sid).score)
                except MissingEntry:
                    scores[name] = 0.0
            path = course.outcome(assignment, sid)
            if path.exists():
                outcome = json.loads(path.read_text(encoding="utf-8"))
                status, reason = outcome["status"], outcome["reason"]
            else:
                status, reason = "not graded", f"no cnn-course autograde result: run `cnn-course autograde {assignment}`"
            rows.append(Row(sid, round(sum(scores.values()), 4), max_total, status, reason, scores))
    return rows


def _submissions(gb: Gradebook, assignment: str):
    try:
        return gb.assignment_submissions(assignment)
    except MissingEntry:
        return []


def format_table(rows: list[Row], assignment: str) -> str:
    """A plain-text table: students x notebooks, total, status and reason."""
    if not rows:
        return f"no hand-ins for {assignment!r}"
    names = list(rows[0].notebooks)
    short = [n.split("_")[0] for n in names]  # "01", "02", ...
    head = ["student", *short, "total", "max", "status", "reason"]
    body = [
        [r.student_id, *(f"{r.notebooks.get(n, 0):g}" for n in names), f"{r.score:g}", f"{r.max_score:g}",
         r.status, r.reason]
        for r in rows
    ]
    widths = [max(len(str(x)) for x in col) for col in zip(head, *body, strict=True)]
    widths[-1] = len(head[-1])  # the reason runs free
    lines = ["  ".join(str(x).ljust(w) for x, w in zip(line, widths, strict=True)).rstrip() for line in [head, *body]]
    lines.insert(1, "  ".join("-" * w for w in widths))
    legend = "notebooks: " + ", ".join(names)
    return "\n".join([f"assignment {assignment!r}", *lines, legend])


def write_csv(rows: list[Row], path: Path) -> None:
    """One row per student: student_id, score, max_score, status, reason, then per notebook."""
    names = list(rows[0].notebooks) if rows else []
    with open(path, "w", newline="", encoding="utf-8") as fh:
        w = csv.writer(fh)
        w.writerow(["student_id", "score", "max_score", "status", "reason", *names])
        for r in rows:
            w.writerow([r.student_id, r.score, r.max_score, r.status, r.reason, *(r.notebooks[n] for n in names)])
