"""The whole classroom loop on a real JupyterHub on this machine, in a browser (`make test-hub`).

One course hub per session (`cnn-course hub start`, as `make hub` runs it, in its own folder
/srv/cnn-course-test with accounts `cnnt-*` that the session makes and removes): JupyterHub with
configurable-http-proxy, PAM logins with passwords, each server as its user's own Unix account,
nbgrader's exchange. Screenshots of every step go to test-output/hub/. Then 30 students fetch and
submit at once and the instructor collects. Needs root (accounts, PAM, servers as users) and
Debian's chromium; skipped, saying why, without them.
"""

from __future__ import annotations

import json
import os
import pwd
import re
import shutil
import subprocess
import time
from pathlib import Path

import nbformat
import pytest
from browser_lab import (
    CHROMIUM_ARGS,
    KERNEL_RUN_MS,
    UI_MS,
    Notebook,
    chromium_executable,
    click_menu,
    free_port,
)
from conftest import RELEASE, ROOT, SOURCE, cnn_course
from test_browser import FLIP_HINT, solution

from cnn_course.demo import lecture as demo_class

pytestmark = [pytest.mark.slow, pytest.mark.browser, pytest.mark.requires_root, pytest.mark.xdist_group("hub")]

HUB_DIR = Path("/srv/cnn-course-test")
PREFIX = "cnnt-"
OUTPUT = ROOT / "test-output" / "hub"
VIEWPORT = {"width": 1400, "height": 900}
NB02 = "lecture/02_convolution_by_hand.ipynb"
A, B, C = (f"{PREFIX}student{i}" for i in (1, 2, 3))
LOAD_USERS = [f"{PREFIX}load{i:02d}" for i in range(1, 31)]
# A: the feature map by hand right (5 points), conv2d_single flipped (0 of 6, with the hint)
A_SCORE, A_NB02 = 5.0, 5.0


def _course_users() -> list[str]:
    return [p.pw_name for p in pwd.getpwall() if p.pw_name.startswith(PREFIX)]


def _wipe() -> None:
    """No hub, accounts, homes or exchange of an earlier session."""
    cnn_course("hub", "stop", "--dir", str(HUB_DIR), timeout=120)
    for user in _course_users():
        subprocess.run(["pkill", "-KILL", "-u", user], capture_output=True)
        subprocess.run(["userdel", "--remove", user], capture_output=True)
    for group in ("students", "instructors"):
        subprocess.run(["groupdel", f"{PREFIX}{group}"], capture_output=True)
    shutil.rmtree(HUB_DIR, ignore_errors=True)


@pytest.fixture(scope="module")
def hub():
    """The course hub of this session, started as `make hub` starts one (only `lecture` generated)."""
    if os.geteuid() != 0:
        pytest.skip("the course hub needs root: PAM logins, accounts, servers started as their users")
    from cnn_course.hub import server
    from cnn_course.hub.settings import Hub

    try:
        chromium_executable()
        server.proxy_command()
    except (RuntimeError, FileNotFoundError) as exc:
        pytest.skip(f"{exc} (`make test-hub` installs both)")
    _wipe()
    shutil.rmtree(OUTPUT, ignore_errors=True)
    OUTPUT.mkdir(parents=True)
    port = free_port()
    t0 = time.perf_counter()
    started = cnn_course("hub", "start", "--dir", str(HUB_DIR), "--port", str(port), "--prefix", PREFIX,
                         "--students", "3", "--assignments", "lecture", timeout=600)
    assert started.returncode == 0, started.stdout[-3000:] + started.stderr[-3000:]
    (OUTPUT / "hub-start.txt").write_text(f"{started.stdout}\nstarted in {time.perf_counter() - t0:.1f} s\n")
    assert f"http://127.0.0.1:{port}" in started.stdout and f"{A} " in started.stdout
    again = cnn_course("hub", "start", "--dir", str(HUB_DIR), "--port", str(port), "--prefix", PREFIX, timeout=120)
    assert again.returncode == 0 and "up in" in again.stdout  # idempotent: the running hub is reported
    try:
        yield Hub.load(HUB_DIR)
    finally:
        shutil.copy(HUB_DIR / "state" / "jupyterhub.log", OUTPUT / "jupyterhub.log")
        stopped = cnn_course("hub", "stop", "--dir", str(HUB_DIR), timeout=120)
        assert "stopped" in stopped.stdout, stopped.stdout + stopped.stderr
        _wipe()


