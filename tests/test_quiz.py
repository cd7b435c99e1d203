"""The quiz: its answer key is right, no release notebook or shipped module gives it away
(in the clear, encoded, or to a student who tries every answer on every function of
``cnnlib``), the practice questions check themselves, malformed answers score zero with a
message, and the demo class's item analysis is exact."""

from __future__ import annotations

import base64
import codecs
import csv
import dataclasses
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

import cnnlib
from cnn_course import editions
from cnn_course.reports import answer_key, items
from cnnlib import i18n, ops, quiz
from cnnlib.quiz_questions import PRACTICE, QUESTIONS, ask, check, practice, question

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


SLIDE_FILTER = [[1, 0, 0], [0, 1, 0], [0, 0, -1]]


def _conv(q, kernel) -> list:
    y = torch.tensor(_table(q), dtype=torch.float32)[None, None]
    return torch.nn.functional.conv2d(y, torch.tensor(kernel, dtype=torch.float32)[None, None])[0, 0].tolist()


def _right_option(q, key: str) -> str:
    return q.options[q.letters.index(key)]


def _stack_shape(text: str, in_shape) -> tuple:
    """Build a stack from an option's text (`Conv2d(...)`, `MaxPool2d(...)` in backquotes) and run it."""
    layers = [eval(f"nn.{part}", {"nn": nn}) for part in re.findall(r"`([^`]+)`", text)]
    return tuple(nn.Sequential(*layers)(torch.zeros(1, *in_shape)).shape[1:])


# --------------------------------------------------------------------------- the key and the questions


def test_one_graded_question_per_grade_id_and_twenty_five_points():
    assert list(KEY) == [f"quiz_q{i:02d}" for i in range(1, 16)]
    assert [q.grade_id for q in QUESTIONS] == list(KEY)
    for path in (QUIZ_SOURCE, QUIZ_RELEASE):
        nb = nbformat.read(path, as_version=4)
        ids = [grade_meta(c)["grade_id"] for c in nb.cells if grade_meta(c)]
        for q in QUESTIONS:  # one text, one answer and one graded test cell per question
            assert [i for i in ids if i.startswith(q.grade_id)] == [f"{q.grade_id}_text", f"{q.grade_id}_answer",
                                                                    q.grade_id], (path.parent.name, q.qid)
        points = {grade_meta(c)["grade_id"]: grade_meta(c)["points"] for c in nb.cells if grade_meta(c).get("grade")}
        assert list(points) == list(KEY)
        for q in QUESTIONS:
            assert points[q.grade_id] == q.points == KEY[q.grade_id].points, q.qid
        assert sum(points.values()) == 25
    kinds = {q.kind for q in QUESTIONS}
    assert kinds == {"choice", "number", "array", "code"}


@pytest.mark.parametrize("lang", i18n.LANGUAGES)
def test_question_cells_are_the_question_bank_in_source_and_release(lang):
    """Each edition's question cells are ``Question.markdown()`` in its language: in the source's
    block for the language, and in the release of that edition."""
    cnnlib.set_language(lang)
    try:
        for path in (QUIZ_SOURCE, ROOT / editions.release_dir(lang) / "quiz" / "quiz.ipynb"):
            cells = {grade_meta(c).get("grade_id"): c.source for c in nbformat.read(path, as_version=4).cells}
            for q in QUESTIONS:
                shown = editions.markdown_for(cells[f"quiz_{q.qid}_text"], lang)
                assert shown == q.markdown(), (path.parent.parent.name, lang, q.qid)
    finally:
        cnnlib.set_language("en")


def test_the_source_notebook_has_no_stored_outputs():
    for cell in nbformat.read(QUIZ_SOURCE, as_version=4).cells:
        if cell.cell_type == "code":
            assert cell.outputs == [] and cell.execution_count is None, grade_meta(cell).get("grade_id")


