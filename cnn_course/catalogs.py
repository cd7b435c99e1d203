"""The catalogs of cnnlib's messages (``cnnlib/locale``): extract, update, compile, check.

``make i18n`` (``python -m cnn_course.catalogs``) extracts every ``_()`` / ``N_()`` message of
``cnnlib`` and of the grader's own hints (``cnn_course/grading``) with Babel, merges them into
each language's ``cnnlib.po`` (new messages come in untranslated, removed ones go) and compiles
the ``.mo`` files. Translators edit the ``.po`` files; ``tests/test_i18n.py`` fails while a
message has no translation, a translation is marked fuzzy, or a catalog lags the code.
"""

from __future__ import annotations

import sys
from pathlib import Path

from babel.messages.catalog import Catalog
from babel.messages.extract import extract_from_dir
from babel.messages.pofile import read_po, write_po

from cnnlib import i18n

ROOT = Path(__file__).resolve().parents[1]
SOURCES = (ROOT / "cnnlib", ROOT / "cnn_course" / "grading")


def extracted() -> Catalog:
    """Every message the code passes to ``_()`` or ``N_()``, with where it is used."""
    cat = Catalog(project="cnnlib", charset="utf-8")
    for folder in SOURCES:
        for filename, lineno, message, comments, context in extract_from_dir(
                folder, method_map=[("**.py", "python")]):
            if isinstance(message, str) and message:
                cat.add(message, locations=[(f"{folder.name}/{filename}", lineno)], auto_comments=comments,
                        context=context)
    return cat


def po_path(lang: str) -> Path:
    return i18n.catalog_paths(lang)[0]


def read(lang: str) -> Catalog:
    with open(po_path(lang), "rb") as fh:
        return read_po(fh, locale=lang)


def update(lang: str, template: Catalog | None = None) -> Catalog:
    """Merge the code's messages into ``lang``'s catalog (no fuzzy guesses) and write it."""
    template = template or extracted()
    path = po_path(lang)
    if path.exists():
        cat = read(lang)
        cat.update(template, no_fuzzy_matching=True)
        cat.obsolete.clear()
    else:
        path.parent.mkdir(parents=True, exist_ok=True)
        cat = Catalog(locale=lang, project="cnnlib", charset="utf-8")
        cat.update(template, no_fuzzy_matching=True)
    cat.fuzzy = False
    cat.header_comment = (f"# cnnlib's messages in {lang}: edit the msgstr lines; `make i18n` merges new\n"
                          "# messages from the code and compiles cnnlib.mo (see cnn_course/catalogs.py).")
    with open(path, "wb") as fh:
        write_po(fh, cat, width=0, sort_output=True, include_lineno=False)
    return cat


def missing(lang: str) -> list[str]:
    """Messages of the code that ``lang``'s catalog lacks, leaves empty or marks fuzzy."""
    cat = read(lang)
    out = []
    for msg in extracted():
        if not msg.id:
            continue
        have = cat.get(msg.id)
        if have is None or not have.string or have.fuzzy:
            out.append(msg.id)
    return out


def main() -> int:
    template = extracted()
    for lang in i18n.LANGUAGES:
        if lang != "en":
            update(lang, template)
    written = i18n.compile_catalogs()
    print(f"{len(template)} messages; compiled {', '.join(str(p.relative_to(ROOT)) for p in written) or 'nothing new'}")
    todo = {lang: missing(lang) for lang in i18n.LANGUAGES if lang != "en"}
    for lang, ids in todo.items():
        for m in ids:
            print(f"{lang}: no translation: {m!r}", file=sys.stderr)
    return 1 if any(todo.values()) else 0


if __name__ == "__main__":
    sys.exit(main())
