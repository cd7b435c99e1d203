"""What a student and an instructor do, in JupyterLab driven by a real browser (headless Chromium).

`make test-browser` runs these (after `.ci/ensure-chromium`); `make test` calls it. Each test gets
its own JupyterLab server (a free port of 127.0.0.1, a token) over a temporary copy of the course,
stopped with its kernels whatever happens, and a fresh browser profile. Screenshots of every step,
the server log and the browser console go to test-output/browser/<test>/ (not committed); a
failing test adds FAILED.png and FAILED-page.html there. Every wait is on page state.
"""

from __future__ import annotations

import base64
import io
import re
import shutil
import subprocess
import sys
from pathlib import Path

import matplotlib.image as mpimg
import nbformat
import numpy as np
import psutil
import pytest
from browser_lab import (
    CHROMIUM_ARGS,
    KERNEL_RUN_MS,
    UI_MS,
    Notebook,
    Steps,
    chromium_executable,
    click_menu,
    lab_server,
)
from conftest import RELEASE, ROOT, SOURCE, copy_course

from cnn_course.demo import lecture as demo_class
from cnnlib import i18n, ops, slides, widgets

pytestmark = [pytest.mark.browser, pytest.mark.slow, pytest.mark.xdist_group("browser")]

OUTPUT = ROOT / "test-output" / "browser"
VIEWPORT = {"width": 1400, "height": 900}

NB02 = "lecture/02_convolution_by_hand.ipynb"
# The typical mistake of notebook 02: a true convolution (kernel flipped), and the hint it gets
# (release/ is the default edition, Traditional Chinese).
FLIP_HINT = "把 kernel 翻轉了：你算的是真正的 convolution"
CONV_PASSED = "conv2d_single：和投影片一致"
STEPPER_SUM = "window {k} of {n} (feature map row {row}, column {col}): {terms} = sum = {total}"


def window_text(k: int, n: int) -> str:
    """How the stepper's sum line starts at window k (1-based) of n in release/ (Traditional Chinese)."""
    line = i18n.gettext_for("zh_TW")(STEPPER_SUM)
    assert line != STEPPER_SUM, "the stepper's sum line has no Traditional Chinese translation"
    return line.split("{row}")[0].format(k=k, n=n)


def solution(nb_rel: str, grade_id: str) -> str:
    """The instructor's answer in source/ for the cell `grade_id`, as a student would type it."""
    nb = nbformat.read(SOURCE / nb_rel, as_version=4)
    for cell in nb.cells:
        if cell.metadata.get("nbgrader", {}).get("grade_id") == grade_id:
            return demo_class.strip_solution_markers(cell.source)
    raise KeyError(f"{grade_id} not in source/{nb_rel}")


def answer_cells(nb_rel: str) -> list[str]:
    """grade_ids of the release notebook's `YOUR CODE HERE` cells, in order."""
    nb = nbformat.read(RELEASE / nb_rel, as_version=4)
    return [
        c.metadata["nbgrader"]["grade_id"]
        for c in nb.cells
        if c.cell_type == "code" and c.metadata.get("nbgrader", {}).get("solution") and "YOUR CODE HERE" in c.source
    ]


def red_box(png: bytes) -> tuple[int, int]:
    """(top, left) pixel of the red window frame in the stepper's left panel (the input image)."""
    rgb = mpimg.imread(io.BytesIO(png))[..., :3]
    left = rgb[:, : int(rgb.shape[1] * 0.4)]
    rows, cols = np.nonzero((left[..., 0] > 0.8) & (left[..., 1] < 0.25) & (left[..., 2] < 0.25))
    assert rows.size, "no red window frame in the stepper's input panel"
    return int(rows.min()), int(cols.min())


def move_stepper_to(page, out, k: int, presses: int) -> bytes:
    """Press the right arrow `presses` times on the stepper's slider, wait until it shows window k
    (0-based): the sum line first, then the very picture cnnlib draws for window k. Returns the PNG."""
    out.locator(".cnn-stepper-slider .noUi-handle").focus()
    for _ in range(presses):
        page.keyboard.press("ArrowRight")
    return wait_for_stepper(page, out, k)


def expected_stepper_png(k: int) -> bytes:
    """The picture cnnlib's stepper (the slide's image and filter) shows at window k (0-based)."""
    import ipywidgets

    box = widgets.conv_stepper()
    slider = next(w for w in box.children if isinstance(w, ipywidgets.IntSlider))
    image = next(w for w in box.children if isinstance(w, ipywidgets.Image))
    slider.value = k + 1  # the slider counts windows from 1
    return image.value


