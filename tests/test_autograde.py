"""`cnn-course autograde`: every hostile hand-in of tests/fixtures/submissions, graded in one run.

One module-scoped run grades all kinds with ``--jobs 2``; the tests read its report, graded
notebooks and feedback. The hardened grader's per-cell grades of the demo class are compared
with stock ``nbgrader autograde`` (scores must be identical for well-behaved hand-ins).
"""

from __future__ import annotations

import hashlib
import html
import json
import re
import sys
from pathlib import Path

import nbformat
import pytest
from conftest import RELEASE, ROOT, SOURCE, cnn_course, copy_course

sys.path.insert(0, str(Path(__file__).parent / "fixtures" / "submissions"))
import kinds  # noqa: E402

from cnn_course import editions  # noqa: E402
from cnn_course.grading import sandbox  # noqa: E402
from cnn_course.layout import Course  # noqa: E402
from cnn_course.nbgrader_run import nbgrader  # noqa: E402
from cnn_course.reports import feedback, report  # noqa: E402

pytestmark = [pytest.mark.slow, pytest.mark.xdist_group("hostile")]  # one worker grades the kinds once

TIMEOUT_S = 15  # per-cell limit in the test course (the real course uses 60 s)


def make_course(path: Path) -> Path:
    """A course holding one assignment, `lecture`, with one notebook: the one the fixtures are built from.

    The hostile kinds, the stock-equality run and the PostgreSQL run all grade notebook 01 only,
    so other notebooks would read as "missing" and only make the runs longer.
    """
    course = copy_course(path, assignments=("lecture",))
    for folder in ("source", "release", "release-en"):
        for nb in (course / folder / "lecture").glob("*.ipynb"):
            if nb.stem != kinds.NB:
                nb.unlink()
    with open(course / "nbgrader_config.py", "a", encoding="utf-8") as fh:
        fh.write(f"\nc.Execute.timeout = {TIMEOUT_S}\n")
    res = nbgrader(course, "db", "assignment", "add", "lecture", f"--duedate={kinds.DUE}")
    assert res.ok, res.output
    return course


def digest(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


@pytest.fixture(scope="module")
def graded(tmp_path_factory):
    course = make_course(tmp_path_factory.mktemp("hostile") / "course")
    built = kinds.build(course, RELEASE / "lecture", SOURCE / "lecture")
    before = {p: digest(p) for p in [*(course / "source").rglob("*"), *(course / "submitted").rglob("*")]
              if p.is_file()}
    proc = cnn_course("autograde", "lecture", "--course", str(course), "--jobs", "2")
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-3000:]
    rows = {r.student_id: r for r in report.assignment_report(Course(course), "lecture")}
    return course, built, rows, before, proc.stdout


def graded_nb(course: Path, sid: str):
    return nbformat.read(course / "autograded" / sid / "lecture" / f"{kinds.NB}.ipynb", as_version=4)


def outputs_text(nb) -> str:
    parts = []
    for c in nb.cells:
        for o in c.get("outputs", []):
            parts.append(o.get("text", "") if o.output_type == "stream" else json.dumps(o))
    return "\n".join(parts)


def test_there_are_at_least_20_kinds():
    assert len(kinds.KINDS) >= 20
    assert len({k.name for k in kinds.KINDS}) == len(kinds.KINDS)


def test_every_kind_gets_its_exact_score_and_status(graded):
    course, built, rows, _, _ = graded
    assert set(rows) == set(built)
    got = {sid: (r.score, r.status) for sid, r in rows.items()}
    want = {k.name: (k.score, k.status) for k in built.values()}
    assert got == want
    assert all(r.max_score == 15 for r in rows.values())


def test_reasons_say_what_happened(graded):
    _, built, rows, _, _ = graded
    for k in built.values():
        assert k.reason in rows[k.name].reason, (k.name, rows[k.name].reason)
    assert rows["perfect"].reason == ""


def test_kernel_death_names_the_cell_and_keeps_earlier_points(graded):
    course, _, rows, _, _ = graded
    assert "nb01_grayscale_impl" in rows["os_exit"].reason and "exit code 3" in rows["os_exit"].reason
    nb = graded_nb(course, "os_exit")
    errors = {c.metadata.get("nbgrader", {}).get("grade_id"): o.ename for c in nb.cells
              for o in c.get("outputs", []) if o.output_type == "error"}
    assert errors["nb01_grayscale_impl"] == "KernelDied"
    assert errors["nb01_grayscale"] == errors["nb01_cifar_batch"] == "NotRun"
    assert "nb01_to_chw" not in errors  # graded before the death: its 4 points count
    assert "nb01_to_float_impl" in rows["segfault"].reason


