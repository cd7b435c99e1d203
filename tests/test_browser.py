"""What a student and an instructor do, in JupyterLab driven by a real browser (headless Chromium).

`make test-browser` runs these (after `.ci/ensure-chromium`); `make test` calls it. Each test gets
its own JupyterLab server (a free port of 127.0.0.1, a token) over a temporary copy of the course,
stopped with its kernels whatever happens, and a fresh browser profile. Screenshots of every step,
the server log and the browser console go to test-output/browser/<test>/ (not committed); a
failing test adds FAILED.png and FAILED-page.html there. Every wait is on page state.
"""

from __future__ import annotations

import re
import shutil
import subprocess
import sys
from pathlib import Path

import nbformat
import psutil
import pytest
from browser_lab import CHROMIUM_ARGS, UI_MS, Notebook, Steps, chromium_executable, click_menu, lab_server
from conftest import RELEASE, ROOT, SOURCE, copy_course

pytestmark = [pytest.mark.browser, pytest.mark.slow]

OUTPUT = ROOT / "test-output" / "browser"
VIEWPORT = {"width": 1400, "height": 900}

NB01 = "lecture/01_images_as_tensors.ipynb"
# A student's typical mistake: reshape instead of permute (the hint of nb01_to_chw names it).
WRONG_TO_CHW = '''def to_chw(img_hwc):
    """(H, W, C) NumPy array -> (C, H, W) torch.Tensor with the same values and dtype."""
    h, w, c = img_hwc.shape
    return torch.as_tensor(np.asarray(img_hwc)).reshape(c, h, w)


def to_hwc(img_chw):
    """(C, H, W) torch.Tensor -> (H, W, C) NumPy array with the same values and dtype."""
    c, h, w = img_chw.shape
    return torch.as_tensor(img_chw).reshape(h, w, c).numpy()
'''
TO_CHW_HINT = "reshape/view keep the numbers in memory order and scramble the picture; permute moves axes"
TO_CHW_PASSED = "to_chw / to_hwc: visible tests passed"


def solution(nb_rel: str, grade_id: str) -> str:
    """The instructor's answer in source/ for the cell `grade_id`, as a student would type it."""
    nb = nbformat.read(SOURCE / nb_rel, as_version=4)
    for cell in nb.cells:
        if cell.metadata.get("nbgrader", {}).get("grade_id") == grade_id:
            lines = [ln for ln in cell.source.splitlines() if not re.match(r"\s*### (BEGIN|END) SOLUTION", ln)]
            return "\n".join(lines) + "\n"
    raise KeyError(f"{grade_id} not in source/{nb_rel}")


def answer_cells(nb_rel: str) -> list[str]:
    """grade_ids of the release notebook's `YOUR CODE HERE` cells, in order."""
    nb = nbformat.read(RELEASE / nb_rel, as_version=4)
    return [
        c.metadata["nbgrader"]["grade_id"]
        for c in nb.cells
        if c.cell_type == "code" and c.metadata.get("nbgrader", {}).get("solution") and "YOUR CODE HERE" in c.source
    ]


# --- fixtures ----------------------------------------------------------------------------------
@pytest.fixture
def out_dir(request) -> Path:
    """test-output/browser/<test>/, emptied: screenshots, server log, browser console."""
    folder = OUTPUT / request.node.name
    shutil.rmtree(folder, ignore_errors=True)
    folder.mkdir(parents=True)
    return folder


@pytest.fixture(scope="module")
def playwright():
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        yield p


@pytest.fixture
def student_lab(tmp_path, out_dir):
    """JupyterLab over a temporary copy of release/, as `make lab` gives a student."""
    root = tmp_path / "release"
    shutil.copytree(RELEASE, root)
    with lab_server(root, out_dir / "server.log") as server:
        yield server


@pytest.fixture
def instructor_lab(tmp_path, out_dir):
    """JupyterLab over a temporary course directory whose gradebook `cnn-course release` made."""
    course = copy_course(tmp_path / "course", with_release=False)
    made = subprocess.run(
        [sys.executable, "-m", "cnnlib.course", "release", "--course", str(course)],
        capture_output=True, text=True, timeout=600,
    )
    assert made.returncode == 0, made.stdout + made.stderr
    assert (course / "gradebook.db").exists()
    with lab_server(course, out_dir / "server.log") as server:
        yield server


@pytest.fixture
def browser(playwright, tmp_path, out_dir, request):
    """A page of a fresh headless Chromium profile and the test's `Steps` (screenshots).

    On a failure it adds FAILED.png and FAILED-page.html; the browser console goes to
    browser-console.log either way.
    """
    context = playwright.chromium.launch_persistent_context(
        str(tmp_path / "chromium-profile"), executable_path=chromium_executable(), headless=True,
        args=CHROMIUM_ARGS, viewport=VIEWPORT,
    )
    context.set_default_timeout(UI_MS)
    page = context.new_page()
    console: list[str] = []
    page.on("console", lambda m: console.append(f"{m.type}: {m.text}"))
    page.on("pageerror", lambda e: console.append(f"pageerror: {e}"))
    steps = Steps(page, out_dir)
    try:
        yield page, steps
    finally:
        report = getattr(request.node, "rep_call", None)
        if report is None or report.failed:
            try:
                page.screenshot(path=str(out_dir / "FAILED.png"))
                (out_dir / "FAILED-page.html").write_text(page.content())
            except Exception as exc:  # the page may be gone; the step screenshots stay
                console.append(f"could not save the failure screenshot: {exc}")
        (out_dir / "browser-console.log").write_text("\n".join(console) + "\n")
        context.close()


