"""``cnn-course autograde``: stock nbgrader autograde, hardened, sandboxed and parallel.

For an assignment, every ``submitted/<student>/<assignment>`` folder is graded like this:

1. :mod:`~cnn_course.grading.handin` reads each hand-in: broken or missing notebooks are
   recorded (they score zero), renamed ones are matched, cell order and metadata restored.
2. The students, cut into chunks, are graded by ``--jobs`` workers. Each worker has a
   private course folder (the course's ``nbgrader_config.py`` plus
   :mod:`~cnn_course.grading.private_config`, ``source/``, its own SQLite gradebook), so
   workers never share a database lock; for each chunk it takes, it adds those students'
   normalised hand-ins and runs plain ``nbgrader autograde`` there. Kernels start in the sandbox (:mod:`~cnn_course.grading.kernels`) and run
   under :class:`~cnn_course.grading.execute.SandboxExecute` (kernel deaths, timeouts, output
   floods). A student whose worker failed is graded again alone.
3. Feedback is rendered by ``nbgrader generate_feedback`` (the course's configuration removes
   hidden tests, :class:`~cnn_course.reports.feedback.RedactHiddenTests`), and
   :mod:`~cnn_course.grading.results` copies everything into the course, one student at a time.
"""

from __future__ import annotations

import math
import os
import shutil
import subprocess
from collections import deque
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import nbformat

from .. import editions
from ..layout import Course
from ..nbgrader_run import NBGRADER, course_env
from . import gradebook, handin, results, sandbox
from .execute import OUTCOMES_ENV

PRIVATE_CONFIG = Path(__file__).with_name("private_config.py")
CHUNKS_PER_WORKER = 3  # students are graded in about this many chunks per worker (see Grader.run)
MIN_CHUNK = 3  # of at least this many students: each chunk is one nbgrader process (about 5 s of start-up)


def load_release(course: Course, assignment: str) -> dict[str, nbformat.NotebookNode]:
    """The release notebooks of ``assignment`` by stem; raises FileNotFoundError when there are none."""
    paths = course.release_notebooks(assignment)
    if not paths:
        raise FileNotFoundError(f"no notebooks in {course.release(assignment)}; run `cnn-course release` first")
    return {p.stem: nbformat.read(p, as_version=4) for p in paths}


def _run(cmd: list[str], cwd: Path, env: dict, log: Path) -> int:
    with open(log, "a", encoding="utf-8") as fh:
        fh.write(f"$ {' '.join(cmd)}\n")
        fh.flush()
        return subprocess.run(cmd, cwd=cwd, env=env, stdout=fh, stderr=subprocess.STDOUT, check=False).returncode


