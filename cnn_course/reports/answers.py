"""Every graded answer of the course, read from the instructor's source notebooks (never executed).

See :mod:`cnn_course.reports.leaks` for what counts as an answer and where it is looked for;
this module collects them: :func:`graded_answers` (one notebook), :func:`course_answers` (all).
"""


from __future__ import annotations

import ast
import dataclasses
import json
import math
import re
from dataclasses import dataclass
from pathlib import Path

import nbformat
import numpy as np

from cnn_course.reports.answer_key import (
    Answer,
    answer_key,
)

HIDDEN_TESTS = re.compile(r"### BEGIN HIDDEN TESTS\n(.*?)### END HIDDEN TESTS", re.DOTALL)
QUIZ_GRADERS = ("grade_choice", "grade_number", "grade_cells", "grade_conv2d")
CHECKS = ("assert_equal", "assert_close")
NUMBER = re.compile(r"(?<![\w.])-?\d+(?:\.\d+)?(?!\w|\.\d)")
# numbers joined by arithmetic operators; "x" (or "×") multiplies between numbers ("3 x 128 x 128")
_ARITH_NUM = r"\d+(?:\.\d+)?"
_ARITH_OP = r"\s*(?://|[-+*/×]|(?<=[\d\s])x(?=[\s\d]))\s*"
ARITHMETIC = re.compile(rf"(?<![\w.]){_ARITH_NUM}(?:{_ARITH_OP}{_ARITH_NUM})+(?![\w]|\.\d)")
TIMES = r"\s*[x×X*]\s*"


# --------------------------------------------------------------------------- the answers


@dataclass(frozen=True, eq=False)
class GradedAnswer:
    """One graded value: where it is graded, what it is called, and the value.

    Attributes:
        notebook: ``<assignment folder>/<notebook stem>``, e.g. ``lecture/01_images_as_tensors``.
        grade_id: the graded (test) cell that checks it.
        name: ``frame_shape``, ``lenet_params['C1']``, ``q03``, ``q03 (half credit)``.
        value: the literal: a number, a tuple or list (nested for a table), a dict, a string.
        origin: ``solution``, ``hidden test`` or ``answer key`` (the quiz's graders).
        expression: the source text when it is arithmetic (``6 * 3 * 5 * 5 + 6``), else ``""``.
        quiz: the quiz's :class:`answer_key.Answer` (scanned by :func:`answer_key.find_leaks`).
    """

    notebook: str
    grade_id: str
    name: str
    value: object
    origin: str
    expression: str = ""
    quiz: Answer | None = None

    @property
    def kind(self) -> str:
        """``number``, ``shape``, ``table``, ``sequence`` (ragged), ``mapping``, ``text`` or ``layer``."""
        if self.quiz is not None and self.quiz.grader == "grade_conv2d":
            return "layer"
        return _kind(self.value)

    @property
    def distinctive(self) -> bool:
        """Whether the value is looked for in the clear (see the module docstring)."""
        kind = self.kind
        if kind == "number":
            return _distinctive_number(self.value)
        flat = _flat(self.value) if kind in ("shape", "table", "sequence") else []
        if kind == "shape":
            return len(flat) >= 3 or (len(flat) == 2 and any(_distinctive_number(v) for v in flat))
        return kind in ("table", "sequence") and len(flat) >= 4

    def __repr__(self) -> str:
        return f"GradedAnswer({self.grade_id}: {self.name} = {self.value!r}, {self.origin})"


def graded_answers(source_notebook: Path) -> list[GradedAnswer]:
    """Every graded value of a source notebook (see the module docstring).

    The quiz's keys come first, then the solutions' values, then the hidden tests' values that are
    not among them already (the same value of the same graded cell is one answer).

    Raises:
        ValueError: a hidden test that does not parse; a quiz grader call that is not literal.
    """
    path = Path(source_notebook)
    notebook = f"{path.parent.name}/{path.stem}"
    nb = nbformat.read(path, as_version=4)
    from_key: list[GradedAnswer] = []
    from_solutions: list[GradedAnswer] = []
    from_hidden: list[GradedAnswer] = []
    pending: list[GradedAnswer] = []  # solution answers waiting for the next graded cell
    value_names: set[str] = set()
    quiz = False
    for cell in nb.cells:
        meta = cell.metadata.get("nbgrader", {})
        if cell.cell_type != "code" or not meta:
            continue
        gid = meta.get("grade_id", cell.get("id", "?"))
        if meta.get("solution"):
            for name, found in _literal_assignments(cell.source):
                value_names.add(name)
                pending += _with_items(notebook, gid, name, found, "solution")
        if not meta.get("grade"):
            continue
        from_solutions += [dataclasses.replace(a, grade_id=gid) for a in pending]
        pending = []
        hidden = "\n".join(HIDDEN_TESTS.findall(cell.source))
        if not hidden.strip():
            continue
        try:
            tree = ast.parse(hidden)
        except SyntaxError as exc:
            raise ValueError(f"{gid}: the hidden test does not parse ({exc})") from None
        quiz = quiz or any(_call_name(n) in QUIZ_GRADERS for n in ast.walk(tree) if isinstance(n, ast.Call))
        from_hidden += _hidden_answers(notebook, gid, hidden, tree, value_names)
    # a solution below the last graded cell still counts (under its own cell's id)
    from_solutions += pending
    if quiz:
        for gid, ans in answer_key(path).items():
            from_key.append(GradedAnswer(notebook, gid, ans.qid, ans.key if ans.grader != "grade_conv2d"
                                         else dict(ans.spec), "answer key", quiz=ans))
            if ans.half is not None:
                from_key.append(GradedAnswer(notebook, gid, f"{ans.qid} (half credit)", ans.half, "answer key",
                                             quiz=ans))
    return _merge(from_key, from_solutions, from_hidden)


