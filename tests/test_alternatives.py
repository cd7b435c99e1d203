"""Every correct answer gets full marks, in any form the instructions allow.

``tests/fixtures/alternatives.py`` holds the hand-ins: an ``alternatives`` student per assignment
(lecture, quiz, HW2) whose every answer is right but written differently from the instructor's
solution, a ``shortcuts`` student (lecture) who calls the library where the exercise is to
compute by hand, and a HW2 ``label thief`` whose ``predict`` looks for the grader's test labels.

One module-scoped run builds a course (the copied release), writes the hand-ins (the release
notebooks with the source's solutions, the fixture's answers over them), trains the HW2
checkpoints on generated images, and grades each assignment once with ``cnn-course autograde
--jobs 2``. HW2 is graded against a test set in a folder only the grader can read, named by
``$CNNLIB_HW2_TEST`` (generated images like ``synthetic``'s, but not a set any kernel can
regenerate from ``cnnlib``); the tests read the gradebook per cell and the graded notebooks.
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path

import nbformat
import numpy as np
import pytest
from conftest import SOURCE, _graded_once, copy_course, grade_meta

sys.path.insert(0, str(Path(__file__).parent / "fixtures"))
import alternatives  # noqa: E402

from cnn_course.demo import hw2 as demo_hw2  # noqa: E402
from cnn_course.demo import lecture as demo_class  # noqa: E402
from cnn_course.layout import Course  # noqa: E402
from cnn_course.reports import report  # noqa: E402

pytestmark = [pytest.mark.slow, pytest.mark.xdist_group("alternatives")]  # one worker grades them once

ALT = "alex_alternatives"
SHORTCUTS = "sid_shortcuts"
THIEF = "tom_thief"
AS_ROOT = os.geteuid() == 0  # the thief is graded only where kernels run as a sandbox user
ON_TIME = "2025-10-15 09:00:00.000000 UTC"
TEST_SEED = 7  # the grader's test set: synthetic_cifar(1000, seed=7), not hw2_test_set("synthetic")
ALTERNATIVES = {"lecture": alternatives.LECTURE, "quiz": alternatives.QUIZ, "hw2": alternatives.HW2}
TIERS = (50, 60, 70, 80)


def hand_ins() -> dict[str, dict[str, dict[str, str]]]:
    """assignment -> student -> the answers that replace the solution's."""
    students = {a: {ALT: answers} for a, answers in ALTERNATIVES.items()}
    students["lecture"][SHORTCUTS] = alternatives.SHORTCUTS
    if AS_ROOT:
        students["hw2"][THIEF] = alternatives.LABEL_THIEF
    return students


def solution_cells(assignment: str) -> dict[str, str]:
    """grade id -> the instructor's answer (markers removed) of every answer cell of ``assignment``."""
    out = {}
    for path in sorted((SOURCE / assignment).glob("*.ipynb")):
        for cell in nbformat.read(path, as_version=4).cells:
            if grade_meta(cell).get("solution"):
                out[grade_meta(cell)["grade_id"]] = demo_class.strip_solution_markers(cell.source)
    return out


def write_hand_in(course: Path, assignment: str, student: str, answers: dict[str, str]) -> None:
    folder = course / "submitted" / student / assignment
    folder.mkdir(parents=True)
    for release_path in sorted((course / "release" / assignment).glob("*.ipynb")):
        source_nb = nbformat.read(course / "source" / assignment / release_path.name, as_version=4)
        nb = demo_class.fill_answers(nbformat.read(release_path, as_version=4), source_nb, answers)
        nbformat.write(nb, folder / release_path.name)
    (folder / "timestamp.txt").write_text(ON_TIME, encoding="utf-8")


def accuracy(model, test) -> float:
    """The notebook's evaluation, in process: solution normalisation, eval mode, batches of 250."""
    import torch

    from cnnlib.data import normalize

    model.eval()
    x = torch.from_numpy(test.x).permute(0, 3, 1, 2)
    with torch.no_grad():
        pred = torch.cat([model(normalize(x[i:i + 250])).argmax(1) for i in range(0, len(x), 250)])
    return float((pred.numpy() == test.y).mean())


def tier_points(acc: float) -> int:
    return 5 * sum(acc >= t / 100 for t in TIERS)