@pytest.fixture(scope="module")
def playwright():
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        yield p


class Browser:
    """One user's browser (a fresh profile) on the hub; screenshots numbered across the whole flow."""

    count = 0

    def __init__(self, playwright, hub, user: str):
        from cnn_course.hub import accounts

        self.hub, self.user, self.password = hub, user, accounts.known_accounts(hub)[user]
        self.browser = playwright.chromium.launch(executable_path=chromium_executable(), headless=True,
                                                  args=CHROMIUM_ARGS)
        self.page = self.browser.new_page(viewport=VIEWPORT)
        self.page.set_default_timeout(UI_MS)

    def shot(self, name: str, locator=None) -> None:
        """test-output/hub/NN-<name>.png: one numbering across every user's browser."""
        if locator is not None:
            locator.scroll_into_view_if_needed()
        Browser.count += 1
        path = OUTPUT / f"{Browser.count:02d}-{name}.png"
        self.page.screenshot(path=str(path))
        with open(OUTPUT / "steps.txt", "a") as fh:
            fh.write(f"{path.name}\t{time.strftime('%H:%M:%S')}\t{self.user}\n")

    def log_in(self) -> None:
        """The hub's login page, the account's password; wait until the user's JupyterLab is up."""
        self.page.goto(f"{self.hub.url}/hub/login")
        self.page.fill("#username_input", self.user)
        self.page.fill("#password_input", self.password)
        self.page.click("#login_submit")
        self.page.wait_for_url(re.compile(rf"/user/{self.user}/lab"), timeout=KERNEL_RUN_MS * 2)
        self.page.locator(".jp-LabShell").wait_for(timeout=KERNEL_RUN_MS)
        self.page.locator(".lm-MenuBar-item", has_text="Nbgrader").wait_for()

    def api(self, path: str):
        return self.page.request.get(f"{self.hub.url}/user/{self.user}/{path}").json()

    def assignments_tab(self):
        """Nbgrader > Assignment List: the Assignments tab (its lists have ids of their own)."""
        click_menu(self.page, "Nbgrader", "Assignment List")
        self.page.locator("#released_assignments_list").wait_for()
        return self.page

    def close(self) -> None:
        self.browser.close()


class HubLab:
    """What browser_lab.Notebook needs of a server: the notebook's text and a settled kernel."""

    def __init__(self, browser: Browser):
        self.root, self.browser = RELEASE, browser

    def wait_kernel_settled(self, timeout: float = KERNEL_RUN_MS / 1000) -> None:
        deadline = time.monotonic() + timeout
        while True:
            kernels = self.browser.api("api/kernels")
            if len(kernels) == 1 and kernels[0]["connections"] >= 1 and kernels[0]["execution_state"] == "idle":
                return
            assert time.monotonic() < deadline, f"no single idle kernel within {timeout:.0f} s: {kernels}"
            self.browser.page.wait_for_timeout(250)  # poll interval between two looks at the server


def as_user(hub, user: str, *args: str, cwd: str | None = None) -> str:
    from cnn_course.hub import asuser

    done = asuser.run_as(hub, user, list(args), cwd=cwd or os.path.expanduser(f"~{user}"), timeout=600)
    assert done.returncode == 0, f"{user}: {' '.join(args)}\n{done.stdout[-2000:]}{done.stderr[-2000:]}"
    return done.stdout + done.stderr


