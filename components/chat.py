"""The chat view: replay a conversation, and show its live answer with a Stop button.

The answer runs on the server (`model_backend.serving.runs`), not in this script run: this module only
watches it and redraws a placeholder. A rerun (a click, leaving the page) interrupts the
watching, never the answer; the Stop button's callback stops it and keeps the partial text.
"""

from __future__ import annotations

import streamlit as st

from components import chat_actions, conversations, grounding_view, language, media, model_cache, stats
from components.language import t
from components.model_cache import services
from components.safe_markdown import safe_markdown
from i18n import Text
from model_backend.conversation import Conversation, ConversationError, ImageAttachment, Turn, VideoAttachment
from model_backend.engines.base import Engine
from model_backend.serving.runs import AnswerRun, explain
from model_backend.serving.workspace import LiveConversation
from model_backend.settings import GenerationSettings
from model_backend.storage.store import StoreError
from model_backend.text.grounding import readable
from model_backend.text.thinking import split

CURSOR = " ▌"
#: A question longer than this (characters or lines) is drawn folded: its start, then "Show all".
LONG_QUESTION_CHARS, LONG_QUESTION_LINES = 1500, 25
#: How much of a folded question shows above "Show all".
PREVIEW_CHARS, PREVIEW_LINES = 600, 8


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
            _question_text(turn.question)
        if turn.answered or turn.error:
            with st.chat_message("assistant"):
                _show_answer(turn)
                if draw_boxes and turn.answer:
                    grounding_view.show(conversation.turns[: index + 1], turn.answer)


def _question_text(question: str) -> None:
    """The question as written; a very long one (a pasted document) folded to its start and "Show all".

    Drawn in full, a 50,000-word question buries its answer (or the error that it is too long)
    under pages of text.
    """
    lines = question.count("\n") + 1
    if len(question) <= LONG_QUESTION_CHARS and lines <= LONG_QUESTION_LINES:
        st.markdown(_markdown(question))
        return
    preview = "\n".join(question.splitlines()[:PREVIEW_LINES])[:PREVIEW_CHARS].rstrip()
    st.markdown(_markdown(preview) + " …")
    with st.expander(t("chat.show_all", characters=f"{len(question):,}"), expanded=False):
        st.markdown(_markdown(question))


def _markdown(text: str) -> str:
    return safe_markdown(text, t("chat.markdown_image"))


def _show_answer(turn: Turn) -> None:
    if turn.answer:
        answer_text(turn.answer)
    elif turn.answered and not turn.stopped:
        st.caption(t("chat.empty_answer"))
    if turn.stopped:
        # Stopped before the first word: there is no partial answer to speak of.
        stopped = t("chat.stopped") if turn.answer else t("chat.stopped_before_answer")
        st.caption(f":material/stop_circle: {stopped}")
    if turn.interrupted:
        st.caption(f":material/power_off: {t('chat.interrupted')}")
    if turn.error:
        language.error(turn.problem or turn.error)  # the message, its detail folded under "Details"
    if turn.stats is not None and turn.answered:
        stats.show(turn.stats)
    if turn.answer:
        _copy(turn.answer)


def _copy(answer: str) -> None:
    """A small "Copy" control under an answer: the answer's text in a code box with Streamlit's copy button.

    Streamlit has no clipboard call of its own; `st.code` has a copy button that works without any
    request, and the popover keeps it out of sight until asked for. Drawn for every answer, so a run
    draws the same elements for the same conversation.
    """
    parts = split(answer)
    words = parts.answer or parts.thinking  # the answer without its thinking; the thinking if stopped before
    if not words:
        return
    with st.popover(t("chat.copy"), icon=":material/content_copy:", help=t("chat.copy_help"), type="tertiary"):
        st.caption(t("chat.copy_hint"))
        st.code(readable(words), language=None, wrap_lines=True)


def answer_text(text: str, cursor: str = "") -> None:
    """An answer's `<think>` part in a collapsed "Thinking" section, then the answer under it.

    `cursor` (while streaming) goes after the text being written; during the thinking a caption
    says so, since the collapsed section hides the text.
    """
    parts = split(text)
    if parts.thinking or parts.still_thinking:
        label = t("chat.still_thinking") if parts.still_thinking else t("chat.thinking")
        with st.expander(label, expanded=False, icon=":material/psychology:"):
            st.markdown(_markdown(readable(parts.thinking)) if parts.thinking else "…")
        if parts.still_thinking and cursor:
            st.caption(t("chat.thinking_caption") + cursor)
    if parts.answer:
        st.markdown(_markdown(readable(parts.answer)) + cursor)


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
        language.error(error)
    else:
        st.rerun()


def needs_answer(conversation: Conversation) -> bool:
    return bool(conversation.turns) and not conversation.turns[-1].answered and conversation.turns[-1].error is None


def answering(live: LiveConversation) -> bool:
    """True while the conversation's answer runs on the server, or is about to: a question just sent
    starts its answer further down this same run, after the action row is drawn."""
    return services().workspace.run(live) is not None or needs_answer(live.conversation)


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
            turn.error = Text("chat.no_model")
            with place:
                _save(live)
                language.error(turn.error)
            return
        try:
            run = workspace.answer(live, settings, target)
        except (StoreError, ConversationError) as error:
            turn.error, turn.error_detail = explain(error)
            with place:
                language.error(error)
            return
    # The first question made the conversation stored: link it now, not when the answer ends, so a
    # refresh while the answer streams comes back to it.
    conversations.show_link(live)
    with place, st.chat_message("assistant"):
        _follow(page, live, run)
    if run.save_error:  # shown by the action row after the rerun: the answer is on screen but not kept
        chat_actions.report(page, run.save_error)
    st.rerun()


def _follow(page: str, live: LiveConversation, run: AnswerRun) -> None:
    stop_slot, text_slot = st.empty(), st.empty()
    stop_slot.button(
        t("chat.stop"),
        icon=":material/stop:",
        key=f"stop_{page}",
        help=t("chat.stop_help"),
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
            line = t("chat.waiting_one") if view.ahead == 1 else t("chat.waiting_many", count=view.ahead)
        else:
            line = t("chat.preparing")
        if line != shown:
            if view.text:
                with text_slot.container():
                    answer_text(view.text, CURSOR)
            else:
                text_slot.caption(line)
            shown = line
        run.wait_change(0.25)


def _save(live: LiveConversation) -> None:
    try:
        services().workspace.save(live)
    except StoreError as error:
        language.error(error)
