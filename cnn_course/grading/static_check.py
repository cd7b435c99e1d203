"""Did the student compute it, or call a library? Read from the notebook's text, not from the kernel.

The by-hand exercises (``conv2d_single``, ``conv2d``, ``pool2d``, ``batch_norm_forward``) must not
call ``torch``, ``scipy`` or ``cnnlib.ops``. Under the judge the student's function lives in the
kernel, where any inspection could be lied to, so :func:`assert_does_not_use` reads the hand-in's
own cells: it finds the cell that defines the function, follows the helpers it calls, and
resolves every name through the notebook's imports (``import torch.nn.functional as F``,
``from cnnlib import ops``) and plain aliases (``conv = F.conv2d``). A forbidden module reached
that way, an ``import`` inside, or a dynamic lookup (``__import__``, ``importlib``, ``eval``,
``exec``, ``globals()``, ``getattr`` with a computed name, ``sys.modules``) fails the check,
and the message names what was found.
"""

from __future__ import annotations

import ast

from cnnlib.i18n import _, hint_suffix
from cnnlib.shortcuts import uses_message

DYNAMIC = {"__import__", "eval", "exec", "globals", "locals", "vars", "importlib", "compile", "__builtins__"}


def python_source(source: str) -> str:
    """The cell's code as Python: IPython's ``%magics`` and ``!commands`` turned into calls."""
    try:
        from IPython.core.inputtransformer2 import TransformerManager

        return TransformerManager().transform_cell(source)
    except Exception:  # IPython missing or the transform failed: as it is
        return source


def parse(source: str) -> ast.Module | None:
    """The cell's code as a syntax tree (see :func:`python_source`); None if it does not parse."""
    try:
        return ast.parse(python_source(source))
    except SyntaxError:
        return None


def _targets(node) -> list[str]:
    if isinstance(node, ast.Name):
        return [node.id]
    if isinstance(node, (ast.Tuple, ast.List)):
        return [n for elt in node.elts for n in _targets(elt)]
    if isinstance(node, ast.Starred):
        return _targets(node.value)
    return []


