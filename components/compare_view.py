"""The Compare page: two checkpoints side by side on the same media and questions.

Each side has its own conversation (pages `compare_a` and `compare_b` in the workspace), so each
model keeps its own history for follow-ups, and the pair's ids travel in the URL (`?ab=A~B`): a
refresh shows the same comparison. A side that is a local checkpoint has its own precision and
quantization; each conversation keeps the LoadSpec it last answered with, and a fresh session (a
refresh, another page and back) starts that side's picker from it. Asking adds the same question,
with the same media on the first turn, to both; the answers run on the server
(`model_backend.serving.runs`) like the chat pages'.

This module draws the page and keeps its state (the pair, the shared media, asking); the pickers
are `compare_picker`'s, answering and the diff `compare_answers`'.
"""

from __future__ import annotations

import streamlit as st

from components import chat, identity, language, media, state, video_input
from components.compare_answers import MODE, ONE_AFTER_OTHER, SIDES, answer_pending, last_answers
from components.compare_picker import Choice, model_picker
from components.language import t
from components.model_cache import services
from components.safe_markdown import plain_label
from i18n import Text
from model_backend.conversation import ConversationError, ImageAttachment, VideoAttachment
from model_backend.serving.workspace import LiveConversation
from model_backend.settings import LoadSpec, SettingsError

PAGES = {"a": "compare_a", "b": "compare_b"}
QUERY = "ab"
#: Session key: the pair's conversation ids.
PAIR = "compare_pair"
MEDIA_KINDS = ("images", "video")


# -- the page ------------------------------------------------------------------------------


def render() -> None:
    st.title(t("app.page.compare"))
    lives = _pair()
    running = {side: services().workspace.run(lives[side]) for side in SIDES}
    busy = any(run is not None for run in running.values()) or any(
        chat.needs_answer(lives[s].conversation) for s in SIDES
    )

    columns = dict(zip(SIDES, st.columns(2), strict=True))
    choices: dict[str, Choice] = {}
    for side in SIDES:
        with columns[side]:
            st.subheader(t("compare.model_a") if side == "a" else t("compare.model_b"))
            choices[side] = model_picker(side, restored=_answered_with(lives[side]))
            if choices[side].problem is not None:
                st.warning(language.render(choices[side].problem))

    images, video, blocker = _media_inputs(lives)
    st.button(
        t("compare.new"), key="compare_new", icon=":material/add:", on_click=_new_pair, disabled=busy, type="tertiary"
    )

    answer_columns = dict(zip(SIDES, st.columns(2), strict=True))
    places: dict[str, st.delta_generator.DeltaGenerator] = {}
    for side in SIDES:
        with answer_columns[side]:
            chat.show_history(lives[side].conversation)
            places[side] = st.container()
    notice = st.empty()  # "one after the other", drawn right under the answers
    if st.session_state.get(MODE) == ONE_AFTER_OTHER:
        if busy:
            notice.info(t("compare.one_after_other"))
        else:  # said on: the two answers' times are not those of a side-by-side run
            notice.caption(t("compare.answered_one_after_other"))
    last_answers(lives)

    question = st.chat_input(t("compare.ask"), disabled=busy)
    if question:
        problems = [
            choices[s].problem or (Text("compare.no_model") if choices[s].target is None else None) for s in SIDES
        ]
        if blocker is not None:
            st.error(language.render(blocker))
        elif any(problems):
            st.error(language.render(next(p for p in problems if p is not None)))
        else:
            _submit(lives, question, images, video)
    answer_pending(lives, choices, places, notice)


# -- the conversations ---------------------------------------------------------------------


