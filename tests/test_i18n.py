"""The string table: both languages complete and consistent, and every key the code uses defined."""

from __future__ import annotations

import re
import string
from pathlib import Path

import pytest

from i18n import TABLE, ExplainedError, Text, language_for_locale, text

ROOT = Path(__file__).resolve().parents[1]
CODE_DIRS = ("app.py", "app_pages", "components", "model_backend", "i18n")
#: A key literal where the code looks one up: t("..."), text(lang, "..."), Text("..."), an error's first argument.
_LOOKUP = re.compile(
    r"""\b(?:t|text|Text|[A-Z]\w*Error)\(\s*(?:[\w.]+(?:\(\))?,\s*)?["']([a-z0-9_]+(?:\.[a-z0-9_]+)+)["']"""
)


def _placeholders(template: str) -> set[str]:
    return {name for _, name, _, _ in string.Formatter().parse(template) if name}


def _code_files() -> list[Path]:
    files: list[Path] = []
    for entry in CODE_DIRS:
        path = ROOT / entry
        files.extend([path] if path.is_file() else path.rglob("*.py"))
    return [f for f in files if "demo_checkpoint/files" not in str(f) and "i18n/strings" not in str(f)]


def test_every_string_exists_in_both_languages() -> None:
    assert set(TABLE["en"]) == set(TABLE["zh"]), {
        "English only": sorted(set(TABLE["en"]) - set(TABLE["zh"])),
        "Chinese only": sorted(set(TABLE["zh"]) - set(TABLE["en"])),
    }


@pytest.mark.parametrize("key", sorted(TABLE["en"]))
def test_both_languages_fill_in_the_same_values(key: str) -> None:
    english, chinese = TABLE["en"][key], TABLE["zh"][key]
    assert english.strip() and chinese.strip()
    assert _placeholders(english) == _placeholders(chinese)


def test_chinese_strings_are_translated() -> None:
    """A Chinese entry with no Chinese in it is an English string copied over (names and units aside)."""
    untranslated = [
        key
        for key, chinese in TABLE["zh"].items()
        if not re.search(r"[\u4e00-\u9fff]", chinese) and re.search(r"[a-z]{4,}", re.sub(r"\{\w+\}", "", chinese))
    ]
    allowed = {"language.label"}
    assert set(untranslated) <= allowed, untranslated


def test_every_key_the_code_uses_is_defined_and_every_defined_key_is_used() -> None:
    used: set[str] = set()
    for path in _code_files():
        used |= set(_LOOKUP.findall(path.read_text(encoding="utf-8")))
    assert used - set(TABLE["en"]) == set(), "keys used but not defined"
    assert set(TABLE["en"]) - used == set(), "keys defined but never used (dead strings)"


def test_explained_error_speaks_english_in_logs_and_keeps_detail_apart() -> None:
    error = ExplainedError("media.image.too_many_pixels", detail="raw", width=1, height=2, megapixels=3, limit_mp=4)
    assert str(error).startswith("This image is 1×2 pixels")
    assert error.text.render("zh").startswith("这张图片为 1×2 像素")
    assert error.detail == "raw"


def test_unknown_key_is_an_error_not_a_blank() -> None:
    with pytest.raises(KeyError, match=r"no\.such\.key"):
        text("en", "no.such.key")


@pytest.mark.parametrize(
    ("locale", "language"),
    [("zh-CN", "zh"), ("zh_TW", "zh"), ("ZH", "zh"), ("en-US", "en"), ("de-DE", "en"), (None, "en"), ("", "en")],
)
def test_browser_locale_picks_the_language(locale: str | None, language: str) -> None:
    assert language_for_locale(locale) == language


def test_text_renders_in_each_language() -> None:
    assert Text("media.image.empty").render("en") == "This file is empty."
    assert Text("media.image.empty").render("zh") == "这个文件是空的。"
    assert Text("media.image.empty").render("fr") == "This file is empty."  # unknown: English
