"""Every graded answer of the course, and a scan for them in everything a student holds.

The course's rule is *nothing a student holds gives an answer away*: not a release notebook
(its raw file, a cell, a stored output) and not a module of ``cnnlib``, the library every
student installs. This module collects the answers (:func:`graded_answers`, per graded cell,
from the instructor's source notebook; parsed with ``ast``, never executed) and looks for them
(:func:`scan`, :func:`notebook_leaks`, :func:`module_leaks`).

**What an answer is.** A *value* the student has to find out and type:

* in a solution cell, a top-level assignment whose value is a literal, or arithmetic of literals:
  numbers, tuples, lists, nested lists, dicts of those (``frame_shape = (3, 240, 320)``,
  ``kept_fraction = 1 / 9``, ``lenet_params = {"C1": 6 * 3 * 5 * 5 + 6, ...}``; every value of a
  dict is an answer of its own, and the dict as a whole is one more). Functions, classes and calls
  (``np.array(...)``, ``pool2d(...)``, a layer) are code, not values: their tests run them.
  The answer belongs to the next graded cell below the solution cell;
* in a hidden test, the literal expected value of ``assert_equal(x, LITERAL, ...)`` /
  ``assert_close(x, LITERAL, ...)`` when ``x`` is such a value answer (or an item of one), and a
  literal assigned in a hidden test that checks one. The expected result of a *function* on a test
  input (``assert_equal(total, 61_706)``: ``total`` counts the student's network) is not an answer:
  the worked examples the notebooks print on purpose are such results;
* in the quiz, the keys (and half-credit values) that :func:`answer_key.answer_key` reads from the
  graders' calls.

**Distinctive values.** A value is looked for *in the clear* only where it cannot stand for
something else:

* a number: an integer of absolute value 100 or more (``240``, ``2,416``), or a non-integer
  with at least 3 significant digits (``1.75``, ``0.111`` for ``1 / 9``); not ``4``, ``16``,
  ``0.25``, ``1.5``;
* a shape (a flat tuple or list): 3 entries or more (``(3, 240, 320)``, ``(30, 30, 48)``), or 2 of
  which one is a distinctive number; never a 1-element tuple such as ``(32,)``;
* a table (nested lists): 4 cells or more.

Anything else (and a dict as a whole, and a string) is looked for only encoded and as a named
assignment. The quiz keeps the stricter scan of :func:`answer_key.find_leaks` (it was written
for it: every number, letters in quotes, a working ``Conv2d``).

**The forms looked for.** With ``strict=True`` (a text of the answer's own notebook):

* a number as a token (``2416``, ``2,416``, ``2_416``), a float rounded (``0.111``, ``11.1%``),
  arithmetic that gives it (``6 * 3 * 5 * 5 + 6``, ``1/9``, ``16 x 151``);
* a shape in its common spellings, in the same order only: ``(3, 240, 320)``, ``[3, 240, 320]``,
  ``3, 240, 320``, ``3 240 320``, ``3 x 240 x 320``, ``3x240x320``, ``3@240x320``
  (``(30, 30, 48)`` of an ``(H, W, C)`` answer: ``30x30x48``); ``240 x 320 x 3`` is another shape;
* a table's numbers as one run in reading order or transposed, whatever the brackets,
  separators, bars (markdown rows) and line breaks between them, but no words.

Always (``strict=False`` too: other notebooks, ``cnnlib`` modules, where the same small numbers
stand for other things):

* a named assignment or comparison: ``frame_shape = (3, 240, 320)``, ``pooled_hwc == ...``,
  ``"C1": 456`` after ``lenet_params``, ``lenet_params["C1"] = ...``, in any of the spellings;
* every canonical text of the answer (``_answer_texts``: JSON, ``str``, ``repr``, NumPy's
  ``str``, joined numbers; the arithmetic as written) in base64 (also URL-safe), base32, hex
  bytes, or as an MD5/SHA-1/SHA-256 digest; a shape's or table's raw int/float bytes in base64.
"""

from __future__ import annotations

import ast
import base64
import functools
import json
import math
import re
from pathlib import Path

import nbformat
import numpy as np

from cnn_course.reports.answer_key import (
    Answer,
    _answer_texts,
    _contains_encoding,
    _encodings,
    _has_run,
    _runs,
    find_leaks,
    notebook_texts,
)
from cnn_course.reports.answers import (  # noqa: F401 (some re-exported: the answers and their parsing)
    _NOT_A_VALUE,
    ARITHMETIC,
    CHECKS,
    HIDDEN_TESTS,
    NUMBER,
    QUIZ_GRADERS,
    TIMES,
    GradedAnswer,
    _canonical,
    _distinctive_number,
    _flat,
    _kind,
    _number_text,
    course_answers,
    graded_answers,
    literal_value,
)

