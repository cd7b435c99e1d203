"""Autograde 40 lecture hand-ins: stock `nbgrader autograde` (serial) vs `cnn-course autograde --jobs 2`.

Both grade the same hand-ins (the demo class's kinds, repeated) in fresh copies of the
course; the table shows wall time, time per student and the speed-up, and the script
checks that both gave every student the same score. Exits non-zero when the speed-up is
below 1.8x, when a lecture notebook takes more than 10 s per student, or when a score differs.

    python bench/autograde.py [--students 40] [--jobs 2]
"""

from __future__ import annotations

import argparse
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from cnn_course.demo import lecture as demo_class  # noqa: E402
from cnn_course.layout import Course  # noqa: E402
from cnn_course.nbgrader_run import nbgrader  # noqa: E402
from cnn_course.reports import report  # noqa: E402
from cnnlib.machine import describe_cpu  # noqa: E402

TARGET_SPEEDUP = 1.8
TARGET_PER_STUDENT_S = 10.0


NOTEBOOK = "01_images_as_tensors"  # the workload: one lecture notebook per hand-in


def make_course(dest: Path, students: int) -> Path:
    # only the lecture assignment, only NOTEBOOK: other notebooks would multiply the work
    keep = shutil.ignore_patterns(*[p.name for p in (ROOT / "source" / "lecture").glob("*.ipynb")
                                    if p.stem != NOTEBOOK])
    for folder in ("source", "release"):
        shutil.copytree(ROOT / folder / "lecture", dest / folder / "lecture", ignore=keep)
    shutil.copy(ROOT / "nbgrader_config.py", dest / "nbgrader_config.py")
    kinds = [s for s in demo_class.DEMO_STUDENTS if s.base != "broken-json"]
    for a in sorted(p.name for p in (dest / "release").iterdir()):
        for i in range(students):
            s = kinds[i % len(kinds)]
            clone = demo_class.DemoStudent(f"{s.student_id}_{i:03d}", s.description, s.base, s.answers)
            folder = dest / "submitted" / clone.student_id / a
            for nb in sorted((dest / "release" / a).glob("*.ipynb")):
                demo_class.write_hand_in(clone, nb, dest / "source" / a / nb.name, folder / nb.name)
            (folder / "timestamp.txt").write_text("2025-10-15 09:00:00.000000 UTC")
    return dest


def rows(course: Path) -> dict[str, report.Row]:
    return {r.student_id: r for r in report.assignment_report(Course(course), "lecture")}


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--students", type=int, default=40)
    ap.add_argument("--jobs", type=int, default=2)
    args = ap.parse_args()
    tmp = Path(tempfile.mkdtemp(prefix="bench-autograde-"))
    try:
        stock = make_course(tmp / "stock", args.students)
        ours = make_course(tmp / "ours", args.students)
        for c in (stock, ours):
            res = nbgrader(c, "generate_assignment", "lecture", "--force")
            if not res.ok:
                print(res.output[-2000:], file=sys.stderr)
                return 1
        t0 = time.perf_counter()
        res = nbgrader(stock, "autograde", "lecture", "--force")
        t_stock = time.perf_counter() - t0
        if not res.ok:
            print(res.output[-2000:], file=sys.stderr)
        t0 = time.perf_counter()
        proc = subprocess.run([sys.executable, "-m", "cnn_course", "autograde", "lecture", "--course", str(ours),
                               "--jobs", str(args.jobs)], capture_output=True, text=True,
                              env={**os.environ, "PYTHONPATH": str(ROOT)})
        t_ours = time.perf_counter() - t0
        if proc.returncode != 0:
            print(proc.stdout[-2000:], proc.stderr[-2000:], file=sys.stderr)
            return 1
        stock_rows, our_rows = rows(stock), rows(ours)
        differ = sorted(s for s in stock_rows.keys() | our_rows.keys()
                        if getattr(stock_rows.get(s), "score", None) != getattr(our_rows.get(s), "score", None))
        same = not differ
        for s in differ:  # say which hand-ins differ, and what cnn-course reported for them
            a, b = stock_rows.get(s), our_rows.get(s)
            print(f"score differs: {s}: stock {getattr(a, 'score', None)}, ours {getattr(b, 'score', None)} "
                  f"({getattr(b, 'status', '')}: {getattr(b, 'reason', '')})", file=sys.stderr)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    n = args.students
    speedup = t_stock / t_ours
    per_student = t_ours * args.jobs / n  # one worker's time per hand-in
    load = os.getloadavg()
    print(f"{n} hand-ins of lecture/01_images_as_tensors on {os.cpu_count()} cores of {describe_cpu()} "
          f"(load average {load[0]:.1f}, {load[1]:.1f}, {load[2]:.1f})\n")
    print(f"{'grader':42s} {'wall s':>8s} {'s/student':>10s}")
    print(f"{'stock nbgrader autograde (serial)':42s} {t_stock:8.1f} {t_stock / n:10.2f}")
    print(f"{f'cnn-course autograde --jobs {args.jobs} (sandboxed)':42s} {t_ours:8.1f} {per_student:10.2f}")
    print(f"\nspeed-up {speedup:.2f}x (target >= {TARGET_SPEEDUP}x); per-student {per_student:.2f} s "
          f"(target <= {TARGET_PER_STUDENT_S:g} s); scores identical: {same}")
    ok = speedup >= TARGET_SPEEDUP and per_student <= TARGET_PER_STUDENT_S and same
    if not ok:
        print("MISSED a target", file=sys.stderr)
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
