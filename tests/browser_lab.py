"""JupyterLab in headless Chromium, for the browser tests (tests/test_browser.py).

- `chromium_executable()`: Debian's Chromium (installed by `.ci/ensure-chromium`), or `$CNN_CHROMIUM`.
- `lab_server(root, ...)`: a JupyterLab server on a free port of 127.0.0.1 with a token, rooted at
  `root`; it is stopped, with every kernel it started, whatever happens in the `with` block.
- `Steps`: numbered screenshots of each step under `test-output/browser/<test>/`.
- `Notebook`: what a student does in an open notebook: run all, type into a cell, run it, Validate.

Every wait is on page or server state (a selector, a text, an HTTP answer), never a fixed sleep.
"""

from __future__ import annotations

import json
import os
import re
import secrets
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import psutil

# Headless Chromium without a GPU, a sandbox (CI runs as root) or any network of its own.
# Playwright gives each browser a fresh --user-data-dir (launch_persistent_context).
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]

# Generous: the machines that run this suite may be small and shared.
SERVER_START_S = 120
KERNEL_RUN_MS = 120_000
UI_MS = 60_000

# JupyterLab settings of the test profile: no news or update checks (no internet in CI); every
# cell attached and painted (the default, content-visibility, may leave a cell that was just
# scrolled to blank in a screenshot).
LAB_SETTINGS = {
    "@jupyterlab/apputils-extension/notification": {"fetchNews": "false", "checkForUpdates": False},
    "@jupyterlab/notebook-extension/tracker": {"windowingMode": "none"},
}


def chromium_executable() -> str:
    """Path of the Chromium the tests drive: `$CNN_CHROMIUM`, else Debian's /usr/bin/chromium.

    Raises:
        RuntimeError: no executable there; the message says how to install one.
    """
    path = os.environ.get("CNN_CHROMIUM") or shutil.which("chromium") or "/usr/bin/chromium"
    if not (os.path.isfile(path) and os.access(path, os.X_OK)):
        raise RuntimeError(
            f"no Chromium at {path}: run `make test-browser` (it calls .ci/ensure-chromium, which "
            f"installs Debian's chromium) or set CNN_CHROMIUM to a Chromium executable"
        )
    return path


