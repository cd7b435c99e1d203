"""Every notebook: its metadata, the source passes all its tests, the release fails them cleanly,
and release/ is exactly what nbgrader generates from source/.

The notebooks run once per suite, in the graded demo course (conftest's ``graded_demo``):
``ada_perfect`` hands in the instructor's solutions (the source, as a student would type it)
and ``ben_untouched`` the release as downloaded; ``cnn-course demo`` regenerated release/ there.
"""

from __future__ import annotations

from collections import Counter

import nbformat
import pytest
from conftest import RELEASE, ROOT, SOURCE, grade_meta, nb_id, release_notebooks, source_notebooks

from cnn_course import editions

pytestmark = pytest.mark.slow

# the notebooks of the demo class: (assignment, stem); the quiz has its own class (fay, gus)
LECTURE_AND_HW2 = [p for p in source_notebooks() if p.parent.name != "quiz"]
SOLVED, UNTOUCHED = {"lecture": "ada_perfect", "hw2": "ada_perfect", "quiz": "fay_full"}, \
    {"lecture": "ben_untouched", "hw2": "ben_untouched", "quiz": "gus_blank"}


def test_every_source_notebook_has_a_release_twin():
    assert source_notebooks(), "no notebooks under source/"
    src = {p.relative_to(SOURCE) for p in source_notebooks()}
    rel = {p.relative_to(RELEASE) for p in release_notebooks()}
    assert src == rel


@pytest.mark.parametrize("path", source_notebooks(), ids=nb_id)
def test_grade_ids_points_and_metadata(path):
    nb = nbformat.read(path, as_version=4)
    number = path.stem.split("_")[0]
    prefix = f"nb{number}_" if number.isdigit() else f"{path.parent.name}_"
    metas = [grade_meta(c) for c in nb.cells if grade_meta(c)]
    ids = [m["grade_id"] for m in metas]
    assert len(ids) == len(set(ids)), [i for i, n in Counter(ids).items() if n > 1]
    assert all(i.startswith(prefix) for i in ids), [i for i in ids if not i.startswith(prefix)]
    assert all(m["schema_version"] == 3 for m in metas)
    tests = [m for m in metas if m["grade"]]
    assert tests, "no graded test cells"
    assert all(m["locked"] and m["points"] > 0 for m in tests)
    total = sum(m["points"] for m in tests)
    assert total % 5 == 0, f"points add up to {total}, not a round number"
    # every answer cell is followed by a test somewhere below it
    solutions = [i for i, c in enumerate(nb.cells) if grade_meta(c).get("solution")]
    assert solutions and all(
        any(grade_meta(c).get("grade") for c in nb.cells[i + 1 :]) for i in solutions
    )


def test_grade_ids_are_unique_across_the_course():
    ids = [grade_meta(c)["grade_id"] for p in source_notebooks()
           for c in nbformat.read(p, as_version=4).cells if grade_meta(c)]
    assert len(ids) == len(set(ids))


def test_notebooks_are_edited_in_one_place():
    """The .ipynb under source/ is the only source of a notebook: nothing generates one."""
    generators = [p for p in ROOT.rglob("*.py") if ".venv" not in p.parts and "new_notebook(" in p.read_text(
        encoding="utf-8", errors="replace") and "tests" not in p.parts]
    assert generators == [], generators


@pytest.mark.xdist_group("demo")
@pytest.mark.parametrize("path", source_notebooks(), ids=nb_id)
def test_source_notebook_runs_clean_and_passes_all_tests(graded_demo, path):
    nb = graded_demo.graded(SOLVED[path.parent.name], path.parent.name, path.stem)
    for cell in nb.cells:
        if cell.cell_type != "code":
            continue
        gid = grade_meta(cell).get("grade_id", "?")
        errors = [o for o in cell.outputs if o.output_type == "error"]
        stderr = [o.text for o in cell.outputs if o.output_type == "stream" and o.name == "stderr"]
        assert not errors, f"{gid}: {errors[0].ename}: {errors[0].evalue}"
        assert not stderr, f"{gid} wrote to stderr: {stderr}"


@pytest.mark.xdist_group("demo")
@pytest.mark.parametrize("path", release_notebooks(), ids=nb_id)
def test_release_notebook_has_no_answers_and_fails_its_tests_cleanly(graded_demo, path):
    text = path.read_text(encoding="utf-8")
    for marker in ("BEGIN SOLUTION", "END SOLUTION", "BEGIN HIDDEN TESTS", "END HIDDEN TESTS"):
        assert marker not in text
    nb = graded_demo.graded(UNTOUCHED[path.parent.name], path.parent.name, path.stem)
    for cell in nb.cells:
        if cell.cell_type != "code":
            continue
        meta = grade_meta(cell)
        gid = meta.get("grade_id", "?")
        stderr = [o.text for o in cell.outputs if o.output_type == "stream" and o.name == "stderr"]
        assert not stderr, f"{gid} wrote to stderr in the release: {stderr}"
        errors = [o for o in cell.outputs if o.output_type == "error"]
        if meta.get("grade"):
            assert errors, f"test cell {gid} passes on the untouched release notebook"
        for err in errors:
            # only the missing answers may fail, never the course's own code
            assert err.ename in ("NotImplementedError", "NameError"), f"{gid}: {err.ename}: {err.evalue}"


@pytest.mark.xdist_group("demo")
@pytest.mark.parametrize("lang", editions.LANGUAGES)
def test_release_is_exactly_what_nbgrader_generates(graded_demo, lang):
    """Both editions (release/ in Traditional Chinese, release-en/) are what `make release` makes of source/."""
    folder = editions.release_dir(lang)
    generated_dir, committed_dir = graded_demo.root / folder, ROOT / folder
    generated = sorted(p.relative_to(generated_dir) for p in generated_dir.rglob("*") if p.is_file())
    committed = sorted(p.relative_to(committed_dir) for p in committed_dir.rglob("*") if p.is_file())
    assert generated == committed
    for rel in committed:
        assert (generated_dir / rel).read_bytes() == (committed_dir / rel).read_bytes(), (
            f"{folder}/{rel} differs from what nbgrader generates: run `make release` and commit"
        )


def test_stored_outputs_are_cleared_in_source():
    """Outputs stored in source/ would reach the release: notebooks are committed without them."""
    for path in source_notebooks():
        nb = nbformat.read(path, as_version=4)
        kept = [grade_meta(c).get("grade_id") for c in nb.cells if c.cell_type == "code" and c.outputs]
        assert kept == [], (nb_id(path), kept)
