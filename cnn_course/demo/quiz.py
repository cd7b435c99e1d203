"""The quiz's demo class: a dozen students who hand in only the quiz, with realistic answers.

Each student starts from the instructor's solution (``source/quiz/quiz.ipynb``) and changes
some answers, keyed by the grade id of the answer cell (``quiz_q01_answer`` ...). A change is
either the student's cell text (a wrong answer, a malformed one), an edit of the
solution's text (``without_bias``, ``as_float``, ``set_cell``, ``drop_sign`` ...), or q06
worked out with the wrong filter from the question's own table (``convolve_q06``), so
that this module holds no right answer: the answers stay in the source notebook's hidden
tests.

The mistakes are the lecture's typical ones: forgetting the ``+ 1`` of the output size
(in a pooled shape and a layer stack too), the bias, or the three RGB channels; flipping
the filter (true convolution, wrong in every cell of q06) or dropping its minus sign;
average instead of max pooling; pooling with stride 2 or pooling that halves the
channels; stacks that ignore the padding; a layer with the right channels but the wrong
stride; BN as squeezing into [0, 1], ``torch.no_grad()`` taken for eval mode, eval mode
taken for per-image statistics; "same" padding taken as 0 (stride 1 keeps the size) or
always 1. One student hands in the release unchanged, one hands in empty and malformed
answers (``""``, ``None``, a ragged table, a letter that is not an option, a number where
a letter belongs, the class ``nn.Conv2d`` instead of a layer, a cell with a syntax error).
"""

from __future__ import annotations

import ast
import re
from collections.abc import Callable
from pathlib import Path

import nbformat
import numpy as np

from cnnlib import ops
from cnnlib.quiz_questions import question

from .. import editions
from .lecture import DemoStudent, fill_answers, strip_solution_markers

ASSIGNMENT = "quiz"
NOTEBOOK = "quiz.ipynb"

Edit = Callable[[str], str]  # the solution's cell text -> the student's cell text
ASSIGNMENT_LINE = re.compile(r"^(q\d\d) = (.+)$", re.MULTILINE)


def _edit_answer(fn: Callable[[str, str], str]) -> Edit:
    """Apply ``fn(qid, expression)`` to the ``qNN = expression`` line of a solution cell."""
    def edit(cell: str) -> str:
        m = ASSIGNMENT_LINE.search(cell)
        if not m:
            raise ValueError(f"no `qNN = ...` line in the solution cell {cell!r}")
        return cell[: m.start()] + f"{m.group(1)} = {fn(m.group(1), m.group(2))}" + cell[m.end() :]
    return edit


def without_bias() -> Edit:
    """``a * b + bias`` -> ``a * b``: the parameter count without the bias terms."""
    return _edit_answer(lambda q, expr: re.sub(r"\s*\+\s*\d+\s*$", "", expr))


def as_float() -> Edit:
    """The right number written as a float (``float(...)``): accepted as a whole number."""
    return _edit_answer(lambda q, expr: f"float({expr})")


def lower_case() -> Edit:
    """The right letter in lower case with spaces around it: accepted."""
    return _edit_answer(lambda q, expr: f'" {ast.literal_eval(expr).lower()} "')


def set_cell(row: int, col: int, value: float) -> Edit:
    """The right table with one cell changed (a slip in one place)."""
    def fn(q: str, expr: str) -> str:
        table = ast.literal_eval(expr)
        table[row][col] = value
        return str(table)
    return _edit_answer(fn)


def drop_sign(row: int, col: int) -> Edit:
    """The right table with the minus sign of one negative cell lost."""
    def fn(q: str, expr: str) -> str:
        table = ast.literal_eval(expr)
        if table[row][col] >= 0:
            raise ValueError(f"{q}: cell ({row}, {col}) of the solution is not negative; pick one that is")
        table[row][col] = -table[row][col]
        return str(table)
    return _edit_answer(fn)


SLIDE_FILTER = np.array([[1, 0, 0], [0, 1, 0], [0, 0, -1]])


