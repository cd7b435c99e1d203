"""Nothing a student holds gives a graded answer away: every graded value of every notebook is
collected from the source notebooks, and no release notebook (raw file, cell, output) and no
``cnnlib`` module contains one in the clear or encoded; leaks planted in a copy are found.

Fast: the notebooks are parsed, never run."""

from __future__ import annotations

import ast
import base64
import hashlib
import json
import re

import nbformat
import numpy as np
import pytest
from conftest import RELEASE, ROOT, SOURCE, grade_meta, nb_id, release_notebooks, source_notebooks

from cnn_course.reports import answer_key, leaks
from cnn_course.reports import answers as parsing
from cnnlib import ops, slides

ANSWERS = leaks.course_answers(SOURCE)
BY_NOTEBOOK = {nb_id(p): leaks.graded_answers(p) for p in source_notebooks()}


def _own_and_others(notebook: str):
    return ([a for a in ANSWERS if a.notebook == notebook], [a for a in ANSWERS if a.notebook != notebook])


def _scan_all(text: str, notebook: str) -> list[str]:
    """Strict for the notebook's own answers, encodings and named assignments for all others."""
    own, others = _own_and_others(notebook)
    return leaks.scan(text, own, strict=True) + leaks.scan(text, others, strict=False)


# --------------------------------------------------------------------------- collection


def _graded_ids(nb) -> list[str]:
    return [grade_meta(c)["grade_id"] for c in nb.cells if grade_meta(c).get("grade")]


def _hidden(cell) -> str:
    return "\n".join(leaks.HIDDEN_TESTS.findall(cell.source))


def _plain_literal_assignments(source: str):
    """(name, value) of each top-level ``name = <literal arithmetic>`` of a solution cell,
    evaluated with ``eval`` (no names, no calls), independently of the collector."""
    for node in ast.parse(source).body:
        if not (isinstance(node, ast.Assign) and len(node.targets) == 1 and isinstance(node.targets[0], ast.Name)):
            continue
        if any(isinstance(n, (ast.Call, ast.Name, ast.Attribute, ast.Lambda, ast.ListComp)) for n in ast.walk(node.value)):
            continue
        yield node.targets[0].id, eval(compile(ast.Expression(node.value), "<solution>", "eval"), {"__builtins__": {}})


def _same(a, b) -> bool:
    if isinstance(a, dict) or isinstance(b, dict):
        return isinstance(a, dict) and isinstance(b, dict) and a.keys() == b.keys() and all(_same(a[k], b[k]) for k in a)
    try:
        return np.shape(a) == np.shape(b) and np.allclose(np.asarray(a, dtype=float), np.asarray(b, dtype=float))
    except (TypeError, ValueError):
        return a == b


