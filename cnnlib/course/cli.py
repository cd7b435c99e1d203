"""``cnn-course``: the instructor's commands.

    cnn-course release [--course DIR]                 regenerate release/ from source/ (nbgrader)
    cnn-course demo [--course DIR]                    the demo class, graded end to end
    cnn-course autograde ASSIGNMENT [--course DIR] [--jobs N] [--db URL] [--student ID]
                                                      grade every hand-in, sandboxed and in parallel
    cnn-course report ASSIGNMENT [--course DIR] [--csv FILE] [--items]
                                                      one row per student: score, status, reason;
                                                      --items: per question share right, common wrong
                                                      answers, totals (autograded/<a>_items.csv, .png)

DIR is the course root (the folder holding nbgrader_config.py); it defaults to the
current directory.
"""

from __future__ import annotations

import argparse
import os
import shutil
import sys
import time
from pathlib import Path

from cnnlib.data import HW2_TEST_ENV

from . import demo_class, hw2_demo, items, quiz_class, report
from .nbgrader_cli import assignments, nbgrader


def _course(path: str) -> Path:
    course = Path(path).resolve()
    if not (course / "nbgrader_config.py").exists():
        raise SystemExit(
            f"cnn-course: {course} is not a course directory: expected nbgrader_config.py there "
            f"(pass --course DIR, the folder with source/ and nbgrader_config.py)"
        )
    return course


def _step(n: int, total: int, what: str) -> float:
    print(f"[{n}/{total}] {what} ...", flush=True)
    return time.perf_counter()


def _done(t0: float, extra: str = "") -> None:
    print(f"      done in {time.perf_counter() - t0:.1f} s{extra}", flush=True)


def _fail(result, what: str) -> int:
    print(result.output[-4000:], file=sys.stderr)
    print(f"cnn-course: {what} failed (nbgrader {' '.join(result.args)} exited {result.returncode})", file=sys.stderr)
    return 1


def _stray_checkpoints(course: Path) -> int:
    """Refuse model files in source/: nbgrader would release them, and autograde would copy
    them over every student's own (``*.pt`` is not ignored, so that hand-ins keep theirs)."""
    stray = sorted(p for pattern in ("*.pt", "*.pth", "*.ckpt") for p in (course / "source").rglob(pattern))
    if stray:
        print("cnn-course: model files in source/ (from running a source notebook there?): "
              + ", ".join(str(p.relative_to(course)) for p in stray)
              + "\n  nbgrader would copy them into release/ for every student; delete or move them first.",
              file=sys.stderr)
        return 1
    return 0


def cmd_release(course: Path) -> int:
    if _stray_checkpoints(course):
        return 1
    for a in assignments(course):
        t0 = _step(1, 1, f"nbgrader generate_assignment {a}")
        res = nbgrader(course, "generate_assignment", a, "--force")
        if not res.ok:
            return _fail(res, f"generating release/{a}")
        _done(t0, f": release/{a}/ holds {len(list((course / 'release' / a).glob('*.ipynb')))} notebooks")
    return 0


def _forget_demo_students(course: Path) -> None:
    """Take an earlier demo's students out of the gradebook.

    nbgrader refuses to regenerate an assignment whose notebooks changed while it has
    submissions; the demo's own hand-ins must not block it (real students are left alone).
    """
    if not (course / "gradebook.db").exists():
        return
    from nbgrader.api import Gradebook, MissingEntry

    from . import autograde

    with Gradebook(autograde.default_db_url(course)) as gb:
        for s in demo_class.DEMO_STUDENTS + quiz_class.QUIZ_STUDENTS:
            try:
                gb.remove_student(s.student_id)
            except MissingEntry:
                pass


