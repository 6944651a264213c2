"""The visitor's UI language: chosen in the sidebar, remembered by this browser, and used by `t`.

The first visit takes the browser's language (`st.context.locale`); the switch writes a cookie
so the next visit starts in the chosen one. Every word the pages show goes through `t` (keys of
the `i18n` table); model answers are shown as the model wrote them.
"""

from __future__ import annotations

import streamlit as st

from components import cookies
from i18n import LANGUAGES, ExplainedError, Language, Text, language_for_locale, text

COOKIE = "internvl_studio_language"
_CHOSEN = "ui_language"


def current() -> Language:
    chosen = st.session_state.get(_CHOSEN)
    if chosen in LANGUAGES:
        return chosen
    remembered = st.context.cookies.get(COOKIE)
    language: Language = remembered if remembered in LANGUAGES else language_for_locale(_locale())
    st.session_state[_CHOSEN] = language
    return language


def _locale() -> str | None:
    try:
        return st.context.locale
    except Exception:  # no browser behind this session (AppTest): no locale to go by
        return None


def t(key: str, /, **params: object) -> str:
    """The string `key` of the i18n table in the visitor's language."""
    return text(current(), key, **params)


def render(message: Text | str) -> str:
    """A backend `Text` in the visitor's language; plain strings (already worded) pass through."""
    return message.render(current()) if isinstance(message, Text) else message


def switch() -> None:
    """The language picker (in the sidebar); the choice applies at once and is remembered."""
    current()  # the widget starts from the remembered or browser language
    st.segmented_control(
        text(current(), "language.label"),
        options=list(LANGUAGES),
        format_func=LANGUAGES.__getitem__,
        key=_CHOSEN,
        on_change=_remember,
        label_visibility="collapsed",
    )


def _remember() -> None:
    if st.session_state.get(_CHOSEN) not in LANGUAGES:  # a click on the selected option unselects it
        st.session_state[_CHOSEN] = language_for_locale(_locale())
    cookies.queue(COOKIE, st.session_state[_CHOSEN])


def error(problem: BaseException | Text | str, *, prefix: str | None = None, suffix: str | None = None) -> None:
    """One problem in the user's words, with its technical detail (if any) folded under "Details"."""
    detail = None
    if isinstance(problem, ExplainedError):
        message, detail = render(problem.text), problem.detail
    elif isinstance(problem, BaseException):
        message = str(problem)
    else:
        message = render(problem)
    st.error(" ".join(part for part in (f"{prefix}:" if prefix else None, message, suffix) if part))
    if detail:
        with st.expander(t("common.details")):
            st.code(detail, language=None, wrap_lines=True)