def hostile_code(hub) -> str:
    """C's conv2d_single cell: try to read A's work, the exchange's other folders, the instructor's
    course folder, and to use the hub's API; print each attempt's outcome as one JSON line."""
    exchange = hub.exchange / hub.course_id
    course = hub.course_dir(os.path.expanduser(f"~{hub.instructor}"))
    return f'''\
import json, os, urllib.request

def attempt(what):
    try:
        return "READ " + repr(what())[:120]
    except Exception as exc:
        return f"{{type(exc).__name__}} {{getattr(exc, 'code', '')}}".strip()

def api(path, method="GET"):
    url = os.environ.get("JUPYTERHUB_API_URL", "http://127.0.0.1:{hub.hub_port}/hub/api") + path
    token = os.environ.get("JUPYTERHUB_API_TOKEN", "")
    req = urllib.request.Request(url, method=method, headers={{"Authorization": f"token {{token}}"}})
    return urllib.request.urlopen(req, timeout=10).read()

ATTEMPTS = {{
    "inbound_list": attempt(lambda: os.listdir("{exchange}/inbound")),
    "feedback_list": attempt(lambda: os.listdir("{exchange}/feedback")),
    "outbound_write": attempt(lambda: open("{exchange}/outbound/lecture/planted.txt", "w")),
    "a_home": attempt(lambda: os.listdir("{os.path.expanduser(f'~{A}')}")),
    "a_notebook": attempt(lambda: open("{os.path.expanduser(f'~{A}')}/{NB02}").read()),
    "course_folder": attempt(lambda: os.listdir("{course}")),
    "course_source": attempt(lambda: open("{course}/source/{NB02}").read()),
    "gradebook": attempt(lambda: open("{course}/gradebook.db", "rb").read()),
    "hub_users": attempt(lambda: api("/users")),
    "hub_a_server": attempt(lambda: api("/users/{A}/server", "POST")),
}}
ATTEMPTS["hub_token"] = "present" if os.environ.get("JUPYTERHUB_API_TOKEN") else "absent"
print("HOSTILE " + json.dumps(ATTEMPTS))


def conv2d_single(image, kernel):
    return image
'''


def hostile_outcomes(nb) -> dict[str, str]:
    cell = next(c for c in nb.cells if c.metadata.get("nbgrader", {}).get("grade_id") == "nb02_conv2d_single_impl")
    text = "".join(o.get("text", "") for o in cell.outputs if o.output_type == "stream")
    line = next(x for x in text.splitlines() if x.startswith("HOSTILE "))
    return json.loads(line[len("HOSTILE "):])


def assert_all_refused(outcomes: dict[str, str], where: str) -> None:
    """Every read, write and API call of C's notebook failed, each for the reason it must."""
    outcomes = dict(outcomes)
    token = outcomes.pop("hub_token")  # C's server holds a token for the hub's API; grading does not
    assert token == ("present" if where == "in C's server" else "absent"), (where, token)
    assert len(outcomes) == 10, outcomes
    for what, outcome in outcomes.items():
        if what.startswith("hub_"):
            assert re.fullmatch(r"HTTPError 40[34]", outcome), (where, what, outcome)
        else:
            assert outcome in ("PermissionError", "FileNotFoundError"), (where, what, outcome)
    assert outcomes["inbound_list"] == outcomes["a_home"] == outcomes["a_notebook"] == "PermissionError"
    assert outcomes["course_folder"] == "PermissionError", (where, outcomes)


def write_hostile_notebook(hub, user: str) -> None:
    """C's fetched notebook 02 with the hostile cell as the conv2d_single answer, owned by C; the
    other notebooks deleted (C hands in only this one: they score 0, and grading stays short)."""
    path = Path(os.path.expanduser(f"~{user}")) / NB02
    for other in path.parent.glob("*.ipynb"):
        if other != path:
            other.unlink()
    nb = nbformat.read(path, as_version=4)
    cell = next(c for c in nb.cells if c.metadata.get("nbgrader", {}).get("grade_id") == "nb02_conv2d_single_impl")
    cell.source = hostile_code(hub)
    nbformat.write(nb, path)
    pw = pwd.getpwnam(user)
    os.chown(path, pw.pw_uid, pw.pw_gid)


def release_with_formgrader(ins: Browser) -> None:
    click_menu(ins.page, "Nbgrader", "Formgrader")
    frame = ins.page.frame_locator("iframe[src*='formgrader']").first
    row = frame.locator("tbody tr", has=frame.locator("td.name", has_text=re.compile(r"^lecture$")))
    row.locator("td.release a").click()
    frame.locator("#success-modal").get_by_text("Successfully released 'lecture'").wait_for(timeout=KERNEL_RUN_MS)
    ins.shot("instructor-releases-lecture-in-formgrader")
    frame.locator("#success-modal button.btn-primary").click()