@pytest.mark.parametrize("path", source_notebooks(), ids=nb_id)
def test_every_graded_cell_has_its_answers_collected(path):
    nb = nbformat.read(path, as_version=4)
    answers = BY_NOTEBOOK[nb_id(path)]
    by_name = {a.name: a for a in answers}
    graded = _graded_ids(nb)
    assert {a.grade_id for a in answers} <= set(graded), "an answer must belong to a graded cell"

    # every literal a solution cell assigns is an answer, of the next graded cell below it
    next_graded = None
    for cell in reversed(nb.cells):
        meta = grade_meta(cell)
        if meta.get("grade"):
            next_graded = meta["grade_id"]
        if cell.cell_type != "code" or not meta.get("solution"):
            continue
        for name, value in _plain_literal_assignments(cell.source):
            assert name in by_name, f"{meta['grade_id']}: {name} = {value!r} is not collected"
            assert _same(by_name[name].value, value), name
            assert by_name[name].grade_id == next_graded, name
            for key, item in (value.items() if isinstance(value, dict) else []):
                assert _same(by_name[f"{name}[{key!r}]"].value, item), f"{name}[{key!r}]"

    # every value whose form the visible test checks ("typed", "checked at grading") has answers
    source = "\n".join(c.source for c in nb.cells)
    for name in re.findall(r"assert_typed\(\s*[\"'](\w+)[\"']", source):
        assert name in by_name, f"assert_typed({name!r}): not collected"
    for cell in nb.cells:
        meta = grade_meta(cell)
        if meta.get("grade") and "checked at grading" in cell.source:
            assert any(a.grade_id == meta["grade_id"] for a in answers), f"{meta['grade_id']}: no answer collected"

    # a hidden test's literal expected value agrees with the collected answer
    for cell in nb.cells:
        tree = ast.parse(_hidden(cell) or "pass")
        for node in ast.walk(tree):
            if (isinstance(node, ast.Call) and parsing._call_name(node) in leaks.CHECKS and len(node.args) >= 2
                    and isinstance(node.args[0], ast.Name) and node.args[0].id in by_name):
                expected = parsing.literal_value(node.args[1])
                if expected is not parsing._NOT_A_VALUE:
                    assert _same(by_name[node.args[0].id].value, expected), node.args[0].id

    # the quiz: every graded cell, as its graders read it
    if any(grader in _hidden(c) for c in nb.cells for grader in leaks.QUIZ_GRADERS):
        key = answer_key.answer_key(path)
        assert {a.grade_id for a in answers} == set(key) == set(graded)
        for gid, ans in key.items():
            if ans.grader != "grade_conv2d":
                assert any(a.grade_id == gid and _same(a.value, ans.key) for a in answers), gid


# the exercises each lecture has (names are the notebooks' API; the values come from the notebooks)
EXERCISES = {
    "lecture/01_images_as_tensors": {"frame_shape", "gray_frame_shape", "xray_shape", "batch_shape"},
    "lecture/02_convolution_by_hand": {"feature_map_by_hand"},
    "lecture/03_stride_padding_channels": {"weight_shape", "bias_shape"},
    "lecture/04_pooling": {"avg_k2_s2", "max_k2_s1", "pooled_hwc", "kept_fraction"},
    "lecture/06_cnn_in_pytorch": {"lenet_shapes", "lenet_params"},
}


@pytest.mark.parametrize("notebook", sorted(EXERCISES))
def test_the_value_exercises_are_all_there(notebook):
    answers = BY_NOTEBOOK[notebook]
    names = {a.name for a in answers}
    assert EXERCISES[notebook] <= names
    kinds = {a.name: a.kind for a in answers}
    if notebook == "lecture/06_cnn_in_pytorch":
        shapes = next(a.value for a in answers if a.name == "lenet_shapes")
        params = next(a.value for a in answers if a.name == "lenet_params")
        assert len(shapes) == 8 and len(params) == 5
        assert {f"lenet_shapes[{k!r}]" for k in shapes} | {f"lenet_params[{k!r}]" for k in params} <= names
    if notebook == "lecture/04_pooling":
        assert kinds["avg_k2_s2"] == kinds["max_k2_s1"] == "table" and kinds["pooled_hwc"] == "shape"
    if notebook == "lecture/02_convolution_by_hand":
        assert np.shape(next(a.value for a in answers if a.name == "feature_map_by_hand")) == (3, 3)


def test_the_distinctiveness_rule():
    def answer(value):
        return leaks.GradedAnswer("x", "g", "v", value, "solution")

    assert answer(2416).distinctive and answer(1 / 9).distinctive and answer(1.75).distinctive
    assert not any(answer(v).distinctive for v in (4, 16, 99, 0.25, 1.5, -3))
    assert answer((3, 240, 320)).distinctive and answer((30, 30, 48)).distinctive
    assert not answer((32,)).distinctive and not answer((576,)).distinctive and not answer((4, 4)).distinctive
    assert answer([[1, 2], [3, 4]]).distinctive and not answer([[1], [2], [3]]).distinctive