def test_rebinding_what_the_tests_use_gains_no_points(graded):
    """Ten ways to switch the tests off from inside the kernel; every answer wrong: zero, graded."""
    _, _, rows, _, _ = graded
    rebinders = [k for k in kinds.KINDS if k.name.startswith("rebinds_") and k.name != "rebinds_checks_honest"]
    assert len(rebinders) >= 10
    assert {k.name: (rows[k.name].score, rows[k.name].status) for k in rebinders} == \
        {k.name: (0, "graded") for k in rebinders}
    assert rows["rebinds_checks_honest"].score == 15  # rebinding costs nothing either: the answers count


def test_timeouts_cost_only_the_cell_that_hung(graded):
    _, _, rows, _, _ = graded
    assert f"ran past the {TIMEOUT_S} s limit (interrupted)" in rows["infinite_loop"].reason
    assert "ignored the interrupt" in rows["ignores_interrupt"].reason


def test_every_student_gets_a_feedback_file(graded):
    course, built, _, _, stdout = graded
    for name in built:
        assert (course / "feedback" / name / "lecture" / f"{kinds.NB}.html").exists(), name
    for name in built:
        assert name in stdout


def _visible_text(path: Path) -> str:
    return html.unescape(re.sub(r"<[^>]+>", "", path.read_text(encoding="utf-8")))


def test_feedback_never_contains_hidden_tests(graded):
    course, _, _, _, _ = graded
    # the graded notebooks are the default edition's: its hidden lines (tr() resolved to Chinese)
    secret = feedback.hidden_lines(editions.edition(
        nbformat.read(SOURCE / "lecture" / f"{kinds.NB}.ipynb", as_version=4), editions.DEFAULT))
    assert len(secret) >= 10
    pages = list((course / "feedback").rglob("*.html"))
    assert len(pages) == len(kinds.KINDS)
    for page in pages:
        raw = page.read_text(encoding="utf-8")
        text = _visible_text(page)
        assert "BEGIN HIDDEN TESTS" not in raw and "BEGIN HIDDEN TESTS" not in text, page
        for line in secret:
            assert line not in text and html.escape(line) not in raw, (page, line)
    # the test cells ran outside the kernel: printing In[] in the hand-in shows no hidden test
    shown = outputs_text(graded_nb(course, "reads_hidden_tests"))
    assert "gray of pure red" not in shown and "純紅色的灰階值" not in shown  # either edition's hidden test name
    assert any("BEGIN HIDDEN TESTS" in c.source for c in graded_nb(course, "reads_hidden_tests").cells)  # instructor's


def test_feedback_shows_points_and_hints(graded):
    course, _, _, _, _ = graded
    text = _visible_text(course / "feedback" / "patched_numpy" / "lecture" / f"{kinds.NB}.html")
    assert "permute 才會搬動軸" in text  # the hint of the failed to_chw test (the default edition: 繁體中文)
    assert "Score: 0.0 / 4.0" in text and "Score: 11.0 / 15.0" in text  # per test cell and in total
    assert "Traceback (most recent call last)" not in text and "---------" not in text
    missing = _visible_text(course / "feedback" / "broken_json" / "lecture" / f"{kinds.NB}.html")
    assert "could not be graded" in missing and "is not valid JSON" in missing


def probe(course: Path) -> dict:
    text = outputs_text(graded_nb(course, "probe"))
    return json.loads(text.split("PROBE ", 1)[1].splitlines()[0])


@pytest.mark.requires_root
def test_sandbox_runs_as_an_unprivileged_user_in_its_own_working_copy(graded):
    p = probe(graded[0])
    assert p["uid"] != 0 and p["euid"] != 0
    assert p["user"].startswith(sandbox.USER_PREFIX)
    assert p["cwd_owner"] == p["uid"] and p["cwd_mode"] == "0o700"
    assert p["write_cwd"] == "allowed"
    assert not [k for k in p["env"] if "DB" in k or "TOKEN" in k or k == sandbox.ENV_VAR]
    # a kernel forked from the zygote looks like a freshly started `python -c PRELOAD -f FILE`
    assert p["fresh_process"] == {"argv": ["-c", "-f"], "session_leader": True, "umask": "0o77", "stdin": True,
                                  "tmp": True, "mplconfig": True}


@pytest.mark.requires_root
def test_concurrent_runs_claim_different_sandbox_users():
    with sandbox.claimed_users(2) as mine, sandbox.claimed_users(1) as theirs:
        assert len(set(mine + theirs)) == 3


