"""Item analysis after autograde: per question, who got it right and what the others answered.

For every graded cell of an assignment (one per quiz question, ``quiz_q01`` ...):

* its score per student, from the nbgrader gradebook (full marks = right, some = partial);
* each student's answer as the grading kernel read it: the visible quiz test prints
  ``q01 = 27: the form is right ...`` (``cnnlib.quiz``); a test that failed on the form says
  ``(no answer)`` or ``(wrong form)``;
* the share of the class with full marks, the mean score, the most common answers that
  did not get full marks;

and the distribution of the students' totals. ``cnn-course report quiz --items`` prints it
and writes ``autograded/<assignment>_items.csv`` and ``autograded/<assignment>_items.png``.
"""

from __future__ import annotations

import csv
import os
import re
import statistics
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path

import nbformat
from matplotlib.figure import Figure
from nbgrader.api import Gradebook, MissingEntry

from ..layout import Course
from . import report


def _form_lines() -> list[re.Pattern]:
    """``q01 = 27: the form is right (`` as every edition prints it (``cnnlib.quiz.FORM_LINE``, translated)."""
    from cnnlib import i18n, quiz

    out = []
    for lang in i18n.LANGUAGES:
        head = re.escape(i18n.gettext_for(lang)(quiz.FORM_LINE).split("{what}")[0])
        out.append(re.compile("^" + head.replace(r"\{name\}", r"(q\d+)").replace(r"\{shown\}", "(.*?)"), re.MULTILINE))
    return out


def _no_answer_marks() -> list[str]:
    """What every edition's "no answer yet" messages of ``cnnlib.quiz`` start with, after the name."""
    from cnnlib import i18n, quiz

    ids = [quiz.NO_ANSWER_CHOICE, quiz.NO_ANSWER_INT, quiz.NO_ANSWER_ARRAY, quiz.NO_ANSWER_LAYER]
    return [os.path.commonprefix([say(m) for m in ids]).removeprefix("{name}")
            for say in map(i18n.gettext_for, i18n.LANGUAGES)]


FORM_LINES = _form_lines()
NO_ANSWER = _no_answer_marks()
TOP_WRONG = 3


@dataclass
class Item:
    """One graded cell (one quiz question) across the class."""

    grade_id: str
    title: str
    points: float
    scores: dict[str, float] = field(default_factory=dict)  # student -> score
    answers: dict[str, str] = field(default_factory=dict)  # student -> answer as read

    @property
    def qid(self) -> str:
        return self.grade_id.split("_", 1)[-1]

    @property
    def n(self) -> int:
        return len(self.scores)

    @property
    def right(self) -> int:
        return sum(s >= self.points - 1e-9 for s in self.scores.values())

    @property
    def partial(self) -> int:
        return sum(1e-9 < s < self.points - 1e-9 for s in self.scores.values())

    @property
    def wrong(self) -> int:
        return self.n - self.right - self.partial

    @property
    def share_right(self) -> float:
        return self.right / self.n if self.n else 0.0

    @property
    def mean_score(self) -> float:
        return sum(self.scores.values()) / self.n if self.n else 0.0

    def wrong_answers(self, top: int = TOP_WRONG) -> list[tuple[str, int]]:
        """The most common answers without full marks: (answer, count), most common first."""
        counts = Counter(
            self.answers.get(sid, "(not run)") for sid, s in self.scores.items() if s < self.points - 1e-9
        )
        return sorted(counts.items(), key=lambda kv: (-kv[1], kv[0]))[:top]


def read_answers(notebook) -> dict[str, str]:
    """grade_id -> the answer as the test cell read it, from an autograded notebook."""
    found = {}
    for cell in notebook.cells:
        meta = cell.metadata.get("nbgrader", {})
        if cell.cell_type != "code" or not meta.get("grade"):
            continue
        text = "".join(o.get("text", "") for o in cell.outputs if o.output_type == "stream")
        m = next((m for m in (p.search(text) for p in FORM_LINES) if m), None)
        errors = [o for o in cell.outputs if o.output_type == "error"]
        if m:
            found[meta["grade_id"]] = m.group(2)
        elif errors:
            err = errors[0]
            if err.ename == "NameError" or any(mark in err.evalue for mark in NO_ANSWER):
                found[meta["grade_id"]] = "(no answer)"
            elif err.ename == "AssertionError":
                found[meta["grade_id"]] = "(wrong form)"
            else:
                found[meta["grade_id"]] = f"({err.ename})"
        else:
            found[meta["grade_id"]] = "(not run)" if not cell.outputs else ""
    return found


def _titles(assignment: str) -> dict[str, str]:
    if assignment != "quiz":
        return {}
    from cnnlib.quiz_questions import QUESTIONS

    return {q.grade_id: q.title for q in QUESTIONS}


def item_analysis(course: Course, assignment: str, db_url: str | None = None) -> tuple[list[Item], dict[str, float]]:
    """The items of ``assignment`` and every student's total (``report.assignment_report``).

    Items count the students whose notebooks were autograded; totals count every student
    with a hand-in (an unreadable one totals zero). Both read the same gradebook
    (:meth:`Course.gradebook_url`).
    """
    url = course.gradebook_url(assignment, db_url)
    titles = _titles(assignment)
    rows = report.assignment_report(course, assignment, url)
    totals = {r.student_id: r.score for r in rows}
    items: dict[str, Item] = {}
    with Gradebook(url) as gb:
        try:
            notebooks = gb.find_assignment(assignment).notebooks
        except MissingEntry:
            return [], totals
        for nb in sorted(notebooks, key=lambda n: n.name):
            for gc in sorted(nb.grade_cells, key=lambda g: g.name):
                items[gc.name] = Item(gc.name, titles.get(gc.name, gc.name), float(gc.max_score))
            for row in rows:
                graded = course.autograded(row.student_id, assignment) / f"{nb.name}.ipynb"
                if not graded.exists():
                    continue
                answers = read_answers(nbformat.read(graded, as_version=4))
                for gc in nb.grade_cells:
                    try:
                        score = gb.find_grade(gc.name, nb.name, assignment, row.student_id).score
                    except MissingEntry:
                        continue
                    items[gc.name].scores[row.student_id] = float(score or 0)
                    items[gc.name].answers[row.student_id] = answers.get(gc.name, "")
    return list(items.values()), totals


