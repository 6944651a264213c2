"""The chat view: replay a conversation, and stream the pending answer live with a Stop button.

Generation runs in the engine's worker thread; this module only iterates the `Answer` and
redraws a placeholder. Stop works the Streamlit way: clicking the button reruns the script,
which interrupts this loop with a control exception; the `finally` block then sets the stop
event (so the worker ends within a token or two) and keeps the partial answer, marked stopped.
"""

from __future__ import annotations

import logging
import threading

import streamlit as st

from components import grounding_view, media, stats
from model_backend.conversation import Conversation, ConversationError, ImageAttachment, Turn, VideoAttachment
from model_backend.engines.base import Answer, Engine, EngineError
from model_backend.grounding import readable
from model_backend.preprocess.errors import MediaError
from model_backend.settings import GenerationSettings

log = logging.getLogger(__name__)
CURSOR = " ▌"
STOPPED_NOTE = ":material/stop_circle: Stopped: partial answer"


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
            st.markdown(turn.question)
        if turn.answered or turn.error:
            with st.chat_message("assistant"):
                _show_answer(turn)
                if draw_boxes and turn.answer:
                    grounding_view.show(conversation.turns[: index + 1], turn.answer)


def _show_answer(turn: Turn) -> None:
    if turn.answer:
        st.markdown(readable(turn.answer))
    elif turn.answered:
        st.caption("(empty answer)")
    if turn.stopped:
        st.caption(STOPPED_NOTE)
    if turn.error:
        st.error(turn.error)
    if turn.stats is not None and turn.answered:
        st.caption(stats.describe(turn.stats))


def submit(
    conversation: Conversation,
    question: str,
    images: tuple[ImageAttachment, ...] = (),
    video: VideoAttachment | None = None,
) -> None:
    """Add the question with its media and redraw (the answer then streams under the history).

    A question the conversation refuses (empty, bad settings) shows its reason instead.
    """
    try:
        conversation.ask(question, images=images, video=video)
    except ConversationError as error:
        st.error(str(error))
    else:
        st.rerun()


def needs_answer(conversation: Conversation) -> bool:
    return bool(conversation.turns) and not conversation.turns[-1].answered and conversation.turns[-1].error is None


def answer_pending(
    page: str,
    conversation: Conversation,
    engine: Engine | None,
    settings: GenerationSettings,
    place: st.delta_generator.DeltaGenerator,
) -> None:
    """Stream the answer to the last turn into `place` (right under the history), then rerun."""
    if not needs_answer(conversation):
        return
    turn = conversation.turns[-1]
    if engine is None:
        turn.error = "No model is loaded, so this question was not answered. See the sidebar, then press Regenerate."
        place.error(turn.error)
        return
    with place, st.chat_message("assistant"):
        stop_slot, text_slot = st.empty(), st.empty()
        stop = threading.Event()
        text_slot.caption("Preparing the prompt…")
        try:
            answer = engine.stream(conversation, settings, stop)
        except Exception as error:  # every failure becomes a message on the turn
            turn.error = _message(error)
            text_slot.error(turn.error)
            return
        stop_slot.button(
            "Stop", icon=":material/stop:", key=f"stop_{page}", help="Stop the answer here and keep what is written"
        )
        _consume(answer, turn, text_slot, stop)
    st.rerun()


def _consume(answer: Answer, turn: Turn, text_slot: st.delta_generator.DeltaGenerator, stop: threading.Event) -> None:
    pieces: list[str] = []
    finished = False
    try:
        for piece in answer:
            pieces.append(piece)
            text_slot.markdown(readable("".join(pieces)) + CURSOR)
        finished = True
    except Exception as error:  # engine/media errors mid-answer keep the partial text
        turn.error = _message(error)
    finally:
        # Runs on normal end, on error, and when a rerun (the Stop button) interrupts the loop.
        stop.set()
        if not finished:
            _join_worker(answer)  # before reading the stats: the engine finalises them as it ends
        turn.stats = answer.stats
        if finished or pieces or turn.error is None:
            turn.answer = "".join(pieces)
        turn.stopped = not finished and turn.error is None


def _join_worker(answer: Answer, wait_s: float = 2.0) -> None:
    """Drain the stopped answer, so the worker ends and the engine finalises its stats.

    The stop event is already set, so this takes a token or two; it runs on a thread and is waited
    for at most `wait_s`, so a hung server cannot block the page.
    """

    def drain() -> None:
        try:
            extra = sum(1 for _ in answer)
        except Exception as error:  # a stopped answer may end with an error; it is only logged
            log.info("stopped answer ended with %s", error)
            return
        log.info("answer stopped; generation worker finished (%d pieces after stop)", extra)

    worker = threading.Thread(target=drain, name="drain-stopped-answer", daemon=True)
    worker.start()
    worker.join(wait_s)


def _message(error: Exception) -> str:
    if isinstance(error, (EngineError, ConversationError, MediaError)):
        return str(error)
    log.exception("unexpected error while answering")
    return f"Answering failed unexpectedly ({type(error).__name__}): {error}"
