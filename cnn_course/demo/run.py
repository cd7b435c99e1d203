"""``cnn-course demo``: the demo classes handed in and graded end to end, as an instructor would.

1. ``release/`` regenerated from ``source/`` (``nbgrader generate_assignment``);
2. the demo classes hand in under ``submitted/``: the lecture class (:mod:`.lecture`, with
   HW2 and its checkpoints from :mod:`.hw2`) and the quiz class (:mod:`.quiz`);
3. every assignment graded by ``cnn-course autograde`` (sandboxed, ``--jobs 2``), feedback included;
   two assignments' runs at a time (what one run spends waiting on a time limit, the other
   uses);
4. ``nbgrader export`` to ``grades.csv``;
5. the report of each assignment, with each student's status, and the quiz's item analysis.
"""

from __future__ import annotations

import os
import shutil
import sys
import time
from concurrent.futures import ThreadPoolExecutor

from cnnlib.data import HW2_TEST_ENV

from .. import editions
from ..layout import Course
from ..nbgrader_run import nbgrader
from ..reports import items, report
from . import hw2, lecture, quiz

JOBS = 2
STEPS = 5


def _step(n: int, what: str) -> float:
    print(f"[{n}/{STEPS}] {what} ...", flush=True)
    return time.perf_counter()


def _done(t0: float, extra: str = "") -> None:
    print(f"      done in {time.perf_counter() - t0:.1f} s{extra}", flush=True)


def _forget_demo_students(course: Course) -> None:
    """Take an earlier demo's students out of the gradebook and the course folders.

    nbgrader refuses to regenerate an assignment whose notebooks changed while it has
    submissions; the demo's own hand-ins must not block it (real students are left alone).
    """
    ids = [s.student_id for s in lecture.DEMO_STUDENTS + quiz.QUIZ_STUDENTS]
    for sid in ids:
        for folder in (course.submitted(sid), course.autograded(sid), course.feedback(sid)):
            shutil.rmtree(folder, ignore_errors=True)
    url = course.configured_db_url()
    if url.startswith("sqlite:///") and not os.path.exists(url[len("sqlite:///"):]):
        return
    from nbgrader.api import Gradebook, MissingEntry

    with Gradebook(url) as gb:
        for sid in ids:
            try:
                gb.remove_student(sid)
            except MissingEntry:
                pass


def hand_in(course: Course, names: list[str]) -> None:
    """Write every demo student's hand-ins (and HW2 checkpoints) under ``submitted/``."""
    for a in names:
        if a == quiz.ASSIGNMENT:  # the quiz has its own class, who hand in only the quiz
            quiz.create_quiz_class(course.root)
        else:
            lecture.create_demo_class(course.root, a)
        if a == hw2.ASSIGNMENT:
            hw2.write_checkpoints(course.root)
    for s in lecture.DEMO_STUDENTS:
        print(f"      {s.student_id:15s} {s.description}")
    if quiz.ASSIGNMENT in names:
        print(f"      quiz only: {len(quiz.QUIZ_STUDENTS)} students "
              f"({', '.join(s.student_id for s in quiz.QUIZ_STUDENTS)})")


def print_reports(course: Course, names: list[str]) -> None:
    for a in names:
        rows = report.assignment_report(course, a)
        print()
        print(report.format_table(rows, a))
        report.write_csv(rows, course.autograded() / f"report_{a}.csv")
        if a == quiz.ASSIGNMENT:
            text, csv_items, png_items = items.run(course, a)
            print()
            print(text)
            print(f"wrote {csv_items} and {png_items}")


def run(course: Course, stray_checkpoints) -> int:
    """The whole demo (see the module doc); returns the exit status."""
    from ..grading import autograde

    names = course.assignments()
    print(f"Demo class for {course.root.name}: assignments {', '.join(names)}; "
          f"{len(lecture.DEMO_STUDENTS)} students (and {len(quiz.QUIZ_STUDENTS)} who take the quiz)\n")
    if stray_checkpoints(course):
        return 1
    os.environ[HW2_TEST_ENV] = "synthetic"  # the demo's HW2 checkpoints are trained on generated images
    _forget_demo_students(course)
    t0 = _step(1, "regenerate both editions from source/: release/ (zh_TW) and release-en/ (nbgrader)")
    if not editions.generate(course.root, names, log=lambda line: None):
        return 1
    _done(t0)
    t0 = _step(2, "hand in: the demo classes under submitted/")
    hand_in(course, names)
    _done(t0)
    t0 = _step(3, f"cnn-course autograde --jobs {JOBS} for each assignment, two at a time: "
                  "sandboxed kernels, tests judged outside them, feedback without hidden tests")

    def grade(a: str) -> str:
        t1 = time.perf_counter()
        graded = autograde.autograde(course, a, jobs=JOBS)
        return f"      {a}: {len(graded)} hand-ins in {time.perf_counter() - t1:.1f} s"

    # two runs at a time, the largest first: the lecture on one side, HW2 then the quiz on the other (what
    # one run spends waiting on a time limit, the other uses; more runs would only share the same cores)
    order = sorted(names, key=lambda a: -len(course.release_notebooks(a)) * len(course.students(a)))
    with ThreadPoolExecutor(2) as pool:
        for line in pool.map(grade, order):
            print(line)
    _done(t0)
    t0 = _step(4, "nbgrader export -> grades.csv")
    res = nbgrader(course.root, "export", "--to", "grades.csv")
    if not res.ok:
        print(res.output[-4000:], file=sys.stderr)
        return 1
    _done(t0)
    _step(5, "report: scores, status and reason of every student")
    print_reports(course, names)
    print()
    print(f"Gradebook:  {course.configured_db_url()}")
    print(f"Grades:     {course.root / 'grades.csv'} (nbgrader export), {course.autograded()}/report_<assignment>.csv")
    print(f"Feedback:   {course.feedback()}/<student>/<assignment>/<notebook>.html (hidden tests removed)")
    print(f"Graded:     {course.autograded()}/<student>/<assignment>/<notebook>.ipynb")
    return 0
