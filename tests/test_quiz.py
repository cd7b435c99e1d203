"""The quiz: its answer key is right, no release notebook or shipped module gives it away,
malformed answers score zero with a message, and the demo class's item analysis is exact."""

from __future__ import annotations

import base64
import codecs
import csv
import hashlib
import json
import re
import subprocess
import sys

import nbformat
import numpy as np
import pytest
import torch
import torch.nn as nn
from conftest import RELEASE, ROOT, SOURCE, grade_meta, release_notebooks

from cnn_course.reports import answer_key, items
from cnnlib import ops, quiz
from cnnlib.quiz_questions import QUESTIONS, check, question

QUIZ_SOURCE = SOURCE / "quiz" / "quiz.ipynb"
QUIZ_RELEASE = RELEASE / "quiz" / "quiz.ipynb"
KEY = answer_key.answer_key(QUIZ_SOURCE)
ANSWERS = list(KEY.values())


def _by_qid(qid: str) -> answer_key.Answer:
    return KEY[f"quiz_{qid}"]


def _table(q) -> np.ndarray:
    """The 4 x 4 Markdown table of a question's text, as numbers."""
    rows = [r for r in q.text.splitlines() if re.match(r"^\|( \d+ \|)+$", r)]
    return np.array([[int(x) for x in r.strip("|").split("|")] for r in rows])


# --------------------------------------------------------------------------- the key and the questions


def test_one_graded_question_per_grade_id_and_twenty_points():
    assert list(KEY) == [f"quiz_q{i:02d}" for i in range(1, 14)]
    assert [q.grade_id for q in QUESTIONS] == list(KEY)
    nb = nbformat.read(QUIZ_SOURCE, as_version=4)
    points = {grade_meta(c)["grade_id"]: grade_meta(c)["points"] for c in nb.cells if grade_meta(c).get("grade")}
    for q in QUESTIONS:
        assert points[q.grade_id] == q.points == KEY[q.grade_id].points, q.qid
    assert sum(points.values()) == 20
    kinds = {q.kind for q in QUESTIONS}
    assert kinds == {"choice", "number", "array", "code"}


def test_question_cells_are_the_question_bank_in_source_and_release():
    for path in (QUIZ_SOURCE, QUIZ_RELEASE):
        cells = {grade_meta(c).get("grade_id"): c.source for c in nbformat.read(path, as_version=4).cells}
        for q in QUESTIONS:
            assert cells[f"quiz_{q.qid}_text"] == q.markdown(), (path.parent.name, q.qid)


def test_number_answers_match_cnnlib_ops():
    assert _by_qid("q01").key == ops.conv_output_size(32, 5, stride=1, padding=0)
    assert _by_qid("q02").key == ops.conv_output_size(227, 11, stride=4, padding=0)
    assert _by_qid("q03").key == ops.linear_params(3 * 32 * 32, 64, bias=True)
    assert _by_qid("q03").half == ops.linear_params(3 * 32 * 32, 64, bias=False)
    assert _by_qid("q04").key == ops.conv_params(3, 32, 5, bias=False)
    assert _by_qid("q05").key == ops.conv_params(64, 128, 3, bias=True) == sum(
        p.numel() for p in nn.Conv2d(64, 128, 3).parameters())
    assert _by_qid("q05").half == ops.conv_params(64, 128, 3, bias=False)


def test_table_answers_match_torch_on_the_questions_tables():
    y = torch.tensor(_table(question("q06")), dtype=torch.float32)[None, None]
    w = torch.tensor([[1, 0, 0], [0, 1, 0], [0, 0, -1]], dtype=torch.float32)[None, None]
    assert torch.nn.functional.conv2d(y, w)[0, 0].tolist() == _by_qid("q06").key
    x = torch.tensor(_table(question("q07")), dtype=torch.float32)[None, None]
    assert torch.nn.functional.max_pool2d(x, 2, stride=1)[0, 0].tolist() == _by_qid("q07").key


