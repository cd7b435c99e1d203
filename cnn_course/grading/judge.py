"""Graded test cells judged outside the student's kernel.

A test cell's code runs here, in the grader's process, in a namespace of its own: the
notebook's setup cells (imports, the course's inputs), then the test cells in order. The
names a test reads that the instructor's answer cells define (``conv2d_single``,
``feature_map_by_hand``, ``Net`` ...) are fetched from the student's kernel just before the
cell runs (:mod:`~cnn_course.grading.remote`): values as data, functions and objects as
handles that call into the kernel with the judge's inputs. Every comparison, every expected
value and every hint is computed here, with the judge's own NumPy, torch and ``cnnlib``, so
nothing a hand-in rebinds in its kernel (the checks, ``np.allclose``, builtins, exceptions,
IPython's hooks, ``sys.modules``) changes a verdict.

The test code is the notebook's own: in the student's JupyterLab the same cell runs in the
kernel. Three helpers differ here: :func:`cnnlib.checks.make` builds its object in the kernel
(``make(torch.optim.SGD, model.parameters(), lr=0.1)`` for a student's model), and
``assert_does_not_use`` and ``assert_typed`` read the hand-in's own cells (:mod:`.static_check`)
instead of asking the kernel.
"""

from __future__ import annotations

import ast
import builtins
import contextlib
import traceback

from nbformat.notebooknode import NotebookNode

from . import static_check
from .remote import Kernel, NoReply, RemoteError, RemoteObject


def answer_names(source_nb) -> set[str]:
    """Names bound at the top level of the instructor's answer (solution) cells."""
    names: set[str] = set()
    for cell in source_nb.cells:
        meta = cell.metadata.get("nbgrader", {})
        if cell.cell_type == "code" and meta.get("solution"):
            names |= static_check.top_level_names(cell.source)
    return names


def is_setup(cell) -> bool:
    meta = cell.metadata.get("nbgrader", {})
    return (cell.cell_type == "code" and meta.get("locked") and not meta.get("grade")
            and not meta.get("solution") and str(meta.get("grade_id", "")).endswith("_setup"))


def is_test(cell) -> bool:
    meta = cell.metadata.get("nbgrader", {})
    return cell.cell_type == "code" and bool(meta.get("grade")) and not meta.get("solution")


def loaded_names(source: str) -> set[str]:
    """Every name the code reads, in nested functions and comprehensions too."""
    try:
        tree = ast.parse(source)
    except SyntaxError:
        return set()
    return {n.id for n in ast.walk(tree) if isinstance(n, ast.Name) and isinstance(n.ctx, ast.Load)}


class _Outputs:
    """What a judged cell shows: its prints, the kernel's output during calls, its error or value."""

    def __init__(self, limit: int = 2_000_000):
        self.items: list[NotebookNode] = []
        self.room = limit  # stream text kept per cell; the rest is dropped, once with a note

    def stream(self, name: str, text: str) -> None:
        if not text or self.room < 0:
            return
        if len(text) > self.room:
            text, self.room = text[: self.room] + "\n[output cut by the grader]\n", -1
        else:
            self.room -= len(text)
        last = self.items[-1] if self.items else None
        if last is not None and last.output_type == "stream" and last.name == name:
            last.text += text
        else:
            self.items.append(NotebookNode(output_type="stream", name=name, text=text))

    def add(self, output: NotebookNode) -> None:
        self.items.append(output)

    def write(self, text: str) -> int:  # the judge's own prints (sys.stdout while a cell runs)
        self.stream("stdout", text)
        return len(text)

    def flush(self) -> None:
        pass


