"""nbgrader's ``Execute`` preprocessor, hardened: kernel deaths, timeouts and floods of output.

Stock nbgrader loses a whole notebook when its kernel dies, and can hang on a cell that
ignores the interrupt. :class:`SandboxExecute` replaces ``Execute`` in the private runs of
``cnn-course autograde`` (:mod:`.private_config`); it runs cells as
:class:`~.judged.JudgeExecute` does (graded test cells judged outside the kernel), and

* when the kernel dies in a cell (``os._exit``, a segfault, a resource limit), it puts an
  error output in that cell and a "not run" error in every later code cell, so the cells
  graded before keep their points and the later test cells score zero;
* when a cell runs past ``timeout`` it is interrupted as usual; a kernel that ignores the
  interrupt is shut down and the rest of the notebook is marked not run;
* stream output of a cell beyond ``max_output_bytes`` is dropped while it arrives, so a
  print in a loop cannot fill the grader's memory.

What happened is written as JSON to ``$CNN_COURSE_OUTCOMES/<student>/<notebook>.json``
(status ``graded``, ``timeout`` or ``kernel-died``, the grade id of the cell and a reason),
which :mod:`~cnn_course.grading.results` turns into the report's status column.
"""

from __future__ import annotations

import json
import os
import signal
from pathlib import Path

from jupyter_core.utils import run_sync
from nbclient.exceptions import CellTimeoutError, DeadKernelError
from nbformat.notebooknode import NotebookNode

from .judged import JudgeExecute

OUTCOMES_ENV = "CNN_COURSE_OUTCOMES"


def _error(ename: str, evalue: str) -> NotebookNode:
    return NotebookNode(output_type="error", ename=ename, evalue=evalue, traceback=[f"{ename}: {evalue}"])


def _cell_label(cell, index: int) -> str:
    gid = cell.metadata.get("nbgrader", {}).get("grade_id")
    return f"cell {index} ({gid})" if gid else f"cell {index}"


def describe_exit(code: int | None) -> str:
    """'killed by SIGSEGV', 'exit code 3', ... for a kernel's return code."""
    if code is None:
        return "it stopped answering"
    if code < 0:
        try:
            name = signal.Signals(-code).name
        except ValueError:
            name = f"signal {-code}"
        extra = {"SIGKILL": " (killed: memory or CPU-time limit, or killed by the system)",
                 "SIGXCPU": " (CPU-time limit)", "SIGSEGV": " (segmentation fault)"}.get(name, "")
        return f"killed by {name}{extra}"
    return f"exit code {code}"


class SandboxExecute(JudgeExecute):
    """``JudgeExecute`` that survives kernel deaths and timeouts and caps output (see module doc)."""

    def preprocess(self, nb, resources=None, km=None):
        self._outcome = {"status": "graded", "cell": None, "reason": ""}
        self._stopped = None  # why later cells are not run
        self._last_code = None  # index of the last code cell sent to the kernel
        try:
            return super().preprocess(nb, resources, km=km)
        finally:
            self._write_outcome(resources or {})

    async def async_execute_cell(self, cell, cell_index, execution_count=None, store_history=True):
        if cell.cell_type != "code" or not cell.source.strip():
            return cell
        if self._stopped is None and self._last_code is not None and not await self.km.is_alive():
            # the previous cell ended the kernel after it replied (IPython's exit(), quit())
            prev = self.nb.cells[self._last_code]
            self._died(prev, self._last_code, f"the kernel exited after this cell: {describe_exit(self._exit_code())}",
                       mark=False)
        if self._stopped is not None:
            cell.outputs = [_error("NotRun", self._stopped)]
            return cell
        self._last_code = cell_index
        self._output_bytes = 0
        try:
            result = await super().async_execute_cell(cell, cell_index, execution_count, store_history)
        except DeadKernelError:
            self._died(cell, cell_index, f"the kernel died in this cell: {describe_exit(self._exit_code())}")
            return cell
        except CellTimeoutError:  # the kernel ignored the interrupt
            await self._kill_kernel()
            what = f"{_cell_label(cell, cell_index)} ran past the {self.timeout} s limit and ignored the interrupt"
            cell.outputs.append(_error("CellTimeoutError", what))
            self._note("timeout", cell, cell_index, what)
            self._stopped = f"not run: the kernel was stopped after {_cell_label(cell, cell_index)} timed out"
            return cell
        if any(o.output_type == "error" and o.ename == "CellTimeoutError" for o in cell.outputs):
            self._note("timeout", cell, cell_index,
                       f"{_cell_label(cell, cell_index)} ran past the {self.timeout} s limit (interrupted)")
        return result

    execute_cell = run_sync(async_execute_cell)  # nbclient binds the sync name to its own method

    def output(self, outs, msg, display_id, cell_index):
        """Drop stream text beyond ``max_output_bytes`` per cell (keeps one note that it did)."""
        if msg["msg_type"] == "stream":
            size = len(msg["content"].get("text", ""))
            self._output_bytes = getattr(self, "_output_bytes", 0) + size
            if self._output_bytes > self.max_output_bytes:
                if self._output_bytes - size <= self.max_output_bytes:
                    msg = {**msg, "content": {**msg["content"], "text": (
                        f"\n[output cut by the grader after {self.max_output_bytes} bytes]\n")}}
                else:
                    return None
        return super().output(outs, msg, display_id, cell_index)

    # -- bookkeeping -------------------------------------------------------------------

    def _exit_code(self) -> int | None:
        proc = getattr(getattr(self.km, "provisioner", None), "process", None)
        if proc is None:
            return None
        try:
            return proc.wait(timeout=5)
        except Exception:  # still running, or not a Popen
            return proc.poll()

    def _died(self, cell, cell_index: int, what: str, mark: bool = True) -> None:
        if mark:
            cell.outputs.append(_error("KernelDied", what))
        label = _cell_label(cell, cell_index)
        self._note("kernel-died", cell, cell_index, f"{label}: {what}")
        self._stopped = f"not run: the kernel died in {label}"

    def _note(self, status: str, cell, cell_index: int, reason: str) -> None:
        if self._outcome["status"] == "graded":  # the first event explains the rest
            self._outcome = {
                "status": status,
                "cell": cell.metadata.get("nbgrader", {}).get("grade_id") or f"cell {cell_index}",
                "reason": reason,
            }

    async def _kill_kernel(self) -> None:
        try:
            await self.km.shutdown_kernel(now=True)
        except Exception:  # already gone
            pass

    def _write_outcome(self, resources: dict) -> None:
        root = os.environ.get(OUTCOMES_ENV)
        info = resources.get("nbgrader", {})
        if not root or "student" not in info:
            return
        path = Path(root) / info["student"] / f"{info['notebook']}.json"
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(json.dumps(self._outcome), encoding="utf-8")