def _pair() -> dict[str, LiveConversation]:
    """The pair in the URL, else the session's, else two new conversations."""
    workspace, who = services().workspace, identity.owner()
    wanted = st.query_params.get(QUERY)
    ids = tuple(wanted.split("~")) if wanted else st.session_state.get(PAIR)
    lives: dict[str, LiveConversation] | None = None
    if ids and len(ids) == 2:
        opened = {side: workspace.open(conversation_id, who) for side, conversation_id in zip(SIDES, ids, strict=True)}
        if all(live is not None and live.page == PAGES[side] for side, live in opened.items()):
            lives = opened  # type: ignore[assignment]
        elif wanted and tuple(st.session_state.get(PAIR) or ()) != ids:
            st.info(t("compare.link_unavailable"))
    if lives is None:
        lives = {side: workspace.draft(who, PAGES[side]) for side in SIDES}
    st.session_state[PAIR] = (lives["a"].id, lives["b"].id)
    if all(live.stored for live in lives.values()):
        link = f"{lives['a'].id}~{lives['b'].id}"
        if st.query_params.get(QUERY) != link:
            st.query_params[QUERY] = link
    elif QUERY in st.query_params:
        del st.query_params[QUERY]
    return lives


def _new_pair() -> None:
    st.session_state.pop(PAIR, None)
    st.session_state.pop(MODE, None)
    st.query_params.pop(QUERY, None)


def _submit(
    lives: dict[str, LiveConversation],
    question: str,
    images: tuple[ImageAttachment, ...],
    video: VideoAttachment | None,
) -> None:
    """The same question to both; the media go with a conversation's first answered turn only."""
    try:
        for side in SIDES:
            conversation = lives[side].conversation
            first = not any(turn.answered for turn in conversation.turns)
            conversation.ask(question, images=images if first else (), video=video if first else None)
    except ConversationError as error:
        language.error(error)
        return
    st.session_state.pop(MODE, None)  # decided afresh for this question
    st.rerun()


def _answered_with(live: LiveConversation) -> LoadSpec | None:
    """The local checkpoint (and its precision) a stored side last answered with, if any."""
    saved = live.settings.get("load_spec") if live.stored else None
    if not saved:
        return None
    try:
        return LoadSpec(**saved)
    except (TypeError, SettingsError):  # written by another version: the picker's defaults
        return None


# -- the shared media ----------------------------------------------------------------------


def _media_inputs(
    lives: dict[str, LiveConversation],
) -> tuple[tuple[ImageAttachment, ...], VideoAttachment | None, Text | None]:
    """The images or video both models get, and why a question cannot be asked yet (None: it can).

    Once a comparison has its first question the media are those of that question, shown in the
    history; follow-ups refer to them.
    """
    asked = next((lives[s].conversation.turns[0] for s in SIDES if lives[s].conversation.turns), None)
    if asked is not None:
        return asked.images, asked.video, None
    labels = {"images": t("compare.media.images"), "video": t("compare.media.video")}
    kind = st.segmented_control(
        t("compare.media"),
        list(MEDIA_KINDS),
        format_func=labels.__getitem__,
        default="images",
        key="compare_media_kind",
        required=True,
    )
    if kind == "video":
        picked = video_input.video_picker("compare")
        return (), picked.video, picked.blocker
    limit = state.max_images()
    uploads = st.file_uploader(
        t("compare.upload", limit=limit), type=media.IMAGE_TYPES, accept_multiple_files=True, key="compare_images"
    )
    images = tuple(ImageAttachment(u.getvalue(), u.name) for u in uploads or ())
    if len(images) > limit:
        st.error(t("compare.too_many", count=len(images), limit=limit))
        return (), None, Text("compare.ask_too_many", {"limit": limit})
    broken = [(image, media.check_image(image.data, image.name)) for image in images]
    broken = [(image, problem) for image, problem in broken if problem is not None]
    for image, problem in broken:
        language.error(problem, prefix=image.name)
    if broken:
        return (), None, Text("compare.ask_unreadable", {"count": len(broken)})
    if images:
        thumbs = st.columns(min(len(images), 6))
        for number, image in enumerate(images, start=1):
            caption = f"Image-{number}: {plain_label(image.name)}" if len(images) > 1 else plain_label(image.name)
            thumbs[(number - 1) % len(thumbs)].image(media.thumbnail_png(image.data), caption=caption, width=150)
    else:
        st.caption(t("compare.no_media"))
    return images, None, None
