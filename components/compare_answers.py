"""The Compare page's answers: both sides answered and streamed into their columns, then the diff.

Both answer at once when both checkpoints fit in the model pool together. Whether they do is
found out by loading them (B, then A): if loading A pushed B out of the pool, or the pool refuses
one next to the models other visitors are using, A answers first and B after it, and the page
says so. Loading in that order means the one-after-the-other case never loads a model twice.
Once both have answered, each side's stats line and a word-level diff of the two last answers
are drawn under the columns.
"""

from __future__ import annotations

import html

import streamlit as st

from components import chat, language, state, stats
from components.compare_picker import Choice
from components.language import t
from components.model_cache import services
from i18n import Text
from model_backend.conversation import Conversation, ConversationError
from model_backend.serving.factory import Target
from model_backend.serving.pool import PoolFullError
from model_backend.serving.runs import AnswerRun, explain
from model_backend.serving.workspace import LiveConversation
from model_backend.settings import GenerationSettings, LoadSpec
from model_backend.storage.store import StoreError
from model_backend.text.word_diff import DiffRun, diff_words, shared_share

SIDES = ("a", "b")
#: Session key: how the last question is being answered.
MODE = "compare_mode"
TOGETHER, ONE_AFTER_OTHER = "together", "one_after_other"
POLL_S = 0.25


# -- answering -----------------------------------------------------------------------------


def _fits_together(a: Target, b: Target) -> bool:
    """Whether both can be resident at once: loads B, then A, and looks whether B is still there.

    Any other load failure counts as fitting: the answer of that side then says what went wrong.
    """
    if not (isinstance(a, LoadSpec) and isinstance(b, LoadSpec)) or a == b:
        return True
    factory, pool = services().factory, services().pool
    try:
        for spec in (b, a):
            if pool.peek(spec) is None:
                with st.spinner(t("compare.loading", checkpoint=spec.checkpoint)):
                    factory.get(spec)
    except PoolFullError:
        return False
    except Exception:  # reported by the side's own answer
        return True
    return pool.peek(a) is not None and pool.peek(b) is not None


def _start(live: LiveConversation, target: Target | None, settings: GenerationSettings) -> AnswerRun | None:
    """Start answering `live`'s pending turn; on a refusal the turn keeps the reason and None comes back."""
    turn = live.conversation.turns[-1]
    if target is None:
        turn.error = Text("compare.no_model")
        _save(live)
        return None
    try:
        return services().workspace.answer(live, settings, target)
    except (StoreError, ConversationError) as error:
        turn.error, turn.error_detail = explain(error)
        return None


def answer_pending(
    lives: dict[str, LiveConversation],
    choices: dict[str, Choice],
    places: dict[str, st.delta_generator.DeltaGenerator],
    notice: st.delta_generator.DeltaGenerator,
) -> None:
    """Start what waits (both at once, or A then B) and stream both answers into their columns."""
    workspace, settings = services().workspace, state.generation_settings()
    runs: dict[str, AnswerRun | None] = {side: workspace.run(lives[side]) for side in SIDES}
    waiting = [s for s in SIDES if runs[s] is None and chat.needs_answer(lives[s].conversation)]
    if not waiting and all(run is None for run in runs.values()):
        return
    if waiting and all(run is None for run in runs.values()) and MODE not in st.session_state:
        a, b = choices["a"].target, choices["b"].target
        together = a is None or b is None or _fits_together(a, b)
        st.session_state[MODE] = TOGETHER if together else ONE_AFTER_OTHER
    if st.session_state.get(MODE) == ONE_AFTER_OTHER:
        notice.info(t("compare.one_after_other"))
    for side in waiting:
        # One after the other: B waits until A's answer is done (a refresh keeps that order).
        if side == "b" and st.session_state.get(MODE, ONE_AFTER_OTHER) == ONE_AFTER_OTHER and _a_pending(lives, runs):
            continue
        runs[side] = _start(lives[side], choices[side].target, settings)
    _follow(lives, runs, choices, places, settings)
    st.rerun()


def _a_pending(lives: dict[str, LiveConversation], runs: dict[str, AnswerRun | None]) -> bool:
    run = runs["a"]
    return (run is not None and not run.done) or chat.needs_answer(lives["a"].conversation)


