"""Hand-in normalisation and feedback redaction, without running a kernel (fast)."""

from __future__ import annotations

import copy

import nbformat
import pytest
from conftest import RELEASE, SOURCE

from cnn_course.demo import lecture as demo_class
from cnn_course.grading import handin, sandbox
from cnn_course.grading.execute import describe_exit
from cnn_course.reports import feedback

NB = "01_images_as_tensors"


@pytest.fixture(scope="module")
def release():
    return nbformat.read(RELEASE / "lecture" / f"{NB}.ipynb", as_version=4)


@pytest.fixture(scope="module")
def solved(release):
    return demo_class.fill_answers(release, nbformat.read(SOURCE / "lecture" / f"{NB}.ipynb", as_version=4))


def ids(nb):
    return [c.metadata.get("nbgrader", {}).get("grade_id") for c in nb.cells]


def test_well_behaved_hand_in_comes_out_unchanged(release, solved):
    nb = copy.deepcopy(solved)
    nb.cells.insert(6, nbformat.v4.new_code_cell("print('my own scratch cell')"))
    assert handin.restore_structure(nb, release) == nb


def test_moved_and_deleted_test_cells_are_put_back_in_release_order(release, solved):
    nb = copy.deepcopy(solved)
    moved = nb.cells.pop(ids(nb).index("nb01_to_chw"))
    nb.cells.insert(0, moved)
    del nb.cells[ids(nb).index("nb01_cifar_batch")]
    out = handin.restore_structure(nb, release)
    assert ids(out) == ids(release)
    assert out.cells[ids(out).index("nb01_to_chw_impl")].source == solved.cells[ids(solved).index("nb01_to_chw_impl")].source


def test_changed_metadata_is_restored_and_unknown_ids_are_dropped(release, solved):
    nb = copy.deepcopy(solved)
    nb.cells[ids(nb).index("nb01_shapes")].metadata.nbgrader["points"] = 100
    nb.cells[ids(nb).index("nb01_cifar_batch")].metadata.nbgrader["grade_id"] = "mine"
    out = handin.restore_structure(nb, release)
    meta = {c.metadata["nbgrader"]["grade_id"]: c.metadata["nbgrader"] for c in out.cells
            if "nbgrader" in c.metadata}
    assert meta["nb01_shapes"]["points"] == 2
    assert "mine" not in meta and meta["nb01_cifar_batch"]["points"] == 2


def test_read_hand_in_sorts_out_broken_renamed_and_extra_notebooks(tmp_path, release, solved):
    nbformat.write(solved, tmp_path / f"{NB} (1).ipynb")
    nbformat.write(nbformat.v4.new_notebook(), tmp_path / "notes.ipynb")
    h = handin.read_hand_in(tmp_path, {NB: release})
    assert list(h.notebooks) == [NB] and not h.missing and not h.invalid
    assert f"graded {NB} (1).ipynb as {NB}.ipynb (renamed)" in h.notes
    assert "ignored extra notebook notes.ipynb" in h.notes
    (tmp_path / f"{NB}.ipynb").write_text('{"cells": [', encoding="utf-8")
    h = handin.read_hand_in(tmp_path, {NB: release})
    assert NB in h.invalid and "is not valid JSON" in h.invalid[NB]
    assert handin.read_hand_in(tmp_path / "nothing", {NB: release}).missing == [NB]


def test_redaction_removes_hidden_blocks_lines_and_tracebacks():
    source = nbformat.read(SOURCE / "lecture" / f"{NB}.ipynb", as_version=4)
    secret = feedback.hidden_lines(source)
    nb = copy.deepcopy(source)
    cell = next(c for c in nb.cells if "BEGIN HIDDEN TESTS" in c.source)
    cell.outputs = [
        nbformat.v4.new_output("error", ename="AssertionError", evalue="x: expected 1, got 2. Hint: permute",
                               traceback=["Traceback ...", secret[0]]),
        nbformat.v4.new_output("stream", name="stdout", text=f"In: {secret[1]}\n"),
    ]
    prose = nbformat.v4.new_markdown_cell(f"Write `{secret[-1]}` with loops.")
    nb.cells.append(prose)
    feedback.redact_notebook(nb, secret)
    text = nbformat.writes(nb)
    assert "BEGIN HIDDEN TESTS" not in text
    assert not [s for c in nb.cells if c.cell_type == "code" for s in secret if s in nbformat.writes(
        nbformat.v4.new_notebook(cells=[c]))]
    assert prose.source == f"Write `{secret[-1]}` with loops."  # the course's text stays as written
    assert cell.outputs[0].traceback == ["AssertionError: x: expected 1, got 2. Hint: permute"]
    assert feedback.HIDDEN_NOTE in cell.source


def test_limits_reject_nonsense_and_exits_are_described():
    with pytest.raises(ValueError, match="Limits.memory: expected a positive integer, got 0"):
        sandbox.Limits(memory=0)
    assert describe_exit(-11).startswith("killed by SIGSEGV")
    assert describe_exit(3) == "exit code 3"