def wait_for_stepper(page, out, k: int) -> bytes:
    n_steps = widgets.ConvStepper().n_steps
    out.locator(".cnn-stepper-sum").get_by_text(window_text(k + 1, n_steps)).wait_for(timeout=KERNEL_RUN_MS)
    readout = out.locator(".cnn-stepper-slider .widget-readout").inner_text().strip()
    assert readout == str(k + 1), f"the slider shows {readout} for window {k + 1}"  # slider and text agree
    want = expected_stepper_png(k)
    page.wait_for_function(
        """async ([img, want]) => { const b = new Uint8Array(await (await fetch(img.src)).arrayBuffer());
        let s = ""; for (const x of b) s += String.fromCharCode(x); return btoa(s) === want; }""",
        arg=[out.locator("img.widget-image").element_handle(), base64.b64encode(want).decode()],
        polling=200, timeout=KERNEL_RUN_MS,
    )
    return want


def stepper_sum(out) -> float:
    text = out.locator(".cnn-stepper-sum").inner_text()
    m = re.search(r"= (-?[0-9.]+)\s*$", text)  # "... = sum = 1" (en), "... = 總和 = 1" (zh)
    assert m, f"no 'sum = <value>' in the stepper's line {text!r}"
    return float(m.group(1))


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
        [sys.executable, "-m", "cnn_course", "release", "--course", str(course)],
        capture_output=True, text=True, timeout=600,
    )
    assert made.returncode == 0, made.stdout + made.stderr
    assert (course / "gradebook.db").exists()
    with lab_server(course, out_dir / "server.log") as server:
        yield server


@pytest.fixture
def browser(playwright, tmp_path, out_dir, request):
    """(page, steps, console): a page of a fresh headless Chromium profile, the test's `Steps`
    (screenshots) and the browser console's messages so far.

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
        yield page, steps, console
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


def test_nbgrader_extensions_are_enabled():
    """Validate (student) and formgrader (instructor) come from nbgrader's pip package."""
    def listing(*args: str) -> str:
        done = subprocess.run([sys.executable, "-m", "jupyter", *args], capture_output=True, text=True, timeout=120)
        return re.sub(r"\x1b\[[0-9;]*m", "", done.stdout + done.stderr)

    labext = listing("labextension", "list")
    assert re.search(r"@jupyter/nbgrader v\S+ enabled\s+OK", labext), labext
    assert re.search(r"@jupyter-widgets/jupyterlab-manager v\S+ enabled\s+OK", labext), labext
    serverext = listing("server", "extension", "list")
    for ext in ("validate_assignment", "formgrader"):
        assert re.search(rf"nbgrader\.server_extensions\.{ext} enabled", serverext), serverext


