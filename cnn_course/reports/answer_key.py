"""The quiz's answer key, read from the hidden tests of the source notebook, and a leak scan.

The key is never written twice: each hidden test calls one grader of ``cnnlib.quiz``
with the answer as a literal argument (``key=...``; ``half=...`` for a half-credit slip;
``in_shape=``/``out_shape=``/``kernel_size=`` for the layer). :func:`answer_key` parses
those calls (``ast``, no execution).

:func:`find_leaks` scans a text (a release notebook's cells, a module that ships to
students) for every answer in the clear or trivially encoded:

* a number as a token (``28``, ``196,672``, ``196_672``), reversed, in hex/octal/binary,
* a letter in quotes (``"B"``, ``'b'``), after words like *answer* or *key*, as ``chr(66)``,
  as an escape (``\\x42``), its ROT13 in quotes,
* a table as a run of numbers in reading order (any brackets, separators or space between
  them, but no words), transposed or reversed,
* a layer: any ``Conv2d(...)`` in the text that does the job, or its stride and padding in
  prose (*stride 2, padding 1*; only when ``strict``),
* any answer's text in base64, base32, hex bytes, or as an MD5/SHA-1/SHA-256 digest;
  a table also as the base64 of its raw int/float bytes.

``strict=False`` leaves out the bare-number and run-of-numbers checks, for texts
(other lecture notebooks) where the same numbers can stand for something else.
"""

from __future__ import annotations

import ast
import base64
import codecs
import hashlib
import json
import re
from dataclasses import dataclass, field
from pathlib import Path

import nbformat
import numpy as np

from .. import editions

GRADERS = ("grade_choice", "grade_number", "grade_cells", "grade_conv2d")
HIDDEN = re.compile(r"### BEGIN HIDDEN TESTS\n(.*?)### END HIDDEN TESTS", re.DOTALL)
NUMBER = re.compile(r"(?<![\w.])-?\d+(?:\.\d*)?(?![\w.])")


@dataclass(frozen=True)
class Answer:
    """One question's answer, as its hidden test grades it."""

    grade_id: str
    qid: str
    grader: str
    points: float
    key: object = None
    half: object = None
    spec: dict = field(default_factory=dict)

    @property
    def values(self) -> list:
        """The literal answers (the key and the half-credit value) that must stay hidden."""
        return [v for v in (self.key, self.half) if v is not None]


def answer_key(source_notebook: Path) -> dict[str, Answer]:
    """grade_id -> :class:`Answer` for every graded cell whose hidden test calls a grader.

    A bilingual source is read as its default edition (the hints' ``tr(...)`` become literals).

    Raises:
        ValueError: a hidden test with no grader call, or an argument that is not a literal.
    """
    nb = editions.edition(nbformat.read(source_notebook, as_version=4), editions.DEFAULT)  # tr(...) -> literals
    key = {}
    for cell in nb.cells:
        meta = cell.metadata.get("nbgrader", {})
        if not meta.get("grade") or cell.cell_type != "code":
            continue
        hidden = "\n".join(HIDDEN.findall(cell.source))
        calls = [
            node for node in ast.walk(ast.parse(hidden))
            if isinstance(node, ast.Call) and getattr(node.func, "attr", getattr(node.func, "id", "")) in GRADERS
        ]
        if len(calls) != 1:
            raise ValueError(f"{meta['grade_id']}: expected one grader call in the hidden test; found {len(calls)}")
        call = calls[0]
        try:
            kwargs = {kw.arg: ast.literal_eval(kw.value) for kw in call.keywords}
            qid = ast.literal_eval(call.args[1])
        except (ValueError, IndexError) as exc:
            raise ValueError(f"{meta['grade_id']}: grader arguments must be literals ({exc})") from None
        grader = getattr(call.func, "attr", getattr(call.func, "id", ""))
        key[meta["grade_id"]] = Answer(
            grade_id=meta["grade_id"], qid=qid, grader=grader,
            points=float(kwargs.pop("points", meta["points"])),
            key=kwargs.pop("key", None), half=kwargs.pop("half", None),
            spec={k: v for k, v in kwargs.items() if k in ("in_shape", "out_shape", "kernel_size")},
        )
    return key


# --------------------------------------------------------------------------- encodings