def _bins(max_points: float, width: float) -> list[tuple[float, float]]:
    edges, lo = [], 0.0
    while lo < max_points:
        edges.append((lo, min(lo + width, max_points)))
        lo += width
    return edges or [(0.0, 0.0)]


def distribution(totals: dict[str, float], max_points: float, width: float = 4) -> list[tuple[str, int]]:
    """Counts of totals per bin ``[lo, hi)``; the last bin includes ``max_points``."""
    bins = _bins(max_points, width)
    out = []
    for i, (lo, hi) in enumerate(bins):
        last = i == len(bins) - 1
        n = sum(lo <= t < hi or (last and t == hi) for t in totals.values())
        out.append((f"{lo:g}-{hi:g}" if last else f"{lo:g}-<{hi:g}", n))
    return out


def _fmt_answers(pairs: list[tuple[str, int]]) -> str:
    return ", ".join(f"{a} ({n})" for a, n in pairs)


def format_items(items: list[Item], totals: dict[str, float], assignment: str) -> str:
    """The item analysis as plain text: one line per question, then the totals."""
    if not items:
        return f"item analysis of {assignment!r}: nothing graded yet"
    max_points = sum(it.points for it in items)
    n = max(it.n for it in items)
    head = ["question", "title", "points", "right", "partial", "wrong", "share right", "mean", "most common wrong answers"]
    body = [
        [it.qid, it.title, f"{it.points:g}", str(it.right), str(it.partial), str(it.wrong),
         f"{it.share_right:.0%}", f"{it.mean_score:.2f}", _fmt_answers(it.wrong_answers())]
        for it in items
    ]
    widths = [max(len(r[i]) for r in [head, *body]) for i in range(len(head))]
    widths[-1] = 0
    lines = [f"Item analysis of {assignment!r}: {n} students graded, {max_points:g} points"]
    for r in [head, *body]:
        lines.append("  ".join(x.ljust(w) if i < 2 or i == len(r) - 1 else x.rjust(w)
                               for i, (x, w) in enumerate(zip(r, widths, strict=True))).rstrip())
    vals = sorted(totals.values())
    if vals:
        lines += ["", f"Totals of {len(vals)} students: mean {statistics.mean(vals):.2f}, "
                      f"median {statistics.median(vals):g}, min {vals[0]:g}, max {vals[-1]:g}"]
        for label, count in distribution(totals, max_points):
            lines.append(f"  {label:>8}  {'#' * count:<{len(vals)}}  {count}")
    return "\n".join(lines)


def write_csv(items: list[Item], path: Path) -> None:
    """One row per question: counts, share right, mean score and the common wrong answers."""
    with open(path, "w", newline="", encoding="utf-8") as fh:
        w = csv.writer(fh)
        w.writerow(["question", "grade_id", "title", "points", "n", "right", "partial", "wrong",
                    "share_right", "mean_score", "most_common_wrong"])
        for it in items:
            w.writerow([it.qid, it.grade_id, it.title, f"{it.points:g}", it.n, it.right, it.partial, it.wrong,
                        f"{it.share_right:.4f}", f"{it.mean_score:.4f}",
                        "; ".join(f"{a} ({n})" for a, n in it.wrong_answers())])


def items_figure(items: list[Item], totals: dict[str, float], assignment: str) -> Figure:
    """Left: share right / partial per question; right: the histogram of totals."""
    fig = Figure(figsize=(11, 4.5), layout="constrained")
    ax, bx = fig.subplots(1, 2, width_ratios=[3, 2])
    names = [it.qid for it in items]
    right = [it.right / it.n if it.n else 0 for it in items]
    part = [it.partial / it.n if it.n else 0 for it in items]
    ax.bar(names, right, color="tab:green", label="full marks")
    ax.bar(names, part, bottom=right, color="tab:orange", label="partial credit")
    ax.set_ylim(0, 1)
    ax.set_xlabel("question")
    ax.set_ylabel("share of the class")
    ax.set_title("Share right per question")
    ax.legend(loc="lower right")
    max_points = sum(it.points for it in items)
    dist = distribution(totals, max_points)
    bx.bar([label for label, _ in dist], [c for _, c in dist], color="tab:blue")
    bx.set_xlabel("total points")
    bx.set_ylabel("students")
    bx.set_title(f"Totals (of {max_points:g})")
    fig.suptitle(f"Item analysis of {assignment!r}, {len(totals)} students")
    return fig


def run(course: Course, assignment: str, db_url: str | None = None) -> tuple[str, Path, Path]:
    """Compute, write ``autograded/<assignment>_items.csv`` and ``.png``; return (text, csv, png)."""
    items, totals = item_analysis(course, assignment, db_url)
    out = course.autograded()
    out.mkdir(exist_ok=True)
    csv_path, png_path = out / f"{assignment}_items.csv", out / f"{assignment}_items.png"
    write_csv(items, csv_path)
    items_figure(items, totals, assignment).savefig(png_path, dpi=100)
    return format_items(items, totals, assignment), csv_path, png_path