def free_port() -> int:
    """A TCP port of 127.0.0.1 that nobody listens on right now."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@dataclass
class LabServer:
    """A running JupyterLab server: its address, token, root folder and log."""

    port: int
    token: str
    root: Path
    log: Path
    process: subprocess.Popen

    @property
    def base(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def url(self, path: str = "lab") -> str:
        """Address of `path` on this server, with the token (the browser keeps it as a cookie)."""
        sep = "&" if "?" in path else "?"
        return f"{self.base}/{path.lstrip('/')}{sep}token={self.token}"

    def api(self, path: str, method: str = "GET", timeout: float = 10) -> object:
        """JSON answer of the REST API at `path` (e.g. "api/kernels")."""
        req = urllib.request.Request(
            f"{self.base}/{path.lstrip('/')}", method=method, headers={"Authorization": f"token {self.token}"}
        )
        with urllib.request.urlopen(req, timeout=timeout) as resp:
            body = resp.read()
        return json.loads(body) if body else None

    def wait_kernel_settled(self, timeout: float = KERNEL_RUN_MS / 1000) -> dict:
        """Wait until the server runs exactly one kernel, idle, with a browser connected to it.

        Opening a notebook may start a kernel, replace it by a second one and reconnect: code
        sent in between is lost. Returns the kernel's model (GET api/kernels).
        """
        deadline = time.monotonic() + timeout
        while True:
            kernels = self.api("api/kernels")
            if len(kernels) == 1 and kernels[0]["connections"] >= 1 and kernels[0]["execution_state"] == "idle":
                return kernels[0]
            if time.monotonic() > deadline:
                raise TimeoutError(f"no single idle kernel with a connection within {timeout:.0f} s: {kernels}")
            try:  # poll interval between two looks at the server
                self.process.wait(timeout=0.25)
                raise RuntimeError("JupyterLab exited; its log:\n" + self.log_tail())
            except subprocess.TimeoutExpired:
                pass

    def log_tail(self, n: int = 4000) -> str:
        return self.log.read_text(errors="replace")[-n:] if self.log.exists() else "(no log)"


def _lab_env(config_dir: Path) -> dict[str, str]:
    env = dict(os.environ)
    # A student's kernel: cnnlib from this checkout (PYTHONPATH, set by conftest), inline figures
    # (the test suite's MPLBACKEND=Agg would turn them into text), no user-wide Jupyter config.
    env.pop("MPLBACKEND", None)
    env["JUPYTER_CONFIG_DIR"] = str(config_dir)
    env["JUPYTER_RUNTIME_DIR"] = str(config_dir / "runtime")
    env["PYTHONUNBUFFERED"] = "1"
    return env


def _write_settings(settings_dir: Path) -> None:
    for plugin, values in LAB_SETTINGS.items():
        path = settings_dir / f"{plugin}.jupyterlab-settings"
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(json.dumps(values))


def _wait_until_up(server: LabServer, timeout: float) -> None:
    deadline = time.monotonic() + timeout
    while True:
        if server.process.poll() is not None:
            raise RuntimeError(
                f"JupyterLab exited with {server.process.returncode} before it answered; its log:\n"
                + server.log_tail()
            )
        try:
            server.api("api/status", timeout=5)
            return
        except (urllib.error.URLError, ConnectionError, TimeoutError, OSError):
            pass
        if time.monotonic() > deadline:
            raise TimeoutError(f"JupyterLab did not answer on {server.base} within {timeout:.0f} s; its log:\n"
                               + server.log_tail())
        try:  # poll interval: returns at once when the server exits
            server.process.wait(timeout=0.25)
        except subprocess.TimeoutExpired:
            pass


def stop_server(process: subprocess.Popen, grace: float = 30) -> None:
    """Stop a server started by `lab_server` and everything it started (kernels, validators).

    SIGTERM to its process group first (the server shuts its kernels down), then SIGKILL for
    whatever is still alive after `grace` seconds, kernels included (they run in sessions of
    their own, so they are found as descendants of the server, collected before it stops).
    """
    try:
        family = psutil.Process(process.pid).children(recursive=True)
    except psutil.NoSuchProcess:
        family = []
    if process.poll() is None:
        try:
            os.killpg(process.pid, signal.SIGTERM)
        except ProcessLookupError:
            pass
        try:
            process.wait(timeout=grace)
        except subprocess.TimeoutExpired:
            try:
                os.killpg(process.pid, signal.SIGKILL)
            except ProcessLookupError:
                pass
            process.wait(timeout=grace)
    _, alive = psutil.wait_procs(family, timeout=grace / 3)
    for p in alive:
        try:
            p.kill()
        except psutil.NoSuchProcess:
            pass
    psutil.wait_procs(alive, timeout=grace / 3)


@contextmanager
def lab_server(root: Path, log: Path, timeout: float = SERVER_START_S) -> Iterator[LabServer]:
    """Run `jupyter lab` on `root` (its working folder too) on a free port of 127.0.0.1, with a token.

    The server's log goes to `log`. Raises RuntimeError/TimeoutError (with the log's tail) when the
    server dies or does not answer in `timeout` seconds. The server and its kernels are stopped when
    the block exits, normally or not.
    """
    home = Path(tempfile.mkdtemp(prefix="lab-profile-"))  # config/, settings/, workspaces/
    (home / "config").mkdir()
    _write_settings(home / "settings")
    token = secrets.token_hex(16)
    log.parent.mkdir(parents=True, exist_ok=True)
    server = None
    try:
        for attempt in range(3):  # another process may take the free port before the server does
            server = _start(root, log, token, home)
            try:
                _wait_until_up(server, timeout)
                break
            except RuntimeError:
                if attempt == 2 or "already in use" not in server.log_tail():
                    raise
                stop_server(server.process)
        yield server
    finally:
        if server is not None:
            stop_server(server.process)
        shutil.rmtree(home, ignore_errors=True)


def _start(root: Path, log: Path, token: str, home: Path) -> LabServer:
    port = free_port()
    cmd = [
        sys.executable, "-m", "jupyter", "lab",
        "--no-browser",
        "--ServerApp.allow_root=True",  # CI machines run as root
        "--ServerApp.ip=127.0.0.1",
        f"--ServerApp.port={port}",
        "--ServerApp.port_retries=0",
        f"--ServerApp.root_dir={root}",
        f"--IdentityProvider.token={token}",
        f"--LabApp.user_settings_dir={home / 'settings'}",
        f"--LabApp.workspaces_dir={home / 'workspaces'}",
        "--LabApp.news_url=None",
        "--LabApp.check_for_updates_class=jupyterlab.NeverCheckForUpdate",
    ]
    with open(log, "wb") as out:
        process = subprocess.Popen(
            cmd, cwd=root, env=_lab_env(home / "config"), stdin=subprocess.DEVNULL, stdout=out,
            stderr=subprocess.STDOUT, start_new_session=True,
        )
    return LabServer(port=port, token=token, root=root, log=log, process=process)


def click_menu(page, menu: str, item: str) -> None:
    """Click `menu` in JupyterLab's menu bar, then its item labelled exactly `item`."""
    page.locator(".lm-MenuBar-item", has_text=re.compile(rf"^{re.escape(menu)}$")).click()
    label = page.locator(".lm-Menu-itemLabel", has_text=re.compile(rf"^{re.escape(item)}$"))
    page.locator(".lm-Menu:visible .lm-Menu-item:not(.lm-mod-hidden)", has=label).click()