def student_a_fills_in_validates_submits(a: Browser) -> None:
    tab = a.assignments_tab()
    tab.locator("#released_assignments_list").get_by_role("button", name="Fetch").click()
    tab.locator("#fetched_assignments_list").get_by_text("lecture").first.wait_for()
    a.shot("student-a-fetches-lecture")
    a.page.goto(f"{a.hub.url}/user/{a.user}/lab/tree/{NB02}")
    nb = Notebook(a.page, HubLab(a), NB02)
    nb.wait_ready()
    nb.type_into("nb02_feature_map_impl", solution(NB02, "nb02_feature_map_impl"))
    nb.type_into("nb02_conv2d_single_impl", demo_class.TYPICAL_MISTAKES["nb02_conv2d_single_impl"])
    a.shot("student-a-fills-in-answers", nb.cell("nb02_conv2d_single_impl"))
    dialog = nb.validate()
    verdict = dialog.locator("#validation-message").inner_text()
    a.shot("student-a-validates")
    assert re.search(rf"AssertionError: [^\n]*{FLIP_HINT}", verdict), verdict  # the hint, not just the test's text
    nb.close_dialog(dialog)
    tab = a.assignments_tab()
    tab.locator("#fetched_assignments_list").get_by_role("button", name="Submit").click()
    tab.locator("#submitted_assignments_list .list_item").first.wait_for(timeout=KERNEL_RUN_MS)
    a.shot("student-a-submits")


def student_c_runs_hostile_cell(c: Browser) -> dict[str, str]:
    """C opens the hostile notebook in their own server and runs the cell; returns its outcomes."""
    c.page.goto(f"{c.hub.url}/user/{c.user}/lab/tree/{NB02}")
    nb = Notebook(c.page, HubLab(c), NB02)
    nb.wait_ready()
    nb.run_cell("nb02_conv2d_single_impl")
    nb.wait_output("nb02_conv2d_single_impl", "HOSTILE")
    c.shot("student-c-hostile-cell-is-refused", nb.cell("nb02_conv2d_single_impl"))
    c.page.keyboard.press("Control+s")
    path = Path(os.path.expanduser(f"~{c.user}")) / NB02
    deadline = time.monotonic() + UI_MS / 1000
    while True:  # the saved file holds the cell's output
        try:
            return hostile_outcomes(nbformat.read(path, as_version=4))
        except (StopIteration, nbformat.reader.NotJSONError):  # no output yet, or caught mid-save (empty file)
            assert time.monotonic() < deadline, "C's notebook was not saved with the cell's output"
            c.page.wait_for_timeout(250)  # poll interval while JupyterLab saves


def scores(hub) -> dict[str, tuple[float, dict]]:
    from cnn_course.hub import classroom
    from cnn_course.reports import report

    return {r.student_id: (r.score, r.notebooks) for r in report.assignment_report(classroom.course_of(hub), "lecture")}


def student_a_reads_feedback(a: Browser) -> None:
    tab = a.assignments_tab()
    tab.locator("#refresh_assignments_list").click()
    tab.locator("#submitted_assignments_list").get_by_role("button", name="Fetch Feedback").click()
    tab.locator("#submitted_assignments_list").get_by_text("(view feedback)").wait_for(timeout=KERNEL_RUN_MS)
    a.shot("student-a-fetches-feedback")
    home = Path(os.path.expanduser(f"~{a.user}"))
    [page_file] = home.glob("lecture/feedback/*/02_convolution_by_hand.html")
    a.page.goto(f"{a.hub.url}/user/{a.user}/lab/tree/{page_file.relative_to(home)}")
    body = a.page.frame_locator(".jp-HTMLViewer iframe").locator("body")
    body.get_by_text(FLIP_HINT).first.wait_for(timeout=UI_MS)
    text = body.inner_text()
    a.shot("student-a-reads-feedback-score-and-hint")
    assert re.search(r"Score:\s*5(\.0)?\s*/\s*15(\.0)?", text), text[:2000]
    assert re.search(rf"AssertionError: [^\n]*{FLIP_HINT}", text), text[-3000:]  # the wrong cell's hint
    assert "BEGIN HIDDEN TESTS" not in text


