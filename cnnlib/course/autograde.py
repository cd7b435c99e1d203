"""``cnn-course autograde``: stock nbgrader autograde, hardened, sandboxed and parallel.

For an assignment, every ``submitted/<student>/<assignment>`` folder is graded like this:

1. :mod:`~cnnlib.course.handin` reads each hand-in: broken or missing notebooks are
   recorded (they score zero), renamed ones are matched, cell order and metadata restored.
2. The students are split over ``--jobs`` workers. Each worker is one plain
   ``nbgrader autograde`` run in a private course folder (the course's
   ``nbgrader_config.py`` plus a few lines, ``source/``, its students' normalised hand-ins
   and its own SQLite gradebook), so workers never share a database lock. Kernels start
   through :class:`~cnnlib.course.sandbox.SandboxKernelManager` (own user per worker, limits,
   working copy; forked from a process that imported torch once) and run under
   :class:`~cnnlib.course.execute.SandboxExecute` (kernel deaths, timeouts, output floods).
   A student whose worker failed is graded again alone.
3. The supervisor copies each student's grades into the course gradebook (``--db``, SQLite
   or PostgreSQL), one at a time; copies graded notebooks to ``autograded/``; renders
   feedback without hidden tests to ``feedback/``; and records each student's status and
   reason in ``autograded/.grading/<assignment>/<student>.json`` for ``cnn-course report``.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import tempfile
import warnings
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path

import nbformat

from . import feedback, gradebook_sync, handin, sandbox
from .execute import OUTCOMES_ENV
from .nbgrader_cli import course_env

# stock nbgrader's command line (see nbgrader_main: one unused, slow import left out)
NBGRADER = [sys.executable, "-m", "cnnlib.course.nbgrader_main"]

STATUS_ORDER = ("invalid", "missing", "kernel-died", "timeout", "error", "graded")

CONFIG_TAIL = """

# ---- added by cnn-course autograde for one private grading run ----
from nbgrader.preprocessors import (IgnorePattern, LimitOutput, SaveAutoGrades,
                                    AssignLatePenalties, CheckCellMetadata)
from nbconvert.preprocessors import ClearMetadataPreprocessor
from cnnlib.course.execute import SandboxExecute
c.CourseDirectory.root = {root!r}
c.CourseDirectory.db_url = "sqlite:///" + {db!r}
c.Autograde.autograde_preprocessors = [SandboxExecute, IgnorePattern, ClearMetadataPreprocessor, LimitOutput,
                                       SaveAutoGrades, AssignLatePenalties, CheckCellMetadata]
c.SandboxExecute.kernel_manager_class = "cnnlib.course.sandbox.SandboxKernelManager"

# this gradebook is a private, throw-away copy: no fsync after every commit
import sqlalchemy


@sqlalchemy.event.listens_for(sqlalchemy.engine.Engine, "connect")
def _no_fsync(dbapi_connection, _record):
    if type(dbapi_connection).__module__.startswith("sqlite3"):
        dbapi_connection.execute("PRAGMA synchronous = OFF")