# --------------------------------------------------------------------------- values


def _canonical_texts(a: GradedAnswer) -> list[str]:
    """The texts of an answer whose encodings give it away."""
    kind = a.kind
    if kind == "mapping":
        texts = [json.dumps(a.value), str(a.value), json.dumps(a.value, separators=(",", ":"))]
    elif kind == "sequence":
        texts = [json.dumps(a.value), str(a.value), ",".join(f"{v:g}" for v in _flat(a.value))]
    elif kind == "layer":
        texts = []
    else:
        texts = list(_answer_texts(a.value))
        if kind == "number" and float(a.value).is_integer() and isinstance(a.value, float):
            texts.append(str(int(a.value)))
        if kind in ("shape", "table"):
            texts.append(json.dumps(a.value, separators=(",", ":")))
    if a.expression:
        texts.append(a.expression)
    return list(dict.fromkeys(t for t in texts if t))


@functools.cache
def _encoded(text: str) -> tuple[tuple[str, str], ...]:
    return tuple(_encodings(text).items())


# --------------------------------------------------------------------------- the scan


def scan(text: str, answers, strict: bool = True) -> list[str]:
    """Every way ``text`` gives one of ``answers`` away; an empty list when it gives none away.

    Args:
        text: any text: a raw notebook file, a cell's source, an output, a Python module.
        answers: :class:`GradedAnswer` objects.
        strict: also look for distinctive values in the clear (the answers' own notebook).

    Returns:
        One line per leak, ``"nb01_shapes: the answer frame_shape = (3, 240, 320) in the clear ..."``.
    """
    leaks: list[str] = []
    runs = _all_runs(text) if strict else []
    quiz: dict[int, Answer] = {}
    for a in answers:
        if a.quiz is not None:  # find_leaks below; the forms it does not know here
            quiz[id(a.quiz)] = a.quiz
            if strict and a.distinctive:
                leaks += _clear_leaks(text, runs, a)
            for canon in [a.expression] if a.expression else []:
                leaks += _encoding_leaks(text, a, canon)
            continue
        if strict and a.distinctive:
            leaks += _clear_leaks(text, runs, a)
        leaks += _named_leaks(text, a)
        for canon in _canonical_texts(a):
            leaks += _encoding_leaks(text, a, canon)
        if a.kind in ("shape", "table") and len(_flat(a.value)) >= 2:
            leaks += _bytes_leaks(text, a)
    if quiz:
        by_qid = {q.qid: q.grade_id for q in quiz.values()}
        for leak in find_leaks(text, list(quiz.values()), strict=strict):
            qid, _, why = leak.partition(": ")
            leaks.append(f"{by_qid.get(qid, qid)}: {qid}: {why}")
    return sorted(set(leaks))


def _all_runs(text: str) -> list[list[float]]:
    """The runs of numbers of ``text``, also with ``#`` and ``>`` marks at line starts and the
    escapes of a Python string (``\\n``) read as space: a table in comment lines or a print is one run."""
    runs = _runs(text)
    loose = re.sub(r"(?m)^[ \t]*(?:#+|>+)", " ", re.sub(r"\\[nt]", " ", text))
    return runs + (_runs(loose) if loose != text else [])


def _what(a: GradedAnswer) -> str:
    return f"the answer {a.name} = {a.value!r}"


def _encoding_leaks(text: str, a: GradedAnswer, canon: str) -> list[str]:
    return [f"{a.grade_id}: {_what(a)} as {kind} of {canon!r} ({enc})"
            for kind, enc in _encoded(canon) if _contains_encoding(text, enc, kind)]


def _bytes_leaks(text: str, a: GradedAnswer) -> list[str]:
    arr = np.asarray(a.value, dtype=float)
    found = []
    for dtype in ("int64", "int32", "float64", "float32"):
        if dtype.startswith("int") and not np.all(arr == np.round(arr)):
            continue
        enc = base64.b64encode(arr.astype(dtype).tobytes()).decode().rstrip("=")
        if enc in text:
            found.append(f"{a.grade_id}: {_what(a)} as the base64 of its {dtype} bytes")
    return found


