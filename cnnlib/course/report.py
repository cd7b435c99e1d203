"""Grade report: one row per student of an assignment, read from the nbgrader gradebook.

Every student with a folder under ``submitted/`` gets a row, whatever happened to the
hand-in, with a status and a reason:

* ``graded``: every notebook was autograded;
* ``invalid``: a notebook file could not be read (broken JSON, ...); it scores zero;
* ``missing``: a notebook of the assignment was not handed in; it scores zero;
* ``timeout``: a cell ran past the time limit (it scores zero, the others count);
* ``kernel-died``: the kernel died in a cell (``os._exit``, a segfault, a resource limit):
  the cells graded before it keep their points, the reason names the cell;
* ``error``: nbgrader could not grade a readable hand-in (see its log).

Statuses ``timeout`` and ``kernel-died`` come from ``cnn-course autograde``, which writes
``autograded/.grading/<assignment>/<student>.json``; where that file exists its status and
reason are used, and the scores always come from the gradebook.
"""

from __future__ import annotations

import csv
import json
from dataclasses import dataclass, field
from pathlib import Path

from nbgrader.api import Gradebook, MissingEntry

from .handin import read_notebook


@dataclass
class Row:
    student_id: str
    score: float
    max_score: float
    status: str
    reason: str = ""
    notebooks: dict[str, float] = field(default_factory=dict)


def _db_url(course: Path, assignment: str | None = None) -> str:
    """The gradebook the last ``cnn-course autograde`` of ``assignment`` used, else gradebook.db."""
    run = course / "autograded" / ".grading" / str(assignment) / "run.json"
    if assignment and run.exists():
        return json.loads(run.read_text(encoding="utf-8"))["db_url"]
    return f"sqlite:///{(course / 'gradebook.db').resolve()}"


def _outcome(course: Path, assignment: str, student: str) -> dict | None:
    path = course / "autograded" / ".grading" / assignment / f"{student}.json"
    return json.loads(path.read_text(encoding="utf-8")) if path.exists() else None


def assignment_report(course: Path, assignment: str, db_url: str | None = None) -> list[Row]:
    """Rows for every student who has a ``submitted/<student>/<assignment>`` folder or a grade."""
    course = Path(course)
    release = sorted(p.name for p in (course / "release" / assignment).glob("*.ipynb"))
    names = [Path(n).stem for n in release]
    submitted = course / "submitted"
    students = sorted(
        p.name for p in submitted.glob("*") if (p / assignment).is_dir()
    ) if submitted.is_dir() else []
    rows = []
    with Gradebook(db_url or _db_url(course, assignment)) as gb:
        try:
            max_total = float(gb.find_assignment(assignment).max_score)
            nb_max = {nb.name: float(nb.max_score) for nb in gb.find_assignment(assignment).notebooks}
        except MissingEntry:
            max_total, nb_max = 0.0, {}
        students = sorted(set(students) | {s.student_id for s in _submissions(gb, assignment)})
        for sid in students:
            outcome = _outcome(course, assignment, sid)
            if outcome is not None:
                rows.append(_row_from_outcome(gb, sid, assignment, names, outcome, max_total or sum(nb_max.values())))
                continue
            scores: dict[str, float] = {}
            problems: list[str] = []
            status = "graded"
            for name in names:
                handed_in = submitted / sid / assignment / f"{name}.ipynb"
                if not handed_in.exists():
                    problems.append(f"{name}.ipynb not handed in")
                    status = "missing" if status == "graded" else status
                    scores[name] = 0.0
                    continue
                nb_or_none, why = read_notebook(handed_in)
                if nb_or_none is None:
                    problems.append(why)
                    status = "invalid"
                    scores[name] = 0.0
                    continue
                graded = course / "autograded" / sid / assignment / f"{name}.ipynb"
                try:
                    nb = gb.find_submission_notebook(name, assignment, sid)
                    scores[name] = float(nb.score)
                except MissingEntry:
                    nb = None
                if nb is None or not graded.exists():
                    problems.append(f"{name}.ipynb was not autograded (see nbgrader's log)")
                    status = "error" if status == "graded" else status
                    scores[name] = 0.0
            rows.append(
                Row(
                    student_id=sid,
                    score=round(sum(scores.values()), 4),
                    max_score=max_total or sum(nb_max.values()),
                    status=status,
                    reason="; ".join(problems),
                    notebooks=scores,
                )
            )
    return rows


def _row_from_outcome(gb: Gradebook, sid: str, assignment: str, names: list[str], outcome: dict,
                      max_score: float) -> Row:
    scores = {}
    for name in names:
        try:
            scores[name] = float(gb.find_submission_notebook(name, assignment, sid).score)
        except MissingEntry:
            scores[name] = 0.0
    return Row(sid, round(sum(scores.values()), 4), max_score, outcome["status"], outcome["reason"], scores)


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
        [
            r.student_id,
            *(f"{r.notebooks.get(n, 0):g}" for n in names),
            f"{r.score:g}",
            f"{r.max_score:g}",
            r.status,
            r.reason,
        ]
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
