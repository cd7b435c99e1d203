"""No shortcuts: a function that must compute by itself, an answer that must be worked out by hand.

* :func:`assert_does_not_use` reads a student's function (its byte code, and the helpers it
  defines beside itself) and fails when it calls a library that does the work;
* :func:`assert_typed` reads the notebook cell that set an answer and fails unless the
  answer is typed out as numbers (a list, a tuple, ``np.array([...])``, ``torch.tensor([...])``,
  arithmetic of numbers), not computed by calling code.

When the course grades a notebook, the same checks run outside the student's kernel, on the
notebook's own text (``cnn_course.grading.static_check``).
"""

from __future__ import annotations

import ast
import dis
import functools
import types

from .i18n import _, hint_suffix

_LOADS = {"LOAD_GLOBAL", "LOAD_NAME", "LOAD_DEREF", "LOAD_CLASSDEREF"}
_ATTRS = {"LOAD_ATTR", "LOAD_METHOD"}


def _origin(obj) -> str | None:
    """Dotted name of where ``obj`` comes from: a module's name, or module.qualname."""
    if isinstance(obj, types.ModuleType):
        return obj.__name__
    if isinstance(obj, functools.partial):
        return _origin(obj.func)
    module = getattr(obj, "__module__", None)
    if not isinstance(module, str):
        module = getattr(type(obj), "__module__", None)
        if not isinstance(module, str) or module == "builtins":
            return None
        return module
    qualname = getattr(obj, "__qualname__", None) or getattr(obj, "__name__", None)
    return f"{module}.{qualname}" if isinstance(qualname, str) else module


def _matches(dotted: str | None, forbidden: tuple[str, ...]) -> str | None:
    if not dotted:
        return None
    for prefix in forbidden:
        if dotted == prefix or dotted.startswith(prefix + "."):
            return prefix
    return None


def _code_objects(code: types.CodeType):
    yield code
    for const in code.co_consts:
        if isinstance(const, types.CodeType):
            yield from _code_objects(const)


def _uses(func, forbidden: tuple[str, ...], seen: set[int]) -> list[str]:
    """What ``func`` (and the helpers it defines beside itself) takes from a forbidden module."""
    if id(func) in seen:
        return []
    seen.add(id(func))
    if isinstance(func, functools.partial):
        return _uses(func.func, forbidden, seen)
    if isinstance(func, types.MethodType):
        return _uses(func.__func__, forbidden, seen)
    hit = _matches(_origin(func), forbidden)
    if hit:
        return [f"{_origin(func)} (from {hit})"]
    code = getattr(func, "__code__", None)
    if not isinstance(code, types.CodeType):
        return []
    scope = dict(getattr(func, "__builtins__", {}) or {})
    scope.update(getattr(func, "__globals__", {}) or {})
    for name, cell in zip(code.co_freevars, getattr(func, "__closure__", None) or (), strict=False):
        try:
            scope[name] = cell.cell_contents
        except ValueError:  # an empty cell
            pass
    found: list[str] = []
    helpers = []
    for co in _code_objects(code):
        current, path, hit = None, "", None
        for ins in dis.get_instructions(co):
            if ins.opname in _ATTRS and current is not None:
                # follow attribute chains: torch.nn.functional.conv2d, cnnlib.ops.conv2d
                path = f"{path}.{ins.argval}"
                current = getattr(current, str(ins.argval), None)
                hit = hit or _matches(_origin(current), forbidden)
                continue
            if hit:  # the chain ended: report it whole
                found.append(f"{path} (from {hit})")
            current, path, hit = None, "", None
            if ins.opname == "IMPORT_NAME" and _matches(str(ins.argval), forbidden):
                found.append(f"import {ins.argval} (from {_matches(str(ins.argval), forbidden)})")
            elif ins.opname in _LOADS and isinstance(ins.argval, str) and ins.argval in scope:
                current, path = scope[ins.argval], ins.argval
                hit = _matches(_origin(current), forbidden)
                if not hit and isinstance(current, (types.FunctionType, functools.partial, types.MethodType)):
                    helpers.append(current)
        if hit:
            found.append(f"{path} (from {hit})")
    for helper in helpers:
        inner = helper
        while isinstance(inner, (functools.partial, types.MethodType)):
            inner = inner.func if isinstance(inner, functools.partial) else inner.__func__
        # follow the student's own helpers (same globals: the notebook), not library internals
        if getattr(inner, "__globals__", None) is getattr(func, "__globals__", None):
            found.extend(_uses(helper, forbidden, seen))
    return found


def uses_message(name: str, used, forbidden) -> str:
    """The message of a function that calls what it must compute itself (here and in the grader)."""
    return _("{name} uses {used}: compute the result yourself (loops and NumPy arithmetic) instead of calling "
             "a library that does the work (not allowed here: {forbidden})").format(
        name=name, used=", ".join(used), forbidden=", ".join(forbidden))


