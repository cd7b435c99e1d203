"""The pieces of `cnn-course autograde`, tested in this process without an nbgrader run:
the hardened executor (a kernel that dies, a cell that ignores the interrupt, a flood of
output) and the sandboxed kernel manager with its fork server, and without it."""

from __future__ import annotations

import json
import os

import pytest
from nbformat.v4 import new_code_cell, new_notebook

from cnn_course.grading import kernels, sandbox
from cnn_course.grading.execute import OUTCOMES_ENV, SandboxExecute

pytestmark = pytest.mark.slow


def run(tmp_path, monkeypatch, sources: list[str], timeout: int = 10, **kw):
    """Execute ``sources`` as one notebook under SandboxExecute; return (notebook, outcome JSON)."""
    monkeypatch.setenv(OUTCOMES_ENV, str(tmp_path / "outcomes"))
    nb = new_notebook(cells=[new_code_cell(s) for s in sources])
    for i, c in enumerate(nb.cells):
        c.metadata["nbgrader"] = {"grade_id": f"c{i}", "grade": False, "solution": False, "locked": True,
                                  "schema_version": 3}
    ex = SandboxExecute(timeout=timeout, kernel_name="python3", **kw)
    folder = tmp_path / "handin"  # the folder the notebook runs in (nbgrader's autograded/<student>/<a>/)
    folder.mkdir(exist_ok=True)
    resources = {"metadata": {"path": str(folder)}, "nbgrader": {"student": "s", "notebook": "n"}}
    nb, _ = ex.preprocess(nb, resources)
    outcome = json.loads((tmp_path / "outcomes" / "s" / "n.json").read_text())
    return nb, outcome


def errors(cell) -> list[tuple[str, str]]:
    return [(o.ename, o.evalue) for o in cell.outputs if o.output_type == "error"]


def test_a_kernel_that_dies_costs_the_cells_from_there_on(tmp_path, monkeypatch):
    nb, outcome = run(tmp_path, monkeypatch, ["print('before')", "import os\nos._exit(3)", "print('after')"])
    assert nb.cells[0].outputs[0].text == "before\n"
    assert errors(nb.cells[1]) == [("KernelDied", "the kernel died in this cell: exit code 3")]
    assert errors(nb.cells[2]) == [("NotRun", "not run: the kernel died in cell 1 (c1)")]
    assert outcome == {"status": "kernel-died", "cell": "c1",
                       "reason": "cell 1 (c1): the kernel died in this cell: exit code 3"}


def test_a_kernel_that_cannot_bind_its_port_is_started_again(tmp_path, monkeypatch):
    """Another process takes a port between jupyter_client choosing it and the kernel binding it."""
    import socket

    from jupyter_client.manager import AsyncKernelManager

    taken, launch = [], AsyncKernelManager._async_launch_kernel

    async def first_port_taken(self, kernel_cmd, **kw):
        if not taken:  # the first kernel finds its shell port in use and exits before it replies
            sock = socket.socket()
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 0)
            sock.bind(("127.0.0.1", self.shell_port))
            sock.listen()
            taken.append(sock)
        return await launch(self, kernel_cmd, **kw)

    monkeypatch.setattr(AsyncKernelManager, "_async_launch_kernel", first_port_taken)
    try:
        nb, outcome = run(tmp_path, monkeypatch, ["print(6 * 7)"])
    finally:
        for sock in taken:
            sock.close()
    assert len(taken) == 1 and nb.cells[0].outputs[0].text == "42\n"
    assert outcome["status"] == "graded"


def test_a_cell_that_ignores_the_interrupt_is_stopped_and_the_rest_not_run(tmp_path, monkeypatch):
    stubborn = "import time\nwhile True:\n    try:\n        time.sleep(100)\n    except KeyboardInterrupt:\n        pass"
    nb, outcome = run(tmp_path, monkeypatch, ["x = 1", stubborn, "print(x)"], timeout=2)
    assert ("CellTimeoutError", "cell 1 (c1) ran past the 2 s limit and ignored the interrupt") in errors(nb.cells[1])
    assert errors(nb.cells[2]) == [("NotRun", "not run: the kernel was stopped after cell 1 (c1) timed out")]
    assert outcome["status"] == "timeout" and outcome["cell"] == "c1"