def convolve_q06(kernel) -> Edit:
    """q06 worked out on the question's 4 x 4 table with ``kernel`` instead of the slide's filter."""
    kernel = np.asarray(kernel)
    if np.array_equal(kernel, SLIDE_FILTER):
        raise ValueError("convolve_q06 is for wrong filters; the right table stays in the hidden test")
    rows = [r for r in question("q06").text.splitlines() if re.fullmatch(r"\|( \d+ \|)+", r)]
    y = np.array([[int(v) for v in r.strip("|").split("|")] for r in rows])
    return wrong(f"q06 = {ops.conv2d(y, kernel).astype(int).tolist()}")


def wrong(text: str) -> Callable[[str], str]:
    """The student's own cell text (keeps the solution's prompt comment above it)."""
    def edit(cell: str) -> str:
        comment = "".join(line + "\n" for line in cell.splitlines() if line.startswith("#"))
        return comment + text + "\n"
    return edit


def _q(n: int) -> str:
    return f"quiz_q{n:02d}_answer"


FLIPPED = convolve_q06(SLIDE_FILTER[::-1, ::-1])  # true convolution: every cell of q06 differs
NO_MINUS = convolve_q06(np.abs(SLIDE_FILTER))  # the filter's -1 read as 1: every cell differs too

QUIZ_STUDENTS: tuple[DemoStudent, ...] = (
    DemoStudent("fay_full", "every answer right", "solution"),
    DemoStudent("gus_blank", "hands in the quiz as downloaded", "release"),
    DemoStudent("hal_malformed", "empty and malformed answers", "solution", {
        _q(1): wrong('q01 = ""'),
        _q(2): wrong("q02 ="),
        _q(3): wrong("q03 = None"),
        _q(4): as_float(),
        _q(6): wrong("q06 = [[1, 2], [3]]"),
        _q(7): wrong("q07 = []"),
        _q(8): wrong('q08 = "E"'),
        _q(9): lower_case(),
        _q(13): wrong("q13 = nn.Conv2d"),
        _q(15): wrong("q15 = 2"),  # the padding itself, not the letter of its option
    }),
    DemoStudent("ivy_plus_one", "forgets the + 1 of the output size and the bias", "solution", {
        _q(1): wrong("q01 = 27"),
        _q(2): wrong("q02 = 54"),
        _q(3): without_bias(),
        _q(5): without_bias(),
        _q(8): wrong('q08 = "C"'),  # 63 x 63 x 32
        _q(12): wrong('q12 = "C"'),  # the stack that gives 5 x 5 only without the + 1
    }),
    DemoStudent("jon_same_size", "thinks a convolution keeps the size; forgets RGB; flips the filter", "solution", {
        _q(1): wrong("q01 = 32"),
        _q(4): wrong("q04 = 5 * 5 * 32"),
        _q(6): FLIPPED,
        _q(8): wrong('q08 = "D"'),
        _q(15): wrong('q15 = "A"'),  # padding=0
    }),
    DemoStudent("kai_avg_pool", "average pooling instead of max; BN squeezes into [0, 1]", "solution", {
        _q(7): wrong("q07 = [[2.25, 2.25, 3.25], [3.5, 3.25, 2.75], [3.25, 5.5, 3.75]]"),
        _q(8): wrong('q08 = "D"'),
        _q(9): wrong('q09 = "A"'),
        _q(14): wrong('q14 = "D"'),
    }),
    DemoStudent("lin_stride2", "pools with stride 2; ignores padding; padding 1 for every kernel", "solution", {
        _q(7): wrong("q07 = [[4, 6], [7, 8]]"),
        _q(12): wrong('q12 = "B"'),
        _q(13): wrong("q13 = nn.Conv2d(3, 16, kernel_size=3, padding=1)"),
        _q(15): wrong('q15 = "B"'),  # padding=1
    }),
    DemoStudent("max_no_rgb", "forgets the three RGB channels", "solution", {
        _q(3): wrong("q03 = 32 * 32 * 64 + 64"),
        _q(4): wrong("q04 = 5 * 5 * 32"),
        _q(5): wrong("q05 = 3 * 3 * 128 + 128"),
        _q(10): wrong('q10 = "D"'),
    }),
    DemoStudent("ned_slips", "flips the filter, one pooled cell wrong, no padding in the layer", "solution", {
        _q(6): FLIPPED,
        _q(7): set_cell(1, 1, 3),
        _q(11): wrong('q11 = "A"'),
        _q(13): wrong("q13 = nn.Conv2d(3, 16, kernel_size=3, stride=2)"),
    }),
    DemoStudent("oli_guesses", "guesses the choices; a few numbers off", "solution", {
        _q(1): wrong("q01 = 27"),
        _q(2): wrong("q02 = 56"),
        _q(4): wrong("q04 = 3 * 5 * 5 * 32 + 32"),
        _q(8): wrong('q08 = "A"'),
        _q(9): wrong('q09 = "A"'),
        _q(10): wrong('q10 = "B"'),
        _q(12): wrong('q12 = "D"'),
        _q(13): wrong("q13 = nn.Conv2d(16, 3, kernel_size=3, stride=2, padding=1)"),
        _q(14): wrong('q14 = "C"'),
        _q(15): wrong('q15 = "D"'),
    }),
    DemoStudent("pam_signs", "drops the filter's minus sign; takes no_grad for eval mode", "solution", {
        _q(6): NO_MINUS,
        _q(9): wrong('q09 = "D"'),
        _q(12): wrong('q12 = "D"'),
        _q(14): wrong('q14 = "A"'),
    }),
    DemoStudent("rio_mostly", "mostly right; loses one minus sign", "solution", {
        _q(2): wrong("q02 = 54"),
        _q(3): without_bias(),
        _q(6): drop_sign(1, 1),
        _q(10): wrong('q10 = "D"'),
        _q(12): wrong('q12 = "B"'),
        _q(14): wrong('q14 = "A"'),
    }),
)