def test_the_graded_questions_hold_no_trace_of_their_answers():
    fields = {f.name for f in dataclasses.fields(QUESTIONS[0])}
    assert fields == {"qid", "title", "kind", "text", "points", "options", "shape", "spec"}
    assert all(type(q) is type(QUESTIONS[0]) for q in QUESTIONS)
    for lang in i18n.LANGUAGES:
        cnnlib.set_language(lang)
        for q in QUESTIONS:
            text = repr(dataclasses.asdict(q)) + q.markdown()
            assert answer_key.find_leaks(text, ANSWERS, strict=True) == [], (lang, q.qid)
            assert not re.search(r"\b[0-9a-f]{32,}\b", text), q.qid  # no digest of any kind
    cnnlib.set_language("en")


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
    assert _conv(question("q06"), SLIDE_FILTER) == _by_qid("q06").key
    x = torch.tensor(_table(question("q07")), dtype=torch.float32)[None, None]
    assert torch.nn.functional.max_pool2d(x, 2, stride=1)[0, 0].tolist() == _by_qid("q07").key


def test_a_flipped_filter_or_a_lost_minus_sign_misses_every_cell_of_q06():
    y = _table(question("q06"))
    assert y.min() >= 0 and y.max() <= 4  # small numbers, by hand
    key = np.array(_by_qid("q06").key)
    flipped = np.array(_conv(question("q06"), np.flip(SLIDE_FILTER).tolist()))  # true convolution
    assert np.all(key - flipped == 2 * (y[:2, :2] - y[2:, 2:]))
    assert np.all(flipped != key), flipped
    assert np.all(np.array(_conv(question("q06"), np.abs(SLIDE_FILTER).tolist())) != key)


def test_choice_answers_are_the_only_right_options():
    # q08: pooling 128 x 128 x 32 with kernel 2, stride 2
    out = nn.MaxPool2d(2)(torch.zeros(1, 32, 128, 128)).shape
    q8 = question("q08")
    assert [o for o in q8.options if o == f"{out[2]} x {out[3]} x {out[1]}"] == [_right_option(q8, _by_qid("q08").key)]
    # q12: build every stack from its option text and run it
    q12 = question("q12")
    good = [L for L, text in zip(q12.letters, q12.options, strict=True) if _stack_shape(text, (3, 32, 32)) == (16, 5, 5)]
    assert good == [_by_qid("q12").key]
    # q15: only one padding keeps 40 x 40 with a 5 x 5 kernel at stride 1
    q15 = question("q15")
    keeps = [L for L, text in zip(q15.letters, q15.options, strict=True)
             if ops.conv_output_size(40, 5, stride=1, padding=int(re.search(r"padding=(\d+)", text)[1])) == 40]
    assert keeps == [_by_qid("q15").key]
    # q09 BN: a BatchNorm without affine gives mean 0, std 1 -- the key option says so
    z = nn.BatchNorm1d(1, affine=False)(torch.randn(256, 1) * 7 + 3)
    assert abs(z.mean().item()) < 1e-5 and abs(z.std(unbiased=False).item() - 1) < 1e-3
    assert re.search(r"mean .*is 0 and .*standard deviation .*is 1", _right_option(question("q09"), _by_qid("q09").key))
    assert "height and width" in _right_option(question("q10"), _by_qid("q10").key)
    assert "fully-connected" in _right_option(question("q11"), _by_qid("q11").key)
    assert "running averages" in _right_option(question("q14"), _by_qid("q14").key)


def test_bn_in_eval_mode_uses_the_running_averages_as_q14_says():
    torch.manual_seed(0)
    bn = nn.BatchNorm2d(1)
    for _ in range(50):
        bn(torch.randn(64, 1, 4, 4) * 2 + 5)
    image, cats, trucks = torch.randn(1, 1, 4, 4), torch.randn(63, 1, 4, 4), torch.randn(63, 1, 4, 4) + 3
    with torch.no_grad():  # train mode: the batch decides (no_grad does not help)
        assert not torch.allclose(bn(torch.cat([image, cats]))[0], bn(torch.cat([image, trucks]))[0])
    bn.eval()
    assert torch.equal(bn(torch.cat([image, cats]))[0], bn(torch.cat([image, trucks]))[0])