def test_sandbox_limits_memory_cpu_processes_and_file_size(graded):
    course, _, _, _, _ = graded
    p = probe(course)
    lim = sandbox.Limits()
    assert p["RLIMIT_DATA"] == [lim.memory] * 2
    assert p["RLIMIT_CPU"] == [lim.cpu_seconds] * 2
    assert p["RLIMIT_NPROC"] == [lim.processes] * 2
    assert p["RLIMIT_FSIZE"] == [lim.file_size] * 2
    assert p["RLIMIT_CORE"] == [0, 0]
    assert p["write_past_fsize"] == "OSError"  # EFBIG
    assert "MemoryError" in outputs_text(graded_nb(course, "memory_blowup"))


@pytest.mark.requires_root
def test_sandbox_cannot_signal_the_grader_or_read_private_files(graded):
    course, _, _, _, _ = graded
    p = probe(course)
    for what in ("kill_parent", "read_source", "list_source", "read_tools_source", "read_gradebook",
                 "read_other_student", "list_submitted"):
        assert p[what] == "PermissionError", what
    assert p["root_home"] in ("PermissionError", [".pyenv"], [".cache"], [".cache", ".pyenv"])
    assert "PermissionError" in outputs_text(graded_nb(course, "kill_grader"))


@pytest.mark.requires_root
def test_hostile_writes_change_nothing(graded):
    course, _, rows, before, _ = graded
    out = outputs_text(graded_nb(course, "writes_course_files"))
    writes = re.findall(r"WRITE (\S+) (\w+)", out)
    assert len(writes) == 5 and all(result == "PermissionError" for _, result in writes), writes
    after = {p: digest(p) for p in before}
    assert after == before
    assert not (course / "source" / "lecture" / "extra.py").exists()
    assert rows["perfect"].score == 15
    reads = re.findall(r"READ (\S+) (\w+)", out := outputs_text(graded_nb(course, "reads_hidden_tests")))
    assert [r for _, r in reads] == ["PermissionError"] * 3, reads


def test_huge_output_is_cut(graded):
    course, _, _, _, _ = graded
    path = course / "autograded" / "huge_output" / "lecture" / f"{kinds.NB}.ipynb"
    assert path.stat().st_size < 3_000_000  # 300,000 lines (15 MB) were printed
    assert "line 998 " in outputs_text(graded_nb(course, "huge_output"))
    assert "line 299999 " not in outputs_text(graded_nb(course, "huge_output"))


def test_grade_one_student_alone_gives_the_same_score(graded):
    course, _, rows, _, _ = graded
    proc = cnn_course("autograde", "lecture", "--course", str(course), "--student", "patched_torch")
    assert proc.returncode == 0, proc.stderr[-2000:]
    again = {r.student_id: r for r in report.assignment_report(Course(course), "lecture")}
    assert again["patched_torch"].score == rows["patched_torch"].score == 11
    assert again["perfect"].score == 15


def test_unknown_student_and_bad_jobs_are_rejected(graded):
    course = graded[0]
    proc = cnn_course("autograde", "lecture", "--course", str(course), "--student", "nobody")
    assert proc.returncode == 2 and "no hand-in for student 'nobody'" in proc.stderr
    proc = cnn_course("autograde", "lecture", "--course", str(course), "--jobs", "0")
    assert proc.returncode == 2 and "expected a number of workers >= 1, got 0" in proc.stderr


def test_files_a_notebook_writes_land_beside_it_as_with_stock_nbgrader(graded):
    course = graded[0]
    folder = course / "autograded" / "probe" / "lecture"
    assert (folder / "mine.txt").read_text() == "ok"  # written by the probe's cell in its working copy
    assert not (folder / ".kernel-connection.json").exists() and not (folder / "tmp").exists()


# -- the hardened grader agrees with stock nbgrader on well-behaved hand-ins ----------------

def grades_by_cell(url: str, assignment: str = "lecture", notebook: str | None = None) -> dict:
    from nbgrader.api import Gradebook

    out = {}
    with Gradebook(url) as gb:
        for sub in gb.assignment_submissions(assignment):
            for nb in sub.notebooks:
                if notebook is None or nb.name == notebook:
                    for g in nb.grades:
                        out[(sub.student_id, g.name)] = g.score
    return out


def test_fixtures_follow_the_release(tmp_path):
    course = tmp_path / "c"
    kinds.build(course, RELEASE / "lecture", SOURCE / "lecture")
    release = nbformat.read(RELEASE / "lecture" / f"{kinds.NB}.ipynb", as_version=4)
    locked = {c.metadata["nbgrader"]["grade_id"]: c.source for c in release.cells
              if c.metadata.get("nbgrader", {}).get("locked")}
    nb = nbformat.read(course / "submitted" / "perfect" / "lecture" / f"{kinds.NB}.ipynb", as_version=4)
    got = {c.metadata["nbgrader"]["grade_id"]: c.source for c in nb.cells
           if c.metadata.get("nbgrader", {}).get("locked")}
    assert got == locked
    assert ROOT.exists()
