"""The buttons under a conversation: regenerate, edit-and-resend, clear, export, import.

Each action is a widget callback, so it changes the conversation before the page is drawn;
the page then streams whatever turn is left without an answer.
"""

from __future__ import annotations

import streamlit as st

from components import conversations
from components.model_cache import services
from model_backend.conversation import Conversation, ConversationError, edited
from model_backend.store import StoreError
from model_backend.workspace import LiveConversation


def render(page: str, live: LiveConversation, answering: bool) -> None:
    """The action row; while an answer is being written, only Export is offered (Stop is above)."""
    conversation = live.conversation
    has_turns = bool(conversation.turns)
    can_change = has_turns and not answering
    regen, edit, clear, export, load = st.columns([1, 1, 1, 1, 1])
    regen.button(
        "Regenerate",
        icon=":material/refresh:",
        key=f"regen_{page}",
        disabled=not can_change,
        on_click=_regenerate,
        args=(live,),
        width="stretch",
    )
    with edit.popover("Edit last", icon=":material/edit:", disabled=not can_change, width="stretch"):
        last = conversation.turns[-1].question if has_turns else ""
        # The key follows the turn count, so the box refills with the newest question.
        edit_key = f"edit_text_{page}_{len(conversation.turns)}"
        st.text_area("Last question", value=last, key=edit_key)
        st.button("Resend", key=f"resend_{page}", on_click=_resend, args=(page, live, edit_key), type="primary")
    clear.button(
        "Clear",
        icon=":material/delete:",
        key=f"clear_{page}",
        disabled=not can_change,
        help="Start a new conversation; this one stays in the conversation list",
        on_click=_clear,
        args=(page,),
        width="stretch",
    )
    with export.popover("Export", icon=":material/download:", disabled=not has_turns, width="stretch"):
        st.download_button(
            "Markdown",
            data=conversation.to_markdown,
            file_name=f"{page}-conversation.md",
            mime="text/markdown",
            key=f"export_md_{page}",
            on_click="ignore",
        )
        st.download_button(
            "JSON (with images)",
            data=conversation.to_json,
            file_name=f"{page}-conversation.json",
            mime="application/json",
            key=f"export_json_{page}",
            on_click="ignore",
        )
    with load.popover("Import", icon=":material/upload:", disabled=answering, width="stretch"):
        st.file_uploader(
            "A JSON export",
            type=["json"],
            key=f"import_{page}",
            on_change=_import,
            args=(page, live),
            help="Opens the export as a new conversation on this page",
        )
    problem = st.session_state.pop(f"action_error_{page}", None)
    if problem:
        st.error(problem)


def _regenerate(live: LiveConversation) -> None:
    last = live.conversation.turns[-1]
    live.conversation.turns[-1] = edited(last, last.question)
    _save(live)


def _resend(page: str, live: LiveConversation, edit_key: str) -> None:
    question = st.session_state.get(edit_key, "").strip()
    if not question:
        st.session_state[f"action_error_{page}"] = "The edited question is empty."
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
        st.session_state[f"action_error_{page}"] = f"Could not import {uploaded.name}: {error}"
        return
    fresh = conversations.start_new(page)
    fresh.conversation = imported
    _save(fresh, page)


def _save(live: LiveConversation, page: str | None = None) -> None:
    try:
        services().workspace.save(live)
    except StoreError as error:
        st.session_state[f"action_error_{page or live.page}"] = str(error)