class Steps:
    """Numbered full-window screenshots of a test's steps, in `folder`, and `steps.txt` beside them:
    each file name with the seconds since the test began."""

    def __init__(self, page, folder: Path):
        self.page = page
        self.folder = folder
        folder.mkdir(parents=True, exist_ok=True)
        self.taken: list[Path] = []
        self.t0 = time.monotonic()

    def shot(self, name: str, locator=None) -> Path:
        """Screenshot the window as it is now, after scrolling `locator` (if given) into view."""
        if locator is not None:
            locator.scroll_into_view_if_needed()
        path = self.folder / f"{len(self.taken) + 1:02d}-{name}.png"
        self.page.screenshot(path=str(path))
        self.taken.append(path)
        with open(self.folder / "steps.txt", "a") as f:
            f.write(f"{path.name}\t{time.monotonic() - self.t0:6.1f} s\n")
        return path


class Notebook:
    """The notebook `nb_rel` (relative to the server root) open in JupyterLab; cells are addressed
    by index (as in the .ipynb file) or by nbgrader grade_id."""

    def __init__(self, page, server: LabServer, nb_rel: str):
        import nbformat

        self.server = server
        nb_path = server.root / nb_rel
        self.page = page
        self.nb = nbformat.read(nb_path, as_version=4)
        self.panel = page.locator(".jp-NotebookPanel:visible")
        self.cells = self.panel.locator(".jp-Notebook .jp-Cell")

    # --- where things are -------------------------------------------------------------------
    def index(self, grade_id: str) -> int:
        """Index of the cell whose nbgrader grade_id is `grade_id`."""
        for i, cell in enumerate(self.nb.cells):
            if cell.metadata.get("nbgrader", {}).get("grade_id") == grade_id:
                return i
        raise KeyError(f"no cell with grade_id {grade_id!r} in the notebook")

    def cell(self, where: int | str):
        i = self.index(where) if isinstance(where, str) else where
        return self.cells.nth(i)

    def output(self, where: int | str):
        return self.cell(where).locator(".jp-OutputArea")

    # --- what a student does ------------------------------------------------------------------
    def wait_ready(self) -> None:
        """Wait until the notebook is shown with all its cells and its one kernel is connected and idle."""
        self.panel.wait_for(timeout=UI_MS)
        self.page.wait_for_function(
            "n => document.querySelectorAll('.jp-NotebookPanel:not(.lm-mod-hidden) .jp-Notebook .jp-Cell').length >= n",
            arg=len(self.nb.cells), timeout=UI_MS,
        )
        self.server.wait_kernel_settled()
        self.wait_idle()

    def wait_idle(self, timeout: int = KERNEL_RUN_MS) -> None:
        self.panel.locator(".jp-Notebook-ExecutionIndicator[data-status='idle']").wait_for(timeout=timeout)

    def run_all(self) -> None:
        """Run > Run All Cells (the caller waits for the output it expects)."""
        click_menu(self.page, "Run", "Run All Cells")

    def type_into(self, where: int | str, code: str) -> None:
        """Replace the cell's text with `code`, as a student pasting it (no auto-indent)."""
        editor = self.cell(where).locator(".cm-content")
        editor.scroll_into_view_if_needed()
        editor.click()
        self.page.keyboard.press("Control+a")
        self.page.keyboard.insert_text(code)
        last = code.strip().splitlines()[-1].strip()
        editor.get_by_text(last, exact=False).first.wait_for(timeout=UI_MS)

    def run_cell(self, where: int | str) -> None:
        """Select the cell and run it with Ctrl+Enter (the caller waits for its output)."""
        cell = self.cell(where)
        cell.locator(".jp-InputPrompt").click()
        self.page.keyboard.press("Control+Enter")

    def wait_output(self, where: int | str, text: str | re.Pattern, timeout: int = KERNEL_RUN_MS):
        """Wait until the cell's output shows `text`; return the output area."""
        out = self.output(where)
        out.get_by_text(text).first.wait_for(timeout=timeout)
        return out

    def validate(self, timeout: int = KERNEL_RUN_MS * 2):
        """Press nbgrader's Validate button; return the verdict dialog once it shows."""
        self.panel.locator(".validate-button").click()
        dialog = self.page.locator(".jp-Dialog")
        dialog.wait_for(timeout=timeout)
        if not dialog.locator("#validation-message").count():  # "Version Mismatch", "Cannot save", ...
            raise AssertionError(f"Validate answered with another dialog: {dialog.inner_text()!r}")
        return dialog

    def close_dialog(self, dialog) -> None:
        dialog.locator(".jp-Dialog-button.jp-mod-accept").click()
        dialog.wait_for(state="detached", timeout=UI_MS)