# --- scenario 1: a student --------------------------------------------------------------------
def test_student_steps_through_convolution_fills_in_and_validates_notebook_02(student_lab, browser):
    page, steps, console = browser
    page.goto(student_lab.url(f"lab/tree/{NB02}"))
    nb = Notebook(page, student_lab, NB02)
    nb.wait_ready()
    assert nb.panel.locator(".validate-button").is_visible(), "nbgrader's Validate button is missing"
    steps.shot("notebook-open")

    # Run > Run All Cells: the slide's filter is drawn; the run stops at the first exercise.
    nb.run_all()
    first = answer_cells(NB02)[0]
    nb.wait_output(first, "NotImplementedError")
    nb.output("nb02_show_example").locator("img").first.wait_for(timeout=UI_MS)
    assert "<Figure size" not in nb.output("nb02_show_example").inner_text()
    steps.shot("run-all-stops-at-first-exercise", nb.cell(first))

    # The convolution stepper (its cell needs only the imports): slider, sum line and picture.
    nb.run_cell("nb02_stepper")
    out = nb.output("nb02_stepper")
    slider = out.locator(".cnn-stepper-slider")
    slider.wait_for(timeout=KERNEL_RUN_MS)
    assert slider.locator(".widget-label").inner_text() == "window"
    fmap = ops.conv2d(slides.conv_image(), slides.conv_kernel())  # (4, 4): the feature map
    png0 = wait_for_stepper(page, out, 0)
    assert stepper_sum(out) == fmap[0, 0]
    steps.shot("stepper-window-1", nb.cell("nb02_stepper"))

    # One step right: the window moves one column right, the sum is the next value of the map.
    png1 = move_stepper_to(page, out, 1, presses=1)
    assert stepper_sum(out) == fmap[0, 1]
    (top0, left0), (top1, left1) = red_box(png0), red_box(png1)
    assert top1 == top0 and left1 > left0, "the highlighted window did not move right"
    steps.shot("stepper-window-2", nb.cell("nb02_stepper"))

    # On to window 15 (row 4, column 3), where the slide prints 1 and the sum says 2.
    png14 = move_stepper_to(page, out, 14, presses=13)
    assert stepper_sum(out) == fmap[3, 2] == 2
    top14, left14 = red_box(png14)
    assert top14 > top0 and left1 < left14, "the highlighted window is not at row 4, column 3"
    steps.shot("stepper-window-15", nb.cell("nb02_stepper"))

    # A correct conv2d_single, then the test cell below it: it passes.
    nb.type_into("nb02_conv2d_single_impl", solution(NB02, "nb02_conv2d_single_impl"))
    nb.run_cell("nb02_conv2d_single_impl")
    nb.run_cell("nb02_conv2d_single")
    out = nb.wait_output("nb02_conv2d_single", CONV_PASSED)
    assert "Error" not in out.inner_text()
    steps.shot("correct-answer-test-passes", nb.cell("nb02_conv2d_single"))

    # A true convolution (the kernel flipped): the test fails with the hint.
    nb.type_into("nb02_conv2d_single_impl", demo_class.TYPICAL_MISTAKES["nb02_conv2d_single_impl"])
    nb.run_cell("nb02_conv2d_single_impl")
    nb.run_cell("nb02_conv2d_single")
    out = nb.wait_output("nb02_conv2d_single", FLIP_HINT)
    assert CONV_PASSED not in out.inner_text() and "AssertionError" in out.inner_text()
    steps.shot("wrong-answer-shows-hint", nb.cell("nb02_conv2d_single"))

    # Validate (saves, then nbgrader runs the notebook): failed, with the hint in the verdict.
    dialog = nb.validate()
    message = dialog.locator("#validation-message")
    verdict = message.inner_text()
    steps.shot("validate-fails-with-hint")
    assert "validation-failed" in (message.get_attribute("class") or ""), verdict
    assert FLIP_HINT in verdict
    nb.close_dialog(dialog)

    # Every answer filled in as the instructor wrote it: Run All goes to the end without an error
    # (both steppers and the self-checks render), and Validate says the notebook passes.
    for grade_id in answer_cells(NB02):
        nb.type_into(grade_id, solution(NB02, grade_id))
    click_menu(page, "Kernel", "Restart Kernel and Run All Cells…")
    page.locator(".jp-Dialog .jp-Dialog-button.jp-mod-accept").click()
    last = max(i for i, c in enumerate(nb.nb.cells) if c.cell_type == "code")
    nb.output(last).locator(".jp-OutputArea-output").first.wait_for(timeout=KERNEL_RUN_MS)
    nb.wait_idle()
    for grade_id in ("nb02_stepper", "nb02_stepper_own"):
        nb.output(grade_id).locator(".cnn-stepper-sum").get_by_text(window_text(1, 16)).wait_for(timeout=UI_MS)
    assert nb.panel.locator(".cnn-check-button").count() >= 1
    errors = nb.panel.locator(".jp-OutputArea-output[data-mime-type='application/vnd.jupyter.stderr']")
    assert errors.count() == 0, errors.all_inner_texts()
    steps.shot("all-answers-run-all-to-the-end", nb.cell("nb02_stepper_own"))
    dialog = nb.validate()
    verdict = dialog.locator("#validation-message").inner_text()
    steps.shot("validate-passes")
    assert "Success! Your notebook passes all the tests." in verdict, verdict
    nb.close_dialog(dialog)
    assert not [m for m in console if m.startswith("pageerror")], "uncaught errors in the page"


# --- scenario 2: an instructor ----------------------------------------------------------------
def test_instructor_sees_the_course_assignments_in_formgrader(instructor_lab, browser):
    page, steps, _ = browser
    page.goto(instructor_lab.url("lab"))
    listing = page.locator(".jp-DirListing-item .jp-DirListing-itemName")
    for entry in ("source", "release", "nbgrader_config.py"):  # the course folder, as the instructor's
        listing.get_by_text(entry, exact=True).wait_for(timeout=UI_MS)
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
