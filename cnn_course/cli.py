"""``cnn-course``: the instructor's commands.

    cnn-course release [--course DIR]                 regenerate both editions from source/ (nbgrader):
                                                      release/ (繁體中文, the default), release-en/ (English)
    cnn-course demo [--course DIR]                    the demo classes, graded end to end
    cnn-course autograde ASSIGNMENT [--course DIR] [--jobs N] [--db URL] [--student ID]
                                                      grade every hand-in, sandboxed and in parallel
    cnn-course report ASSIGNMENT [--course DIR] [--db URL] [--csv FILE] [--items]
                                                      one row per student: score, status, reason;
                                                      --items: per question share right, common wrong
                                                      answers, totals (autograded/<a>_items.csv, .png)
    cnn-course hub start|stop|status [--dir HUBDIR] [--port P] [--students N]
                                                      the course on a JupyterHub on this machine (root)
    cnn-course hub release ASSIGNMENT [--dir HUBDIR]  release to the class (as the hub's instructor)
    cnn-course hub grade ASSIGNMENT [--dir HUBDIR] [--jobs N]
                                                      collect, autograde (sandboxed), feedback, release it

DIR is the course root (the folder holding nbgrader_config.py); it defaults to the
current directory.
"""

from __future__ import annotations

import argparse
import sys
import time

from . import editions
from .layout import Course

MODEL_FILES = ("*.pt", "*.pth", "*.ckpt")


def stray_checkpoints(course: Course) -> int:
    """Refuse model files in source/: nbgrader would release them, and autograde would copy
    them over every student's own (``*.pt`` is not ignored, so that hand-ins keep theirs)."""
    stray = sorted(p for pattern in MODEL_FILES for p in course.source().rglob(pattern))
    if stray:
        print("cnn-course: model files in source/ (from running a source notebook there?): "
              + ", ".join(str(p.relative_to(course.root)) for p in stray)
              + "\n  nbgrader would copy them into release/ for every student; delete or move them first.",
              file=sys.stderr)
        return 1
    return 0


def cmd_release(course: Course) -> int:
    """Both editions of every assignment: release/ (Traditional Chinese) and release-en/ (English)."""
    if stray_checkpoints(course):
        return 1
    print("nbgrader generate_assignment, each edition built from source/ into build/editions/ ...", flush=True)
    return 0 if editions.generate(course.root, course.assignments(), log=lambda line: print(line, flush=True)) else 1


def _known(course: Course, assignment: str) -> bool:
    known = course.assignments()
    if assignment not in known:
        print(f"cnn-course: unknown assignment {assignment!r}; expected one of {', '.join(known)}", file=sys.stderr)
        return False
    return True


def cmd_autograde(course: Course, assignment: str, jobs: int, db_url: str | None, student: str | None) -> int:
    from .grading import autograde
    from .reports import report

    if not _known(course, assignment):
        return 2
    t0 = time.perf_counter()
    try:
        results = autograde.autograde(course, assignment, jobs=jobs, db_url=db_url, student=student)
    except (ValueError, FileNotFoundError, RuntimeError) as exc:
        print(f"cnn-course: {exc}", file=sys.stderr)
        return 2
    print(f"graded {len(results)} hand-ins of {assignment!r} with {jobs} worker(s) "
          f"in {time.perf_counter() - t0:.1f} s\n")
    rows = [r for r in report.assignment_report(course, assignment, db_url) if r.student_id in results]
    print(report.format_table(rows, assignment))
    print(f"\nfeedback: {course.feedback()}/<student>/{assignment}/; statuses: {course.outcomes(assignment)}")
    return 0


def cmd_report(course: Course, assignment: str, db_url: str | None, csv_file: str | None, with_items: bool) -> int:
    from .reports import items, report

    if not _known(course, assignment):
        return 2
    rows = report.assignment_report(course, assignment, db_url)
    print(report.format_table(rows, assignment))
    if csv_file:
        from pathlib import Path

        report.write_csv(rows, Path(csv_file))
        print(f"wrote {csv_file}")
    if with_items:
        text, csv_items, png_items = items.run(course, assignment, db_url)
        print()
        print(text)
        print(f"wrote {csv_items} and {png_items}")
    return 0


def parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="cnn-course", description="Instructor commands of the CNN lecture course.")
    sub = p.add_subparsers(dest="command", required=True)
    course_help = "course root, the folder with nbgrader_config.py (default: current directory)"
    db_help = "gradebook URL (default: the course's, sqlite:///DIR/gradebook.db), e.g. postgresql+psycopg2://user@host/db"
    s = sub.add_parser("release", help="regenerate release/ from source/ with nbgrader")
    s.add_argument("--course", default=".", help=course_help)
    s = sub.add_parser("demo", help="grade the demo classes end to end and print the scores")
    s.add_argument("--course", default=".", help=course_help)
    s = sub.add_parser("autograde", help="grade every hand-in: sandboxed kernels, parallel workers")
    s.add_argument("assignment")
    s.add_argument("--course", default=".", help=course_help)
    s.add_argument("--jobs", type=int, default=1, help="students graded in parallel (default 1)")
    s.add_argument("--db", dest="db_url", help=db_help)
    s.add_argument("--student", help="grade only this student")
    s = sub.add_parser("report", help="one row per student of an assignment")
    s.add_argument("assignment")
    s.add_argument("--course", default=".", help=course_help)
    s.add_argument("--db", dest="db_url", help=db_help + "; default: the one the last autograde wrote to")
    s.add_argument("--csv", dest="csv_file", help="also write the rows to this CSV file")
    s.add_argument("--items", action="store_true",
                   help="item analysis: per question share right and common wrong answers, totals; "
                        "writes autograded/ASSIGNMENT_items.csv and .png")
    s = sub.add_parser("hub", help="the course on a JupyterHub on this machine: start, stop, release, grade")
    s.add_argument("action", choices=("start", "stop", "status", "release", "grade"))
    s.add_argument("assignment", nargs="?", help="for release and grade")
    s.add_argument("--dir", default="/srv/cnn-course", help="the hub's folder (default /srv/cnn-course)")
    s.add_argument("--port", type=int, default=8000, help="start: the hub's port on 127.0.0.1 (default 8000)")
    s.add_argument("--students", type=int, default=3, help="start: student accounts to make (default 3)")
    s.add_argument("--prefix", default="cnn-", help="start: prefix of the accounts and groups (default cnn-)")
    s.add_argument("--assignments", help="start: generate only these (comma-separated; default every assignment)")
    s.add_argument("--jobs", type=int, default=2, help="grade: students graded in parallel (default 2)")
    return p


def cmd_hub(args) -> int:
    if args.action in ("start", "stop", "status"):
        from .hub import server

        only = args.assignments.split(",") if args.assignments else None
        return server.main(args.action, args.dir, args.port, args.students, args.prefix, only)
    from .hub import classroom

    if not args.assignment:
        print(f"cnn-course hub {args.action}: name the assignment, e.g. lecture", file=sys.stderr)
        return 2
    return classroom.main(args.action, args.dir, args.assignment, args.jobs)


def main(argv: list[str] | None = None) -> int:
    try:
        import nbgrader  # noqa: F401
    except ImportError:
        print("cnn-course: nbgrader is not installed: the instructor's tools need the course extra, "
              "`pip install -e '.[course]'` (or `make setup`)", file=sys.stderr)
        return 2
    args = parser().parse_args(argv)
    if args.command == "hub":
        return cmd_hub(args)
    course = Course.at(args.course)
    if args.command == "release":
        return cmd_release(course)
    if args.command == "demo":
        from .demo import run

        return run.run(course, stray_checkpoints)
    if args.command == "autograde":
        return cmd_autograde(course, args.assignment, args.jobs, args.db_url, args.student)
    return cmd_report(course, args.assignment, args.db_url, args.csv_file, args.items)


if __name__ == "__main__":
    sys.exit(main())
