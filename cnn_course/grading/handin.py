"""Read a student's hand-in folder and give nbgrader only what it can grade.

Before nbgrader sees a hand-in, each notebook is checked and put back into the release's
shape, so that a student loses no points to a slip and gains none from tampering:

* a file that is not a notebook (broken JSON, ...) is *invalid* and scores zero;
* a notebook under another name (``01_images_as_tensors (1).ipynb``) whose graded cells
  are those of an expected notebook is graded as that notebook; other extra notebooks are
  ignored; an expected notebook that is absent is *missing*;
* cells with the release's grade ids are put back in the release order with the release's
  nbgrader metadata and cell type (points, locked, ...); deleted graded cells come back
  from the release; cells with unknown grade ids lose their nbgrader metadata; every
  other cell stays right after the graded cell it followed. A well-behaved hand-in comes
  out unchanged, so nbgrader scores it exactly as it would the original.
"""

from __future__ import annotations

import copy
import json
from dataclasses import dataclass, field
from pathlib import Path

import nbformat


@dataclass
class HandIn:
    """One student's folder, ready for nbgrader: notebooks by expected name, and notes."""

    notebooks: dict[str, nbformat.NotebookNode] = field(default_factory=dict)  # stem -> notebook
    invalid: dict[str, str] = field(default_factory=dict)  # stem -> why
    missing: list[str] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)


def _grade_id(cell) -> str | None:
    return cell.get("metadata", {}).get("nbgrader", {}).get("grade_id")


def read_notebook(path: Path) -> tuple[nbformat.NotebookNode | None, str]:
    """The notebook at ``path``, or None and a one-line reason it cannot be graded."""
    try:
        json.loads(path.read_text(encoding="utf-8"))
    except (json.JSONDecodeError, UnicodeDecodeError) as exc:
        where = f" at line {exc.lineno}" if isinstance(exc, json.JSONDecodeError) else ""
        return None, f"{path.name} is not valid JSON ({getattr(exc, 'msg', exc)}{where})"
    try:
        nb = nbformat.read(path, as_version=4)
        cells = nb.cells
        if not isinstance(cells, list):
            raise ValueError("no list of cells")
    except Exception as exc:  # nbformat validation and the like
        return None, f"{path.name} cannot be read as a notebook ({type(exc).__name__}: {exc})"
    return nb, ""


def restore_structure(nb, release_nb):
    """``nb`` with the release's graded cells in release order and release metadata (see module doc)."""
    release_cells = [c for c in release_nb.cells if _grade_id(c)]
    by_id = {_grade_id(c): c for c in release_cells}
    segments: dict[str | None, list] = {None: []}  # grade id -> [cell, following plain cells]
    current = None
    for cell in nb.cells:
        gid = _grade_id(cell)
        if gid in by_id and gid not in segments:
            current = gid
            segments[gid] = [cell]
            continue
        if gid is not None:  # unknown or duplicated grade id: an ordinary cell now
            cell = copy.deepcopy(cell)
            cell.metadata.pop("nbgrader", None)
        segments[current].append(cell)
    out = copy.deepcopy(nb)
    cells = list(segments[None])
    for gid, rel in by_id.items():
        seg = segments.get(gid) or [copy.deepcopy(rel)]
        head = seg[0]
        if head.cell_type != rel.cell_type or head.metadata.get("nbgrader") != rel.metadata["nbgrader"]:
            head = copy.deepcopy(head)
            if head.cell_type != rel.cell_type:
                head = copy.deepcopy(rel)
            head.metadata["nbgrader"] = copy.deepcopy(rel.metadata["nbgrader"])
        cells.extend([head, *seg[1:]])
    out.cells = cells
    return out


def _ids(nb) -> set[str]:
    return {g for g in (_grade_id(c) for c in nb.cells) if g}


def read_hand_in(folder: Path, release: dict[str, nbformat.NotebookNode]) -> HandIn:
    """Check and normalise the notebooks of one hand-in folder against ``release`` (stem -> notebook)."""
    hand_in = HandIn()
    found: dict[str, nbformat.NotebookNode] = {}
    extra: dict[str, nbformat.NotebookNode] = {}
    for path in sorted(folder.glob("*.ipynb")) if folder.is_dir() else []:
        nb, why = read_notebook(path)
        if nb is None:
            if path.stem in release:
                hand_in.invalid[path.stem] = why
            else:
                hand_in.notes.append(f"ignored {why}")
            continue
        (found if path.stem in release else extra)[path.stem] = nb
    for name, nb in extra.items():
        ids = _ids(nb)
        match = [s for s in release if s not in found and s not in hand_in.invalid and ids and ids <= _ids(release[s])]
        if len(match) == 1:
            found[match[0]] = nb
            hand_in.notes.append(f"graded {name}.ipynb as {match[0]}.ipynb (renamed)")
        else:
            hand_in.notes.append(f"ignored extra notebook {name}.ipynb")
    for stem, rel in release.items():
        if stem in found:
            hand_in.notebooks[stem] = restore_structure(found[stem], rel)
            if [_grade_id(c) for c in found[stem].cells if _grade_id(c) in _ids(rel)] != [
                _grade_id(c) for c in rel.cells if _grade_id(c)
            ]:
                hand_in.notes.append(f"{stem}.ipynb: graded cells deleted or moved, restored from the release")
        elif stem not in hand_in.invalid:
            hand_in.missing.append(stem)
    return hand_in