@pytest.mark.parametrize("path", source_notebooks(), ids=nb_id)
def test_the_scan_finds_every_answer_in_its_source_notebook(path):
    # the collector and the scan agree: each answer (a dict through its items) is in its source
    texts = answer_key.notebook_texts(path)
    for a in BY_NOTEBOOK[nb_id(path)]:
        if a.kind != "mapping":
            assert any(leaks.scan(t, [a], strict=True) for t in texts), a


# --------------------------------------------------------------------------- no answer given away


EDITIONS = release_notebooks() + sorted((ROOT / "release-en").glob("*/*.ipynb"))  # both editions


@pytest.mark.parametrize("path", EDITIONS, ids=lambda p: f"{p.parts[-3]}/{nb_id(p)}")
def test_no_release_notebook_gives_a_graded_answer_away(path):
    found = [leak for text in answer_key.notebook_texts(path) for leak in _scan_all(text, nb_id(path))]
    assert found == [], "\n".join(leaks.notebook_leaks(path, ANSWERS))


def test_no_student_module_gives_a_graded_answer_away():
    modules = leaks.student_modules(ROOT)
    assert len(modules) > 10
    found = [line for path in modules for line in leaks.module_leaks(path, ANSWERS)]
    assert found == []


# --------------------------------------------------------------------------- planted leaks


def _md_rows(table) -> str:
    return "\n".join("| " + " | ".join(f"{v:g}" for v in row) + " |" for row in np.asarray(table, dtype=float))


def _forms(a):
    """Hand-written ways to give answer ``a`` away (independent of the scanner): (form, text)."""
    v, kind = a.value, a.kind
    if kind == "shape" and a.distinctive:
        yield "plain tuple", str(tuple(v))
        yield "times", " x ".join(map(str, v))
        yield "compact times", "x".join(map(str, v))
        yield "bare", ", ".join(map(str, v))
        yield "list", str(list(v))
    if kind == "table" and a.distinctive:
        yield "markdown rows", _md_rows(v)
        yield "transposed", str(np.asarray(v).T.tolist())
        yield "numpy repr", repr(np.asarray(v))
    if kind == "number" and a.distinctive:
        yield "number", f"{v:,}" if float(v).is_integer() else f"{v:.4f}"
    if a.expression:
        yield "arithmetic", a.expression
    if kind not in ("layer", "mapping") and a.quiz is None:
        yield "named", f"{a.name} = {v!r}"
    if kind != "layer":
        raw = json.dumps(v).encode()
        yield "base64 of the JSON", base64.b64encode(raw).decode()
        yield "sha256 of the JSON", hashlib.sha256(raw).hexdigest()
        yield "hex of the JSON", raw.hex()


def _plants():
    """(notebook, form, answer, text): each form once per notebook, on the first answer it fits."""
    for notebook, answers in sorted(BY_NOTEBOOK.items()):
        done = set()
        for a in answers:
            for form, text in _forms(a):
                if form not in done:
                    done.add(form)
                    yield pytest.param(notebook, a, text, id=f"{notebook}-{form}")