def _clear_leaks(text: str, runs: list[list[float]], a: GradedAnswer) -> list[str]:
    kind = a.kind
    if kind == "number":
        return [f"{a.grade_id}: {_what(a)} in the clear ({form!r})" for form in _number_forms(text, a.value)]
    flat = _flat(a.value)
    found = []
    if kind == "shape":
        if _has_run(runs, flat):
            found.append(f"{a.grade_id}: {_what(a)} in the clear ({_run_text(text, flat)})")
        nums = [re.escape(_number_text(v)) for v in flat]
        spelled = [TIMES.join(nums)]
        if len(nums) == 3:
            spelled.append(rf"{nums[0]}\s*@\s*{nums[1]}{TIMES}{nums[2]}")  # LeNet's "6@28x28"
        for pattern in spelled:
            m = re.search(rf"(?<![\w.]){pattern}(?!\d|\.\d)", text)
            if m:
                found.append(f"{a.grade_id}: {_what(a)} in the clear ({m.group()!r})")
        return found
    arr = np.asarray(a.value, dtype=float) if kind == "table" else None
    orders = [("in reading order", flat)]
    if arr is not None and arr.ndim == 2 and arr.T.ravel().tolist() != flat:
        orders.append(("transposed", arr.T.ravel().tolist()))
    for how, seq in orders:
        if _has_run(runs, seq):
            found.append(f"{a.grade_id}: {_what(a)} in the clear (its numbers {how}: {_run_text(text, seq)})")
    return found


def _run_text(text: str, seq: list[float]) -> str:
    """The text of a run of numbers (for the report), or a description where it is not one piece."""
    def number(v: float) -> str:
        return rf"{_number_text(v)}(?:\.0*)?" if v.is_integer() else rf"{re.escape(repr(v))}0*"

    sep = r"[\s,;|\[\]()+]*"
    m = re.search(rf"(?<![\w.]){sep.join(number(v) for v in seq)}(?!\w|\.\d)", text)
    if not m:
        return "its numbers in a row"
    excerpt = m.group()
    return repr(excerpt if len(excerpt) <= 120 else excerpt[:117] + "...")


def _number_forms(text: str, value) -> list[str]:
    """The spellings of a distinctive number found in ``text``: tokens, rounded floats, arithmetic."""
    found = []
    v = float(value)
    if v.is_integer():
        n = int(v)
        forms = {str(n), f"{n:,}", f"{n:_}", f"{n:,}".replace(",", " "), f"{n:,}".replace(",", "\u202f"),
                 f"{n:,}".replace(",", "\u00a0")}
        if abs(n) >= 1000:
            forms.add(f"{n:,}".replace(",", "."))
        for form in sorted(forms):
            m = re.search(rf"(?<![\w.])(?<!\d,)(?<!\d_){re.escape(form)}(?![\w]|[.,_]\d)", text)
            if m:
                found.append(m.group())
    else:
        for m in re.finditer(r"(?<![\w.])-?\d+\.\d+(?![\w]|\.\d)(%?)", text):
            token = m.group().rstrip("%")
            decimals = len(token.split(".")[1])
            scale = 100 if m.group(1) else 1
            digits = token.lstrip("-").replace(".", "").lstrip("0")
            if len(digits) >= 3 and abs(float(token) - round(v * scale, decimals)) < 10 ** -(decimals + 3):
                found.append(m.group())
    for m in ARITHMETIC.finditer(text):
        result = _arithmetic(m.group())
        if result is not None and math.isclose(result, v, rel_tol=1e-9, abs_tol=1e-12):
            found.append(m.group())
    return found


def _arithmetic(expr: str) -> float | None:
    """The value of ``2 x 3 + 4``-style text (numbers and + - * / // only), or None."""
    tokens = re.findall(r"\d+(?:\.\d+)?|//|[-+*/×x]", expr)
    rebuilt = " ".join("*" if t in ("x", "×") else (t.lstrip("0") or "0") if t.isdigit() else t for t in tokens)
    try:
        value = literal_value(ast.parse(rebuilt, mode="eval").body)
    except SyntaxError:
        return None
    return None if value is _NOT_A_VALUE or not isinstance(value, (int, float)) else float(value)


def _labels(a: GradedAnswer, text: str) -> list[re.Pattern]:
    """Where ``text`` names the answer: ``name =``, ``name ==``, ``name:``; a dict item by its key."""
    if "(hidden test)" in a.name:
        return []  # a hidden test's own data has no name a student would use
    eq = r"[`'\"*]*\s*(?:==?|:(?!=)|\bis\b)\s*[`'\"*]*"
    m = re.fullmatch(r"(\w+)\[(.+)\]", a.name)
    if not m:
        return [re.compile(rf"(?<![\w.]){re.escape(a.name)}{eq}")]
    base, key = m.group(1), ast.literal_eval(m.group(2)) if m.group(2)[0] in "'\"0123456789" else m.group(2)
    key_text = re.escape(str(key))
    labels = [re.compile(rf"(?<![\w.]){re.escape(base)}\s*\[\s*['\"]?{key_text}['\"]?\s*\]{eq}")]
    if base in text:  # "C1": 456 counts where the dict is named nearby
        labels.append(re.compile(rf"['\"]{key_text}['\"]\s*:\s*"))
    return labels