class Grader:
    """One autograde run of one assignment (see the module doc)."""

    def __init__(self, course: Course, assignment: str, jobs: int = 1, db_url: str | None = None,
                 limits: sandbox.Limits | None = None):
        if jobs < 1:
            raise ValueError(f"--jobs: expected a number of workers >= 1, got {jobs}")
        self.course, self.assignment, self.jobs = course, assignment, jobs
        self.db_url = db_url or course.configured_db_url()
        self.limits = limits or sandbox.Limits()
        self.release = load_release(course, assignment)
        self.tmp = course.private_run(assignment)
        self.log = self.tmp / "template" / "nbgrader.log"

    # -- private courses -----------------------------------------------------------------
    def _template(self) -> Path:
        """A private course with source/ and a gradebook holding the assignment (nbgrader generate)."""
        tpl = self.tmp / "template"
        (tpl / "source").mkdir(parents=True)
        # the default edition of the source, as `cnn-course release` generates it last (the course gradebook's)
        editions.build_assignment(self.course.source(self.assignment), tpl / "source" / self.assignment,
                                  editions.DEFAULT)
        self._write_config(tpl)
        rc = _run([*NBGRADER, "generate_assignment", self.assignment, "--force"], tpl, course_env(), self.log)
        if rc != 0:
            tail = self.log.read_text(encoding="utf-8")[-3000:]
            raise RuntimeError(f"nbgrader generate_assignment {self.assignment} failed:\n{tail}")
        with gradebook.open_gradebook(self.db_url) as master, \
                gradebook.open_gradebook(f"sqlite:///{tpl / 'gradebook.db'}") as gb:
            try:
                gradebook.set_duedate(gb, self.assignment, master.find_assignment(self.assignment).duedate)
            except Exception:  # not in the course gradebook yet: no due date
                pass
        return tpl

    def _write_config(self, root: Path) -> None:
        (root / "nbgrader_config.py").write_text(
            "# cnn-course autograde: a private grading run; the course's configuration, then the run's own\n"
            f"load_subconfig({str(self.course.config)!r})  # noqa: F821\n"
            f"load_subconfig({str(PRIVATE_CONFIG)!r})  # noqa: F821\n", encoding="utf-8")

    def _private_course(self, tpl: Path, name: str) -> Path:
        root = self.tmp / name
        shutil.copytree(tpl / "source", root / "source")
        shutil.copy(tpl / "gradebook.db", root / "gradebook.db")
        self._write_config(root)
        return root

    def _hand_in(self, root: Path, hand_ins: dict[str, handin.HandIn]) -> None:
        """Put the normalised hand-ins of these students (and their other files) into ``root``."""
        for sid, h in hand_ins.items():
            dest = root / "submitted" / sid / self.assignment
            shutil.copytree(self.course.submitted(sid, self.assignment), dest, symlinks=False,
                            ignore=shutil.ignore_patterns("*.ipynb"), ignore_dangling_symlinks=True)
            for stem, nb in h.notebooks.items():
                nbformat.write(nb, dest / f"{stem}.ipynb")

    # -- grading -------------------------------------------------------------------------
    def _grade(self, root: Path, slot: int, uid: tuple[int, int] | None) -> None:
        """Plain ``nbgrader autograde`` over the private course ``root``, kernels sandboxed."""
        workspace = self.course.sandbox_workspace(slot)
        settings = sandbox.SandboxSettings(str(workspace), *(uid or (None, None)), limits=self.limits)
        env = course_env()
        env[sandbox.ENV_VAR] = settings.to_env()
        env[OUTCOMES_ENV] = str(root / "outcomes")
        try:  # no --force: students graded by an earlier run in this folder are skipped
            _run([*NBGRADER, "autograde", self.assignment], root, env, root / "nbgrader.log")
        finally:
            if uid:
                sandbox.kill_user_processes(uid[0])
            shutil.rmtree(workspace, ignore_errors=True)

    def _feedback(self, root: Path) -> None:
        """Feedback pages (the course's configuration removes hidden tests from them)."""
        _run([*NBGRADER, "generate_feedback", self.assignment, "--force"], root, course_env(),
             root / "nbgrader.log")

    def _graded(self, root: Path, sid: str) -> bool:
        """Whether the private run ``root`` graded every notebook ``sid`` handed in."""
        stems = [p.stem for p in (root / "submitted" / sid / self.assignment).glob("*.ipynb")]
        return all((root / "outcomes" / sid / f"{s}.json").exists()
                   and (root / "autograded" / sid / self.assignment / f"{s}.ipynb").exists() for s in stems)

    def _copy_student(self, solo: Path, root: Path, sid: str) -> None:
        for sub in ("autograded", "outcomes"):
            src = solo / sub / sid
            if src.exists():
                shutil.copytree(src, root / sub / sid, dirs_exist_ok=True)
        with gradebook.open_gradebook(f"sqlite:///{solo / 'gradebook.db'}") as a, \
                gradebook.open_gradebook(f"sqlite:///{root / 'gradebook.db'}") as b:
            gradebook.copy_submission(a, b, self.assignment, sid)

    def _worker(self, tpl: Path, i: int, chunks: deque, hand_ins: dict, uid) -> tuple[Path, list[str]]:
        """Grade chunks of students from the queue until it is empty; one private course, one feedback run."""
        root, mine = self._private_course(tpl, f"worker-{i}"), []
        while True:
            try:  # workers take from both ends: neighbours in the list (a section, a group) spread out
                chunk = chunks.pop() if i % 2 else chunks.popleft()
            except IndexError:
                break
            self._hand_in(root, {s: hand_ins[s] for s in chunk})
            self._grade(root, i, uid)
            for s in [s for s in chunk if not self._graded(root, s)]:  # whatever broke that run, grade these alone
                solo = self._private_course(tpl, f"worker-{i}-{s}")
                self._hand_in(solo, {s: hand_ins[s]})
                self._grade(solo, i, uid)
                if self._graded(solo, s):
                    self._copy_student(solo, root, s)
                else:  # not again in this folder's next runs: the report says it could not be graded
                    shutil.rmtree(root / "submitted" / s, ignore_errors=True)
            mine += chunk
        if mine:
            self._feedback(root)
        return root, mine

    def run(self, students: list[str]) -> dict[str, results.StudentResult]:
        """Grade ``students``; returns their results (also written for the report).

        The students are cut into chunks (about three per worker) that the workers take in
        turn, so that a worker held up by a hand-in that runs into the time limit grades fewer.
        """
        hand_ins = {sid: handin.read_hand_in(self.course.submitted(sid, self.assignment), self.release)
                    for sid in students}
        res = {sid: results.from_hand_in(sid, hand_ins[sid]) for sid in students}
        gradable = [s for s in students if hand_ins[s].notebooks]
        tpl = self._template()
        size = max(MIN_CHUNK, math.ceil(len(gradable) / (self.jobs * CHUNKS_PER_WORKER)))
        chunks = deque(gradable[k:k + size] for k in range(0, len(gradable), size))  # pop/popleft: thread-safe
        jobs = max(1, min(self.jobs, len(chunks)))  # no worker without a chunk to grade
        with sandbox.claimed_users(jobs) as users, ThreadPoolExecutor(jobs) as pool:
            done = list(pool.map(lambda i: self._worker(tpl, i, chunks, hand_ins, users[i]), range(jobs)))
        where = {sid: root for root, mine in done for sid in mine}
        collector = results.Collector(self.course, self.assignment, self.db_url, list(self.release),
                                      tpl / "gradebook.db")
        collector.collect(where, res, {sid: list(hand_ins[sid].notebooks) for sid in students})
        self._keep_logs([root for root, _ in done])
        return res

    def _keep_logs(self, roots: list[Path]) -> None:
        logs = self.course.outcomes(self.assignment) / "logs"
        shutil.rmtree(logs, ignore_errors=True)
        logs.mkdir(parents=True)
        for root in [self.tmp / "template", *roots]:
            if (root / "nbgrader.log").exists():
                shutil.copy(root / "nbgrader.log", logs / f"{root.name}.log")
        self.course.remember_run(self.assignment, self.db_url, self.jobs, logs)

    def cleanup(self) -> None:
        shutil.rmtree(self.tmp, ignore_errors=True)


def students_of(course: Course, assignment: str, student: str | None = None) -> list[str]:
    """Students with a hand-in of ``assignment`` (only ``student`` when given; ValueError if absent)."""
    found = course.students(assignment)
    if student is not None:
        if student not in found:
            raise ValueError(f"no hand-in for student {student!r}: expected the folder "
                             f"{course.submitted(student, assignment)}")
        return [student]
    return found


def autograde(course: Course, assignment: str, jobs: int = 1, db_url: str | None = None,
              student: str | None = None, keep: bool = False) -> dict[str, results.StudentResult]:
    """Grade every hand-in of ``assignment`` (or one ``student``); see the module doc.

    Raises ValueError for a bad ``jobs`` or an unknown ``student``, FileNotFoundError
    when ``release/<assignment>`` has no notebooks.
    """
    os.environ["PATH"] = course_env()["PATH"]  # nbgrader's Gradebook runs `alembic` by name
    students = students_of(course, assignment, student)
    for root in {course.root.resolve(), sandbox.tool_checkout() or course.root.resolve()}:
        sandbox.protect_course(root)
    grader = Grader(course, assignment, jobs, db_url)
    try:
        return grader.run(students)
    finally:
        if not keep:
            grader.cleanup()