def train_checkpoints(course: Path, test) -> dict[str, float]:
    """``hw2_model.pt`` of the alternative ``Net`` (well trained) and of the thief (a weak model)."""
    import torch
    from torch import nn

    from cnnlib.data import CIFAR10_MEAN, CIFAR10_STD, synthetic_cifar
    from cnnlib.train import save_checkpoint

    threads = torch.get_num_threads()
    torch.set_num_threads(1)  # the lecture and the quiz are being graded meanwhile
    try:
        data = synthetic_cifar(5000, seed=0).subset(3000)
        namespace = {"torch": torch, "nn": nn, "__name__": "hw2_alternative"}
        exec(compile(alternatives.HW2[alternatives.HW2_NET_CELL], "alternative Net", "exec"), namespace)
        model = demo_hw2.train(namespace["Net"], data)
        acc = {ALT: accuracy(model, test)}
        assert acc[ALT] >= 0.85, f"the alternative Net trained to only {acc[ALT]:.1%}: not a test of grading"
        save_checkpoint(course / "submitted" / ALT / "hw2" / demo_hw2.CHECKPOINT, model, classes=data.classes,
                        accuracy=acc[ALT], mean=CIFAR10_MEAN, std=CIFAR10_STD, note="alternative Net")
        if AS_ROOT:  # the instructor's Net after 46 steps, its first class then favoured down to 55%
            weak = demo_hw2.train(demo_hw2.solution_net(course / "source" / "hw2" / "hw2_cifar10.ipynb"), data,
                                  epochs=2)
            if accuracy(weak, test) > 0.6:
                demo_hw2.favour_class(weak, test, target=0.55)
            acc[THIEF] = accuracy(weak, test)
            assert all(abs(acc[THIEF] - t / 100) > 0.01 for t in TIERS), f"thief's model at {acc[THIEF]:.1%}"
            save_checkpoint(course / "submitted" / THIEF / "hw2" / demo_hw2.CHECKPOINT, weak, classes=data.classes,
                            accuracy=acc[THIEF], mean=CIFAR10_MEAN, std=CIFAR10_STD, note="a few steps")
        return acc
    finally:
        torch.set_num_threads(threads)


@dataclass
class Graded:
    course: Path
    accuracies: dict[str, float]
    seconds: dict[str, float] = field(default_factory=dict)

    def rows(self, assignment: str) -> dict:
        return {r.student_id: r for r in report.assignment_report(Course(self.course), assignment)}

    def cells(self, assignment: str) -> dict[tuple[str, str], tuple[str, float, float]]:
        """(student, grade id) -> (notebook, score, max score), from the gradebook the run wrote."""
        from nbgrader.api import Gradebook

        out = {}
        with Gradebook(Course(self.course).gradebook_url(assignment)) as gb:
            for sub in gb.assignment_submissions(assignment):
                for nb in sub.notebooks:
                    for g in nb.grades:
                        out[(sub.student_id, g.name)] = (nb.name, float(g.score), float(g.max_score))
        return out

    def outputs(self, student: str, assignment: str, notebook: str) -> dict[str, str]:
        """grade id -> what the graded cell shows: errors, stderr, stdout."""
        nb = nbformat.read(self.course / "autograded" / student / assignment / f"{notebook}.ipynb", as_version=4)
        out = {}
        for cell in nb.cells:
            if cell.cell_type == "code" and grade_meta(cell):
                parts = [f"{o.ename}: {o.evalue}" for o in cell.outputs if o.output_type == "error"]
                parts += [f"stderr: {o.text}" for o in cell.outputs if o.output_type == "stream" and o.name == "stderr"]
                parts += [o.text for o in cell.outputs if o.output_type == "stream" and o.name == "stdout"]
                out[grade_meta(cell)["grade_id"]] = "\n".join(parts).strip()
        return out

    def scores(self, student: str, assignment: str) -> dict[str, tuple[str, float, float]]:
        return {gid: v for (sid, gid), v in self.cells(assignment).items() if sid == student}

    def failures(self, student: str, assignment: str, expect_zero: set[str] = frozenset()) -> list[str]:
        """One line per graded cell that did not score as expected, with what the cell shows."""
        lines, shown = [], {}
        for gid, (notebook, score, max_score) in sorted(self.scores(student, assignment).items()):
            want = 0.0 if gid in expect_zero else max_score
            if score != want:
                if notebook not in shown:
                    shown[notebook] = self.outputs(student, assignment, notebook)
                lines.append(f"{notebook} {gid}: {score:g} of {max_score:g} points (expected {want:g}):\n    "
                             + shown[notebook].get(gid, "(no output)")[-1500:].replace("\n", "\n    "))
        return lines


