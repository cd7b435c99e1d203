"""What grading found per student, and how it reaches the course: gradebook, files, feedback, status.

:class:`StudentResult` holds one student's status and reasons. :func:`collect` takes the
private runs of :mod:`~cnn_course.grading.autograde` and, one student at a time, copies the
grades into the course gradebook (SQLite or PostgreSQL), the graded notebooks (and every
file the notebook wrote) into ``autograded/``, the redacted feedback into ``feedback/`` (a
page saying why for a notebook that could not be graded), and the status and reason into
``autograded/.grading/<assignment>/<student>.json`` for ``cnn-course report``.
"""

from __future__ import annotations

import json
import shutil
import threading
import warnings
from dataclasses import dataclass, field
from pathlib import Path

from ..layout import Course
from ..reports import feedback
from . import gradebook

STATUS_ORDER = ("invalid", "missing", "kernel-died", "timeout", "error", "graded")
# one writer of the course gradebook at a time, also when several assignments are graded at once
_COURSE_WRITER = threading.Lock()


@dataclass
class StudentResult:
    """What happened to one student's hand-in; written as JSON for the report."""

    student_id: str
    status: str = "graded"
    reasons: list[str] = field(default_factory=list)
    notebooks: dict[str, dict] = field(default_factory=dict)  # stem -> {status, cell, reason}

    def add(self, status: str, reason: str) -> None:
        if STATUS_ORDER.index(status) < STATUS_ORDER.index(self.status):
            self.status = status
        if reason:
            self.reasons.append(reason)

    def to_json(self) -> dict:
        return {"student_id": self.student_id, "status": self.status, "reason": "; ".join(self.reasons),
                "notebooks": self.notebooks}


def from_hand_in(sid: str, hand_in) -> StudentResult:
    """The result before grading: unreadable and missing notebooks, and what was repaired.

    A missing notebook scores zero; the student is ``missing`` only when nothing at all can be
    graded, otherwise ``graded`` with the reason naming the notebook.
    """
    res = StudentResult(sid)
    for stem, why in hand_in.invalid.items():
        res.add("invalid", why)
        res.notebooks[stem] = {"status": "invalid", "cell": None, "reason": why}
    for stem in hand_in.missing:
        why = f"{stem}.ipynb not handed in (0 points)"
        res.add("graded" if hand_in.notebooks else "missing", why)
        res.notebooks[stem] = {"status": "missing", "cell": None, "reason": why}
    for note in hand_in.notes:
        res.add("graded", note)
    return res


@dataclass
class Collector:
    """Copies the private runs' results into ``course`` (see the module doc)."""

    course: Course
    assignment: str
    db_url: str
    release: list[str]  # notebook stems
    template_db: Path  # the private template's gradebook: the assignment's structure

    def collect(self, where: dict[str, Path], results: dict[str, StudentResult], graded_stems) -> None:
        """``where``: student -> private run root; ``graded_stems``: student -> the stems it handed in."""
        out_dir = self.course.outcomes(self.assignment)
        out_dir.mkdir(parents=True, exist_ok=True)
        (out_dir.parent / "README").write_text("cnn-course autograde: one JSON per student (status, reason)\n")
        warnings.filterwarnings("ignore", message=".*not in session.*")  # nbgrader's add_submission
        with _COURSE_WRITER, gradebook.open_gradebook(self.db_url) as master:
            with gradebook.open_gradebook(f"sqlite:///{self.template_db}") as tpl:
                gradebook.copy_assignment_structure(tpl, master, self.assignment)
            for sid, res in results.items():
                self._student(master, sid, res, where.get(sid), graded_stems.get(sid, ()))
                self.course.outcome(self.assignment, sid).write_text(json.dumps(res.to_json(), indent=1),
                                                                     encoding="utf-8")

    def _student(self, master, sid: str, res: StudentResult, root: Path | None, stems) -> None:
        for dest in (self.course.autograded(sid, self.assignment), self.course.feedback(sid, self.assignment)):
            shutil.rmtree(dest, ignore_errors=True)
        graded = False
        if root is not None:
            with gradebook.open_gradebook(f"sqlite:///{root / 'gradebook.db'}") as private:
                try:
                    gradebook.copy_submission(private, master, self.assignment, sid)
                    graded = True
                except Exception as exc:  # nbgrader could not grade it at all
                    res.add("error", f"nbgrader could not grade this hand-in ({type(exc).__name__})")
            for sub, dest in (("autograded", self.course.autograded(sid, self.assignment)),
                              ("feedback", self.course.feedback(sid, self.assignment))):
                src = root / sub / sid / self.assignment
                if src.is_dir():
                    shutil.copytree(src, dest)
            for stem in stems:
                self._read_outcome(root, sid, stem, res)
        if not graded:
            gradebook.record_ungraded(master, self.assignment, sid, self._timestamp(sid))
        self._late_and_placeholders(master, sid, res)

    def _late_and_placeholders(self, master, sid: str, res: StudentResult) -> None:
        try:
            sub = master.find_submission(self.assignment, sid)
            if sub.total_seconds_late > 0:
                res.add("graded", f"late by {_duration(sub.total_seconds_late)} (handed in {sub.timestamp})")
            max_scores = {nb.name: nb.max_score for nb in sub.notebooks}
        except Exception:
            max_scores = {}
        fb = self.course.feedback(sid, self.assignment)
        for stem in self.release:
            if not (fb / f"{stem}.html").exists():
                why = res.notebooks.get(stem, {}).get("reason") or "nbgrader could not grade it"
                fb.mkdir(parents=True, exist_ok=True)
                (fb / f"{stem}.html").write_text(feedback.placeholder_html(
                    sid, self.assignment, stem, max_scores.get(stem, 0.0), why), encoding="utf-8")

    def _read_outcome(self, root: Path, sid: str, stem: str, res: StudentResult) -> None:
        path = root / "outcomes" / sid / f"{stem}.json"
        if not path.exists():
            logs = self.course.outcomes(self.assignment) / "logs"
            out = {"status": "error", "cell": None,
                   "reason": f"{stem}.ipynb: grading stopped (see the nbgrader logs in {logs})"}
        else:
            out = json.loads(path.read_text(encoding="utf-8"))
        res.notebooks[stem] = out
        if out["status"] != "graded":
            res.add(out["status"], f"{stem}.ipynb: {out['reason']}")

    def _timestamp(self, sid: str):
        from nbgrader.utils import parse_utc

        f = self.course.submitted(sid, self.assignment) / "timestamp.txt"
        try:
            return parse_utc(f.read_text(encoding="utf-8").strip())
        except Exception:
            return None


def _duration(seconds: float) -> str:
    s = int(round(seconds))
    d, s = divmod(s, 86400)
    h, s = divmod(s, 3600)
    m, s = divmod(s, 60)
    return (f"{d} d " if d else "") + f"{h:02d}:{m:02d}:{s:02d}"