def _named_leaks(text: str, a: GradedAnswer) -> list[str]:
    if a.kind in ("mapping", "layer"):
        return []
    found = []
    for label in _labels(a, text):
        for m in label.finditer(text):
            if label.pattern.startswith("['\"]") and a.name.split("[")[0] not in text[max(0, m.start() - 600):m.start()]:
                continue
            if _starts_with(text[m.end():m.end() + 400], a):
                found.append(f"{a.grade_id}: {_what(a)} as a named assignment ({text[m.start():m.end() + 40]!r})")
                break
    return found


def _starts_with(rest: str, a: GradedAnswer) -> bool:
    """Whether ``rest`` (the text after ``name =``) begins with the answer, in any spelling."""
    rest = re.sub(r"^\s*(?:(?:np|numpy|torch)\.\w+|tuple|list|float|int)\s*\(\s*", "", rest)
    kind = a.kind
    if kind == "text":
        return re.match(rf"\s*['\"]?{re.escape(a.value)}\b", rest, re.IGNORECASE) is not None
    if kind == "number":
        lead = re.match(r"[\d\s.+\-*/×()]*", rest).group().strip().strip("()").strip()
        if not lead:
            return False
        value = _arithmetic(lead) if re.search(r"\d\s*[-+*/×]", lead) else None
        tokens = NUMBER.findall(lead)
        first = float(tokens[0]) if tokens else None
        v = float(a.value)
        return any(x is not None and math.isclose(x, v, rel_tol=1e-9, abs_tol=1e-3 if not v.is_integer() else 0)
                   for x in (value, first))
    lead = re.match(r"[\d\s,;|\[\]().+\-]*", rest).group()
    tokens = [float(t) for t in NUMBER.findall(lead)]
    flat = _flat(a.value)
    return tokens[: len(flat)] == flat


# --------------------------------------------------------------------------- notebooks and modules


def notebook_leaks(path: Path, answers, notebook: str | None = None) -> list[str]:
    """Every leak in a (release) notebook, each with its place; strict for its own notebook's answers.

    Args:
        path: the notebook file.
        answers: the answers of the whole course.
        notebook: the answers' ``notebook`` the file belongs to; by default
            ``<folder>/<stem>`` of ``path`` (the release and source paths match).

    Returns:
        ``"<path>, cell <id> (<type> source|output <i>): <leak>"`` lines; ``(raw file)`` for a
        leak only the raw file shows (metadata, attachments). Empty when nothing gives an answer away.
    """
    path = Path(path)
    own = notebook or f"{path.parent.name}/{path.stem}"
    mine = [a for a in answers if a.notebook == own]
    others = [a for a in answers if a.notebook != own]

    def scan_all(text: str) -> list[str]:
        return scan(text, mine, strict=True) + scan(text, others, strict=False)

    found = {leak for text in notebook_texts(path) for leak in scan_all(text)}
    if not found:
        return []
    nb = nbformat.read(path, as_version=4)
    lines, placed = [], set()
    for cell in nb.cells:
        parts = [("source", cell.source), ("metadata", json.dumps(cell.metadata))]
        for i, out in enumerate(cell.get("outputs", [])):
            texts = [out.get("text", "")] + [d if isinstance(d, str) else json.dumps(d)
                                             for d in out.get("data", {}).values()]
            parts += [(f"output {i}", t if isinstance(t, str) else "".join(t)) for t in texts]
        for where, text in parts:
            for leak in scan_all(text):
                lines.append(f"{path}, cell {cell.get('id', '?')} ({cell.cell_type} {where}): {leak}")
                placed.add(leak)
    lines += [f"{path} (raw file): {leak}" for leak in sorted(found - placed)]
    return lines


def module_leaks(path: Path, answers) -> list[str]:
    """Every leak in a Python module that ships to students: encodings and named assignments only."""
    return [f"{path}: {leak}" for leak in scan(Path(path).read_text(encoding="utf-8"), answers, strict=False)]


def student_modules(root: Path) -> list[Path]:
    """Every module of the student's library, ``cnnlib/**/*.py`` under ``root``, and its message catalogs."""
    return sorted((Path(root) / "cnnlib").rglob("*.py")) + sorted((Path(root) / "cnnlib").rglob("*.po"))
