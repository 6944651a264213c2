"""The string table: both languages complete and consistent, and every key the code uses defined."""

from __future__ import annotations

import json
import re
import string
from pathlib import Path

import pytest

from i18n import TABLE, ExplainedError, Text, language_for_locale, text
from model_backend.checkpoints.catalog import find_entry
from model_backend.conversation import Conversation, ImageAttachment, message_from_record, message_record

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


def test_a_catalog_reason_inside_a_message_is_worded_in_the_visitors_language() -> None:
    """Settings' server-only warning carries the catalog's reason (a Text): Chinese in Chinese, English in the CLI."""
    entry = find_entry("InternVL3_5-GPT-OSS-20B-A4B-Preview")
    warning = Text("settings.server_only", {"name": entry.name, "reason": entry.server_only})
    assert "(its GPT-OSS LLM needs transformers >= 4.55 (pinned: 4.51.3); serve it with vLLM)" in str(warning)
    chinese = warning.render("zh")
    assert "它的 GPT-OSS 语言模型需要 transformers >= 4.55" in chinese and "serve it" not in chinese
    # A turn's error keeps the inner Text through a save and a restart (the store and the JSON export).
    restored = message_from_record(json.loads(json.dumps(message_record(warning))))
    assert restored == warning and restored.render("zh") == chinese


def _conversation_with_an_error() -> Conversation:
    conversation = Conversation()
    answered = conversation.ask("What is it?", images=(ImageAttachment(b"x", name="cat.png"),))
    answered.answer, answered.stopped = "A cat", True
    conversation.ask("And now?").error = Text("media.image.empty")
    return conversation


def test_markdown_export_speaks_the_language_it_is_asked_for_and_english_by_default() -> None:
    conversation = _conversation_with_an_error()
    english = conversation.to_markdown()
    assert english.startswith("# Conversation\n") and "## Turn 2" in english and "*Attached: cat.png*" in english
    assert "**User:** What is it?" in english and "**Assistant:** A cat *(stopped)*" in english
    assert "**Error:** This file is empty." in english
    chinese = conversation.to_markdown("zh")
    assert chinese.startswith("# 对话\n") and "## 第 2 轮" in chinese and "*附件：cat.png*" in chinese
    assert "**用户：** What is it?" in chinese and "**助手：** A cat *（已停止）*" in chinese  # the words as written
    assert "**错误：** 这个文件是空的。" in chinese and "Error" not in chinese