def test_choice_answers_are_the_only_right_options():
    # q08: pooling 128 x 128 x 32 with kernel 2, stride 2
    out = nn.MaxPool2d(2)(torch.zeros(1, 32, 128, 128)).shape
    want = f"{out[2]} x {out[3]} x {out[1]}"
    q8 = question("q08")
    assert [o for o in q8.options if o == want] == [q8.options[q8.letters.index(_by_qid("q08").key)]]
    # q12: build every stack from its option text and run it
    q12 = question("q12")
    good = []
    for letter, text in zip(q12.letters, q12.options, strict=True):
        layers = [eval(f"nn.{part}", {"nn": nn}) for part in re.findall(r"`([^`]+)`", text)]
        if tuple(nn.Sequential(*layers)(torch.zeros(1, 3, 32, 32)).shape[1:]) == (16, 5, 5):
            good.append(letter)
    assert good == [_by_qid("q12").key]
    # q09 BN: a BatchNorm without affine gives mean 0, std 1 -- the key option says so
    z = nn.BatchNorm1d(1, affine=False)(torch.randn(256, 1) * 7 + 3)
    assert abs(z.mean().item()) < 1e-5 and abs(z.std(unbiased=False).item() - 1) < 1e-3
    assert "mean is 0 and their standard deviation is 1" in question("q09").options["ABCD".index(_by_qid("q09").key)]
    assert "height and width" in question("q10").options["ABCD".index(_by_qid("q10").key)]
    assert "fully-connected" in question("q11").options["ABCD".index(_by_qid("q11").key)]


def test_code_answer_spec_is_the_questions():
    spec = _by_qid("q13").spec
    assert spec == dict(zip(("in_shape", "out_shape", "kernel_size"), question("q13").spec, strict=True))
    assert answer_key._stride_padding(spec) == (2, 1)


# --------------------------------------------------------------------------- no answer in the release


def test_release_quiz_contains_no_answer_in_the_clear_or_encoded():
    leaks = [leak for text in answer_key.notebook_texts(QUIZ_RELEASE) for leak in answer_key.find_leaks(text, ANSWERS)]
    assert leaks == []


@pytest.mark.parametrize("path", release_notebooks(), ids=lambda p: f"{p.parent.name}/{p.stem}")
def test_no_release_notebook_contains_an_encoded_answer(path):
    # other notebooks may use the same numbers for other things (MNIST is 28 x 28), so bare
    # numbers are not flagged there; assignments, encodings and working layers are.
    leaks = [leak for text in answer_key.notebook_texts(path) for leak in answer_key.find_leaks(text, ANSWERS, strict=False)]
    assert leaks == []


def test_no_module_that_ships_to_students_contains_an_answer():
    strict = {"quiz.py", "quiz_questions.py"}  # the quiz's own modules: every check
    for path in sorted((ROOT / "cnnlib").rglob("*.py")):
        leaks = answer_key.find_leaks(path.read_text(encoding="utf-8"), ANSWERS, strict=path.name in strict)
        assert leaks == [], path.relative_to(ROOT)


def test_the_scan_finds_every_answer_in_the_source_notebook():
    found = {leak.split(":")[0] for text in answer_key.notebook_texts(QUIZ_SOURCE)
             for leak in answer_key.find_leaks(text, ANSWERS)}
    assert found == {a.qid for a in ANSWERS}


def _plants():
    """Hand-written ways a notebook could give an answer away (independent of the scanner)."""
    n, b = 196672, "B"  # q03 and q08
    table = [[4, 5, 6], [7, 7, 6], [7, 8, 8]]  # q07
    arr = np.array(table)
    yield "number", f"print({n})"
    yield "number with commas", f"about {n:,} parameters"
    yield "half-credit number", "that is 196608 without the bias"
    yield "number reversed", f"x = int('{str(n)[::-1]}'[::-1])"
    yield "number in hex", f"x = {hex(n)}"
    yield "number base64", f"base64.b64decode('{base64.b64encode(str(n).encode()).decode()}')"
    yield "number sha256", hashlib.sha256(str(n).encode()).hexdigest()
    yield "letter in quotes", f"q08 = '{b}'"
    yield "letter lower case", f'choice = "{b.lower()}"'
    yield "letter after answer", f"The answer is {b}."
    yield "letter as chr", f"chr({ord(b)})"
    yield "letter rot13", f'codecs.decode("{codecs.encode(b, "rot13")}", "rot13")'
    yield "letter base64", base64.b64encode(b.encode()).decode()
    yield "table as a list", f"q07 = {table}"
    yield "table numpy repr", repr(arr)
    yield "table markdown", "\n".join("| " + " | ".join(map(str, r)) + " |" for r in table)
    yield "table transposed", str(arr.T.tolist())
    yield "table float", str(arr.astype(float))
    yield "table json base64", base64.b64encode(json.dumps(table).encode()).decode()
    yield "table bytes base64", base64.b64encode(arr.astype(np.int64).tobytes()).decode()
    yield "layer positional", "nn.Conv2d(3, 16, 3, 2, 1)"
    yield "layer keywords", "nn.Conv2d(in_channels=3, out_channels=16, kernel_size=(3, 3), stride=(2, 2), padding=1)"
    yield "layer in words", "use stride 2 and padding 1"