def hand_in_answers(student: DemoStudent, source_nb) -> dict[str, str]:
    """grade_id -> the student's answer cell text (edits applied to the solution's text)."""
    solutions = {
        cell.metadata["nbgrader"]["grade_id"]: strip_solution_markers(cell.source)
        for cell in source_nb.cells
        if cell.metadata.get("nbgrader", {}).get("solution")
    }
    unknown = set(student.answers) - set(solutions)
    if unknown:
        raise KeyError(f"{student.student_id}: no answer cells {sorted(unknown)} in the quiz")
    return {gid: edit(solutions[gid]) for gid, edit in student.answers.items()}


def create_quiz_class(course: Path, timestamp: str = "2025-10-08 11:50:00.000000 UTC") -> list[str]:
    """Write ``submitted/<student>/quiz/quiz.ipynb`` for every quiz student; return their ids.

    Raises:
        FileNotFoundError: ``release/quiz/quiz.ipynb`` or ``source/quiz/quiz.ipynb`` is missing.
    """
    course = Path(course)
    release_path = course / editions.release_dir(editions.DEFAULT) / ASSIGNMENT / NOTEBOOK
    source_path = editions.edition_source(course, editions.DEFAULT, ASSIGNMENT) / NOTEBOOK
    for path in (release_path, source_path):
        if not path.exists():
            raise FileNotFoundError(f"{path} is missing; expected the quiz there (run `make release`)")
    release_nb = nbformat.read(release_path, as_version=4)
    source_nb = nbformat.read(source_path, as_version=4)
    ids = []
    for student in QUIZ_STUDENTS:
        folder = course / "submitted" / student.student_id / ASSIGNMENT
        folder.mkdir(parents=True, exist_ok=True)
        if student.base == "release":
            nb = release_nb
        else:
            nb = fill_answers(release_nb, source_nb, hand_in_answers(student, source_nb))
        nbformat.write(nb, folder / NOTEBOOK)
        (folder / "timestamp.txt").write_text(timestamp, encoding="utf-8")
        ids.append(student.student_id)
    return ids