def _follow(
    lives: dict[str, LiveConversation],
    runs: dict[str, AnswerRun | None],
    choices: dict[str, Choice],
    places: dict[str, st.delta_generator.DeltaGenerator],
    settings: GenerationSettings,
) -> None:
    """Redraw both live answers until both are done; start B when A ends, if they go one after the other."""
    slots = {}
    for side in SIDES:
        with places[side], st.chat_message("assistant"):
            slots[side] = st.empty()
    with places["a"]:
        st.button(
            t("compare.stop"),
            icon=":material/stop:",
            key="compare_stop",
            help=t("compare.stop_help"),
            on_click=_stop,
            args=(lives["a"].id, lives["b"].id),
        )
    shown: dict[str, str | None] = {side: None for side in SIDES}
    while True:
        b_run = runs["b"]
        if b_run is None and chat.needs_answer(lives["b"].conversation) and not _a_pending(lives, runs):
            runs["b"] = _start(lives["b"], choices["b"].target, settings)
        for side in SIDES:
            line = _draw(slots[side], runs[side], shown[side])
            shown[side] = line
        live_runs = [run for run in runs.values() if run is not None and not run.done]
        if not live_runs and not (chat.needs_answer(lives["b"].conversation) and runs["b"] is None):
            return
        if live_runs:
            live_runs[0].wait_change(POLL_S)


def _draw(slot: st.delta_generator.DeltaGenerator, run: AnswerRun | None, shown: str | None) -> str | None:
    if run is None:
        line = t("compare.waiting_for_a")
    else:
        view = run.view()
        if view.done:
            line = view.text or t("compare.done")
        elif view.text:
            line = view.text
        elif view.status == "waiting" and view.ahead:
            line = t("chat.waiting_one") if view.ahead == 1 else t("chat.waiting_many", count=view.ahead)
        else:
            line = t("chat.preparing")
        if line != shown and view.text:
            with slot.container():
                chat.answer_text(view.text, "" if view.done else chat.CURSOR)
            return line
    if line != shown:
        slot.caption(line)
    return line


def _stop(a_id: str, b_id: str) -> None:
    runs = services().workspace.runs
    for conversation_id in (a_id, b_id):
        runs.stop(conversation_id)


def _save(live: LiveConversation) -> None:
    try:
        services().workspace.save(live)
    except StoreError as error:
        language.error(error)


# -- the diff and the stats ----------------------------------------------------------------


def last_answers(lives: dict[str, LiveConversation]) -> None:
    """Both stats lines and the word-level diff of the last answers, once both are there."""
    last = {side: _last_answered(lives[side].conversation) for side in SIDES}
    if any(turn is None for turn in last.values()):
        return
    st.subheader(t("compare.diff_title"))
    lines = st.columns(2)
    for side, column in zip(SIDES, lines, strict=True):
        turn = last[side]
        assert turn is not None
        words = stats.describe(turn.stats, language.current()) if turn.stats is not None else t("compare.no_stats")
        name = t("compare.model_a") if side == "a" else t("compare.model_b")
        column.caption(f"**{name}** · {words}")
    runs = diff_words(last["a"].answer, last["b"].answer)  # type: ignore[union-attr]
    st.caption(t("compare.shared", share=f"{shared_share(runs):.0%}"))
    st.html(diff_html(runs, t("compare.only_a"), t("compare.only_b")))


def _last_answered(conversation: Conversation):  # -> Turn | None
    answered = [turn for turn in conversation.turns if turn.answered]
    return answered[-1] if answered else None


_STYLES = {
    "same": "",
    "a": "background:#fde2e1;color:#8a1c17;text-decoration:line-through;border-radius:3px;padding:0 2px",
    "b": "background:#dcf5e3;color:#145c2c;border-radius:3px;padding:0 2px",
}


def diff_html(runs: list[DiffRun], only_a: str, only_b: str) -> str:
    """The diff as HTML: every word escaped (model text is never markup), A's words struck through, B's marked."""
    parts = []
    for run in runs:
        words = html.escape(run.text)
        if run.kind == "same":
            parts.append(words)
        else:
            title = html.escape(only_a if run.kind == "a" else only_b)
            parts.append(f'<span class="diff-{run.kind}" title="{title}" style="{_STYLES[run.kind]}">{words}</span>')
    legend = (
        f'<span style="{_STYLES["a"]}">{html.escape(only_a)}</span> '
        f'<span style="{_STYLES["b"]}">{html.escape(only_b)}</span>'
    )
    return f'<div class="compare-diff-legend" style="font-size:0.85em;margin-bottom:4px">{legend}</div>' + (
        f'<div class="compare-diff" style="line-height:1.7">{" ".join(parts)}</div>'
    )
