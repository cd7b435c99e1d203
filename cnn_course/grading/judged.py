"""``JudgeExecute``: nbgrader's ``Execute``, with every graded test cell judged outside the kernel.

The course's ``nbgrader_config.py`` puts it in place of ``Execute`` (so stock ``nbgrader
autograde`` judges too), and ``cnn-course autograde``'s :class:`~.execute.SandboxExecute`
builds on it. Every other cell runs in the kernel as usual. For a graded test cell it

1. (re)installs the agent in the kernel (:mod:`.agent`),
2. runs the cell's code in a thread, in the :class:`~.judge.Judge`'s namespace, while this
   event loop carries the judge's requests to the kernel and back (``silent`` executions that
   leave no trace in the student's history),
3. puts the judge's outputs (prints, the kernel's output during calls, the error or the
   partial score) into the cell, where nbgrader reads the grade as for any cell.

The cell's time limit covers all of it; past it the kernel is interrupted (an error output
``CellTimeoutError``); a kernel that dies or ignores the interrupt is reported as nbclient
reports it (``DeadKernelError``, ``CellTimeoutError``).
"""

from __future__ import annotations

import asyncio
import json
import queue
import time
from pathlib import Path

import nbformat
from jupyter_core.utils import ensure_async, run_sync
from nbclient.exceptions import CellTimeoutError, DeadKernelError
from nbformat.notebooknode import NotebookNode
from nbgrader.preprocessors import Execute
from traitlets import Bool, Integer

from . import agent, judge
from .remote import KernelGone, TimeLimit

AGENT_SOURCE = Path(agent.__file__).read_text(encoding="utf-8")
INSTALL = f"(lambda d: (exec({AGENT_SOURCE!r}, d), d['install'](get_ipython().user_ns)))({{}})"
INTERRUPT_GRACE_S = 5
KERNEL_START_TRIES = 3  # kernels started per notebook before nbclient's error stands


def _output(msg) -> NotebookNode | None:
    content, kind = msg["content"], msg["msg_type"]
    if kind == "stream":
        return NotebookNode(output_type="stream", name=content["name"], text=content["text"])
    if kind in ("display_data", "execute_result"):
        return NotebookNode(output_type="display_data", data=content.get("data", {}), metadata={})
    if kind == "error":
        return NotebookNode(output_type="error", ename=content["ename"], evalue=content["evalue"],
                            traceback=content.get("traceback", []))
    return None


class JudgeExecute(Execute):
    """``Execute`` whose graded test cells are judged outside the kernel (see the module doc)."""

    judge = Bool(True, help="Judge graded test cells outside the student's kernel").tag(config=True)
    max_output_bytes = Integer(
        2_000_000, help="Stream output kept per cell while it runs; the rest is dropped."
    ).tag(config=True)

    def preprocess(self, nb, resources=None, km=None):
        self._judge = None
        self._judge_resources = resources or {}
        return super().preprocess(nb, resources, km=km)

    async def async_execute_cell(self, cell, cell_index, execution_count=None, store_history=True):
        if self.judge and judge.is_test(cell) and cell.source.strip():
            return await self._judged(cell, cell_index)
        return await super().async_execute_cell(cell, cell_index, execution_count, store_history)

    execute_cell = run_sync(async_execute_cell)  # nbclient binds the sync name to its own method

    async def async_start_new_kernel_client(self):
        """nbclient's, with another kernel (new ports) when one exits before its first reply.

        jupyter_client picks free ports and hands them to the kernel to bind; a process starting
        at the same moment can take one first ("Address already in use") and the kernel exits
        before it answers. No student code has run then: that is the machine's doing, and it
        must not cost the student the notebook.
        """
        for attempt in range(1, KERNEL_START_TRIES + 1):
            try:
                return await super().async_start_new_kernel_client()
            except RuntimeError as err:  # nbclient has cleaned up that kernel and its manager
                if "before replying to kernel_info" not in str(err) or attempt == KERNEL_START_TRIES:
                    raise
                self.log.warning("The kernel exited while it started (%s); starting another", err)
            self.create_kernel_manager()
            await self.async_start_new_kernel()

    start_new_kernel_client = run_sync(async_start_new_kernel_client)

    # -- a judged cell ---------------------------------------------------------------------
    def _answers(self) -> set[str]:
        """Names the instructor's answer cells define (source/<assignment>/<notebook>.ipynb)."""
        info = self._judge_resources.get("nbgrader", {})
        source = Path("source") / str(info.get("assignment", "")) / f"{info.get('notebook', '')}.ipynb"
        nb = nbformat.read(source, as_version=4) if source.is_file() else self.nb
        return judge.answer_names(nb)

    async def _judged(self, cell, cell_index):
        loop = asyncio.get_running_loop()
        self._deadline = time.monotonic() + (self.timeout or 60)
        if self._judge is None:
            self._judge = judge.Judge(lambda text: self._send(loop, text), self.nb, self._answers())
        cell.outputs = []
        try:
            await self._request(INSTALL)
            outputs = await asyncio.to_thread(self._judge.run, cell, cell_index)
        except KernelGone as gone:
            raise gone.args[0] from None
        except TimeLimit:  # interrupted at the time limit: this cell scores zero, the rest runs
            outputs = [NotebookNode(output_type="error", ename="CellTimeoutError",
                                    evalue=f"the test ran past the {self.timeout} s limit (interrupted)",
                                    traceback=[f"CellTimeoutError: ran past the {self.timeout} s limit"])]
        cell.outputs = outputs
        return cell

    def _send(self, loop, text: str):
        """From the judge's thread: one request to the agent, carried by this event loop."""
        code = f"__cnn_judge__.run({text!r})"
        return asyncio.run_coroutine_threadsafe(self._request(code), loop).result()

    async def _request(self, code: str):
        """Execute ``code`` silently in the kernel; return the agent's reply (None if it gave none)."""
        msg_id = self.kc.execute(code, silent=True, store_history=False, allow_stdin=False, stop_on_error=False)
        reply, interrupted = None, False
        while True:
            remaining = self._deadline - time.monotonic()
            if remaining <= 0:
                if interrupted:
                    raise KernelGone(CellTimeoutError(f"the test ran past the {self.timeout} s limit and the "
                                                      "kernel ignored the interrupt"))
                await ensure_async(self.km.interrupt_kernel())
                interrupted, self._deadline = True, time.monotonic() + INTERRUPT_GRACE_S
                continue
            try:
                msg = await ensure_async(self.kc.iopub_channel.get_msg(timeout=min(remaining, 1.0)))
            except queue.Empty:
                if not await ensure_async(self.km.is_alive()):
                    raise KernelGone(DeadKernelError("Kernel died")) from None
                continue
            if msg.get("parent_header", {}).get("msg_id") != msg_id:
                continue
            kind, content = msg["msg_type"], msg["content"]
            if kind == "status" and content.get("execution_state") == "idle":
                break
            if kind == "display_data" and agent.MIME in content.get("data", {}):
                reply = self._parse(content["data"][agent.MIME])
            elif (out := _output(msg)) is not None and self._judge is not None:
                self._judge.forward(out)
        if interrupted and not (isinstance(reply, dict) and "raised" in reply):
            reply = {"raised": {"ename": "KeyboardInterrupt", "evalue": "time limit"}}
        return reply

    @staticmethod
    def _parse(text):
        try:
            return json.loads(text) if isinstance(text, str) and len(text) < 200 * 2**20 else None
        except ValueError:
            return None