@pytest.mark.parametrize(("how", "text"), list(_plants()), ids=[h for h, _ in _plants()])
def test_the_scan_catches_a_planted_answer(how, text):
    nb = nbformat.read(QUIZ_RELEASE, as_version=4)
    nb.cells[-1].source += "\n\n" + text
    leaks = [leak for cell in nb.cells for leak in answer_key.find_leaks(cell.source, ANSWERS)]
    assert leaks, how


def test_the_scan_lets_wrong_and_innocent_answers_pass():
    innocent = ["q01 = 27", "nn.Conv2d(3, 16, kernel_size=3, padding=1)", "q08 = 'E'",
                "[[4, 6], [7, 8]]", "a 3 x 3 filter with stride 1", "checksum 9f28ab196672ff"]
    for text in innocent:
        assert answer_key.find_leaks(text, ANSWERS) == [], text


def test_answer_key_refuses_a_hidden_test_without_a_grader(tmp_path):
    nb = nbformat.read(QUIZ_SOURCE, as_version=4)
    cell = next(c for c in nb.cells if grade_meta(c).get("grade_id") == "quiz_q01")
    cell.source = cell.source.replace("quiz.grade_number(", "print(")
    nbformat.write(nb, tmp_path / "quiz.ipynb")
    with pytest.raises(ValueError, match="quiz_q01: expected one grader call"):
        answer_key.answer_key(tmp_path / "quiz.ipynb")


# --------------------------------------------------------------------------- reading and grading answers


@pytest.mark.parametrize(("value", "message"), [
    (None, "q08: no answer yet: write one letter in quotes"),
    ("", "q08: no answer yet"),
    ("E", "expected exactly one letter among A, B, C, D; got 'E'"),
    ("AB", "expected exactly one letter"),
    (2, "expected one letter in quotes (a str)"),
])
def test_malformed_letters_raise_a_message(value, message):
    with pytest.raises(AssertionError, match=re.escape(message)):
        quiz.check_letter(value, "q08", "ABCD")


@pytest.mark.parametrize(("value", "message"), [
    (None, "q01: no answer yet: write a whole number"),
    ("  ", "q01: no answer yet"),
    ("28", "expected a whole number (an int, no quotes); got str"),
    (True, "got bool"),
    (27.5, "has a fraction"),
    ([1, 2], "got list"),
])
def test_malformed_numbers_raise_a_message(value, message):
    with pytest.raises(AssertionError, match=re.escape(message)):
        quiz.check_int(value, "q01")


@pytest.mark.parametrize(("value", "message"), [
    (None, "q06: no answer yet: write a list of 2 rows with 2 numbers each"),
    ([], "q06: no answer yet"),
    ([[1, 2], [3]], "could not read the answer as a 2 x 2 table"),
    ("[[1, 2], [3, 4]]", "expected a list of lists of numbers; got str"),
    ([[1, 2, 3], [4, 5, 6]], "expected shape (2, 2) (2 rows, 2 columns); got shape (2, 3)"),
    ([[1, float("nan")], [3, 4]], "NaN or inf"),
])
def test_malformed_tables_raise_a_message(value, message):
    with pytest.raises(AssertionError, match=re.escape(message)):
        quiz.check_array(value, "q06", (2, 2))


