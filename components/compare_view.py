"""The Compare page: two checkpoints side by side on the same media and questions.

Each side has its own conversation (pages `compare_a` and `compare_b` in the workspace), so each
model keeps its own history for follow-ups, and the pair's ids travel in the URL (`?ab=A~B`): a
refresh shows the same comparison. A side that is a local checkpoint has its own precision and
quantization; each conversation keeps the LoadSpec it last answered with, and a fresh session (a
refresh, another page and back) starts that side's picker from it. Asking adds the same question,
with the same media on the first turn, to both; the answers run on the server
(`model_backend.runs`) like the chat pages'.

Both answer at once when both checkpoints fit in the model pool together. Whether they do is
found out by loading them (B, then A): if loading A pushed B out of the pool, or the pool refuses
one next to the models other visitors are using, A answers first and B after it, and the page
says so. Loading in that order means the one-after-the-other case never loads a model twice.
"""

from __future__ import annotations

import html
from dataclasses import dataclass
from pathlib import Path

import streamlit as st

from components import access, chat, identity, language, media, model_cache, state, stats, video_input
from components.language import t
from components.model_cache import services
from i18n import Text
from model_backend.catalog import CATALOG
from model_backend.conversation import Conversation, ConversationError, ImageAttachment, VideoAttachment
from model_backend.engines.factory import Target
from model_backend.pool import PoolFullError
from model_backend.runs import AnswerRun, explain
from model_backend.settings import (
    DTYPES,
    QUANTIZATIONS,
    GenerationSettings,
    LoadSpec,
    ServerSpec,
    SettingsError,
    resolve_dtype,
)
from model_backend.store import StoreError
from model_backend.word_diff import DiffRun, diff_words, shared_share
from model_backend.workspace import LiveConversation

SIDES = ("a", "b")
PAGES = {"a": "compare_a", "b": "compare_b"}
QUERY = "ab"
#: Session keys: the pair's conversation ids, and how the last question is being answered.
PAIR, MODE = "compare_pair", "compare_mode"
TOGETHER, ONE_AFTER_OTHER = "together", "one_after_other"
DEMO_IDS = ("demo", "demo-qwen2_5", "demo-phi3", "demo-internlm2", "demo-qwen3")
#: B's default: a demo checkpoint of another family, so a first comparison works offline.
DEFAULT_B = "demo-qwen2_5"
ADMIN_SOURCES = ("current", "demo", "catalog", "hub", "folder", "server")
USER_SOURCES = ("current", "offered")
MEDIA_KINDS = ("images", "video")
POLL_S = 0.25


@dataclass(frozen=True)
class Choice:
    """What a side's picker says: the target to answer with and its name, or why there is none."""

    target: Target | None
    label: str
    problem: Text | None = None


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
    _last_answers(lives)

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
    _answer_pending(lives, choices, places, notice)


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


# -- choosing a model ----------------------------------------------------------------------


def _source_label(source: str) -> str:
    return {
        "current": t("compare.source.current"),
        "demo": t("compare.source.demo"),
        "catalog": t("compare.source.catalog"),
        "hub": t("compare.source.hub"),
        "folder": t("compare.source.folder"),
        "server": t("compare.source.server"),
        "offered": t("compare.source.offered"),
    }[source]


def model_picker(side: str, prefix: str = "compare", restored: LoadSpec | None = None) -> Choice:
    """Where side `side`'s answers come from: A starts on the session's checkpoint, B on a demo one.

    A local checkpoint comes with its precision and quantization (the session's checkpoint keeps
    its own, set in Settings). `prefix` starts the widgets' keys (the Batch page's A/B form draws
    the same pickers as `batch_ab`). `restored` is what this side last answered with: widgets not
    drawn yet in this session start from it (a widget keeps its own value once drawn)."""
    admin = access.is_admin()
    sources = ADMIN_SOURCES if admin else USER_SOURCES
    seeded = _source_of(restored, sources) if restored is not None else None
    default = seeded or ("current" if side == "a" else ("demo" if admin else "offered"))
    source = st.selectbox(
        t("compare.source"),
        sources,
        index=sources.index(default),
        format_func={
            source: _source_label(source) for source in sources
        }.__getitem__,  # worded now: AppTest calls it off-run
        key=f"{prefix}_{side}_source",
    )
    if source == "current":
        target = model_cache.target()
        if target is None:
            return Choice(None, "", Text("compare.no_current"))
        st.caption(t("compare.current_is", name=_label(target)))
        return Choice(target, _label(target))
    if source == "server":
        return _server_choice(side, prefix)
    seed = restored if seeded == source else None  # the restored spec seeds only its own source's widgets
    if source == "demo":
        wanted = seed.checkpoint if seed is not None else DEFAULT_B if side == "b" else "demo"
        checkpoint = st.selectbox(
            t("compare.demo"), DEMO_IDS, index=DEMO_IDS.index(wanted), key=f"{prefix}_{side}_demo"
        )
        return _local(checkpoint, **_load_options(side, prefix, seed))
    if source in ("catalog", "offered"):
        names = [e.name for e in CATALOG if not e.server_only] if source == "catalog" else _offered()
        wanted = seed.checkpoint if seed is not None else DEFAULT_B if source == "offered" and side == "b" else None
        checkpoint = st.selectbox(
            t("compare.checkpoint"),
            names,
            index=names.index(wanted) if wanted in names else 0,
            key=f"{prefix}_{side}_{source}",
        )
        return _local(checkpoint, **_load_options(side, prefix, seed))
    if source == "hub":
        checkpoint = st.text_input(
            t("compare.hub_id"),
            value=seed.checkpoint if seed is not None else "",
            key=f"{prefix}_{side}_hub",
            placeholder="OpenGVLab/InternVL2-1B",
        )
        allow = st.checkbox(
            t("compare.allow_code"),
            value=seed is not None and seed.allow_remote_code,
            key=f"{prefix}_{side}_allow_code",
            help=t("compare.allow_code_help"),
        )
        return _local(checkpoint, allow_remote_code=allow, **_load_options(side, prefix, seed))
    folder = st.text_input(
        t("compare.folder"), value=seed.checkpoint if seed is not None else "", key=f"{prefix}_{side}_folder"
    )
    options = _load_options(side, prefix, seed)
    if folder.strip() and not Path(folder.strip()).expanduser().is_dir():
        return Choice(None, folder, Text("compare.folder_missing", {"folder": folder.strip()}))
    return _local(folder, **options)