def course_answers(source_root: Path) -> list[GradedAnswer]:
    """The answers of every source notebook under ``source_root`` (``source/*/*.ipynb``)."""
    return [a for path in sorted(Path(source_root).glob("*/*.ipynb")) for a in graded_answers(path)]


def _merge(*groups: list[GradedAnswer]) -> list[GradedAnswer]:
    """The answers of all groups, the same value of the same graded cell once (the first group wins)."""
    out: list[GradedAnswer] = []
    seen: dict[tuple[str, str], int] = {}
    for group in groups:
        for a in group:
            key = (a.grade_id, _canonical(a.value))
            if key in seen:
                kept = out[seen[key]]
                if a.expression and not kept.expression:
                    out[seen[key]] = dataclasses.replace(kept, expression=a.expression)
                continue
            seen[key] = len(out)
            out.append(a)
    return out


def _with_items(notebook: str, gid: str, name: str, found: tuple, origin: str) -> list[GradedAnswer]:
    """The answer, and for a dict every value as an answer of its own too.

    ``found`` is ``(value, expression, item_expressions)`` as :func:`_literal_with_items` gives it.
    """
    value, expression, item_expressions = found
    out = [GradedAnswer(notebook, gid, name, value, origin, expression)]
    if isinstance(value, dict):
        out += [GradedAnswer(notebook, gid, f"{name}[{key!r}]", item, origin, item_expressions.get(key, ""))
                for key, item in value.items()]
    return out


def _literal_assignments(source: str):
    """(name, (value, expression, item_expressions)) of each top-level assignment of a literal."""
    try:
        tree = ast.parse(source)
    except SyntaxError:
        return
    for node in tree.body:
        if isinstance(node, ast.Assign):
            targets, value = node.targets, node.value
        elif isinstance(node, ast.AnnAssign) and node.value is not None:
            targets, value = [node.target], node.value
        else:
            continue
        for target in targets:
            if isinstance(target, ast.Name):
                pairs = [(target.id, value)]
            elif isinstance(target, ast.Tuple) and isinstance(value, ast.Tuple) and len(target.elts) == len(value.elts):
                pairs = [(t.id, v) for t, v in zip(target.elts, value.elts, strict=True) if isinstance(t, ast.Name)]
            else:
                continue
            for name, node_value in pairs:
                found = _literal_with_items(node_value, source)
                if found is not None:
                    yield name, found


def _literal_with_items(node: ast.AST, source: str):
    """``(value, expression, {key: expression})`` of a literal node, or None when it is not one."""
    value = literal_value(node)
    if value is _NOT_A_VALUE:
        return None
    items = {}
    if isinstance(node, ast.Dict):
        items = {k.value: _expression(v, source) for k, v in zip(node.keys, node.values, strict=True)
                 if isinstance(k, ast.Constant)}
    return value, _expression(node, source), items


def _expression(node: ast.AST, source: str) -> str:
    """The arithmetic as written (``6 * 3 * 5 * 5 + 6``), or ``""`` for a plain literal."""
    if not isinstance(node, ast.BinOp):
        return ""  # a literal, a negative number, a tuple (its items' arithmetic is not one text)
    return ast.get_source_segment(source, node) or ast.unparse(node)


_NOT_A_VALUE = object()


class _FoldArithmetic(ast.NodeTransformer):
    """Replace arithmetic of number constants by its result, so that ``ast.literal_eval`` takes it."""

    OPS = {ast.Add: lambda a, b: a + b, ast.Sub: lambda a, b: a - b, ast.Mult: lambda a, b: a * b,
           ast.Div: lambda a, b: a / b, ast.FloorDiv: lambda a, b: a // b, ast.Mod: lambda a, b: a % b,
           ast.Pow: lambda a, b: a ** b}

    def visit_BinOp(self, node):
        self.generic_visit(node)
        op = self.OPS.get(type(node.op))
        a, b = node.left, node.right
        if op and _is_number_constant(a) and _is_number_constant(b):
            if isinstance(node.op, ast.Pow) and abs(b.value) > 64:
                return node
            try:
                return ast.copy_location(ast.Constant(op(a.value, b.value)), node)
            except (ArithmeticError, ValueError):
                return node
        return node

    def visit_UnaryOp(self, node):
        self.generic_visit(node)
        if isinstance(node.op, (ast.USub, ast.UAdd)) and _is_number_constant(node.operand):
            v = node.operand.value
            return ast.copy_location(ast.Constant(-v if isinstance(node.op, ast.USub) else v), node)
        return node