def test_a_flood_of_output_is_cut_while_it_arrives(tmp_path, monkeypatch):
    flood = "for i in range(200_000):\n    print('line', i, 'x' * 40)"
    nb, outcome = run(tmp_path, monkeypatch, [flood, "print('still here')"], max_output_bytes=100_000)
    text = "".join(o.text for o in nb.cells[0].outputs if o.output_type == "stream")
    assert len(text) < 200_000 and "[output cut by the grader after 100000 bytes]" in text
    assert "line 199999 " not in text
    assert nb.cells[1].outputs[0].text == "still here\n"
    assert outcome["status"] == "graded"


@pytest.fixture
def sandboxed(tmp_path, monkeypatch):
    """Kernels started by SandboxKernelManager in a workspace under tmp_path, as the current user."""
    workspace = tmp_path / "workspace"
    workspace.mkdir(mode=0o711)

    def settings(forkserver: bool):
        monkeypatch.setenv(sandbox.ENV_VAR, sandbox.SandboxSettings(str(workspace), forkserver=forkserver).to_env())
        return workspace

    yield settings
    zygote = kernels.Zygote._instance
    if zygote is not None:
        zygote.requests.close()  # the fork server exits when its request pipe closes
        zygote.proc.wait(timeout=30)
    kernels.Zygote._instance, kernels.Zygote._failed = None, False


PROBE = ("import os, sys\n"
         "print(json.dumps({'argv': sys.argv[:2], 'cwd': os.getcwd(), 'home': os.environ['HOME'],"
         " 'torch_preloaded': 'torch' in sys.modules, 'secret': os.environ.get('CNN_TEST_SECRET')}))")


@pytest.mark.parametrize("forkserver", [True, False], ids=["forked", "launched"])
def test_sandboxed_kernels_start_forked_or_launched_alike(tmp_path, monkeypatch, sandboxed, forkserver):
    workspace = sandboxed(forkserver)
    monkeypatch.setenv("CNN_TEST_SECRET", "the grader's token")  # not one of the variables a kernel keeps
    (tmp_path / "handin").mkdir()
    (tmp_path / "handin" / "data.txt").write_text("the hand-in's own file")
    nb, outcome = run(tmp_path, monkeypatch, ["import json", PROBE, "open('written.txt', 'w').write('by the notebook')",
                                              "print(open('data.txt').read())"],
                      kernel_manager_class="cnn_course.grading.kernels.SandboxKernelManager")
    assert outcome["status"] == "graded", outcome
    probe = json.loads(nb.cells[1].outputs[0].text)
    assert probe["argv"] == ["-c", "-f"]  # python -c PRELOAD -f CONNECTION, forked or not
    assert probe["torch_preloaded"] and probe["secret"] is None
    assert os.path.dirname(probe["cwd"]) == str(workspace) and probe["home"] == probe["cwd"]
    assert nb.cells[3].outputs[0].text == "the hand-in's own file\n"  # a working copy of the folder
    assert (tmp_path / "handin" / "written.txt").read_text() == "by the notebook"  # copied back, as stock nbgrader leaves it
    assert (kernels.Zygote._instance is not None) == forkserver


def test_a_broken_fork_server_falls_back_to_launched_kernels(tmp_path, monkeypatch, sandboxed):
    sandboxed(True)

    def broken(*args, **kwargs):
        raise OSError("fork server unavailable")

    monkeypatch.setattr(kernels.Zygote, "_start", classmethod(broken))
    with pytest.warns(UserWarning, match="no kernel fork server .fork server unavailable.; kernels start one by one"):
        nb, outcome = run(tmp_path, monkeypatch, ["import sys\nprint(40 + 2, 'torch' in sys.modules)"],
                          kernel_manager_class="cnn_course.grading.kernels.SandboxKernelManager")
    assert outcome["status"] == "graded" and nb.cells[0].outputs[0].text == "42 True\n"
    assert kernels.Zygote._failed and kernels.Zygote._instance is None


def test_copy_back_takes_new_files_only_and_never_links(tmp_path):
    work, home = tmp_path / "work", tmp_path / "home"
    (work / "tmp").mkdir(parents=True)
    home.mkdir()
    (work / "plot.png").write_bytes(b"png")
    (work / "tmp" / "scratch").write_text("sandbox temp")
    (work / ".kernel-connection.json").write_text("{}")
    (work / "link").symlink_to("/etc/hostname")
    (work / "sub").mkdir()
    (work / "sub" / "model.pt").write_bytes(b"weights")
    assert sorted(kernels.copy_back(work, home)) == ["plot.png", "sub/model.pt"]
    assert not (home / "link").exists() and not (home / "tmp").exists()
    assert kernels.copy_back(work, home) == []  # unchanged files are not copied again