def _encodings(text: str) -> dict[str, str]:
    raw = text.encode()
    out = {
        "base64": base64.b64encode(raw).decode(),
        "urlsafe base64": base64.urlsafe_b64encode(raw).decode(),
        "base32": base64.b32encode(raw).decode(),
        "md5": hashlib.md5(raw).hexdigest(),
        "sha1": hashlib.sha1(raw).hexdigest(),
        "sha256": hashlib.sha256(raw).hexdigest(),
    }
    if len(raw) >= 2:  # the hex of one character (two digits) is everywhere
        out["hex bytes"] = raw.hex()
    return out


def _contains_encoding(text: str, encoded: str, kind: str) -> bool:
    if kind.endswith("base64") or kind == "base32":
        stripped = encoded.rstrip("=")
        if len(stripped) < 4:  # a short string: only its padded form is distinctive
            return encoded in text
        return stripped in text
    if kind == "hex bytes":
        return re.search(rf"(?<![0-9a-fA-F]){encoded}(?![0-9a-fA-F])", text, re.IGNORECASE) is not None
    return encoded in text.lower()


def _answer_texts(value) -> list[str]:
    """Canonical texts of an answer, for the encoded forms."""
    if isinstance(value, str):
        return [value, value.lower()]
    if isinstance(value, (int, float)):
        return [str(value)]
    arr = np.asarray(value)
    flat = [f"{v:g}" for v in arr.astype(float).ravel()]
    return [
        json.dumps(value), str(value), repr(value), str(arr), ",".join(flat), ", ".join(flat), " ".join(flat),
        "".join(flat),
    ]


def _runs(text: str) -> list[list[float]]:
    """Runs of numbers with only brackets, separators and space between them (no words)."""
    chunks = re.split(r"[^\d\s,;|\[\]().+\-]+", text)
    return [[float(t) for t in NUMBER.findall(c)] for c in chunks if NUMBER.search(c)]


def _has_run(runs: list[list[float]], run: list[float]) -> bool:
    n = len(run)
    return any(tokens[i : i + n] == run for tokens in runs for i in range(len(tokens) - n + 1))


def _conv_calls(text: str):
    """The argument texts of every ``Conv2d(...)`` call in ``text`` (balanced parentheses)."""
    for m in re.finditer(r"Conv2d\s*\(", text):
        depth, i = 1, m.end()
        while i < len(text) and depth:
            depth += {"(": 1, ")": -1}.get(text[i], 0)
            i += 1
        yield text[m.end() : i - 1]


def _stride_padding(spec: dict) -> tuple[int, int]:
    """The (stride, padding) that take in_shape to out_shape with the kernel (the smallest such)."""
    n, m, k = spec["in_shape"][-1], spec["out_shape"][-1], spec["kernel_size"]
    for stride in range(1, n + 1):
        for padding in range(k):
            if (n + 2 * padding - k) // stride + 1 == m:
                return stride, padding
    raise ValueError(f"no stride and padding take {n} to {m} with kernel {k}")


def _conv_does_the_job(args: str, spec: dict) -> bool:
    import torch
    import torch.nn as nn

    try:
        layer = eval(f"nn.Conv2d({args})", {"nn": nn, "__builtins__": {}})  # text from our own files
        with torch.no_grad():
            out = tuple(layer(torch.zeros(spec["in_shape"])).shape)
    except Exception:  # not a literal call, wrong channels, ...: not this answer
        return False
    k = spec["kernel_size"]
    return out == tuple(spec["out_shape"]) and tuple(layer.kernel_size) == (k, k)


def find_leaks(text: str, answers, strict: bool = True) -> list[str]:
    """Every way ``text`` gives away an answer; an empty list when it gives none away.

    Args:
        text: any text (a cell source, an output, a Python module).
        answers: :class:`Answer` objects (``answer_key(...).values()``).
        strict: also flag bare numbers and runs of numbers (see the module docstring).

    Returns:
        One line per leak, ``"q03: the number 196672 in the clear"``.
    """
    leaks: list[str] = []
    tokens = _runs(text) if strict else []
    for a in answers:
        for value in a.values:
            if isinstance(value, str):
                leaks += _letter_leaks(text, a.qid, value, strict)
            elif isinstance(value, (int, float)):
                leaks += _number_leaks(text, a.qid, int(value), strict)
            else:
                leaks += _table_leaks(text, tokens, a.qid, value, strict)
            for canon in _answer_texts(value):
                for kind, enc in _encodings(canon).items():
                    if _contains_encoding(text, enc, kind):
                        leaks.append(f"{a.qid}: the answer {canon!r} as {kind} ({enc})")
        if a.grader == "grade_conv2d":
            stride, padding = _stride_padding(a.spec)
            for args in _conv_calls(text):
                if _conv_does_the_job(args, a.spec):
                    leaks.append(f"{a.qid}: a layer that answers it: Conv2d({args})")
            if strict and re.search(
                rf"stride\W{{0,3}}{stride}\b\W{{1,12}}(?:and\W{{1,4}})?padding\W{{0,3}}{padding}\b"
                rf"|padding\W{{0,3}}{padding}\b\W{{1,12}}(?:and\W{{1,4}})?stride\W{{0,3}}{stride}\b", text, re.IGNORECASE):
                leaks.append(f"{a.qid}: the layer's stride and padding in words")
    return sorted(set(leaks))