def _bound(stmt) -> list[str]:
    """Names a top-level statement binds."""
    if isinstance(stmt, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
        return [stmt.name]
    if isinstance(stmt, ast.Assign):
        return [n for t in stmt.targets for n in _targets(t)]
    if isinstance(stmt, (ast.AnnAssign, ast.AugAssign)):
        return _targets(stmt.target)
    if isinstance(stmt, (ast.Import, ast.ImportFrom)):
        return [(a.asname or a.name).split(".")[0] for a in stmt.names]
    if isinstance(stmt, (ast.For, ast.With)):
        return [n for t in ([stmt.target] if isinstance(stmt, ast.For) else
                            [i.optional_vars for i in stmt.items if i.optional_vars]) for n in _targets(t)]
    return []


def top_level_names(source: str) -> set[str]:
    """Names bound at the top level of a cell (assignments, defs, classes, imports, loop targets)."""
    tree = parse(source)
    return {n for stmt in (tree.body if tree else []) for n in _bound(stmt)}


def _dotted(node) -> list[str] | None:
    parts = []
    while isinstance(node, ast.Attribute):
        parts.append(node.attr)
        node = node.value
    if isinstance(node, ast.Name):
        return [node.id, *reversed(parts)]
    return None


def bindings(trees: list[ast.Module]) -> dict[str, str]:
    """name -> dotted origin, from the imports and plain aliases at the top level of ``trees``."""
    origin: dict[str, str] = {}
    for tree in trees:
        for stmt in tree.body:
            if isinstance(stmt, ast.Import):
                for a in stmt.names:
                    origin[a.asname or a.name.split(".")[0]] = a.name if a.asname else a.name.split(".")[0]
            elif isinstance(stmt, ast.ImportFrom) and stmt.module and not stmt.level:
                for a in stmt.names:
                    origin[a.asname or a.name] = f"{stmt.module}.{a.name}"
            elif isinstance(stmt, ast.Assign) and (path := _dotted(stmt.value)) and path[0] in origin:
                for n in (n for t in stmt.targets for n in _targets(t)):
                    origin[n] = ".".join([origin[path[0]], *path[1:]])
    return origin


def _matches(dotted: str, forbidden: tuple[str, ...]) -> str | None:
    return next((p for p in forbidden if dotted == p or dotted.startswith(p + ".")), None)


def _local_names(fn) -> set[str]:
    args = fn.args
    names = {a.arg for a in [*args.posonlyargs, *args.args, *args.kwonlyargs]}
    names |= {a.arg for a in (args.vararg, args.kwarg) if a}
    for node in ast.walk(fn):
        if isinstance(node, ast.Name) and isinstance(node.ctx, ast.Store):
            names.add(node.id)
    return names


def uses(node, origin: dict[str, str], forbidden: tuple[str, ...], local: set[str]) -> tuple[list[str], list[str]]:
    """(forbidden uses, dynamic lookups) in ``node``: names, attribute chains and imports."""
    hits, dynamic = [], []
    roots = {id(sub.value) for sub in ast.walk(node) if isinstance(sub, ast.Attribute)}  # F of F.conv2d
    for sub in ast.walk(node):
        if isinstance(sub, (ast.Import, ast.ImportFrom)):
            mods = [a.name for a in sub.names] if isinstance(sub, ast.Import) else [sub.module or ""]
            hits += [f"import {m}" for m in mods if _matches(m, forbidden)]
        elif isinstance(sub, ast.Attribute) and isinstance(sub.ctx, ast.Load):
            path = _dotted(sub)
            if path and path[0] in origin and path[0] not in local:
                full = ".".join([origin[path[0]], *path[1:]])
                if _matches(full, forbidden):
                    hits.append(".".join(path))
            if sub.attr == "modules" and path and path[0] in {"sys"} | {k for k, v in origin.items() if v == "sys"}:
                dynamic.append("sys.modules")
        elif isinstance(sub, ast.Name) and isinstance(sub.ctx, ast.Load) and sub.id not in local:
            if sub.id in origin and _matches(origin[sub.id], forbidden) and id(sub) not in roots:
                hits.append(sub.id)
            if sub.id in DYNAMIC or origin.get(sub.id, "").startswith("importlib"):
                dynamic.append(sub.id)
        elif isinstance(sub, ast.Call) and isinstance(sub.func, ast.Name) and sub.func.id == "getattr" \
                and len(sub.args) >= 2 and not isinstance(sub.args[1], ast.Constant):
            dynamic.append("getattr with a computed name")
    return hits, dynamic


def _definitions(trees: list[ast.Module]) -> dict[str, ast.AST]:
    """name -> the last top-level def (or assigned value) of that name in ``trees``."""
    found: dict[str, ast.AST] = {}
    for tree in trees:
        for stmt in tree.body:
            if isinstance(stmt, (ast.FunctionDef, ast.AsyncFunctionDef)):
                found[stmt.name] = stmt
            elif isinstance(stmt, ast.Assign):
                for n in (n for t in stmt.targets for n in _targets(t)):
                    found[n] = stmt.value
    return found


def find_uses(cells: list[str], name: str, forbidden: tuple[str, ...]) -> tuple[list[str], list[str]] | None:
    """What the definition of ``name`` in ``cells`` (and its helpers there) takes from ``forbidden``.

    Returns None when no cell defines ``name``.
    """
    trees = [t for t in (parse(src) for src in cells) if t is not None]
    origin, defs = bindings(trees), _definitions(trees)
    if name not in defs:
        return None
    hits, dynamic, seen, todo = [], [], set(), [name]
    while todo:
        current = todo.pop()
        if current in seen or current not in defs:
            continue
        seen.add(current)
        node = defs[current]
        local = _local_names(node) if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)) else set()
        h, d = uses(node, origin, forbidden, local)
        hits += h
        dynamic += d
        todo += [n.id for n in ast.walk(node) if isinstance(n, ast.Name) and n.id in defs and n.id not in local]
    return sorted(set(hits)), sorted(set(dynamic))


def assert_does_not_use(notebook, before: int, name: str, forbidden: tuple[str, ...], hint: str | None) -> None:
    """Fail (AssertionError) when the hand-in's ``name`` calls ``forbidden`` code (see the module doc).

    Reads the code cells of ``notebook`` before cell index ``before``.
    """
    cells = [c.source for c in notebook.cells[:before] if c.cell_type == "code"]
    found = find_uses(cells, name, forbidden)
    extra = hint_suffix(hint)
    if found is None:
        raise AssertionError(_("{name}: the grader cannot find where you wrote it: define it with `def {name}(...)` "
                               "in its answer cell.").format(name=name) + extra)
    hits, dynamic = found
    if hits:
        raise AssertionError(uses_message(name, hits, forbidden) + "." + extra)
    if dynamic:
        raise AssertionError(_("{name} looks names up at run time ({found}): write the computation out, with "
                               "names the grader can read.").format(name=name, found=", ".join(dynamic)) + extra)