@pytest.mark.parametrize(("value", "message"), [
    (None, "q13: no answer yet"),
    (nn.Conv2d, "you assigned the class Conv2d; call it"),
    (nn.Linear(3, 16), "expected an nn.Conv2d layer; got Linear"),
])
def test_malformed_layers_raise_a_message(value, message):
    with pytest.raises(AssertionError, match=re.escape(message)):
        quiz.check_conv2d(value, "q13")


def test_forms_that_are_accepted_and_what_is_printed(capsys):
    quiz.check_letter(" c ", "q09")
    quiz.check_int(np.int64(3) * 5, "q04")
    quiz.check_int(15.0, "q04")
    quiz.check_int(torch.tensor(15), "q04")
    quiz.check_array(torch.ones(2, 2), "q06", (2, 2))
    quiz.check_conv2d(nn.Conv2d(3, 8, 5, bias=False), "q13")
    assert capsys.readouterr().out.splitlines() == [
        "q09 = C: the form is right (one letter among A, B, C, D); the value is checked at grading",
        "q04 = 15: the form is right (a whole number); the value is checked at grading",
        "q04 = 15: the form is right (a whole number); the value is checked at grading",
        "q04 = 15: the form is right (a whole number); the value is checked at grading",
        "q06 = [[1, 1], [1, 1]]: the form is right (shape (2, 2)); the value is checked at grading",
        "q13 = Conv2d(3, 8, kernel_size=5, stride=1, padding=0, bias=False): the form is right "
        "(an nn.Conv2d layer); the value is checked at grading",
    ]


def test_partial_scores_are_plain_floats_that_nbgrader_reads():
    from nbgrader.utils import get_partial_grade

    score = quiz.grade_cells([[1, 2], [3, 0]], "q", key=[[1, 2], [3, 4]], points=2)
    assert type(score) is float and score == 1.5
    assert get_partial_grade({"data": {"text/plain": repr(score)}}, 2.0) == 1.5
    assert quiz.grade_cells([[9, 9, 9]] * 3, "q", key=np.ones((3, 3)), points=3) == 0.0
    assert quiz.grade_cells([[1, 1, 1], [1, 0, 1], [1, 1, 1]], "q", key=np.ones((3, 3)), points=3) == 2.6667
    assert quiz.grade_number(10, "q", key=10, points=2, half=8) == 2.0
    assert quiz.grade_number(8, "q", key=10, points=2, half=8) == 1.0
    with pytest.raises(AssertionError, match="q: your answer 9 is not right"):
        quiz.grade_number(9, "q", key=10, points=2, half=8)
    spec = dict(in_shape=(1, 3, 8, 8), out_shape=(1, 4, 4, 4), kernel_size=3, points=2)
    assert quiz.grade_conv2d(nn.Conv2d(3, 4, 3, stride=2, padding=1), "q", **spec) == 2.0
    assert quiz.grade_conv2d(nn.Conv2d(3, 4, 3, padding=1), "q", **spec) == 1.0  # channels only
    assert quiz.grade_conv2d(nn.Conv2d(4, 3, 3, stride=2, padding=1), "q", **spec) == 0.0  # cannot even run
    with pytest.raises(AssertionError, match="q: you chose A; the right answer is B"):
        quiz.grade_choice("a", "q", key="B")


# --------------------------------------------------------------------------- in class: self-check


def test_self_check_accepts_exactly_the_graded_answers():
    for a in ANSWERS:
        if a.grader == "grade_conv2d":
            assert check(a.qid, nn.Conv2d(3, 16, 3, stride=2, padding=1))
            assert not check(a.qid, nn.Conv2d(3, 16, 3, padding=1))
            continue
        assert check(a.qid, a.key), a.qid
        if isinstance(a.key, str):
            assert check(a.qid, a.key.lower())
            assert not check(a.qid, next(x for x in "ABCD" if x != a.key))
        elif isinstance(a.key, int):
            assert check(a.qid, float(a.key)) and not check(a.qid, a.key + 1)
        else:
            wrong = np.array(a.key, dtype=float)
            wrong[0, 0] += 1
            assert check(a.qid, np.array(a.key)) and not check(a.qid, wrong)
    with pytest.raises(AssertionError, match="no answer yet"):
        check("q01", None)
    with pytest.raises(KeyError, match="no quiz question 'q99'"):
        check("q99", 1)