def _planted_copy(tmp_path, notebook: str, text: str):
    """A copy of the release notebook with ``text`` in a new Markdown cell, in a new code cell (as
    comment lines) and in the stored stdout of a third; returns (path, {place: cell id})."""
    nb = nbformat.read(RELEASE / f"{notebook}.ipynb", as_version=4)
    md = nbformat.v4.new_markdown_cell(f"A note.\n\n{text}\n")
    code = nbformat.v4.new_code_cell("x = 1\n" + "\n".join(f"# {line}" for line in text.splitlines()))
    out = nbformat.v4.new_code_cell("show()")
    out.outputs = [nbformat.v4.new_output("stream", name="stdout", text=text + "\n")]
    for cell, cid in ((md, "planted-md"), (code, "planted-code"), (out, "planted-output")):
        cell.id = cid
        nb.cells.insert(len(nb.cells) // 2, cell)
    path = tmp_path / notebook.replace("/", "__") / f"{notebook.split('/')[1]}.ipynb"
    path.parent.mkdir(parents=True)
    nbformat.write(nb, path)
    return path, {"markdown source": md.id, "code source": code.id, "code output 0": out.id}


@pytest.mark.parametrize(("notebook", "answer", "text"), list(_plants()))
def test_the_scan_catches_planted_leaks(tmp_path, notebook, answer, text):
    path, places = _planted_copy(tmp_path, notebook, text)
    texts = answer_key.notebook_texts(path)
    assert any(leaks.scan(t, [answer], strict=True) for t in texts), text
    nb = nbformat.read(path, as_version=4)
    cells = {c.id: c for c in nb.cells}
    for place, cid in places.items():
        cell = cells[cid]
        part = cell.outputs[0].text if place.startswith("code output") else cell.source
        found = leaks.scan(part, [answer], strict=True)
        assert any(line.startswith(f"{answer.grade_id}:") for line in found), (place, text)


def test_notebook_leaks_names_each_place(tmp_path):
    frame = next(a for a in BY_NOTEBOOK["lecture/01_images_as_tensors"] if a.name == "frame_shape")
    path, places = _planted_copy(tmp_path, frame.notebook, "3 x 240 x 320")
    lines = leaks.notebook_leaks(path, ANSWERS, notebook=frame.notebook)
    for place, cid in places.items():
        assert any(f"cell {cid} (" in line and place in line and "nb01_shapes" in line for line in lines), place


def _innocent_texts():
    image, kernel = slides.conv_image(), slides.conv_kernel()
    X = np.array([[1, 3, 1, 2], [-1, 1, 1, 0], [0, 1, 1, 0], [0, 0, 1, 2]])  # the pooling slide's input
    yield "the slide's 6x6 image", str(image)
    yield "its 4x4 feature map", str(ops.conv2d(image, kernel))
    yield "the feature map as printed", str(slides.conv_feature_map_as_printed())
    yield "the pooling slide's input", _md_rows(X)
    for mode, stride in (("max", 2), ("avg", 2), ("max", 1)):
        yield f"the slide's {mode} pooling, stride {stride}", str(ops.pool2d(X, 2, stride, mode=mode).tolist())
    yield "nb04's worked results", "[[3, 2], [1, 2]], [[1, 1], [0.25, 1]] and [[3, 3, 2], [1, 1, 1], [1, 1, 2]]"
    yield "LeNet-5 on 32x32 grayscale", ("INPUT 32x32 -> 6@28x28 -> 6@14x14 -> 16@10x10 -> 16@5x5; (6, 28, 28), "
                                         "(6, 14, 14), (16, 10, 10), (16, 5, 5), 400, 120, 84, 10; 61,706 parameters "
                                         "(C1 156, C5 48,120)")
    yield "the slide's RGB image", "RGB, 128 x 128: (3, 128, 128); grayscale (1, 128, 128)"
    yield "another order of a shape", "240 x 320 x 3, (48, 30, 30), (320, 240, 3)"
    yield "small numbers", "4 16 0.25 1.5 a number such as 1 / 2; 3 x 3 windows; 2 x 2"
    yield "near misses", "(3, 240, 321), 2417, 0.112, [[3, 0, -1], [1, -1, 1], [0, 1, 3]], 6 * 3 * 5 * 5 + 7"


@pytest.mark.parametrize(("what", "text"), list(_innocent_texts()), ids=[w for w, _ in _innocent_texts()])
def test_the_scan_lets_worked_examples_and_other_numbers_pass(what, text):
    lecture = [a for a in ANSWERS if a.quiz is None]
    quiz = [a for a in ANSWERS if a.quiz is not None]  # the quiz's scan flags every bare number: its own texts only
    assert leaks.scan(text, lecture, strict=True) + leaks.scan(text, quiz, strict=False) == [], what