def _is_number_constant(node) -> bool:
    return isinstance(node, ast.Constant) and isinstance(node.value, (int, float)) and not isinstance(node.value, bool)


def literal_value(node: ast.AST):
    """The value of a literal node after folding its arithmetic; ``_NOT_A_VALUE`` when it is not one.

    Values are numbers, strings, and tuples, lists and dicts of those (no bools, no ``None``).
    """
    folded = _FoldArithmetic().visit(ast.fix_missing_locations(ast.Expression(body=_copy(node))))
    try:
        value = ast.literal_eval(folded)
    except (ValueError, TypeError, SyntaxError, MemoryError, RecursionError):
        return _NOT_A_VALUE
    return value if _is_value(value) else _NOT_A_VALUE


def _copy(node: ast.AST) -> ast.AST:
    return ast.parse(ast.unparse(node), mode="eval").body


def _is_value(value) -> bool:
    if isinstance(value, bool) or value is None:
        return False
    if isinstance(value, (int, float)):
        return math.isfinite(value)
    if isinstance(value, str):
        return True
    if isinstance(value, (tuple, list)):
        return len(value) > 0 and all(_is_value(v) and not isinstance(v, (str, dict)) for v in value)
    if isinstance(value, dict):
        return len(value) > 0 and all(_is_value(v) for v in value.values())
    return False


def _numeric(value) -> bool:
    """A number, or tuples/lists/dicts of numbers only (what a hidden test's helper data is not)."""
    if isinstance(value, dict):
        return all(_numeric(v) for v in value.values())
    if isinstance(value, (tuple, list)):
        return all(_numeric(v) for v in value)
    return isinstance(value, (int, float)) and not isinstance(value, bool)


def _call_name(node: ast.Call) -> str:
    return getattr(node.func, "attr", getattr(node.func, "id", ""))


def _base_name(node: ast.AST) -> str:
    """``x`` of ``x``, ``x[...]``, ``x.attr``: the variable a checked expression is about."""
    while isinstance(node, (ast.Subscript, ast.Attribute)):
        node = node.value
    return node.id if isinstance(node, ast.Name) else ""


def _hidden_answers(notebook: str, gid: str, hidden: str, tree: ast.Module,
                    value_names: set[str]) -> list[GradedAnswer]:
    """The literal expected values of a hidden test that checks value answers."""
    out: list[GradedAnswer] = []
    checks_a_value = False
    for node in ast.walk(tree):
        if not (isinstance(node, ast.Call) and _call_name(node) in CHECKS and len(node.args) >= 2):
            continue
        if _base_name(node.args[0]) not in value_names or isinstance(node.args[0], ast.Attribute):
            continue
        checks_a_value = True
        found = _literal_with_items(node.args[1], hidden)
        if found is not None and _numeric(found[0]):
            out += _with_items(notebook, gid, ast.unparse(node.args[0]), found, "hidden test")
    if checks_a_value:  # its literal data: the expected values it loops over
        for name, found in _literal_assignments(hidden):
            if _numeric(found[0]):
                out += _with_items(notebook, gid, f"{name} (hidden test)", found, "hidden test")
    return out


def _kind(value) -> str:
    if isinstance(value, str):
        return "text"
    if isinstance(value, (int, float)):
        return "number"
    if isinstance(value, dict):
        return "mapping"
    if all(isinstance(v, (int, float)) for v in value):
        return "shape"
    try:
        arr = np.asarray(value, dtype=float)
    except ValueError:
        return "sequence"
    return "table" if arr.ndim >= 2 else "shape"


def _flat(value) -> list[float]:
    if isinstance(value, (tuple, list)):
        return [x for v in value for x in _flat(v)]
    return [float(value)]


def _distinctive_number(v) -> bool:
    if float(v).is_integer():
        return abs(v) >= 100
    digits = repr(float(abs(v))).split("e")[0].replace(".", "").lstrip("0")
    return len(digits) >= 3


def _canonical(value) -> str:
    def plain(v):
        if isinstance(v, dict):
            return {str(k): plain(x) for k, x in v.items()}
        if isinstance(v, (tuple, list)):
            return [plain(x) for x in v]
        if isinstance(v, float) and v.is_integer():
            return int(v)
        return v

    return json.dumps(plain(value), sort_keys=True)


def _number_text(v) -> str:
    return str(int(v)) if float(v).is_integer() else repr(float(v))
