"""The app's words in English and Simplified Chinese: one table, looked up by key.

Each area of the app keeps its strings in a module of `i18n.strings` as two dicts, `EN` and `ZH`,
with the same keys; `TABLE` merges them and refuses a key defined twice. Strings are
`str.format` templates (`"{count} images"`), and both languages of a key take the same
placeholders (the tests check both). Model answers are never translated.

Code that runs without Streamlit (the backend's errors, the CLI) carries a `Text` (a key and
its values) and renders it in English for logs; the pages render it in the visitor's language.

>>> text("en", "language.label")
'Language / 语言'
>>> Text("media.image.empty").render("zh")
'这个文件是空的。'
"""

from __future__ import annotations

import importlib
import pkgutil
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Literal

Language = Literal["en", "zh"]
LANGUAGES: dict[Language, str] = {"en": "English", "zh": "简体中文"}
DEFAULT_LANGUAGE: Language = "en"


def _load_table() -> dict[Language, dict[str, str]]:
    from i18n import strings

    table: dict[Language, dict[str, str]] = {"en": {}, "zh": {}}
    for info in sorted(pkgutil.iter_modules(strings.__path__), key=lambda m: m.name):
        module = importlib.import_module(f"{strings.__name__}.{info.name}")
        for language, part in (("en", module.EN), ("zh", module.ZH)):
            clash = table[language].keys() & part.keys()
            if clash:
                raise ValueError(f"i18n.strings.{info.name} defines keys already defined elsewhere: {sorted(clash)}")
            table[language].update(part)
    return table


#: Every string of the app, per language (loaded once; read-only after import).
TABLE: Mapping[Language, Mapping[str, str]] = _load_table()


def text(language: str, key: str, /, **params: object) -> str:
    """The string for `key` in `language` (English where the language is unknown), filled in.

    A value that is itself a `Text` (a reason inside a message) is worded in the same language.
    """
    words = TABLE.get(language, TABLE[DEFAULT_LANGUAGE])  # type: ignore[call-overload]
    template = words.get(key)
    if template is None:
        raise KeyError(f"No string {key!r} in the i18n table")
    if not params:
        return template
    return template.format(**{name: _worded(value, language) for name, value in params.items()})


def _worded(value: object, language: str) -> object:
    return value.render(language) if isinstance(value, Text) else value


def language_for_locale(locale: str | None) -> Language:
    """The UI language for a browser locale such as 'zh-CN' or 'en-US': Chinese for any zh-*, else English."""
    if locale and locale.lower().replace("_", "-").split("-")[0] == "zh":
        return "zh"
    return DEFAULT_LANGUAGE


@dataclass(frozen=True)
class Text:
    """A message not yet put into words: a key of the table and the values it fills in."""

    key: str
    params: Mapping[str, object] = field(default_factory=dict)

    def render(self, language: str = DEFAULT_LANGUAGE) -> str:
        return text(language, self.key, **self.params)

    def __str__(self) -> str:
        return self.render(DEFAULT_LANGUAGE)


class ExplainedError(Exception):
    """An error with a message for people (`text`) and, apart from it, the technical detail.

    `str(error)` is the English message (logs, the CLI); the pages show `text` in the visitor's
    language with `detail` folded away under "Details".
    """

    def __init__(self, key: str, /, detail: str | None = None, **params: object) -> None:
        self.text = Text(key, params)
        self.detail = detail
        super().__init__(self.text.render(DEFAULT_LANGUAGE))