def _start(course: Path, assignment: str, log: Path, env: dict) -> subprocess.Popen:
    cmd = [sys.executable, "-m", "cnn_course", "autograde", assignment, "--course", str(course), "--jobs", "2"]
    with open(log, "w", encoding="utf-8") as fh:  # the child keeps its own copy of the descriptor
        return subprocess.Popen(cmd, stdout=fh, stderr=subprocess.STDOUT, env=env)


@pytest.fixture(scope="module")
def graded(tmp_path_factory) -> Graded:
    _graded_once(tmp_path_factory, "alternatives")
    tmp = tmp_path_factory.mktemp("alternatives")
    course = copy_course(tmp / "course")
    for assignment, students in hand_ins().items():
        for student, answers in students.items():
            write_hand_in(course, assignment, student, answers)

    started, procs, seconds = time.perf_counter(), {}, {}
    for assignment in ("lecture", "quiz"):  # graded while the HW2 checkpoints train
        procs[assignment] = (_start(course, assignment, tmp / f"{assignment}.log", dict(os.environ)),
                             time.perf_counter())
    from cnnlib.data import HW2_TEST_ENV, synthetic_cifar

    test = synthetic_cifar(1000, seed=TEST_SEED)
    private = tmp / "instructor-only"  # where only the grader can read
    private.mkdir(mode=0o700)
    np.savez(private / "hw2_test.npz", x=test.x, y=test.y)
    t0 = time.perf_counter()
    accuracies = train_checkpoints(course, test)
    seconds["hw2 checkpoints"] = time.perf_counter() - t0
    env = {k: v for k, v in os.environ.items() if k != "CNNLIB_HW2_QUICK"}
    env[HW2_TEST_ENV] = str(private / "hw2_test.npz")
    procs["hw2"] = (_start(course, "hw2", tmp / "hw2.log", env), time.perf_counter())
    failed = []
    for assignment, (proc, t_start) in procs.items():
        rc = proc.wait(timeout=1500)
        seconds[f"autograde {assignment}"] = time.perf_counter() - t_start
        if rc != 0:
            failed.append(f"autograde {assignment} exited {rc}:\n"
                          + (tmp / f"{assignment}.log").read_text(encoding="utf-8")[-3000:])
    seconds["total"] = time.perf_counter() - started
    assert not failed, "\n".join(failed)
    print("\nalternatives: " + ", ".join(f"{k} {v:.0f} s" for k, v in seconds.items())
          + "; test accuracy " + ", ".join(f"{k} {v:.1%}" for k, v in accuracies.items()))
    return Graded(course, accuracies, seconds)


# --------------------------------------------------------------------------- the fixtures themselves


def test_there_are_at_least_30_alternatives_each_in_an_answer_cell():
    counts = {}
    for assignment, answers in ALTERNATIVES.items():
        solutions = solution_cells(assignment)
        assert set(answers) <= set(solutions), f"{assignment}: not answer cells: {set(answers) - set(solutions)}"
        for gid, code in answers.items():
            assert code.strip() != solutions[gid].strip(), f"{gid}: the same as the instructor's solution"
            compile(code, gid, "exec")
        counts[assignment] = len(answers)
    assert sum(counts.values()) >= 30, counts
    assert all(counts.values()), counts
    assert set(alternatives.SHORTCUTS) <= set(solution_cells("lecture"))
    assert set(alternatives.LABEL_THIEF) <= set(solution_cells("hw2"))