def test_every_choice_has_four_different_options_and_the_keys_spread_over_a_to_d():
    keys = [KEY[q.grade_id].key for q in QUESTIONS if q.kind == "choice"]
    for q in QUESTIONS:
        if q.kind == "choice":
            assert q.letters == "ABCD" and len(set(q.options)) == 4, q.qid
    assert sorted(set(keys)) == ["A", "B", "C", "D"]
    assert max(keys.count(L) for L in "ABCD") <= 2, keys


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
    yield "table with a negative cell", "q06 = [[3, 1], [4, -1]]"
    yield "table with a negative, markdown", "| 3 | 1 |\n| 4 | -1 |"
    yield "new choice in quotes", "q14 = 'b'"
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


# --------------------------------------------------------------------------- in class: practice questions


def _practised(p):
    """The graded question that practice question ``p`` (``pNN``) practises (``qNN``)."""
    return question("q" + p.qid[1:])


def test_practice_questions_one_per_graded_topic_with_other_numbers():
    assert [p.qid for p in PRACTICE] == [f"p{i:02d}" for i in range(1, len(QUESTIONS) + 1)]
    assert {p.kind for p in PRACTICE} == {"choice", "number", "array", "code"}
    for p in PRACTICE:
        q = _practised(p)
        assert (p.kind, p.points) == (q.kind, 0) and p.text != q.text, p.qid
        if p.kind == "choice":  # other options, and the right one is not the graded right one
            assert p.options != q.options, p.qid
            assert _right_option(p, p.answer) != _right_option(q, KEY[q.grade_id].key), p.qid
        assert p.markdown().startswith(f"### Practice P{int(p.qid[1:])} · ") and "(ungraded)" in p.markdown()


def test_practice_answers_differ_from_the_graded_answers_of_their_topic():
    for p in PRACTICE:
        a = KEY[_practised(p).grade_id]
        if p.kind == "code":  # no layer answers both
            layer = nn.Conv2d(3, 64, 7, stride=2, padding=3)
            assert check(p.qid, layer) and not quiz.layer_fits(layer, **a.spec)
            stride, padding = answer_key._stride_padding(a.spec)
            assert not check(p.qid, nn.Conv2d(3, 64, 7, stride=stride, padding=padding))
            continue
        assert p.answer is not None, p.qid
        for value in a.values:
            assert not np.array_equal(np.asarray(p.answer), np.asarray(value)), p.qid
        assert p.answer not in (a.key, a.half), p.qid


def test_practice_answers_are_right():
    by = {p.qid: p for p in PRACTICE}
    assert by["p01"].answer == ops.conv_output_size(64, 7, stride=1, padding=0)
    assert by["p02"].answer == ops.conv_output_size(99, 7, stride=3, padding=2)
    assert by["p03"].answer == ops.linear_params(3 * 16 * 16, 10, bias=True)
    assert by["p04"].answer == ops.conv_params(3, 8, 7, bias=False)
    assert by["p05"].answer == sum(t.numel() for t in nn.Conv2d(32, 64, 5).parameters())
    assert _conv(by["p06"], SLIDE_FILTER) == by["p06"].answer
    x = torch.tensor(_table(by["p07"]), dtype=torch.float32)[None, None]
    assert torch.nn.functional.max_pool2d(x, 2, stride=2)[0, 0].tolist() == by["p07"].answer
    assert _right_option(by["p08"], by["p08"].answer) == "48 x 48 x 16"
    z = (torch.tensor([2.0, 4, 6, 8]) - 5) / torch.tensor([2.0, 4, 6, 8]).std(unbiased=False)
    assert _right_option(by["p09"], by["p09"].answer) == ", ".join(f"{v:.2f}" for v in z.tolist())
    assert tuple(nn.Conv2d(3, 8, 5).weight.shape[1:]) == (3, 5, 5)
    assert _right_option(by["p10"], by["p10"].answer).startswith("3 x 5 x 5")
    assert _right_option(by["p11"], by["p11"].answer).startswith(f"A vector of {16 * 5 * 5} numbers")
    p12 = by["p12"]
    assert [L for L, t in zip(p12.letters, p12.options, strict=True) if _stack_shape(t, (3, 64, 64)) == (8, 14, 14)] \
        == [p12.answer]
    assert "model.eval()" in _right_option(by["p14"], by["p14"].answer)
    p15 = by["p15"]
    assert [L for L, t in zip(p15.letters, p15.options, strict=True)
            if ops.conv_output_size(64, 7, padding=int(re.search(r"padding=(\d+)", t)[1])) == 64] == [p15.answer]