"""


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


def outcome_dir(course: Path, assignment: str) -> Path:
    return course / "autograded" / ".grading" / assignment


def default_db_url(course: Path) -> str:
    return f"sqlite:///{(course / 'gradebook.db').resolve()}"


def students_of(course: Path, assignment: str, student: str | None = None) -> list[str]:
    """Students with a ``submitted/<student>/<assignment>`` folder (only ``student`` when given)."""
    sub = course / "submitted"
    found = sorted(p.name for p in sub.glob("*") if (p / assignment).is_dir()) if sub.is_dir() else []
    if student is not None:
        if student not in found:
            raise ValueError(f"no hand-in for student {student!r}: expected the folder {sub / student / assignment}")
        return [student]
    return found


def load_release(course: Path, assignment: str) -> dict[str, nbformat.NotebookNode]:
    """The release notebooks of ``assignment`` by stem; raises FileNotFoundError when there are none."""
    paths = sorted((course / "release" / assignment).glob("*.ipynb"))
    if not paths:
        raise FileNotFoundError(f"no notebooks in {course / 'release' / assignment}; run `cnn-course release` first")
    return {p.stem: nbformat.read(p, as_version=4) for p in paths}


def _run(cmd: list[str], cwd: Path, env: dict, log: Path) -> int:
    with open(log, "a", encoding="utf-8") as fh:
        fh.write(f"$ {' '.join(cmd)}\n")
        fh.flush()
        return subprocess.run(cmd, cwd=cwd, env=env, stdout=fh, stderr=subprocess.STDOUT, check=False).returncode


class Grader:
    """One autograde run of one assignment (see the module doc)."""

    def __init__(self, course: Path, assignment: str, jobs: int = 1, db_url: str | None = None,
                 limits: sandbox.Limits | None = None):
        if jobs < 1:
            raise ValueError(f"--jobs: expected a number of workers >= 1, got {jobs}")
        self.course = Path(course).resolve()
        self.assignment = assignment
        self.jobs = jobs
        self.db_url = db_url or default_db_url(self.course)
        self.limits = limits or sandbox.Limits()
        self.release = load_release(self.course, assignment)
        self.secret = []
        for stem in self.release:
            src = self.course / "source" / assignment / f"{stem}.ipynb"
            self.secret += feedback.hidden_lines(nbformat.read(src, as_version=4))
        self.tmp = Path(tempfile.mkdtemp(prefix="cnn-autograde-"))
        self.log = self.tmp / "template" / "nbgrader.log"

    # -- setup ---------------------------------------------------------------------------

    def _template(self) -> Path:
        """A private course with source/ and a gradebook holding the assignment (nbgrader generate)."""
        tpl = self.tmp / "template"
        (tpl / "source").mkdir(parents=True)
        shutil.copytree(self.course / "source" / self.assignment, tpl / "source" / self.assignment)
        self._write_config(tpl)
        rc = _run([*NBGRADER, "generate_assignment", self.assignment, "--force"],
                  tpl, course_env(), self.log)
        if rc != 0:
            tail = self.log.read_text(encoding="utf-8")[-3000:]
            raise RuntimeError(f"nbgrader generate_assignment {self.assignment} failed:\n{tail}")
        with gradebook_sync.open_gradebook(self.db_url) as master, \
                gradebook_sync.open_gradebook(f"sqlite:///{tpl / 'gradebook.db'}") as gb:
            try:
                gradebook_sync.set_duedate(gb, self.assignment, master.find_assignment(self.assignment).duedate)
            except Exception:  # not in the course gradebook yet: no due date
                pass
        return tpl

    def _write_config(self, root: Path) -> None:
        text = (self.course / "nbgrader_config.py").read_text(encoding="utf-8")
        (root / "nbgrader_config.py").write_text(
            text + CONFIG_TAIL.format(root=str(root), db=str(root / "gradebook.db")), encoding="utf-8")

    def _private_course(self, tpl: Path, name: str, hand_ins: dict[str, handin.HandIn]) -> Path:
        root = self.tmp / name
        shutil.copytree(tpl / "source", root / "source")
        shutil.copy(tpl / "gradebook.db", root / "gradebook.db")
        self._write_config(root)
        for sid, h in hand_ins.items():
            src = self.course / "submitted" / sid / self.assignment
            dest = root / "submitted" / sid / self.assignment
            shutil.copytree(src, dest, symlinks=False, ignore=shutil.ignore_patterns("*.ipynb"),
                            ignore_dangling_symlinks=True)
            for stem, nb in h.notebooks.items():
                nbformat.write(nb, dest / f"{stem}.ipynb")
        return root

    # -- grading -------------------------------------------------------------------------

    def _grade(self, root: Path, slot: int, uid: tuple[int, int] | None) -> None:
        """Plain ``nbgrader autograde`` over the private course ``root``, kernels sandboxed."""
        workspace = Path(tempfile.mkdtemp(prefix=f"cnn-sandbox-{slot}-"))
        workspace.chmod(0o711)
        settings = sandbox.SandboxSettings(str(workspace), *(uid or (None, None)), limits=self.limits)
        env = course_env()
        env[sandbox.ENV_VAR] = settings.to_env()
        env[OUTCOMES_ENV] = str(root / "outcomes")
        try:
            _run([*NBGRADER, "autograde", self.assignment, "--force"], root, env,
                 root / "nbgrader.log")
        finally:
            if uid:
                sandbox.kill_user_processes(uid[0])
            shutil.rmtree(workspace, ignore_errors=True)

    def _feedback(self, root: Path) -> None:
        """Feedback from redacted copies; the instructor keeps the full notebooks in autograded-full/."""
        if (root / "autograded").is_dir():
            shutil.copytree(root / "autograded", root / "autograded-full")
        for path in (root / "autograded").glob(f"*/{self.assignment}/*.ipynb"):
            nb = nbformat.read(path, as_version=4)
            nbformat.write(feedback.redact_notebook(nb, self.secret), path)
        _run([*NBGRADER, "generate_feedback", self.assignment, "--force"],
             root, course_env(), root / "nbgrader.log")

    def run(self, students: list[str]) -> dict[str, StudentResult]:
        """Grade ``students``; returns their results (also written for the report)."""
        results = {sid: StudentResult(sid) for sid in students}
        hand_ins = {}
        for sid in students:
            h = handin.read_hand_in(self.course / "submitted" / sid / self.assignment, self.release)
            hand_ins[sid] = h
            for stem, why in h.invalid.items():
                results[sid].add("invalid", why)
                results[sid].notebooks[stem] = {"status": "invalid", "cell": None, "reason": why}
            for stem in h.missing:
                why = f"{stem}.ipynb not handed in"
                results[sid].add("missing", why)
                results[sid].notebooks[stem] = {"status": "missing", "cell": None, "reason": why}
            for note in h.notes:
                results[sid].add("graded", note)
        gradable = [s for s in students if hand_ins[s].notebooks]
        tpl = self._template()
        jobs = max(1, min(self.jobs, len(gradable)))
        batches = [gradable[i::jobs] for i in range(jobs)]

        def work(i: int) -> Path:
            root = self._private_course(tpl, f"worker-{i}", {s: hand_ins[s] for s in batches[i]})
            self._grade(root, i, users[i])
            failed = [s for s in batches[i] if not self._graded(root, s)]
            for s in failed:  # whatever broke that run, grade these students alone
                solo = self._private_course(tpl, f"worker-{i}-{s}", {s: hand_ins[s]})
                self._grade(solo, i, users[i])
                if self._graded(solo, s):
                    self._copy_student(solo, root, s)
            self._feedback(root)
            return root

        with sandbox.claimed_users(jobs) as users, ThreadPoolExecutor(jobs) as pool:
            roots = list(pool.map(work, range(jobs)))
        self._collect(roots, students, hand_ins, results)
        return results

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
        with gradebook_sync.open_gradebook(f"sqlite:///{solo / 'gradebook.db'}") as a, \
                gradebook_sync.open_gradebook(f"sqlite:///{root / 'gradebook.db'}") as b:
            gradebook_sync.copy_submission(a, b, self.assignment, sid)

    # -- results -------------------------------------------------------------------------

    def _collect(self, roots, students, hand_ins, results) -> None:
        where = {}
        for root in roots:
            for p in (root / "submitted").glob("*"):
                where[p.name] = root
        out_dir = outcome_dir(self.course, self.assignment)
        out_dir.mkdir(parents=True, exist_ok=True)
        (out_dir.parent / "README").write_text("cnn-course autograde: one JSON per student (status, reason)\n")
        warnings.filterwarnings("ignore", message=".*not in session.*")  # nbgrader's add_submission
        with gradebook_sync.open_gradebook(self.db_url) as master:
            with gradebook_sync.open_gradebook(f"sqlite:///{self.tmp / 'template' / 'gradebook.db'}") as tpl:
                gradebook_sync.copy_assignment_structure(tpl, master, self.assignment)
            for sid in students:
                res = results[sid]
                root = where.get(sid)
                for sub in ("autograded", "feedback"):
                    shutil.rmtree(self.course / sub / sid / self.assignment, ignore_errors=True)
                graded = False
                if root is not None:
                    with gradebook_sync.open_gradebook(f"sqlite:///{root / 'gradebook.db'}") as private:
                        try:
                            gradebook_sync.copy_submission(private, master, self.assignment, sid)
                            graded = True
                        except Exception as exc:  # nbgrader could not grade it at all
                            res.add("error", f"nbgrader could not grade this hand-in ({type(exc).__name__})")
                    for sub, dest in (("autograded-full", "autograded"), ("feedback", "feedback")):
                        src = root / sub / sid / self.assignment
                        if src.is_dir():
                            shutil.copytree(src, self.course / dest / sid / self.assignment)
                    for stem in hand_ins[sid].notebooks:
                        self._read_outcome(root, sid, stem, res)
                if not graded:
                    stamp = self._timestamp(sid)
                    gradebook_sync.record_ungraded(master, self.assignment, sid, stamp)
                try:
                    sub = master.find_submission(self.assignment, sid)
                    if sub.total_seconds_late > 0:
                        res.add("graded", f"late by {_duration(sub.total_seconds_late)} (handed in {sub.timestamp})")
                    max_scores = {nb.name: nb.max_score for nb in sub.notebooks}
                except Exception:
                    max_scores = {}
                fb = self.course / "feedback" / sid / self.assignment
                for stem in self.release:
                    if not (fb / f"{stem}.html").exists():
                        why = res.notebooks.get(stem, {}).get("reason") or "nbgrader could not grade it"
                        fb.mkdir(parents=True, exist_ok=True)
                        (fb / f"{stem}.html").write_text(feedback.placeholder_html(
                            sid, self.assignment, stem, max_scores.get(stem, 0.0), why), encoding="utf-8")
                (out_dir / f"{sid}.json").write_text(json.dumps(res.to_json(), indent=1), encoding="utf-8")
        logs = out_dir / "logs"
        shutil.rmtree(logs, ignore_errors=True)
        logs.mkdir()
        for root in [self.tmp / "template", *roots]:
            if (root / "nbgrader.log").exists():
                shutil.copy(root / "nbgrader.log", logs / f"{root.name}.log")
        run = {"db_url": self.db_url, "jobs": self.jobs, "logs": str(logs)}
        (out_dir / "run.json").write_text(json.dumps(run), encoding="utf-8")
        os.chmod(out_dir / "run.json", 0o600)

    def _read_outcome(self, root: Path, sid: str, stem: str, res: StudentResult) -> None:
        path = root / "outcomes" / sid / f"{stem}.json"
        if not path.exists():
            out = {"status": "error", "cell": None, "reason": f"{stem}.ipynb: grading stopped (see the nbgrader logs in {outcome_dir(self.course, self.assignment)}/logs)"}
        else:
            out = json.loads(path.read_text(encoding="utf-8"))
        res.notebooks[stem] = out
        if out["status"] != "graded":
            res.add(out["status"], f"{stem}.ipynb: {out['reason']}")

    def _timestamp(self, sid: str):
        from nbgrader.utils import parse_utc

        f = self.course / "submitted" / sid / self.assignment / "timestamp.txt"
        try:
            return parse_utc(f.read_text(encoding="utf-8").strip())
        except Exception:
            return None

    def cleanup(self) -> None:
        shutil.rmtree(self.tmp, ignore_errors=True)


def _duration(seconds: float) -> str:
    s = int(round(seconds))
    d, s = divmod(s, 86400)
    h, s = divmod(s, 3600)
    m, s = divmod(s, 60)
    return (f"{d} d " if d else "") + f"{h:02d}:{m:02d}:{s:02d}"


def autograde(course: Path, assignment: str, jobs: int = 1, db_url: str | None = None,
              student: str | None = None, keep: bool = False) -> dict[str, StudentResult]:
    """Grade every hand-in of ``assignment`` (or one ``student``); see the module doc.

    Raises ValueError for a bad ``jobs`` or an unknown ``student``, FileNotFoundError
    when ``release/<assignment>`` has no notebooks.
    """
    course = Path(course).resolve()
    os.environ["PATH"] = course_env()["PATH"]  # nbgrader's Gradebook runs `alembic` by name
    students = students_of(course, assignment, student)
    sandbox.protect_course(course)
    grader = Grader(course, assignment, jobs, db_url)
    try:
        return grader.run(students)
    finally:
        if not keep:
            grader.cleanup()
