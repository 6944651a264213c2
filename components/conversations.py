"""Which conversation a chat page shows, the `?c=` link that brings it back, and the list in the sidebar.

The conversation id travels in the URL, so a refresh, a reconnect or a server restart opens the
same conversation; it opens only for the browser (or login) that made it.
"""

from __future__ import annotations

import time

import streamlit as st

from components import identity, state
from components.language import t
from components.model_cache import services
from components.safe_markdown import plain_label
from model_backend.serving.workspace import LiveConversation
from model_backend.settings import GenerationSettings, LoadSpec, SettingsError

QUERY = "c"
#: The title the store gives a conversation before its first question (shown in the visitor's language).
_STORE_DEFAULT_TITLE = "New conversation"


def current(page: str) -> LiveConversation:
    """The page's conversation: the one in the URL, else the session's, else a new one."""
    workspace, who = services().workspace, identity.owner()
    key = _session_key(page)
    live = None
    wanted = st.query_params.get(QUERY)
    if wanted:
        live = workspace.open(wanted, who)
        if live is None or live.page != page:
            if st.session_state.get(key) != wanted:
                st.info(t("conversations.link_unavailable"))
            live = None
    if live is None and st.session_state.get(key):
        live = workspace.open(st.session_state[key], who)
    if live is None:
        live = workspace.draft(who, page)
    fresh_here = st.session_state.get(key) != live.id
    st.session_state[key] = live.id
    if fresh_here and live.stored and _restore_settings(live):
        st.rerun()  # the sidebar drew this run with the session's old settings
    show_link(live)
    return live


def show_link(live: LiveConversation) -> None:
    """Put the conversation's id in the address bar once it is stored (a refresh then comes back to it)."""
    if live.stored and st.query_params.get(QUERY) != live.id:
        st.query_params[QUERY] = live.id
    elif not live.stored and QUERY in st.query_params:
        del st.query_params[QUERY]


def _restore_settings(live: LiveConversation) -> bool:
    """Put the conversation's last generation settings and checkpoint back (a refresh or restart); True if changed."""
    saved, changed = live.settings, False
    try:
        generation = GenerationSettings(**saved["generation"]) if "generation" in saved else None
        spec = LoadSpec(**saved["load_spec"]) if "load_spec" in saved else None
    except (TypeError, SettingsError):  # written by another version: keep the session's settings
        return False
    if generation is not None and generation != state.generation_settings():
        st.session_state[state.GENERATION] = generation
        changed = True
    if spec is not None and state.backend() == "local" and spec != state.load_spec():
        state.set_load_spec(spec)
        changed = True
    return changed


def start_new(page: str) -> LiveConversation:
    """Show a new, empty conversation on `page` (the old one stays in the list)."""
    live = services().workspace.draft(identity.owner(), page)
    st.session_state[_session_key(page)] = live.id
    st.query_params.pop(QUERY, None)
    return live


def sidebar_list(page: str, live: LiveConversation) -> None:
    """New, search, switch, rename and delete, for this page's conversations."""
    workspace, who = services().workspace, identity.owner()
    with st.sidebar, st.expander(t("conversations.title"), icon=":material/forum:", expanded=False):
        st.button(t("conversations.new"), key=f"new_{page}", icon=":material/add:", on_click=start_new, args=(page,))
        query = st.text_input(
            t("conversations.search"), key=f"search_{page}", placeholder=t("conversations.search_placeholder")
        )
        summaries = workspace.list(who, page, query)
        if not summaries:
            st.caption(t("conversations.none_yet") if not query else t("conversations.no_match"))
        for summary in summaries[:30]:
            current_one = summary.id == live.id
            # Titles come from questions, imports and dataset rows: drawn literally, never as Markdown.
            title = t("conversations.new") if summary.title == _STORE_DEFAULT_TITLE else plain_label(summary.title)
            st.button(
                ("▸ " if current_one else "") + title,
                key=f"open_{page}_{summary.id}",
                help=t(
                    "conversations.last_change",
                    when=time.strftime("%Y-%m-%d %H:%M", time.localtime(summary.updated)),
                ),
                on_click=_open,
                args=(page, summary.id),
                disabled=current_one,
                width="stretch",
            )
        if live.stored:
            title_key = f"rename_{page}_{live.id}"
            st.text_input(t("conversations.rename_label"), key=title_key)
            rename, delete = st.columns(2)
            rename.button(
                t("conversations.rename"), key=f"do_rename_{page}", on_click=_rename, args=(live.id, title_key)
            )
            delete.button(t("conversations.delete"), key=f"delete_{page}", on_click=_delete, args=(page, live.id))


def _session_key(page: str) -> str:
    return f"conversation_id_{page}"


def _open(page: str, conversation_id: str) -> None:
    st.session_state[_session_key(page)] = conversation_id
    st.query_params[QUERY] = conversation_id


def _rename(conversation_id: str, title_key: str) -> None:
    title = st.session_state.get(title_key, "").strip()
    if title:
        services().workspace.rename(conversation_id, identity.owner(), title)


def _delete(page: str, conversation_id: str) -> None:
    services().workspace.delete(conversation_id, identity.owner())
    start_new(page)
