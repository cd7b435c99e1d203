"""Two editions of every notebook from one source: Traditional Chinese (the default) and English.

A notebook under ``source/<assignment>/`` is the one place its text is written, in both
languages; ``cnn-course release`` cuts each edition out of it into
``build/editions/<lang>/source/`` (generated, not committed) and runs stock ``nbgrader
generate_assignment`` on that, writing ``release/`` (``zh_TW``) and ``release-en/``
(``en``). Cells, grade ids, tests and points are the same in both; only what a student reads
differs. In a source notebook:

* a **markdown** cell holds one block per language, each opened by a line ``<!-- :zh -->`` or
  ``<!-- :en -->`` (text before the first marker is in both editions);
* in a **code** cell, ``tr("English", "中文")`` (f-strings too) becomes the edition's string
  literal; a line that ends in ``#:zh`` or ``#:en`` is kept only in that edition (comments,
  docstrings, ``cnnlib.set_language("zh_TW")  #:zh``), without its marker; a line that ends
  in ``#:src`` is only for running the source itself (``from cnnlib.i18n import tr  #:src``).

The notebook's metadata ``cnn_course`` carries ``budget_min`` (the core path's minutes); an
edition adds ``edition: <lang>``. The English edition is generated first and the default
last, so that the gradebook holds the default edition's cells (grading gives the same scores
to either edition: only text differs; feedback comes in the gradebook's edition).
"""

from __future__ import annotations

import ast
import re
import shutil
from pathlib import Path

import nbformat

LANGUAGES = ("en", "zh_TW")  # in the order they are generated: the default last
DEFAULT = "zh_TW"
TAGS = {"zh_TW": "zh", "en": "en"}
BLOCK = re.compile(r"^<!--\s*:(zh|en)\s*-->\s*$")
LINE = re.compile(r"\s*#:(zh|en|src)\s*$")


def release_dir(lang: str) -> str:
    """The release folder of an edition, relative to the course root."""
    return "release" if lang == DEFAULT else f"release-{lang.split('_')[0]}"


def build_source(lang: str) -> str:
    """The edition's generated source folder, relative to the course root (not committed)."""
    return f"build/editions/{lang}/source"


# -- one cell ------------------------------------------------------------------------------
def markdown_for(text: str, lang: str) -> str:
    """The blocks of ``text`` for ``lang`` (see the module doc)."""
    keep, out = True, []
    for line in text.splitlines():
        m = BLOCK.match(line.strip())
        if m:
            keep = m.group(1) == TAGS[lang]
            continue
        if keep:
            out.append(line)
    return "\n".join(out).strip("\n")


def _tr_calls(tree: ast.AST):
    for node in ast.walk(tree):
        if isinstance(node, ast.Call) and isinstance(node.func, ast.Name) and node.func.id == "tr":
            if len(node.args) != 2 or node.keywords:
                raise ValueError(f"line {node.lineno}: tr() takes two strings, the English and the Chinese")
            yield node


def code_for(source: str, lang: str) -> str:
    """The code cell ``source`` for ``lang``: tagged lines and ``tr()`` calls resolved."""
    lines = []
    for line in source.splitlines():
        m = LINE.search(line)
        if m is None:
            lines.append(line)
        elif m.group(1) == TAGS[lang]:
            lines.append(line[: m.start()])
    code = "\n".join(lines)
    if "tr(" not in code:
        return code
    tree = ast.parse(code)
    code_lines = code.splitlines(keepends=True)
    offsets = [0]
    for line in code_lines:
        offsets.append(offsets[-1] + len(line))

    def pos(lineno, col):  # ast columns count UTF-8 bytes
        return offsets[lineno - 1] + len(code_lines[lineno - 1].encode("utf-8")[:col].decode("utf-8"))

    edits = []
    for call in _tr_calls(tree):
        arg = call.args[0 if lang == "en" else 1]
        text = code[pos(arg.lineno, arg.col_offset): pos(arg.end_lineno, arg.end_col_offset)]
        edits.append((pos(call.lineno, call.col_offset), pos(call.end_lineno, call.end_col_offset), text))
    for start, end, text in sorted(edits, reverse=True):
        if any(s < start < e for s, e, _ in edits):  # a tr() inside another's argument: done with it
            continue
        code = code[:start] + text + code[end:]
    return code


def edition(nb: nbformat.NotebookNode, lang: str) -> nbformat.NotebookNode:
    """A copy of the source notebook ``nb`` as its ``lang`` edition."""
    out = nbformat.from_dict(nb)
    for cell in out.cells:
        if cell.cell_type == "markdown":
            cell.source = markdown_for(cell.source, lang)
        elif cell.cell_type == "code":
            cell.source = code_for(cell.source, lang)
    out.metadata.setdefault("cnn_course", {})["edition"] = lang
    return out


# -- a course ------------------------------------------------------------------------------
def build(root: Path, lang: str, assignments: list[str], dest: Path | None = None) -> Path:
    """Write ``build/editions/<lang>/source/<assignment>/`` (or ``dest/<assignment>/``) for each
    assignment of ``root/source``; return that folder."""
    dest = dest or root / build_source(lang)
    for a in assignments:
        build_assignment(root / "source" / a, dest / a, lang)
    return dest


def build_assignment(source: Path, target: Path, lang: str) -> None:
    """``source/<assignment>/`` as its ``lang`` edition in ``target`` (replaced): notebooks cut, other files copied."""
    shutil.rmtree(target, ignore_errors=True)
    target.mkdir(parents=True)
    for path in sorted(source.iterdir()):
        if path.suffix == ".ipynb":
            nbformat.write(edition(nbformat.read(path, as_version=4), lang), target / path.name)
        elif path.is_file() and not path.name.startswith("."):
            shutil.copy2(path, target / path.name)


def edition_source(root: Path, lang: str, assignment: str) -> Path:
    """The edition's built source of ``assignment``; ``source/`` itself before a release built it."""
    built = Path(root) / build_source(lang) / assignment
    return built if built.is_dir() else Path(root) / "source" / assignment


def generate_args(lang: str) -> tuple[str, ...]:
    """nbgrader options that point ``generate_assignment`` at an edition."""
    return (f"--CourseDirectory.source_directory={build_source(lang)}",
            f"--CourseDirectory.release_directory={release_dir(lang)}")


def generate(root: Path, assignments: list[str], log=print) -> bool:
    """Build every edition and run ``nbgrader generate_assignment`` on each; False on a failure."""
    import sys
    import time

    from cnnlib.i18n import compile_catalogs

    from .nbgrader_run import nbgrader

    compile_catalogs()
    for lang in LANGUAGES:
        build(root, lang, assignments)
        for a in assignments:
            t0 = time.perf_counter()
            res = nbgrader(root, "generate_assignment", a, "--force", *generate_args(lang))
            if not res.ok:
                print(res.output[-4000:], file=sys.stderr)
                print(f"cnn-course: generating {release_dir(lang)}/{a} failed (nbgrader exited {res.returncode})",
                      file=sys.stderr)
                return False
            count = len(list((root / release_dir(lang) / a).glob("*.ipynb")))
            log(f"      {release_dir(lang)}/{a}/ ({lang}): {count} notebooks in {time.perf_counter() - t0:.1f} s")
    return True