def test_practice_check_accepts_exactly_the_practice_answer_in_every_graded_form():
    for p in PRACTICE:
        if p.kind == "choice":
            assert check(p.qid, p.answer) and check(p.qid, f" {p.answer.lower()} ")
            assert [L for L in p.letters if check(p.qid, L)] == [p.answer]
        elif p.kind == "number":
            assert check(p.qid, p.answer) and check(p.qid, float(p.answer)) and check(p.qid, np.int64(p.answer))
            assert check(p.qid, torch.tensor(p.answer))
            assert not check(p.qid, p.answer + 1) and not check(p.qid, p.answer - 1)
        elif p.kind == "array":
            table = np.array(p.answer, dtype=float)
            assert check(p.qid, p.answer) and check(p.qid, table) and check(p.qid, torch.tensor(table))
            assert check(p.qid, table.tolist())
            for i in np.ndindex(table.shape):
                wrong = table.copy()
                wrong[i] += 1
                assert not check(p.qid, wrong), (p.qid, i)
        else:
            assert check(p.qid, nn.Conv2d(3, 64, kernel_size=7, stride=2, padding=3))
            assert check(p.qid, nn.Conv2d(3, 64, 7, 2, 3, bias=False))
            assert not check(p.qid, nn.Conv2d(3, 64, 7, stride=2, padding=2))
            assert not check(p.qid, nn.Conv2d(3, 64, 5, stride=2, padding=2))  # right shape, wrong kernel
            assert not check(p.qid, nn.Conv2d(1, 64, 7, stride=2, padding=3))  # cannot even run
    with pytest.raises(AssertionError, match="p01: no answer yet"):
        check("p01", None)
    with pytest.raises(AssertionError, match="p08: expected exactly one letter among A, B, C, D; got 'E'"):
        check("p08", "E")
    with pytest.raises(KeyError, match="no practice question 'p99'; expected one of p01, p02"):
        check("p99", 1)


@pytest.mark.parametrize("qid", [q.qid for q in QUESTIONS])
def test_a_graded_question_has_no_self_check(qid):
    message = (f"{qid} is a graded quiz question and has no self-check (its answer is checked only at grading); "
               f"practise with the practice questions {', '.join(p.qid for p in PRACTICE)}")
    for value in (None, "A", 0, [[0]], KEY[f"quiz_{qid}"].key):
        with pytest.raises(KeyError) as err:
            check(qid, value)
        assert err.value.args == (message,)
    for fn in (ask, practice):
        with pytest.raises(KeyError) as err:
            fn(qid)
        assert err.value.args == (message,)


def _widgets(box) -> list:
    """Every widget in a box, the box included."""
    return [box] + [w for child in getattr(box, "children", ()) for w in _widgets(child)]


def _typed(p) -> str:
    """What a student types into the practice widget for the right answer."""
    if p.kind == "choice":
        return p.answer
    if p.kind == "code":
        return "nn.Conv2d(3, 64, kernel_size=7, stride=2, padding=3)"
    return str(p.answer)


@pytest.mark.parametrize("lang", i18n.LANGUAGES)
def test_ask_builds_a_widget_that_holds_no_graded_answer_and_checks_the_practice_one(lang):
    """In class, in either language: the widget speaks it and judges the practice answer."""
    cnnlib.set_language(lang)
    right = i18n.gettext_for(lang)("<b>Right.</b>")
    assert right == ("<b>答對了。</b>" if lang == "zh_TW" else "<b>Right.</b>")
    try:
        for p in PRACTICE:
            box = ask(p.qid)
            state = json.dumps([w.get_state() for w in _widgets(box)], default=str)
            # a choice widget lists every letter, so letters in quotes are no leak there
            assert answer_key.find_leaks(state, ANSWERS, strict=p.kind != "choice") == [], p.qid
            field, button = box.children[1].children
            verdict = box.children[2]
            field.value = _typed(p)
            button.click()
            assert verdict.value == right, (p.qid, verdict.value)
            field.value = next(L for L in p.letters if L != p.answer) if p.kind == "choice" else "[[0]]"
            button.click()
            assert verdict.value != right and verdict.value, p.qid
    finally:
        cnnlib.set_language("en")


