"""The chat view: replay a conversation, and show its live answer with a Stop button.

The answer runs on the server (`model_backend.runs`), not in this script run: this module only
watches it and redraws a placeholder. A rerun (a click, leaving the page) interrupts the
watching, never the answer; the Stop button's callback stops it and keeps the partial text.
"""

from __future__ import annotations

import streamlit as st

from components import grounding_view, media, model_cache, stats
from components.model_cache import services
from components.safe_markdown import safe_markdown
from model_backend.conversation import Conversation, ConversationError, ImageAttachment, Turn, VideoAttachment
from model_backend.engines.base import Engine
from model_backend.grounding import readable
from model_backend.runs import AnswerRun
from model_backend.settings import GenerationSettings
from model_backend.store import StoreError
from model_backend.thinking import split
from model_backend.workspace import LiveConversation

CURSOR = " ▌"
STOPPED_NOTE = ":material/stop_circle: Stopped: partial answer"
NO_MODEL = "No model is loaded, so this question was not answered. See the sidebar, then press Regenerate."
INTERRUPTED_NOTE = ":material/power_off: Interrupted: the server stopped while this answer was written"
THINKING_LABEL = "Thinking"


def show_history(conversation: Conversation, draw_boxes: bool = False) -> None:
    """Every turn as a user bubble (with its media) and an assistant bubble (answer, stats, boxes).

    All in one container, so a new turn does not shift the page's later elements: while an answer
    streams, Streamlit would otherwise show the previous run's elements at the shifted positions.
    """
    with st.container():
        _show_turns(conversation, draw_boxes)


def _show_turns(conversation: Conversation, draw_boxes: bool) -> None:
    for index, turn in enumerate(conversation.turns):
        with st.chat_message("user"):
            media.show_attachments(turn)
            st.markdown(safe_markdown(turn.question))
        if turn.answered or turn.error:
            with st.chat_message("assistant"):
                _show_answer(turn)
                if draw_boxes and turn.answer:
                    grounding_view.show(conversation.turns[: index + 1], turn.answer)


def _show_answer(turn: Turn) -> None:
    if turn.answer:
        _answer_text(turn.answer)
    elif turn.answered:
        st.caption("(empty answer)")
    if turn.stopped:
        st.caption(STOPPED_NOTE)
    if turn.interrupted:
        st.caption(INTERRUPTED_NOTE)
    if turn.error:
        st.error(turn.error)
    if turn.stats is not None and turn.answered:
        stats.show(turn.stats)


def _answer_text(text: str, cursor: str = "") -> None:
    """An answer's `<think>` part in a collapsed "Thinking" section, then the answer under it.

    `cursor` (while streaming) goes after the text being written; during the thinking a caption
    says so, since the collapsed section hides the text.
    """
    parts = split(text)
    if parts.thinking or parts.still_thinking:
        label = f"{THINKING_LABEL}…" if parts.still_thinking else THINKING_LABEL
        with st.expander(label, expanded=False, icon=":material/psychology:"):
            st.markdown(safe_markdown(readable(parts.thinking)) if parts.thinking else "…")
        if parts.still_thinking and cursor:
            st.caption(f"Thinking before it answers…{cursor}")
    if parts.answer:
        st.markdown(safe_markdown(readable(parts.answer)) + cursor)


def submit(
    live: LiveConversation,
    question: str,
    images: tuple[ImageAttachment, ...] = (),
    video: VideoAttachment | None = None,
) -> None:
    """Add the question with its media and redraw (the answer then streams under the history).

    A question the conversation refuses (empty, bad settings) shows its reason instead.
    """
    try:
        live.conversation.ask(question, images=images, video=video)
    except ConversationError as error:
        st.error(str(error))
    else:
        st.rerun()


def needs_answer(conversation: Conversation) -> bool:
    return bool(conversation.turns) and not conversation.turns[-1].answered and conversation.turns[-1].error is None


def answering(live: LiveConversation) -> bool:
    """True while the conversation's answer runs on the server."""
    return services().workspace.run(live) is not None


def answer_pending(
    page: str,
    live: LiveConversation,
    engine: Engine | None,
    settings: GenerationSettings,
    place: st.delta_generator.DeltaGenerator,
) -> None:
    """Show the conversation's live answer in `place` (right under the history), starting it if it waits.

    The answer runs on the server: leaving the page or closing the tab does not stop it, and
    coming back shows it where it has got to. Only the Stop button stops it.
    """
    workspace = services().workspace
    run = workspace.run(live)
    if run is None:
        if not needs_answer(live.conversation):
            return
        turn = live.conversation.turns[-1]
        target = model_cache.target()
        if engine is None or target is None:
            turn.error = NO_MODEL
            _save(live)
            place.error(turn.error)
            return
        try:
            run = workspace.answer(live, settings, target)
        except (StoreError, ConversationError) as error:
            turn.error = str(error)
            place.error(turn.error)
            return
    with place, st.chat_message("assistant"):
        _follow(page, live, run)
    if run.save_error:  # shown by the action row after the rerun: the answer is on screen but not kept
        st.session_state[f"action_error_{page}"] = run.save_error
    st.rerun()


def _follow(page: str, live: LiveConversation, run: AnswerRun) -> None:
    stop_slot, text_slot = st.empty(), st.empty()
    stop_slot.button(
        "Stop",
        icon=":material/stop:",
        key=f"stop_{page}",
        help="Stop the answer here and keep what is written",
        on_click=services().workspace.runs.stop,
        args=(live.id,),
    )
    shown = None
    while True:
        view = run.view()
        if view.done:
            return
        if view.text:
            line = view.text
        elif view.status == "waiting" and view.ahead:
            line = f"Waiting for the model: {view.ahead} answer{'s' if view.ahead > 1 else ''} ahead of yours."
        else:
            line = "Preparing the prompt…"
        if line != shown:
            if view.text:
                with text_slot.container():
                    _answer_text(view.text, CURSOR)
            else:
                text_slot.caption(line)
            shown = line
        run.wait_change(0.25)


def _save(live: LiveConversation) -> None:
    try:
        services().workspace.save(live)
    except StoreError as error:
        st.warning(str(error))