def cmd_demo(course: Path) -> int:
    total = 6
    names = assignments(course)
    print(f"Demo class for {course.name}: assignments {', '.join(names)}; "
          f"{len(demo_class.DEMO_STUDENTS)} students\n")
    if _stray_checkpoints(course):
        return 1
    # the demo's HW2 checkpoints are trained on generated images: grade them on generated ones
    os.environ[HW2_TEST_ENV] = "synthetic"
    _forget_demo_students(course)
    t0 = _step(1, total, "regenerate release/ from source/ (nbgrader generate_assignment)")
    for a in names:
        res = nbgrader(course, "generate_assignment", a, "--force")
        if not res.ok:
            return _fail(res, f"generating release/{a}")
    _done(t0)

    t0 = _step(2, total, "hand in: create the demo class under submitted/")
    for s in demo_class.DEMO_STUDENTS + quiz_class.QUIZ_STUDENTS:
        for sub in ("submitted", "autograded", "feedback"):
            shutil.rmtree(course / sub / s.student_id, ignore_errors=True)
    for a in names:
        if a == quiz_class.ASSIGNMENT:  # the quiz has its own class, who hand in only the quiz
            quiz_class.create_quiz_class(course)
        else:
            demo_class.create_demo_class(course, a)
        if a == hw2_demo.ASSIGNMENT:
            hw2_demo.write_checkpoints(course)
    for s in demo_class.DEMO_STUDENTS:
        print(f"      {s.student_id:15s} {s.description}")
    if quiz_class.ASSIGNMENT in names:
        print(f"      quiz only: {len(quiz_class.QUIZ_STUDENTS)} students "
              f"({', '.join(s.student_id for s in quiz_class.QUIZ_STUDENTS)})")
    _done(t0)

    t0 = _step(3, total, "nbgrader autograde (one broken hand-in never stops the others)")
    for a in names:
        res = nbgrader(course, "autograde", a, "--force")
        if not res.ok:
            print(f"      nbgrader autograde {a} reported errors for some hand-ins (listed in the report below)")
    _done(t0)

    t0 = _step(4, total, "nbgrader generate_feedback")
    for a in names:
        res = nbgrader(course, "generate_feedback", a, "--force")
        if not res.ok:
            print(f"      feedback for {a}: nbgrader reported errors for some hand-ins")
    _done(t0)

    t0 = _step(5, total, "nbgrader export -> grades.csv")
    res = nbgrader(course, "export", "--to", "grades.csv")
    if not res.ok:
        return _fail(res, "exporting grades.csv")
    _done(t0)

    _step(6, total, "report")
    status = 0
    for a in names:
        rows = report.assignment_report(course, a)
        print()
        print(report.format_table(rows, a))
        csv_path = course / "autograded" / f"report_{a}.csv"
        report.write_csv(rows, csv_path)
        expected_broken = {s.student_id for s in demo_class.DEMO_STUDENTS if s.base == "broken-json"}
        for r in rows:
            if r.status != "graded" and r.student_id not in expected_broken:
                print(f"cnn-course: {r.student_id} was not graded: {r.reason}", file=sys.stderr)
                status = 1
        if a == quiz_class.ASSIGNMENT:
            text, csv_items, png_items = items.run(course, a)
            print()
            print(text)
            print(f"wrote {csv_items} and {png_items}")
    print()
    print(f"Gradebook:  {course / 'gradebook.db'}")
    print(f"Grades:     {course / 'grades.csv'} (nbgrader export), {course / 'autograded'}/report_<assignment>.csv")
    print(f"Feedback:   {course / 'feedback'}/<student>/<assignment>/<notebook>.html")
    print(f"Graded:     {course / 'autograded'}/<student>/<assignment>/<notebook>.ipynb")
    return status


def cmd_autograde(course: Path, assignment: str, jobs: int, db_url: str | None, student: str | None) -> int:
    from . import autograde

    known = assignments(course)
    if assignment not in known:
        print(f"cnn-course: unknown assignment {assignment!r}; expected one of {', '.join(known)}", file=sys.stderr)
        return 2
    t0 = time.perf_counter()
    try:
        results = autograde.autograde(course, assignment, jobs=jobs, db_url=db_url, student=student)
    except (ValueError, FileNotFoundError, RuntimeError) as exc:
        print(f"cnn-course: {exc}", file=sys.stderr)
        return 2
    print(f"graded {len(results)} hand-ins of {assignment!r} with {jobs} worker(s) "
          f"in {time.perf_counter() - t0:.1f} s\n")
    rows = [r for r in report.assignment_report(course, assignment) if r.student_id in results]
    print(report.format_table(rows, assignment))
    print(f"\nfeedback: {course / 'feedback'}/<student>/{assignment}/; "
          f"statuses: {autograde.outcome_dir(course, assignment)}")
    return 0


def cmd_report(course: Path, assignment: str, csv_file: str | None, with_items: bool = False) -> int:
    known = assignments(course)
    if assignment not in known:
        print(f"cnn-course: unknown assignment {assignment!r}; expected one of {', '.join(known)}", file=sys.stderr)
        return 2
    rows = report.assignment_report(course, assignment)
    print(report.format_table(rows, assignment))
    if csv_file:
        report.write_csv(rows, Path(csv_file))
        print(f"wrote {csv_file}")
    if with_items:
        text, csv_items, png_items = items.run(course, assignment)
        print()
        print(text)
        print(f"wrote {csv_items} and {png_items}")
    return 0


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="cnn-course", description="Instructor commands of the CNN lecture course.")
    sub = parser.add_subparsers(dest="command", required=True)
    p = sub.add_parser("release", help="regenerate release/ from source/ with nbgrader")
    p.add_argument("--course", default=".", help="course root (default: current directory)")
    p = sub.add_parser("demo", help="grade the demo class end to end and print the scores")
    p.add_argument("--course", default=".", help="course root (default: current directory)")
    p = sub.add_parser("autograde", help="grade every hand-in: sandboxed kernels, parallel workers")
    p.add_argument("assignment")
    p.add_argument("--course", default=".", help="course root (default: current directory)")
    p.add_argument("--jobs", type=int, default=1, help="students graded in parallel (default 1)")
    p.add_argument("--db", dest="db_url", help="gradebook URL (default: sqlite:///DIR/gradebook.db), "
                   "e.g. postgresql+psycopg2://user@host/db")
    p.add_argument("--student", help="grade only this student")
    p = sub.add_parser("report", help="one row per student of an assignment")
    p.add_argument("assignment")
    p.add_argument("--course", default=".", help="course root (default: current directory)")
    p.add_argument("--csv", dest="csv_file", help="also write the rows to this CSV file")
    p.add_argument("--items", action="store_true",
                   help="item analysis: per question share right and common wrong answers, totals; "
                        "writes autograded/ASSIGNMENT_items.csv and .png")
    args = parser.parse_args(argv)
    course = _course(args.course)
    if args.command == "release":
        return cmd_release(course)
    if args.command == "demo":
        return cmd_demo(course)
    if args.command == "autograde":
        return cmd_autograde(course, args.assignment, args.jobs, args.db_url, args.student)
    return cmd_report(course, args.assignment, args.csv_file, args.items)


if __name__ == "__main__":
    sys.exit(main())