def assert_does_not_use(
    func,
    forbidden=("torch", "scipy", "cnnlib.ops"),
    name: str | None = None,
    hint: str | None = None,
) -> None:
    """Assert that ``func`` computes by itself instead of calling a library that does the work.

    Reads the byte code of ``func`` (and, recursively, of every function, lambda or
    ``functools.partial`` it refers to that is defined beside it, i.e. shares its
    globals, such as a helper in the same notebook): a global name, a closure
    variable, an attribute chain such as ``torch.nn.functional.conv2d`` or
    ``cnnlib.ops.conv2d``, or an ``import`` inside the body that leads into a
    forbidden module fails the check. ``func`` itself being a forbidden function
    (``conv2d_single = F.conv2d``) fails too. The function is never called.

    Args:
        func: the student's function.
        forbidden: dotted module (or module.attribute) prefixes, e.g. ``("torch", "scipy",
            "cnnlib.ops", "numpy.convolve")``; ``"torch"`` also forbids ``torch.nn`` etc.
        name: how the message calls the function; defaults to its ``__name__``.
        hint: appended to the failure message.

    Raises:
        AssertionError: ``func`` uses something from ``forbidden``; the message lists what.
        ValueError: ``func`` is not callable or ``forbidden`` is not a tuple/list of strings.
    """
    if isinstance(forbidden, str) or not all(isinstance(f, str) and f for f in forbidden):
        raise ValueError(f"forbidden must be a tuple of dotted module names; got {forbidden!r}")
    label = name or getattr(func, "__name__", "the function")
    if not callable(func):
        raise AssertionError(_("{name}: expected a function; got {kind}").format(name=label, kind=type(func).__name__))
    used = sorted(set(_uses(func, tuple(forbidden), set())))
    if used:
        raise AssertionError(uses_message(label, used, forbidden) + "." + hint_suffix(hint))


# --------------------------------------------------------------------------- typed by hand

_WRAPPERS = {"array", "asarray", "tensor", "as_tensor", "list", "tuple", "float", "int"}


def _typed(node) -> bool:
    """Whether an expression is numbers typed out: literals, arithmetic of them, lists, wrappers."""
    if isinstance(node, ast.Constant):
        return isinstance(node.value, (int, float)) and not isinstance(node.value, bool)
    if isinstance(node, ast.UnaryOp) and isinstance(node.op, (ast.USub, ast.UAdd)):
        return _typed(node.operand)
    if isinstance(node, ast.BinOp) and isinstance(node.op, (ast.Add, ast.Sub, ast.Mult, ast.Div, ast.FloorDiv,
                                                             ast.Pow)):
        return _typed(node.left) and _typed(node.right)
    if isinstance(node, (ast.List, ast.Tuple)):
        return all(_typed(e) for e in node.elts)
    if isinstance(node, ast.Dict):  # {"C1": 156, ...}: named numbers
        return all(isinstance(k, ast.Constant) and isinstance(k.value, str) for k in node.keys) and \
            all(_typed(v) for v in node.values)
    if isinstance(node, ast.Call):
        func = node.func.attr if isinstance(node.func, ast.Attribute) else getattr(node.func, "id", "")
        if func == "dict":  # dict(C1=156, ...)
            return not node.args and all(k.arg and _typed(k.value) for k in node.keywords)
        return (func in _WRAPPERS and 1 <= len(node.args) <= 2 and _typed(node.args[0])
                and all(_dtype(a) for a in node.args[1:]) and all(k.arg == "dtype" for k in node.keywords))
    return False


def _dtype(node) -> bool:
    """A dtype given by name: ``float``, ``np.float32``, ``torch.float64``, ``"float32"``."""
    return isinstance(node, (ast.Name, ast.Attribute)) or (isinstance(node, ast.Constant) and
                                                            isinstance(node.value, str))


def _assigned(stmt, name: str):
    """The value ``stmt`` assigns to ``name`` at the top level (``a, b = x, y`` too), else None."""
    if isinstance(stmt, ast.AnnAssign):
        return stmt.value if isinstance(stmt.target, ast.Name) and stmt.target.id == name else None
    if not isinstance(stmt, ast.Assign):
        return None
    found = None
    for target in stmt.targets:
        if isinstance(target, ast.Name) and target.id == name:
            found = stmt.value
        elif isinstance(target, (ast.Tuple, ast.List)):
            for i, elt in enumerate(target.elts):
                if isinstance(elt, ast.Name) and elt.id == name:  # a, b = x, y: x; a, b = f(): f() itself
                    pairs = isinstance(stmt.value, (ast.Tuple, ast.List)) and len(stmt.value.elts) == len(target.elts)
                    found = stmt.value.elts[i] if pairs else stmt.value
    return found


def typed_by_hand(sources: list[str], name: str) -> str | None:
    """Why the answer ``name`` is not typed by hand in the last of ``sources`` that sets it; None if it is.

    Looks at the last top-level assignment of ``name`` in the cells ``sources`` (in order).
    """
    value = None
    for source in sources:
        try:
            tree = ast.parse(source)
        except SyntaxError:
            continue
        for stmt in tree.body:
            found = _assigned(stmt, name)
            if found is not None:
                value = found
    if value is None:
        return _("{name}: set it in its answer cell, e.g. {name} = [[1, 2], [3, 4]]").format(name=name)
    if not _typed(value):
        return _("{name} is computed by code ({code}): work it out by hand and type the numbers (a list, a "
                 "table, a dict of numbers; arithmetic of numbers is fine)").format(name=name,
                                                                                    code=ast.unparse(value)[:80])
    return None


def typed_failure(sources: list[str], name: str, hint: str | None = None) -> str | None:
    """:func:`typed_by_hand`'s message with ``hint`` added (here and in the grader), or ``None``."""
    why = typed_by_hand(sources, name)
    return why + ("." + hint_suffix(hint) if hint else "") if why else None


def assert_typed(name: str, hint: str | None = None) -> None:
    """Assert that the answer ``name`` was typed out by hand (read from the notebook's cells).

    In JupyterLab it reads the cells you ran (IPython's ``In``); without IPython it checks nothing.
    Raises AssertionError with what was found.
    """
    try:
        from IPython import get_ipython

        shell = get_ipython()
    except ImportError:
        shell = None
    if shell is None:
        return
    failure = typed_failure([str(s) for s in shell.user_ns.get("In", [])], name, hint)
    if failure:
        raise AssertionError(failure)