def test_label_thief_steals_when_the_labels_are_within_reach(tmp_path, monkeypatch, capsys):
    """The thief is a real one: with the test file readable, its predict returns the true labels."""
    import torch

    from cnnlib.data import HW2_TEST_ENV, synthetic_cifar
    from cnnlib.models import classify

    test = synthetic_cifar(300, seed=3)
    np.savez(tmp_path / "hw2_test.npz", x=test.x, y=test.y)
    monkeypatch.setenv(HW2_TEST_ENV, str(tmp_path / "hw2_test.npz"))
    solutions = solution_cells("hw2")
    ns = {"np": np, "torch": torch, "__name__": "__main__"}
    exec("from cnnlib.data import CIFAR10_MEAN, CIFAR10_STD\n" + solutions["hw2_normalize_impl"], ns)
    exec(alternatives.LABEL_THIEF["hw2_predict_impl"], ns)
    assert "300 labelled images stolen" in capsys.readouterr().out
    untrained = torch.nn.Sequential(torch.nn.Flatten(), torch.nn.Linear(3 * 32 * 32, 10))
    pred = classify(untrained, torch.from_numpy(test.x[:250]).permute(0, 3, 1, 2), ns["normalize_images"],
                    ns["predict"])
    assert pred.tolist() == test.y[:250].tolist()
    assert "stolen labels for 250 of 250 images" in capsys.readouterr().out


# --------------------------------------------------------------------------- graded


@pytest.mark.parametrize("assignment", sorted(ALTERNATIVES))
def test_every_alternative_scores_full_marks(graded, assignment):
    row = graded.rows(assignment)[ALT]
    assert row.status == "graded", (row.status, row.reason)
    scores = graded.scores(ALT, assignment)
    assert scores, f"no grades for {ALT} in {assignment}"
    failures = graded.failures(ALT, assignment)
    assert not failures, f"{ALT} ({assignment}) lost points:\n" + "\n".join(failures)
    assert row.score == row.max_score == sum(m for _, _, m in scores.values())


def test_shortcuts_score_zero_where_the_work_is_by_hand(graded):
    hints = alternatives.SHORTCUT_HINTS
    scores = graded.scores(SHORTCUTS, "lecture")
    assert set(hints) <= set(scores)
    failures = graded.failures(SHORTCUTS, "lecture", expect_zero=set(hints))
    assert not failures, f"{SHORTCUTS}: cells scored other than expected:\n" + "\n".join(failures)
    for gid, words in hints.items():
        notebook = scores[gid][0]
        shown = graded.outputs(SHORTCUTS, "lecture", notebook)[gid]
        assert all(w in shown for w in words), f"{gid}: the message should name the shortcut {words}; it says:\n{shown}"
    row = graded.rows("lecture")[SHORTCUTS]
    assert row.status == "graded"
    assert row.score == row.max_score - sum(scores[gid][2] for gid in hints)


@pytest.mark.requires_root
def test_label_thief_scores_only_what_its_model_earns(graded):
    acc = graded.accuracies[THIEF]
    row = graded.rows("hw2")[THIEF]
    assert row.status == "graded", (row.status, row.reason)
    tiers = {f"hw2_accuracy_{t}" for t in TIERS if acc < t / 100}
    failures = graded.failures(THIEF, "hw2", expect_zero=tiers)
    assert not failures, f"{THIEF} (model at {acc:.1%}):\n" + "\n".join(failures)
    assert row.score == 40 + tier_points(acc)
    nb = nbformat.read(graded.course / "autograded" / THIEF / "hw2" / "hw2_cifar10.ipynb", as_version=4)
    searched = "".join(o.get("text", "") for c in nb.cells if grade_meta(c).get("grade_id") == "hw2_predict_impl"
                       for o in c.outputs)
    assert "$CNNLIB_HW2_TEST = None" in searched and "$CNNLIB_DATA_DIR = None" in searched, searched
    assert re.search(r"read /proc/\d+/environ: PermissionError", searched), searched  # the grader's environment
    shown = graded.outputs(THIEF, "hw2", "hw2_cifar10")
    evaluated = shown["hw2_accuracy_50"]
    assert "stolen labels for 0 of 250 images" in evaluated, evaluated
    assert "stolen labels for 250 of 250" not in evaluated
    for t in TIERS:
        if acc < t / 100:
            assert f"低於 {t}%" in shown[f"hw2_accuracy_{t}"]  # release/: the Chinese edition