# --------------------------------------------------------------------------- the student who tries every answer

# Runs in a fresh interpreter that can import cnnlib but not cnn_course, nbgrader or the tests:
# what a student has. It finds every public function of every cnnlib module that takes a
# question id (a parameter named like qid, pid, question, name) and a value, calls it with each
# graded id and each candidate answer, and reports each candidate whose behaviour (return value,
# exception, printed text) differs from that of the right answer, or that shows the right
# answer. The harness says which candidate is right, only to compare; echoes of the candidate
# itself (``q01 = 27: the form is right``) are blanked in both texts before comparing.
STUDENT_PROBE = r'''
import contextlib, importlib, inspect, io, json, pkgutil, re, sys

class Block:
    def find_spec(self, name, path=None, target=None):
        if name.split(".")[0] in ("cnn_course", "nbgrader", "conftest", "test_quiz"):
            raise ImportError("blocked: " + name)

sys.meta_path.insert(0, Block())
import numpy as np
import torch.nn as nn
import cnnlib
from cnnlib import quiz

QID_NAMES = ("qid", "pid", "question", "question_id", "name")
VALUE_KINDS = (inspect.Parameter.POSITIONAL_ONLY, inspect.Parameter.POSITIONAL_OR_KEYWORD,
               inspect.Parameter.KEYWORD_ONLY)
job = json.load(open(sys.argv[1]))


def functions():
    found = []
    for info in pkgutil.iter_modules(cnnlib.__path__):
        mod = importlib.import_module("cnnlib." + info.name)
        for name, fn in sorted(vars(mod).items()):
            if name.startswith("_") or not callable(fn) or getattr(fn, "__module__", None) != mod.__name__:
                continue
            try:
                params = list(inspect.signature(fn).parameters.values())
            except (TypeError, ValueError):
                continue
            qid = next((p.name for p in params if p.name in QID_NAMES), None)
            value = next((p.name for p in params if p.name != qid and p.kind in VALUE_KINDS), None)
            if qid and value:
                found.append((mod.__name__ + "." + name, fn, qid, value))
    if job.get("plant"):  # a checker planted by the test, to show that the probe finds one
        space = {}
        exec(job["plant"], space)
        found.append(("plant.peek", space["peek"], "qid", "value"))
    return found


def candidate(raw):
    if isinstance(raw, dict):
        return nn.Conv2d(*raw["conv"][0], **raw["conv"][1])
    return raw


def forms(c):
    """Texts in which a call may echo the candidate."""
    if isinstance(c, str):
        return {repr(c), repr(c.strip()), repr(c.strip().upper()), c.strip().upper(), c.strip()}
    if isinstance(c, nn.Module):
        return {repr(c), quiz.show(c)}
    if isinstance(c, list):
        arr = np.asarray(c, dtype=float)
        return {repr(c), str(c), quiz.show(arr), repr(arr), str(arr), repr(np.asarray(c)), str(np.asarray(c))}
    return {repr(c), str(c), repr(float(c)), f"{c:,}"}


def words(texts):
    """One pattern for any of ``texts`` as a whole word (longest first)."""
    alts = [r"(?<![\w.])" + re.escape(t) + r"(?![\w.])" for t in sorted(set(texts), key=len, reverse=True)]
    return re.compile("|".join(alts))


def behaviour(fn, kwargs, c):
    out = io.StringIO()
    try:
        with contextlib.redirect_stdout(out), contextlib.redirect_stderr(out):
            got = fn(**kwargs)
        if got is c or (isinstance(got, np.ndarray) and not isinstance(c, nn.Module)
                        and np.shape(got) == np.shape(np.asarray(c)) and np.array_equal(got, np.asarray(c))):
            shown = "<the candidate>"
        else:
            shown = re.sub(r" at 0x[0-9a-fA-F]+", "", repr(got))
        result = "returned " + type(got).__name__ + " " + shown
    except BaseException as exc:  # noqa: BLE001 -- any exception is behaviour too
        result = "raised " + type(exc).__name__ + ": " + str(exc)
    return out.getvalue() + "|" + result


report = {"functions": [], "calls": 0, "differences": []}
found = functions()
report["functions"] = [f[0] for f in found]
for qid, spec in job["questions"].items():
    cands = [candidate(c) for c in spec["candidates"]]
    right = cands[spec["right"]]
    reveals = words([f for f in forms(right) if not isinstance(right, str) or f.startswith(("'", '"'))])
    own = [words(forms(c)) for c in cands]  # a candidate's echoes
    pair = {}  # the right answer's and a candidate's echoes, made when needed
    for fname, fn, qp, vp in found:
        seen = behaviour(fn, {qp: qid, vp: right}, right)
        for i, c in enumerate(cands):
            if c is right:
                continue
            got = behaviour(fn, {qp: qid, vp: c}, c)
            report["calls"] += 1
            if got != seen:
                if i not in pair:
                    pair[i] = words(forms(right) | forms(c))
                same = pair[i].sub("<answer>", got) == pair[i].sub("<answer>", seen)
            else:
                same = True
            shown = reveals.findall(own[i].sub("<answer>", got))
            if not same or shown:
                report["differences"].append([fname, qid, repr(c), seen[-300:], got[-300:], shown])
json.dump(report, open(sys.argv[2], "w"))
'''


