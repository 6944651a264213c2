"""The buttons under a conversation: regenerate, edit-and-resend, clear, export, import.

Each action is a widget callback, so it changes the conversation before the page is drawn;
the page then streams whatever turn is left without an answer. A problem found in a callback
(or after an answer) waits in the session and is shown under the row on the next run.
"""

from __future__ import annotations

import functools

import streamlit as st

from components import conversations, export_buttons, language, state
from components.language import t
from components.model_cache import services
from i18n import Text
from model_backend.conversation import Conversation, ConversationError, edited
from model_backend.serving.workspace import LiveConversation
from model_backend.storage.store import StoreError


def render(page: str, live: LiveConversation, answering: bool) -> None:
    """The action row; while an answer is being written, only Export is offered (Stop is above).

    One wrapping row of content-wide buttons rather than five columns: on a phone Streamlit stacks
    columns one under the other, five full-width rows; the row takes two lines there.
    """
    conversation = live.conversation
    has_turns = bool(conversation.turns)
    can_change = has_turns and not answering
    row = st.container(horizontal=True, gap="small", vertical_alignment="center")
    row.button(
        t("actions.regenerate"),
        icon=":material/refresh:",
        key=f"regen_{page}",
        disabled=not can_change,
        help=t("actions.regenerate_help"),
        on_click=_regenerate,
        args=(live,),
    )
    with row.popover(t("actions.edit"), icon=":material/edit:", disabled=not can_change, help=t("actions.edit_help")):
        last = conversation.turns[-1].question if has_turns else ""
        # The key follows the turn count, so the box refills with the newest question.
        edit_key = f"edit_text_{page}_{len(conversation.turns)}"
        st.text_area(t("actions.last_question"), value=last, key=edit_key)
        st.button(
            t("actions.resend"), key=f"resend_{page}", on_click=_resend, args=(page, live, edit_key), type="primary"
        )
    row.button(
        t("actions.clear"),
        icon=":material/delete:",
        key=f"clear_{page}",
        disabled=not can_change,
        help=t("actions.clear_help"),
        on_click=_clear,
        args=(page,),
    )
    with row.popover(
        t("actions.export"), icon=":material/download:", disabled=not has_turns, help=t("actions.export_help")
    ):
        st.download_button(
            t("actions.markdown"),
            data=functools.partial(conversation.to_markdown, language.current()),  # worded now: made on click
            file_name=f"{page}-conversation.md",
            mime="text/markdown",
            key=f"export_md_{page}",
            on_click="ignore",
        )
        st.download_button(
            t("actions.json"),
            data=conversation.to_json,
            file_name=f"{page}-conversation.json",
            mime="application/json",
            key=f"export_json_{page}",
            on_click="ignore",
        )
        local = state.backend() == "local"
        export_buttons.render(
            page,
            conversation,
            state.load_spec() if local else None,
            state.generation_settings(),
            None if local else state.server_spec(),
        )
    with row.popover(t("actions.import"), icon=":material/upload:", disabled=answering, help=t("actions.import_help")):
        st.file_uploader(
            t("actions.import_file"),
            type=["json"],
            key=f"import_{page}",
            on_change=_import,
            args=(page, live),
            help=t("actions.import_file_help"),
        )
    with st.container():  # drawn on every run, so a message does not shift what comes after it
        problem = st.session_state.pop(_problem_key(page), None)
        if problem:
            message, prefix = problem
            language.error(message, prefix=prefix)


def report(page: str, problem: BaseException | Text | str, prefix: str | None = None) -> None:
    """Show `problem` under the action row of `page` on its next run (from a callback, or before a rerun)."""
    st.session_state[_problem_key(page)] = (problem, prefix)


def _problem_key(page: str) -> str:
    return f"action_error_{page}"


def _regenerate(live: LiveConversation) -> None:
    last = live.conversation.turns[-1]
    live.conversation.turns[-1] = edited(last, last.question)
    _save(live)


def _resend(page: str, live: LiveConversation, edit_key: str) -> None:
    question = st.session_state.get(edit_key, "").strip()
    if not question:
        report(page, Text("actions.edited_empty"))
        return
    live.conversation.turns[-1] = edited(live.conversation.turns[-1], question)
    _save(live)


def _clear(page: str) -> None:
    conversations.start_new(page)


def _import(page: str, live: LiveConversation) -> None:
    uploaded = st.session_state.get(f"import_{page}")
    if uploaded is None:
        return
    try:
        imported = Conversation.from_json(uploaded.getvalue())
    except ConversationError as error:
        report(page, error, prefix=t("actions.import_failed", name=uploaded.name))
        return
    fresh = conversations.start_new(page)
    fresh.conversation = imported
    _save(fresh, page)


def _save(live: LiveConversation, page: str | None = None) -> None:
    try:
        services().workspace.save(live)
    except StoreError as error:
        report(page or live.page, error)