# --- the server fixture itself ------------------------------------------------------------------
def test_lab_server_stops_with_its_kernels_whatever_happens(tmp_path):
    (tmp_path / "root").mkdir()
    with pytest.raises(RuntimeError, match="something went wrong"):
        with lab_server(tmp_path / "root", tmp_path / "server.log") as server:
            assert server.base.startswith("http://127.0.0.1:")
            kernel = server.api("api/kernels", method="POST")
            assert kernel["name"] == "python3"
            family = psutil.Process(server.process.pid).children(recursive=True)
            assert family, "the kernel should run as a child of the server"
            raise RuntimeError("something went wrong")
    assert server.process.poll() is not None
    assert not [p for p in family if p.is_running() and p.status() != psutil.STATUS_ZOMBIE]


# --- scenario 1: a student --------------------------------------------------------------------
def test_student_runs_fills_in_tests_and_validates_notebook_01(student_lab, browser):
    page, steps = browser
    page.goto(student_lab.url(f"lab/tree/{NB01}"))
    nb = Notebook(page, student_lab.root / NB01)
    nb.wait_ready()
    assert nb.panel.locator(".validate-button").is_visible(), "nbgrader's Validate button is missing"
    steps.shot("notebook-open")

    # Run > Run All Cells: the figure renders as a picture; the run stops at the first exercise.
    nb.run_all()
    first = answer_cells(NB01)[0]
    nb.wait_output(first, "NotImplementedError")
    nb.output("nb01_show_rgb").locator("img").first.wait_for(timeout=UI_MS)
    assert "<Figure size" not in nb.output("nb01_show_rgb").inner_text()
    steps.shot("run-all-stops-at-first-exercise", nb.cell(first))

    # A correct to_chw/to_hwc, then the test cell below it: it passes.
    nb.type_into("nb01_to_chw_impl", solution(NB01, "nb01_to_chw_impl"))
    nb.run_cell("nb01_to_chw_impl")
    nb.run_cell("nb01_to_chw")
    out = nb.wait_output("nb01_to_chw", TO_CHW_PASSED)
    assert "Error" not in out.inner_text()
    steps.shot("correct-answer-test-passes", nb.cell("nb01_to_chw"))

    # reshape instead of permute: the test fails with the hint.
    nb.type_into("nb01_to_chw_impl", WRONG_TO_CHW)
    nb.run_cell("nb01_to_chw_impl")
    nb.run_cell("nb01_to_chw")
    out = nb.wait_output("nb01_to_chw", TO_CHW_HINT)
    assert TO_CHW_PASSED not in out.inner_text()
    assert "AssertionError" in out.inner_text()
    steps.shot("wrong-answer-shows-hint", nb.cell("nb01_to_chw"))

    # Validate (saves, then nbgrader runs the notebook): failed, with the hint in the verdict.
    dialog = nb.validate()
    message = dialog.locator("#validation-message")
    verdict = message.inner_text()
    steps.shot("validate-fails-with-hint")
    assert "validation-failed" in (message.get_attribute("class") or "")
    assert TO_CHW_HINT in verdict
    nb.close_dialog(dialog)

    # Every answer filled in as the instructor wrote it: Validate says the notebook passes.
    for grade_id in answer_cells(NB01):
        nb.type_into(grade_id, solution(NB01, grade_id))
    dialog = nb.validate()
    message = dialog.locator("#validation-message")
    verdict = message.inner_text()
    steps.shot("validate-passes")
    assert "Success! Your notebook passes all the tests." in verdict, verdict
    nb.close_dialog(dialog)


# --- scenario 2: an instructor ----------------------------------------------------------------
def test_instructor_sees_the_course_assignments_in_formgrader(instructor_lab, browser):
    page, steps = browser
    page.goto(instructor_lab.url("lab"))
    click_menu(page, "Nbgrader", "Formgrader")
    frame = page.frame_locator(".nbgrader-formgrader iframe, iframe[src*='formgrader']").first
    names = frame.locator("tbody tr td.name")
    expected = sorted(p.name for p in SOURCE.iterdir() if p.is_dir())
    page.wait_for_function(
        "n => [...document.querySelectorAll('iframe')].some(f => f.contentDocument && "
        "f.contentDocument.querySelectorAll('tbody tr td.name').length >= n)",
        arg=len(expected), timeout=UI_MS,
    )
    steps.shot("formgrader-lists-assignments")
    assert sorted(names.all_inner_texts()) == expected
    for name in expected:
        row = frame.locator("tbody tr", has=frame.locator("td.name", has_text=re.compile(rf"^{name}$")))
        assert row.locator("td.num-submissions").inner_text().strip() == "0"