def _candidates(a: answer_key.Answer, q) -> tuple[list, int]:
    """Every answer worth trying for graded question ``q``, and the index of the right one."""
    if q.kind == "choice":
        cands = list(q.letters) + [L.lower() for L in q.letters]
        return cands, cands.index(a.key)
    if q.kind == "number":
        near = {v + d for v in a.values for d in range(-300, 301)}
        cands = sorted({*range(0, 1001), *range(0, 300_001, 997), *near} & set(range(0, 300_001)))
        return cands, cands.index(a.key)
    if q.kind == "array":
        key = np.array(a.key)
        cands = [key.tolist(), np.zeros_like(key).tolist()]
        for i in np.ndindex(key.shape):
            for d in (-3, -2, -1, 1, 2, 3):
                wrong = key.copy()
                wrong[i] += d
                cands.append(wrong.tolist())
        rng = np.random.default_rng(0)
        cands += rng.integers(-4, 9, size=(30, *key.shape)).tolist()
        return cands, 0
    (_, c_in, *_), (_, c_out, *_), k = a.spec["in_shape"], a.spec["out_shape"], a.spec["kernel_size"]
    stride, padding = answer_key._stride_padding(a.spec)
    cands = [{"conv": [[c_in, c_out, k], {"stride": stride, "padding": padding}]}]
    for ci, co, kk, s, pad in [(c_in, c_out, k, 1, 1), (c_in, c_out, k, 2, 0), (c_out, c_in, k, stride, padding),
                               (c_in, c_out, k + 2, stride, padding + 1), (c_in, c_out, k, 3, 1), (c_in, 8, k, 2, 1)]:
        cands.append({"conv": [[ci, co, kk], {"stride": s, "padding": pad}]})
    return cands, 0


# the self-check this module used to ship: a salted SHA-256 of each graded answer, planted
# beside cnnlib's functions so that the probe shows it finds such a checker
PLANTED = ("import hashlib\n"
           "DIGESTS = {digests!r}\n"
           "def peek(qid, value):\n"
           "    value = value.strip().upper() if isinstance(value, str) else value\n"
           "    return hashlib.sha256(f'salt/{{qid}}/{{value}}'.encode()).hexdigest() == DIGESTS.get(qid)\n")


@pytest.fixture(scope="module")
def student_probe(tmp_path_factory) -> dict:
    """What the probe found on every graded question, with ``PLANTED`` among cnnlib's functions."""
    questions = {}
    for q in QUESTIONS:
        cands, right = _candidates(KEY[q.grade_id], q)
        questions[q.qid] = {"candidates": cands, "right": right}
    assert len(questions["q01"]["candidates"]) > 1000 and len(questions["q08"]["candidates"]) == 8
    assert all(KEY[f"quiz_{qid}"].key in job["candidates"] for qid, job in questions.items() if qid != "q13")
    digests = {a.qid: hashlib.sha256(f"salt/{a.qid}/{a.key}".encode()).hexdigest()
               for a in ANSWERS if a.grader in ("grade_choice", "grade_number")}
    folder = tmp_path_factory.mktemp("student")
    job, out = folder / "job.json", folder / "report.json"
    job.write_text(json.dumps({"questions": questions, "plant": PLANTED.format(digests=digests)}), encoding="utf-8")
    proc = subprocess.run([sys.executable, "-c", STUDENT_PROBE, str(job), str(out)], cwd=folder,
                          capture_output=True, text=True, timeout=600)
    assert proc.returncode == 0, proc.stderr[-3000:]
    return json.loads(out.read_text(encoding="utf-8"))