def test_ask_builds_a_widget_without_the_answer():
    from cnnlib.quiz_questions import ask

    for q in QUESTIONS:
        box = ask(q.qid)
        state = json.dumps([w.get_state() for w in box.children[1].children], default=str)
        # a choice widget lists every letter, so letters in quotes are no leak there
        assert answer_key.find_leaks(state, ANSWERS, strict=q.kind != "choice") == [], q.qid


# --------------------------------------------------------------------------- the demo class, graded


EXPECTED_TOTALS = {
    "fay_full": 20, "gus_blank": 0, "hal_malformed": 8, "ivy_plus_one": 16, "jon_same_size": 16.5,
    "kai_avg_pool": 15, "lin_stride2": 14, "max_no_rgb": 14, "ned_slips": 17.1667, "oli_guesses": 10,
    "pam_signs": 15, "rio_mostly": 15,
}

# question -> (right, partial, wrong, mean score, most common answers without full marks)
EXPECTED_ITEMS = {
    "q01": (7, 0, 5, 0.5833, [("(no answer)", 2), ("27", 2), ("32", 1)]),
    "q02": (7, 0, 5, 0.5833, [("(no answer)", 2), ("54", 2), ("56", 1)]),
    "q03": (7, 2, 3, 1.3333, [("(no answer)", 2), ("196608", 2), ("65600", 1)]),
    "q04": (8, 0, 4, 0.6667, [("800", 2), ("(no answer)", 1), ("2432", 1)]),
    "q05": (9, 1, 2, 1.5833, [("(no answer)", 1), ("1280", 1), ("73728", 1)]),
    "q06": (7, 2, 3, 1.4167, [("[[3, 2], [1, 0]]", 2), ("(no answer)", 1), ("(wrong form)", 1)]),
    "q07": (7, 1, 4, 1.9722, [("(no answer)", 2), ("(wrong form)", 1),
                              ("[[2.25, 2.25, 3.25], [3.5, 3.25, 2.75], [3.25, 5.5, 3.75]]", 1)]),
    "q08": (7, 0, 5, 0.5833, [("D", 2), ("(no answer)", 1), ("(wrong form)", 1)]),
    "q09": (8, 0, 4, 0.6667, [("A", 2), ("(no answer)", 1), ("D", 1)]),
    "q10": (8, 0, 4, 0.6667, [("D", 2), ("(no answer)", 1), ("B", 1)]),
    "q11": (10, 0, 2, 0.8333, [("(no answer)", 1), ("A", 1)]),
    "q12": (7, 0, 5, 1.1667, [("A", 3), ("(no answer)", 1), ("D", 1)]),
    "q13": (7, 2, 3, 1.3333, [("(no answer)", 1), ("(wrong form)", 1),
                              ("Conv2d(16, 3, kernel_size=3, stride=2, padding=1)", 1)]),
}


@pytest.fixture(scope="module")
def graded_quiz(graded_demo):
    """The demo's quiz class, graded by `cnn-course autograde`, and `cnn-course report quiz --items`."""
    proc = subprocess.run(
        [sys.executable, "-m", "cnn_course", "report", "quiz", "--items", "--course", str(graded_demo.root)],
        capture_output=True, text=True, timeout=300,
    )
    assert proc.returncode == 0, proc.stderr[-3000:]
    return graded_demo.course, proc.stdout


@pytest.mark.slow
@pytest.mark.xdist_group("demo")
def test_the_solution_gets_full_marks_and_the_release_zero(graded_quiz):
    from cnn_course.reports import report

    course, _ = graded_quiz
    rows = {r.student_id: r for r in report.assignment_report(course, "quiz")}
    assert rows["fay_full"].score == 20 and rows["fay_full"].max_score == 20
    assert rows["gus_blank"].score == 0
    assert {sid: r.score for sid, r in rows.items()} == pytest.approx(EXPECTED_TOTALS, abs=1e-4)
    assert all(r.status == "graded" for r in rows.values())