def _load_options(side: str, prefix: str, seed: LoadSpec | None) -> dict[str, str]:
    """This side's precision and quantization (as in Settings; "auto" and none to start with)."""
    precision, quantization = st.columns(2)
    auto = t("settings.precision.auto", dtype=resolve_dtype("auto"))
    quantized = {
        "none": t("settings.quant.none"),
        "8bit": t("settings.quant.8bit"),
        "4bit": t("settings.quant.4bit"),
    }
    dtype = precision.selectbox(
        t("settings.precision"),
        DTYPES,
        index=DTYPES.index(seed.dtype) if seed is not None else 0,
        format_func={d: auto if d == "auto" else d for d in DTYPES}.__getitem__,  # worded now: AppTest calls it off-run
        help=t("settings.precision_help"),
        key=f"{prefix}_{side}_dtype",
    )
    quant = quantization.selectbox(
        t("settings.quantization"),
        QUANTIZATIONS,
        index=QUANTIZATIONS.index(seed.quantization) if seed is not None else 0,
        format_func=quantized.__getitem__,
        key=f"{prefix}_{side}_quant",
    )
    return {"dtype": dtype, "quantization": quant}


def _answered_with(live: LiveConversation) -> LoadSpec | None:
    """The local checkpoint (and its precision) a stored side last answered with, if any."""
    saved = live.settings.get("load_spec") if live.stored else None
    if not saved:
        return None
    try:
        return LoadSpec(**saved)
    except (TypeError, SettingsError):  # written by another version: the picker's defaults
        return None


def _source_of(spec: LoadSpec, sources: tuple[str, ...]) -> str | None:
    """Which of `sources` offers `spec`: the session's checkpoint, a demo, the catalog, the offered list,
    a folder or a hub id."""
    checkpoint = spec.checkpoint
    if model_cache.target() == spec:
        return "current"
    if "demo" in sources and checkpoint in DEMO_IDS:
        return "demo"
    if "catalog" in sources and checkpoint in {e.name for e in CATALOG if not e.server_only}:
        return "catalog"
    if "offered" in sources:
        return "offered" if checkpoint in _offered() else None
    if "folder" in sources and Path(checkpoint).expanduser().is_dir():
        return "folder"
    return "hub" if "hub" in sources else None


def _offered() -> list[str]:
    """For users who are not admins: the allowed checkpoints and those already loaded."""
    resident = [r.spec.checkpoint for r in services().pool.residents()]
    return list(dict.fromkeys([*resident, *access.policy().allowed_checkpoints()]))


def _local(checkpoint: str, allow_remote_code: bool = False, dtype: str = "auto", quantization: str = "none") -> Choice:
    checkpoint = checkpoint.strip()
    if not checkpoint:
        return Choice(None, "", Text("compare.no_checkpoint"))
    spec = LoadSpec(checkpoint, dtype=dtype, quantization=quantization, allow_remote_code=allow_remote_code)  # type: ignore[arg-type]
    resident = frozenset(r.spec for r in services().pool.residents())
    refusal = access.policy().refusal(spec, access.role(), resident)
    return Choice(None if refusal else spec, checkpoint, refusal)


def _server_choice(side: str, prefix: str) -> Choice:
    url = st.text_input(t("compare.server_url"), key=f"{prefix}_{side}_url", placeholder="http://127.0.0.1:23333/v1")
    name = st.text_input(t("compare.server_model"), key=f"{prefix}_{side}_server_model")
    key = st.text_input(t("compare.server_key"), key=f"{prefix}_{side}_api_key", type="password")
    if not url.strip() or not name.strip():
        return Choice(None, "", Text("compare.server_missing"))
    try:
        spec = ServerSpec(url.strip().rstrip("/"), name.strip(), key.strip() or None)
    except SettingsError as error:
        return Choice(None, url, error.text)
    return Choice(spec, _label(spec))


def _label(target: Target) -> str:
    if isinstance(target, LoadSpec):
        return target.checkpoint
    if isinstance(target, ServerSpec):
        return f"{target.model} @ {target.base_url}"
    return target.label


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
            caption = f"Image-{number}: {image.name}" if len(images) > 1 else image.name
            thumbs[(number - 1) % len(thumbs)].image(media.thumbnail_png(image.data), caption=caption, width=150)
    else:
        st.caption(t("compare.no_media"))
    return images, None, None


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


def _answer_pending(
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


def _last_answers(lives: dict[str, LiveConversation]) -> None:
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