@pytest.mark.xdist_group("quiz_probe")  # one worker runs the probe once
def test_a_student_who_tries_every_answer_on_every_cnnlib_function_learns_nothing(student_probe):
    report = student_probe
    assert {"cnnlib.quiz_questions.check", "cnnlib.quiz.check_letter", "cnnlib.quiz.as_int",
            "cnnlib.quiz.grade_choice", "cnnlib.widgets.self_check"} <= set(report["functions"])
    assert report["calls"] > 100_000
    assert [d for d in report["differences"] if d[0] != "plant.peek"] == []


@pytest.mark.xdist_group("quiz_probe")  # one worker runs the probe once
def test_the_student_probe_finds_a_salted_digest_check_like_the_old_one(student_probe):
    found = {qid for fname, qid, *_ in student_probe["differences"] if fname == "plant.peek"}
    assert found == {a.qid for a in ANSWERS if a.grader in ("grade_choice", "grade_number")}


# --------------------------------------------------------------------------- the demo class, graded


EXPECTED_TOTALS = {
    "fay_full": 25, "gus_blank": 0, "hal_malformed": 10, "ivy_plus_one": 18, "jon_same_size": 17,
    "kai_avg_pool": 18, "lin_stride2": 18, "max_no_rgb": 19, "ned_slips": 18.6667, "oli_guesses": 12,
    "pam_signs": 16, "rio_mostly": 17,
}