def _letter_leaks(text: str, qid: str, letter: str, strict: bool) -> list[str]:
    found = []
    if re.search(rf"\b{qid}\s*=\s*(?:str\()?\W{{0,2}}{letter}(?!\w)", text, re.IGNORECASE):
        found.append(f"{qid}: an assignment of {letter!r}")
    if not strict:
        return found
    rot = codecs.encode(letter, "rot13")
    for lt in {letter.upper(), letter.lower()}:
        if re.search(rf"""(["']){lt}\1""", text):
            found.append(f"{qid}: the letter {lt!r} in quotes")
        if re.search(rf"""(["']){codecs.encode(lt, 'rot13')}\1""", text):
            found.append(f"{qid}: the letter {letter!r} in ROT13 ({rot!r})")
        code = ord(lt)
        if re.search(rf"chr\(\s*(?:{code}|0x{code:x})\s*\)|\\x{code:02x}\b|\\u{code:04x}", text, re.IGNORECASE):
            found.append(f"{qid}: the letter {lt!r} as a character code")
    if re.search(rf"(?i:answer|key|solution|correct|right)\W{{1,12}}(?:(?i:is|was)\W{{1,4}})?{letter.upper()}(?![\w])", text):
        found.append(f"{qid}: the letter {letter!r} after a word like 'answer'")
    return found


def _number_leaks(text: str, qid: str, n: int, strict: bool) -> list[str]:
    found = []
    forms = {str(n), f"{n:,}", f"{n:_}", f"{n:,}".replace(",", " "), f"{n:,}".replace(",", ".")}
    if strict:
        for form in sorted(forms):
            if re.search(rf"(?<![\w.]){re.escape(form)}(?![\w.])", text):
                found.append(f"{qid}: the number {n} in the clear ({form!r})")
        rev = str(n)[::-1]
        if rev != str(n) and re.search(rf"(?<![\w.]){rev}(?![\w.])", text):
            found.append(f"{qid}: the number {n} reversed ({rev!r})")
    for form in (hex(n), oct(n), bin(n)):
        if re.search(rf"(?<![\w]){form}(?![\w])", text, re.IGNORECASE):
            found.append(f"{qid}: the number {n} as {form}")
    if re.search(rf"\b{qid}\s*=\s*\W{{0,2}}{n}\b", text):
        found.append(f"{qid}: an assignment of {n}")
    return found


def _table_leaks(text: str, tokens: list[float], qid: str, value, strict: bool) -> list[str]:
    arr = np.asarray(value, dtype=float)
    found = []
    if strict:
        for how, seq in (("in reading order", arr.ravel()), ("transposed", arr.T.ravel()),
                         ("reversed", arr.ravel()[::-1])):
            if _has_run(tokens, [float(v) for v in seq]):
                found.append(f"{qid}: the table's numbers {how}")
    for dtype in ("int64", "int32", "float64", "float32"):
        enc = base64.b64encode(arr.astype(dtype).tobytes()).decode()
        if enc.rstrip("=") in text:
            found.append(f"{qid}: the table's {dtype} bytes in base64")
    return found


def notebook_texts(path: Path) -> list[str]:
    """The texts of a notebook to scan: the raw file, every cell source, every output text."""
    raw = Path(path).read_text(encoding="utf-8")
    nb = nbformat.reads(raw, as_version=4)
    texts = [raw]
    for cell in nb.cells:
        texts.append(cell.source)
        texts.append(json.dumps(cell.metadata))
        for out in cell.get("outputs", []):
            texts.append(out.get("text", "") if isinstance(out.get("text", ""), str) else "")
            for data in out.get("data", {}).values():
                texts.append(data if isinstance(data, str) else json.dumps(data))
    return texts
