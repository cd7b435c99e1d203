"""cnnlib speaks the students' language: every message has a Traditional Chinese translation.

The catalogs (``cnnlib/locale/<lang>/LC_MESSAGES/cnnlib.po``) follow the code: a message the
code passes to ``_()`` without a translation, a fuzzy one, or one the code no longer has fails
here (``make i18n`` merges and compiles; translators fill the ``msgstr`` lines).
"""

from __future__ import annotations

import gettext
import io
import re
import shutil

import numpy as np
import pytest

import cnnlib
from cnn_course import catalogs
from cnnlib import i18n
from cnnlib.checks import assert_close, assert_equal

OTHER = [lang for lang in i18n.LANGUAGES if lang != "en"]


@pytest.fixture(autouse=True)
def english_afterwards():
    yield
    cnnlib.set_language("en")


@pytest.mark.parametrize("lang", OTHER)
def test_every_message_of_the_code_has_a_translation(lang):
    assert catalogs.missing(lang) == [], "run `make i18n` and translate these in " + str(catalogs.po_path(lang))


@pytest.mark.parametrize("lang", OTHER)
def test_the_catalog_holds_exactly_the_messages_of_the_code(lang):
    code = {m.id for m in catalogs.extracted() if m.id}
    po = {m.id for m in catalogs.read(lang) if m.id}
    assert po - code == set(), "messages the code no longer has: run `make i18n`"
    assert code - po == set(), "messages the catalog lacks: run `make i18n`"


@pytest.mark.parametrize("lang", OTHER)
def test_translations_keep_every_placeholder_and_speak_the_language(lang):
    for m in catalogs.read(lang):
        if not m.id:
            continue
        assert sorted(re.findall(r"\{\w*\}", m.id)) == sorted(re.findall(r"\{\w*\}", m.string)), m.id
        if lang == "zh_TW" and re.search(r"[a-z]{3,} [a-z]{3,}", m.id):
            assert re.search(r"[\u4e00-\u9fff]", m.string), f"not translated: {m.id!r} -> {m.string!r}"


def test_the_compiled_catalog_is_what_gettext_reads(tmp_path):
    """Our .po -> .mo (no Babel needed at run time) agrees with Babel's compiler."""
    from babel.messages.mofile import write_mo

    po = catalogs.po_path("zh_TW")
    ours = gettext.GNUTranslations(io.BytesIO(i18n.mo_bytes(i18n.read_po(po))))
    buf = io.BytesIO()
    write_mo(buf, catalogs.read("zh_TW"))
    babels = gettext.GNUTranslations(io.BytesIO(buf.getvalue()))
    for m in catalogs.read("zh_TW"):
        if m.id:
            assert ours.gettext(m.id) == babels.gettext(m.id) == m.string


def test_a_missing_compiled_catalog_is_compiled_in_memory(tmp_path, monkeypatch):
    locale = tmp_path / "locale"
    shutil.copytree(i18n.LOCALE_DIR, locale, ignore=shutil.ignore_patterns("*.mo"))
    monkeypatch.setattr(i18n, "LOCALE_DIR", locale)
    monkeypatch.setattr(i18n, "catalog_paths", lambda lang, d=locale: (
        d / lang / "LC_MESSAGES" / "cnnlib.po", d / lang / "LC_MESSAGES" / "cnnlib.mo"))
    cnnlib.set_language("zh_TW")
    assert i18n._("Right.") == "答對了。"
    assert not list(locale.rglob("*.mo"))  # nothing written
    assert i18n.compile_catalogs(locale) == [locale / "zh_TW" / "LC_MESSAGES" / "cnnlib.mo"]


def test_one_setting_picks_the_language_of_the_hints():
    cnnlib.set_language("zh_TW")
    with pytest.raises(AssertionError, match="第一個錯的值在 index \\(1,\\)：應該是 2，拿到 5.*提示：看第二個"):
        assert_close([1, 5], [1, 2], "x", hint="看第二個")
    with pytest.raises(AssertionError, match="應該是 3，拿到 4"):
        assert_equal(4, 3, "n")
    assert cnnlib.get_language() == "zh_TW"
    cnnlib.set_language("en")
    with pytest.raises(AssertionError, match=r"first wrong value at index \(1,\): expected 2, got 5"):
        assert_close([1, 5], [1, 2], "x")


def test_the_language_comes_from_the_environment_and_unknown_ones_are_refused(monkeypatch):
    monkeypatch.setenv(i18n.ENV, "zh-TW")
    i18n._state["lang"] = None
    assert i18n.get_language() == "zh_TW"
    with pytest.raises(ValueError, match="cnnlib speaks zh_TW, en"):
        cnnlib.set_language("fr")


def test_widgets_speak_the_language():
    from cnnlib.widgets import ConvStepper, SelfCheck, hash_answer

    cnnlib.set_language("zh_TW")
    assert ConvStepper().sum_text(0).startswith("第 1 個 window，共 16 個（feature map 第 1 列、第 1 行）")
    check = SelfCheck("?", ["甲", "乙"], hash_answer("#2"))  # the right option by position: any language
    assert check.feedback("乙") == "答對了。" and check.feedback("甲").startswith("還差一點")
    assert np.isfinite(0)


def test_the_library_speaks_the_language_of_the_notebook(tmp_path, capsys):
    """Errors and printed lines of shapes, checkpoints and data follow the setting; English keeps its words."""
    from torch import nn

    from cnnlib.data import hw2_test_set
    from cnnlib.shapes import layer_shapes
    from cnnlib.train import load_checkpoint

    wrong = nn.Sequential(nn.Conv2d(1, 2, 3), nn.Flatten(), nn.Linear(5, 2))
    cnnlib.set_language("zh_TW")
    with pytest.raises(ValueError, match=r"layer 2（Linear）需要 5 個輸入 features.*flatten 的大小錯了.*= 8 個 features"):
        layer_shapes(wrong, (1, 1, 4, 4))
    with pytest.raises(FileNotFoundError, match="找不到 checkpoint"):
        load_checkpoint(tmp_path / "none.pt")
    hw2_test_set("synthetic")
    assert capsys.readouterr().out.startswith("test set（測試集）：1,000 張影像，是生成 (GENERATED) 的相似影像")
    cnnlib.set_language("en")
    with pytest.raises(ValueError, match=r"layer 2 \(Linear\) expects 5 input features.*wrong flatten size"):
        layer_shapes(wrong, (1, 1, 4, 4))
    hw2_test_set("synthetic")
    assert capsys.readouterr().out.startswith("test set: 1,000 images, GENERATED look-alike images, not CIFAR-10")


def test_no_module_that_translates_rebinds_its_underscore():
    """``_`` is gettext wherever a module imports it: a parameter, loop variable or assignment named
    ``_`` in such a module turns every ``_("...")`` in its scope into a call of something else."""
    import ast
    from pathlib import Path

    for path in sorted(Path(cnnlib.__file__).parent.glob("*.py")):
        tree = ast.parse(path.read_text(encoding="utf-8"))
        imports_it = any(isinstance(n, ast.ImportFrom) and any(a.name == "_" for a in n.names) for n in tree.body)
        if not imports_it:
            continue
        for node in ast.walk(tree):
            names = [a.arg for a in node.args.args + node.args.kwonlyargs] if isinstance(
                node, (ast.FunctionDef, ast.Lambda)) else [node.id] if isinstance(node, ast.Name) and isinstance(
                node.ctx, ast.Store) else []
            assert "_" not in names, f"{path.name}:{node.lineno}: `_` rebound in a module that translates with _()"