# question -> (right, partial, wrong, mean score, most common answers without full marks)
EXPECTED_ITEMS = {
    "q01": (7, 0, 5, 0.5833, [("(no answer)", 2), ("27", 2), ("32", 1)]),
    "q02": (7, 0, 5, 0.5833, [("(no answer)", 2), ("54", 2), ("56", 1)]),
    "q03": (7, 2, 3, 1.3333, [("(no answer)", 2), ("196608", 2), ("65600", 1)]),
    "q04": (8, 0, 4, 0.6667, [("800", 2), ("(no answer)", 1), ("2432", 1)]),
    "q05": (9, 1, 2, 1.5833, [("(no answer)", 1), ("1280", 1), ("73728", 1)]),
    "q06": (6, 1, 5, 2.25, [("[[1, 7], [2, 3]]", 2), ("(no answer)", 1), ("(wrong form)", 1)]),
    "q07": (7, 1, 4, 1.9722, [("(no answer)", 2), ("(wrong form)", 1),
                              ("[[2.25, 2.25, 3.25], [3.5, 3.25, 2.75], [3.25, 5.5, 3.75]]", 1)]),
    "q08": (6, 0, 6, 0.5, [("D", 2), ("(no answer)", 1), ("(wrong form)", 1)]),
    "q09": (8, 0, 4, 0.6667, [("A", 2), ("(no answer)", 1), ("D", 1)]),
    "q10": (8, 0, 4, 0.6667, [("D", 2), ("(no answer)", 1), ("B", 1)]),
    "q11": (10, 0, 2, 0.8333, [("(no answer)", 1), ("A", 1)]),
    "q12": (6, 0, 6, 1.0, [("B", 2), ("D", 2), ("(no answer)", 1)]),
    "q13": (7, 2, 3, 1.3333, [("(no answer)", 1), ("(wrong form)", 1),
                              ("Conv2d(16, 3, kernel_size=3, stride=2, padding=1)", 1)]),
    "q14": (7, 0, 5, 1.1667, [("A", 2), ("(no answer)", 1), ("C", 1)]),
    "q15": (7, 0, 5, 0.5833, [("(no answer)", 1), ("(wrong form)", 1), ("A", 1)]),
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
    assert rows["fay_full"].score == 25 and rows["fay_full"].max_score == 25
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
    zh = i18n.gettext_for("zh_TW")  # the release graded here is the Traditional Chinese edition
    abcd = "A, B, C, D"
    assert errors == {
        "quiz_q01": "AssertionError: " + zh(quiz.NO_ANSWER_INT).format(name="q01"),
        "quiz_q02_answer": errors["quiz_q02_answer"],  # `q02 =`: the student's own syntax error
        "quiz_q02": "NameError: name 'q02' is not defined",
        "quiz_q03": "AssertionError: " + zh(quiz.NO_ANSWER_INT).format(name="q03"),
        "quiz_q06": "AssertionError: " + zh("{name}: could not read the answer as a {rows} x {cols} table of numbers "
                                            "(rows of different lengths, or something that is not a number?)").format(
            name="q06", rows=2, cols=2),
        "quiz_q07": "AssertionError: " + zh(quiz.NO_ANSWER_ARRAY).format(name="q07", rows=3, cols=3),
        "quiz_q08": "AssertionError: " + zh("{name}: expected exactly one letter among {choices}; got {got}").format(
            name="q08", choices=abcd, got="'E'"),
        "quiz_q13": "AssertionError: " + zh("{name}: you assigned the class {cls}; call it: nn.Conv2d(in, out, ...)").format(
            name="q13", cls="Conv2d"),
        "quiz_q15": "AssertionError: " + zh("{name}: expected one letter in quotes (a str), one of {choices}; got {got}"
                                            ).format(name="q15", choices=abcd, got="int 2"),
    }
    assert "還沒有答案" in errors["quiz_q01"]
    assert errors["quiz_q02_answer"].startswith("SyntaxError")
    items_by_q = {it.qid: it for it in items.item_analysis(course, "quiz")[0]}
    for q in ("q01", "q02", "q03", "q06", "q07", "q08", "q13", "q15"):
        assert items_by_q[q].scores["hal_malformed"] == 0, q
    for q in ("q04", "q05", "q09", "q10", "q11", "q12", "q14"):  # q04 as a float, q09 in lower case: accepted
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
    assert (ned["q06"], ned["q07"], ned["q13"]) == (0.0, 2.6667, 1.0)  # the flipped filter misses every cell
    assert {it.qid: it.scores["rio_mostly"] for it in found}["q06"] == 3.0  # one lost minus sign: 3 of 4 cells
    assert items.distribution(totals, 25) == [("0-<4", 1), ("4-<8", 0), ("8-<12", 1), ("12-<16", 1), ("16-<20", 8),
                                              ("20-<24", 0), ("24-25", 1)]


@pytest.mark.slow
@pytest.mark.xdist_group("demo")
def test_report_items_prints_and_writes_csv_and_png(graded_quiz):
    course, stdout = graded_quiz
    assert "Item analysis of 'quiz': 12 students graded, 25 points" in stdout
    assert re.search(r"^q01 +Output size, stride 1 +1 +7 +0 +5 +58% +0\.58 +\(no answer\) \(2\), 27 \(2\), 32 \(1\)$",
                     stdout, re.MULTILINE)
    assert re.search(r"^q06 +A small convolution +4 +6 +1 +5 +50% +2\.25 +\[\[1, 7\], \[2, 3\]\] \(2\), "
                     r"\(no answer\) \(1\), \(wrong form\) \(1\)$", stdout, re.MULTILINE)
    assert re.search(r"^q12 +Which stack gives this shape\? +2 +6 +0 +6 +50% +1\.00 +B \(2\), D \(2\), \(no answer\) \(1\)$",
                     stdout, re.MULTILINE)
    assert re.search(r"^q14 +Batch norm in train and eval mode +2 +7 +0 +5 +58% +1\.17 +A \(2\), \(no answer\) \(1\), "
                     r"C \(1\)$", stdout, re.MULTILINE)
    assert re.search(r"^q15 +Same padding +1 +7 +0 +5 +58% +0\.58 +\(no answer\) \(1\), \(wrong form\) \(1\), A \(1\)$",
                     stdout, re.MULTILINE)
    assert "Totals of 12 students: mean 15.72, median 17.5, min 0, max 25" in stdout
    assert re.search(r"^ +16-<20 +########  +8$", stdout, re.MULTILINE)
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