@pytest.mark.slow
@pytest.mark.xdist_group("demo")
def test_empty_and_malformed_answers_score_zero_with_a_message(graded_quiz):
    course, _ = graded_quiz
    nb = nbformat.read(course.autograded("hal_malformed", "quiz") / "quiz.ipynb", as_version=4)
    errors = {grade_meta(c)["grade_id"]: f"{o.ename}: {o.evalue}" for c in nb.cells if c.cell_type == "code"
              for o in c.outputs if o.output_type == "error"}
    assert errors == {
        "quiz_q01": "AssertionError: q01: no answer yet: write a whole number (an int), without quotes",
        "quiz_q02_answer": errors["quiz_q02_answer"],  # `q02 =`: the student's own syntax error
        "quiz_q02": "NameError: name 'q02' is not defined",
        "quiz_q03": "AssertionError: q03: no answer yet: write a whole number (an int), without quotes",
        "quiz_q06": "AssertionError: q06: could not read the answer as a 2 x 2 table of numbers "
                    "(rows of different lengths, or something that is not a number?)",
        "quiz_q07": "AssertionError: q07: no answer yet: write a list of 3 rows with 3 numbers each, e.g. [[.., ..], ..]",
        "quiz_q08": "AssertionError: q08: expected exactly one letter among A, B, C, D; got 'E'",
        "quiz_q13": "AssertionError: q13: you assigned the class Conv2d; call it: nn.Conv2d(in, out, ...)",
    }
    assert errors["quiz_q02_answer"].startswith("SyntaxError")
    items_by_q = {it.qid: it for it in items.item_analysis(course, "quiz")[0]}
    for q in ("q01", "q02", "q03", "q06", "q07", "q08", "q13"):
        assert items_by_q[q].scores["hal_malformed"] == 0, q
    for q in ("q04", "q05", "q09", "q10", "q11", "q12"):  # q04 as a float, q09 in lower case: accepted
        assert items_by_q[q].scores["hal_malformed"] == question(q).points, q


@pytest.mark.slow
@pytest.mark.xdist_group("demo")
def test_item_analysis_of_the_demo_class_is_exact(graded_quiz):
    course, _ = graded_quiz
    found, totals = items.item_analysis(course, "quiz")
    assert totals == pytest.approx(EXPECTED_TOTALS, abs=1e-4)
    got = {it.qid: (it.right, it.partial, it.wrong, round(it.mean_score, 4), it.wrong_answers()) for it in found}
    assert got == EXPECTED_ITEMS
    ned = {it.qid: it.scores["ned_slips"] for it in found}
    assert (ned["q06"], ned["q07"], ned["q13"]) == (1.5, 2.6667, 1.0)
    assert items.distribution(totals, 20) == [("0-<4", 1), ("4-<8", 0), ("8-<12", 2), ("12-<16", 5), ("16-20", 4)]


@pytest.mark.slow
@pytest.mark.xdist_group("demo")
def test_report_items_prints_and_writes_csv_and_png(graded_quiz):
    course, stdout = graded_quiz
    assert "Item analysis of 'quiz': 12 students graded, 20 points" in stdout
    assert re.search(r"^q01 +Output size, stride 1 +1 +7 +0 +5 +58% +0\.58 +\(no answer\) \(2\), 27 \(2\), 32 \(1\)$",
                     stdout, re.MULTILINE)
    assert re.search(r"^q12 +Which stack gives this shape\? +2 +7 +0 +5 +58% +1\.17 +A \(3\), \(no answer\) \(1\), D \(1\)$",
                     stdout, re.MULTILINE)
    assert "Totals of 12 students: mean 13.39, median 15, min 0, max 20" in stdout
    assert re.search(r"^ +12-<16 +#####  +5$", stdout, re.MULTILINE)
    with open(course.autograded() / "quiz_items.csv", newline="", encoding="utf-8") as fh:
        rows = list(csv.DictReader(fh))
    assert [r["question"] for r in rows] == list(EXPECTED_ITEMS)
    assert rows[2] == {
        "question": "q03", "grade_id": "quiz_q03", "title": "Parameters of a fully-connected layer", "points": "2",
        "n": "12", "right": "7", "partial": "2", "wrong": "3", "share_right": "0.5833", "mean_score": "1.3333",
        "most_common_wrong": "(no answer) (2); 196608 (2); 65600 (1)",
    }
    png = (course.autograded() / "quiz_items.png").read_bytes()
    assert png[:8] == b"\x89PNG\r\n\x1a\n" and len(png) > 10_000
