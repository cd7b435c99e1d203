"""The language of what cnnlib says to a student: hints, widgets, messages.

Messages go through the standard :mod:`gettext` machinery: the English text is the msgid,
each language has one catalog ``cnnlib/locale/<lang>/LC_MESSAGES/cnnlib.po`` (Traditional
Chinese: ``zh_TW``), compiled to ``cnnlib.mo`` at build time (``make i18n``, ``cnn-course
release``). One setting picks the language::

    import cnnlib
    cnnlib.set_language("zh_TW")   # what every notebook's setup cell does; "en" for English

The default comes from the environment variable ``CNNLIB_LANG`` (``en`` when unset: the
messages as written in the code). A catalog whose ``.mo`` is missing or older than its ``.po``
(a fresh checkout, an edited translation) is compiled in memory when the language is chosen,
so nothing needs to be writable. A message without a translation shows in English; the
course's tests fail on one (``tests/test_i18n.py``).

In code: ``_("first wrong value at index {index}").format(index=...)``: the msgid is a
constant (placeholders, never f-strings, so that the catalog can hold it); ``N_("...")``
marks a constant for the catalog where it is defined and ``_()`` translates it where it is
shown.
"""

from __future__ import annotations

import ast
import gettext
import io
import os
import struct
from pathlib import Path

__all__ = ["LANGUAGES", "DEFAULT_LANGUAGE", "N_", "_", "compile_catalogs", "get_language", "gettext_for", "hint_suffix", "set_language",
           "tr"]

DOMAIN = "cnnlib"
LOCALE_DIR = Path(__file__).resolve().parent / "locale"
LANGUAGES = ("zh_TW", "en")  # the editions of the course; en is the language of the msgids
DEFAULT_LANGUAGE = "en"
ENV = "CNNLIB_LANG"
_ALIASES = {"zh": "zh_TW", "zh-tw": "zh_TW", "zh_tw": "zh_TW", "zh-hant": "zh_TW", "en_us": "en", "en-us": "en"}

_state: dict = {"lang": None, "translations": gettext.NullTranslations()}


def normalize(lang: str) -> str:
    """``"zh-TW"``, ``"zh_tw"``, ``"zh"`` -> ``"zh_TW"``; raise ``ValueError`` for a language we lack."""
    key = str(lang).strip()
    key = _ALIASES.get(key.lower(), key)
    if key not in LANGUAGES:
        raise ValueError(f"unknown language {lang!r}: cnnlib speaks {', '.join(LANGUAGES)}")
    return key


# -- .po -> .mo ---------------------------------------------------------------------------
def read_po(path: Path) -> dict[str, str]:
    """msgid -> msgstr of a ``.po`` file: translated, non-fuzzy entries only (and the header)."""
    entries: dict[str, str] = {}
    msgid = msgstr = None
    fuzzy = flags_fuzzy = False
    field = None

    def flush():
        if msgid is not None and msgstr and (not fuzzy or msgid == ""):  # the header says the charset
            entries[msgid] = msgstr

    for raw in path.read_text(encoding="utf-8").splitlines() + [""]:
        line = raw.strip()
        if not line or line.startswith("#"):
            if line.startswith("#,") and "fuzzy" in line:
                flags_fuzzy = True
            if not line and msgid is not None:
                flush()
                msgid = msgstr = None
            continue
        if line.startswith("msgid "):
            flush()
            msgid, msgstr, field = ast.literal_eval(line[6:]), None, "id"
            fuzzy, flags_fuzzy = flags_fuzzy, False
        elif line.startswith("msgstr "):
            msgstr, field = ast.literal_eval(line[7:]), "str"
        elif line.startswith('"'):
            if field == "id":
                msgid += ast.literal_eval(line)
            elif field == "str":
                msgstr += ast.literal_eval(line)
    return entries


def mo_bytes(entries: dict[str, str]) -> bytes:
    """The GNU ``.mo`` encoding of ``entries`` (what ``msgfmt`` writes), UTF-8."""
    keys = sorted(entries)
    ids = [k.encode("utf-8") for k in keys]
    strs = [entries[k].encode("utf-8") for k in keys]
    n = len(keys)
    header = 7 * 4
    id_table, str_table = header, header + 8 * n
    data_start = header + 16 * n
    offsets, blob = [], b""
    for s in ids + strs:
        offsets.append((len(s), data_start + len(blob)))
        blob += s + b"\0"
    out = struct.pack("<7I", 0x950412DE, 0, n, id_table, str_table, 0, 0)
    out += b"".join(struct.pack("<2I", *o) for o in offsets[:n])
    out += b"".join(struct.pack("<2I", *o) for o in offsets[n:])
    return out + blob


def catalog_paths(lang: str, locale_dir: Path = LOCALE_DIR) -> tuple[Path, Path]:
    folder = locale_dir / lang / "LC_MESSAGES"
    return folder / f"{DOMAIN}.po", folder / f"{DOMAIN}.mo"


def compile_catalogs(locale_dir: Path = LOCALE_DIR) -> list[Path]:
    """Write ``<lang>/LC_MESSAGES/cnnlib.mo`` beside each ``.po``; return the files written."""
    written = []
    for po in sorted(locale_dir.glob(f"*/LC_MESSAGES/{DOMAIN}.po")):
        mo = po.with_suffix(".mo")
        data = mo_bytes(read_po(po))
        if not mo.exists() or mo.read_bytes() != data:
            mo.write_bytes(data)
            written.append(mo)
    return written


def _load(lang: str) -> gettext.NullTranslations:
    if lang == "en":
        return gettext.NullTranslations()
    po, mo = catalog_paths(lang)
    if mo.exists() and (not po.exists() or mo.stat().st_mtime >= po.stat().st_mtime):
        with open(mo, "rb") as fh:
            return gettext.GNUTranslations(fh)
    if po.exists():  # not compiled yet (or edited since): compile in memory, write nothing
        return gettext.GNUTranslations(io.BytesIO(mo_bytes(read_po(po))))
    return gettext.NullTranslations()


def set_language(lang: str) -> str:
    """Speak ``lang`` (``"zh_TW"`` or ``"en"``) from now on in this process; return its name."""
    lang = normalize(lang)
    _state["translations"] = _load(lang)
    _state["lang"] = lang
    return lang


def gettext_for(lang: str):
    """The ``gettext`` function of ``lang``, whatever the current language (for tools that read both editions)."""
    return _load(normalize(lang)).gettext


def get_language() -> str:
    if _state["lang"] is None:
        set_language(os.environ.get(ENV) or DEFAULT_LANGUAGE)
    return _state["lang"]


def _(message: str) -> str:
    """``message`` in the current language (itself where the catalog has no translation)."""
    get_language()
    return _state["translations"].gettext(message)


def tr(en: str, zh_TW: str) -> str:
    """The string of the current language: a source notebook's ``tr("English", "中文")`` run as it is.

    An edition (``cnn_course.editions``) holds only its own string literal, never this call.
    """
    return zh_TW if get_language() == "zh_TW" else en


def hint_suffix(hint: str | None) -> str:
    """`` Hint: ...`` in the current language, or ``""`` without a hint: what every check message ends with."""
    return _(" Hint: {hint}").format(hint=hint) if hint else ""


def N_(message: str) -> str:
    """Mark a constant for the catalog; translate it with ``_()`` where it is shown."""
    return message