class Judge:
    """One notebook's test cells, judged here (see the module doc)."""

    def __init__(self, send, notebook, answers: set[str]):
        self.kernel = Kernel(send)
        self.notebook = notebook
        self.answers = answers
        self.ns: dict = {"__name__": "__judge__", "__builtins__": builtins}
        self.outputs: _Outputs | None = None
        self.ready = False
        self.setup_error = ""

    def forward(self, output: NotebookNode) -> None:
        """Output the kernel made during a request (the student's prints, plots, warnings).

        The kernel's stderr (a library's warning about the student's code) is shown as ordinary
        text: under the judge, only a failed check or an error costs the cell its points.
        """
        if self.outputs is None:
            return
        if output.output_type == "stream":
            self.outputs.stream("stdout", output.text if output.name == "stdout" else _as_note(output.text))
        else:
            self.outputs.add(output)

    # -- setup -------------------------------------------------------------------------------
    def prepare(self) -> None:
        """Run the notebook's setup cells here, then put in the judge's own helpers."""
        self.ready = True
        for cell in self.notebook.cells:
            if is_setup(cell):
                try:
                    with contextlib.redirect_stdout(_Outputs()):
                        exec(compile(cell.source, "<setup>", "exec"), self.ns)  # the course's own locked cell
                except Exception as exc:
                    self.setup_error = f"the grader could not run the setup cell ({type(exc).__name__}: {exc})"
        self.ns["make"] = self._make
        self.ns["assert_does_not_use"] = self._does_not_use
        self.ns["assert_typed"] = self._typed
        self.ns["display"] = lambda *a, **k: None

    def _typed(self, name: str, hint: str | None = None) -> None:
        """``assert_typed`` on the hand-in's own cells (not on what the kernel says it ran)."""
        from cnnlib.shortcuts import typed_failure

        cells = [c.source for c in self.notebook.cells[:self._cell_index] if c.cell_type == "code"]
        failure = typed_failure([static_check.python_source(s) for s in cells], name, hint)
        if failure:
            raise AssertionError(failure)

    def _make(self, factory, *args, **kwargs):
        """``cnnlib.checks.make`` in the judge: build the object in the student's kernel."""
        return self.kernel.call(factory, args, kwargs)

    def _does_not_use(self, func, forbidden=("torch", "scipy", "cnnlib.ops"), name=None, hint=None, **_):
        label = name or (func.remote_class.rsplit(".", 1)[-1] if isinstance(func, RemoteObject) else
                         getattr(func, "__name__", "the function"))
        static_check.assert_does_not_use(self.notebook, self._cell_index, label, tuple(forbidden), hint)

    # -- one test cell ---------------------------------------------------------------------
    def run(self, cell, cell_index: int) -> list[NotebookNode]:
        """Judge ``cell``; returns its outputs (an error output when a check failed)."""
        if not self.ready:
            self.prepare()
        self._cell_index = cell_index
        self.outputs = out = _Outputs()
        try:
            if self.setup_error:
                raise RuntimeError(self.setup_error)
            wanted = sorted((loaded_names(cell.source) & self.answers) - set(dir(builtins)))
            for name in wanted:
                self.ns.pop(name, None)
            self.ns.update(self.kernel.get(wanted) if wanted else {})
            value = self._exec(cell.source, out)
            if value is not None:
                out.add(NotebookNode(output_type="execute_result", execution_count=None, metadata={},
                                     data={"text/plain": repr(value)}))
        except NoReply as exc:
            out.add(_error("NoReply", str(exc)))
        except Exception as exc:  # a failed check, or the student's own error
            out.add(_error(type(exc).__name__, str(exc), exc))
        finally:
            self.outputs = None
        return out.items

    def _exec(self, source: str, out: _Outputs):
        """Run the cell's code here; the value of a last bare expression is returned (a partial score)."""
        tree = ast.parse(source)
        last = tree.body[-1] if tree.body and isinstance(tree.body[-1], ast.Expr) else None
        body = ast.Module(body=tree.body[:-1] if last else tree.body, type_ignores=[])
        with contextlib.redirect_stdout(out), contextlib.redirect_stderr(_Outputs()):
            exec(compile(body, "<test>", "exec"), self.ns)
            if last is not None:
                return eval(compile(ast.Expression(last.value), "<test>", "eval"), self.ns)
        return None


def _as_note(stderr_text: str) -> str:
    return "".join(f"[stderr] {line}" for line in stderr_text.splitlines(keepends=True))


def _error(ename: str, evalue: str, exc: BaseException | None = None) -> NotebookNode:
    tb = [f"{ename}: {evalue}"]
    if exc is not None and not isinstance(exc, (AssertionError, RemoteError)):
        frames = [f for f in traceback.extract_tb(exc.__traceback__) if f.filename == "<test>"]
        if frames:
            tb.insert(0, f"in the test, line {frames[-1].lineno}")
    return NotebookNode(output_type="error", ename=ename, evalue=evalue, traceback=tb)