def test_classroom_release_fetch_submit_collect_grade_feedback(hub, playwright):
    ins, a, c = (Browser(playwright, hub, u) for u in (hub.instructor, A, C))
    try:
        # 1. the instructor logs in and releases `lecture` with formgrader's button
        ins.log_in()
        ins.shot("instructor-logs-in")
        release_with_formgrader(ins)
        # 2. A fetches, fills in two answers (one right, one wrong), validates, submits in the browser
        a.log_in()
        student_a_fills_in_validates_submits(a)
        #    B hands in the release untouched; C a notebook whose answer cell attacks the others
        for user in (B, C):
            as_user(hub, user, "nbgrader", "fetch_assignment", "lecture")
        as_user(hub, B, "nbgrader", "submit", "lecture")
        write_hostile_notebook(hub, C)
        c.log_in()
        assert_all_refused(student_c_runs_hostile_cell(c), "in C's server")
        as_user(hub, C, "nbgrader", "submit", "lecture")
        # 3. the instructor collects, grades (sandboxed), generates and releases feedback
        graded = cnn_course("hub", "grade", "lecture", "--dir", str(hub.dir), "--jobs", "2", timeout=900)
        (OUTPUT / "hub-grade.txt").write_text(graded.stdout + graded.stderr)
        assert graded.returncode == 0, graded.stdout[-3000:] + graded.stderr[-3000:]
        got = scores(hub)
        assert {s: v[0] for s, v in got.items()} == {A: A_SCORE, B: 0.0, C: 0.0}, got
        assert got[A][1]["02_convolution_by_hand"] == A_NB02
        from cnn_course.hub import classroom

        graded_c = classroom.course_of(hub).autograded(C, "lecture") / "02_convolution_by_hand.ipynb"
        assert_all_refused(hostile_outcomes(nbformat.read(graded_c, as_version=4)), "while grading")
        ins.page.reload()
        click_menu(ins.page, "Nbgrader", "Formgrader")
        frame = ins.page.frame_locator("iframe[src*='formgrader']").first
        row = frame.locator("tbody tr", has=frame.locator("td.name", has_text=re.compile(r"^lecture$")))
        row.locator("td.num-submissions").get_by_text("3", exact=True).wait_for()
        ins.shot("instructor-formgrader-after-grading")
        # 4. A fetches the feedback: the score of notebook 02 and the hint of the wrong cell
        student_a_reads_feedback(a)
    except BaseException:
        for b in (ins, a, c):  # where each browser was when the test failed
            b.page.screenshot(path=str(OUTPUT / f"FAILED-{b.user}.png"))
        raise
    finally:
        for b in (ins, a, c):
            b.close()


def test_thirty_students_submit_at_once_and_the_instructor_collects_every_one(hub):
    from cnn_course.hub import accounts, classroom

    accounts.ensure_accounts(hub, LOAD_USERS)
    if not (hub.exchange / hub.course_id / "outbound" / "lecture").is_dir():
        classroom.release(hub, "lecture")
    env = dict(os.environ, PYTHONPATH=str(ROOT))
    done = subprocess.run([hub.python, "-m", "cnn_course.hub.load", "--dir", hub.dir, "lecture", *LOAD_USERS],
                          capture_output=True, text=True, timeout=600, env=env)
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]
    result = json.loads(done.stdout.strip().splitlines()[-1])
    assert result["exit"] == {u: 0 for u in LOAD_USERS}
    collect_s = classroom.as_instructor(hub, "collect", "lecture", "--update")
    course = classroom.course_of(hub)
    release = sorted(p.name for p in (SOURCE / "lecture").glob("*.ipynb"))
    for user in LOAD_USERS:  # each hand-in under its own student, with its own notebooks
        folder = course.submitted(user, "lecture")
        assert (folder / "handed_in_by.txt").read_text() == f"{user}\n", user
        assert sorted(p.name for p in folder.glob("*.ipynb")) == release, user
        assert (folder / "timestamp.txt").exists()
    assert len(set(course.students("lecture")) & set(LOAD_USERS)) == 30
    figures = f"30 students fetch + submit at once: {result['submit_all_s']:.1f} s; collect: {collect_s:.1f} s\n"
    (OUTPUT / "load.txt").write_text(figures)
    print(figures)
