"""The Batch page: the new-run form on top, then the visitor's runs and the selected run's panel.

A run is a server-side job (`model_backend.batch.registry`): this page only starts it and looks at
it. The form picks a dataset (an upload, or a file under the server's dataset roots for an
admin), the model (or two, for A/B), the options, and starts the run. The selected run's panel
polls on its own (`st.fragment(run_every=...)`) while the run goes, and the whole page redraws
once it ends; leaving the page, refreshing or closing the tab changes nothing for the run. The
runs list and a run's progress and controls are `batch_runs`'s, its results `batch_results`'s.
"""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

import streamlit as st
from streamlit.runtime.uploaded_file_manager import UploadedFile

from components import access, batch_ab_view, batch_results, batch_runs, identity, language, model_cache, state
from components.batch_runs import registry
from components.language import t
from components.media import IMAGE_TYPES
from components.video_input import VIDEO_TYPES
from i18n import ExplainedError
from model_backend.batch.run import BatchOptions
from model_backend.batch.run_records import BatchRun
from model_backend.batch.uploads import (
    DATASET_SUFFIXES,
    ROOTS_ENV,
    BatchError,
    dataset_roots,
    server_dataset,
    server_datasets,
)
from model_backend.serving.factory import Target
from model_backend.settings import GENERATION_RANGES as RANGES
from model_backend.settings import GenerationSettings, LoadSpec, ServerSpec

#: How often the panel of a run that is going redraws, in seconds.
POLL_S = 1.0
#: The largest batch size the run form offers (rows without history per generate call).
MAX_BATCH_SIZE = 16
MEDIA_TYPES = [*IMAGE_TYPES, *VIDEO_TYPES, "zip"]
#: Session key of a counter in the uploaders' keys: a new value empties them after a start.
_ROUND = "batch_form_round"


def render() -> None:
    st.title(t("app.page.batch"))
    who = identity.owner()
    runs = registry().list(who)
    _start_form(who, expanded=not runs)
    if not runs:
        st.caption(t("batch.no_runs"))
        return
    selected = batch_runs.selected(runs)
    batch_runs.runs_list(runs, selected)
    _show(selected)


# -- starting a run --------------------------------------------------------------------------


def _start_form(who: str, expanded: bool) -> None:
    """The new-run form; folded once the visitor has runs, so the selected run's results come first."""
    form_round = st.session_state.setdefault(_ROUND, 0)
    with st.expander(t("batch.new_run"), expanded=expanded, icon=":material/add:"):
        source = "upload"
        roots = dataset_roots()
        if access.is_admin() and roots:
            source = (
                st.segmented_control(
                    t("batch.source"),
                    ["upload", "server"],
                    default="upload",
                    format_func={"upload": t("batch.source_upload"), "server": t("batch.source_server")}.__getitem__,
                    key="batch_source",
                )
                or "upload"
            )
        elif access.is_admin():
            st.caption(t("batch.roots_hint", env=ROOTS_ENV))
        dataset = media = picked = None
        if source == "upload":
            dataset = st.file_uploader(
                t("batch.dataset_label"),
                type=[suffix.lstrip(".") for suffix in DATASET_SUFFIXES],
                key=f"batch_dataset_{form_round}",
                help=t("batch.dataset_help"),
            )
            media = st.file_uploader(
                t("batch.media_label"),
                type=MEDIA_TYPES,
                accept_multiple_files=True,
                key=f"batch_media_{form_round}",
                help=t("batch.media_help", limit_mb=f"{registry().limit_bytes / 1e6:,.0f}"),
            )
        else:
            found = server_datasets(roots)
            picked = st.selectbox(
                t("batch.server_file"),
                found,
                index=None,
                format_func=lambda path: _on_server(path, roots),
                key="batch_server_file",
                placeholder=t("batch.server_file_placeholder") if found else t("batch.server_none", env=ROOTS_ENV),
            )
        ab = st.toggle(t("batch_ab.toggle"), key="batch_ab", help=t("batch_ab.toggle_help"))
        target, target_b = batch_ab_view.pickers() if ab else (_model_picker(), None)
        settings = state.generation_settings()
        tokens, tiles, size = st.columns(3)
        max_new_tokens = tokens.number_input(
            t("batch.max_new_tokens"), *RANGES["max_new_tokens"], settings.max_new_tokens, key="batch_max_new_tokens"
        )
        max_tiles = tiles.number_input(
            t("batch.max_tiles"), *RANGES["max_tiles"], settings.max_tiles, key="batch_tiles"
        )
        batch_size = size.number_input(
            t("batch.batch_size"), 1, MAX_BATCH_SIZE, 1, key="batch_batch_size", help=t("batch.batch_size_help")
        )
        decoding = (
            t("batch.sampling", temperature=f"{settings.temperature:g}", top_p=f"{settings.top_p:g}")
            if settings.do_sample
            else t("batch.greedy")
        )
        st.caption(t("batch.settings_note", decoding=decoding))
        if st.button(t("batch.start"), type="primary", icon=":material/play_arrow:", key="batch_start"):
            chosen = replace(settings, max_new_tokens=int(max_new_tokens), max_tiles=int(max_tiles))
            if ab and (target is None or target_b is None):
                st.error(t("batch_ab.need_models"))  # each picker says what it lacks
                return
            options = BatchOptions(batch_size=int(batch_size))
            _start(who, source, dataset, media or [], picked, roots, target, chosen, options, target_b)


def _on_server(path: Path, roots: list[Path]) -> str:
    root = next((r for r in roots if path.is_relative_to(r)), None)
    return f"{root.name}/{path.relative_to(root)}" if root is not None else str(path)


def _model_picker() -> Target | None:
    """The model to run with: the session's own (the default), or another one already loaded."""
    choices: dict[str, Target] = {}
    current = model_cache.target()
    if current is not None and not (isinstance(current, ServerSpec) and not access.is_admin()):
        choices[_choice_name(current)] = current
    for resident in model_cache.services().pool.residents():
        choices.setdefault(_choice_name(resident.spec), resident.spec)
    if not choices:
        st.warning(t("batch.no_model"))
        return None
    names = list(choices)
    # Labels worded now: a format function may be called outside this run (AppTest does), in no language.
    labels = {n: t("batch.model_current", name=n) if n == names[0] and current is not None else n for n in names}
    name = st.selectbox(
        t("batch.model"),
        names,
        format_func=labels.__getitem__,
        key="batch_model",
        help=t("batch.model_help"),
    )
    return choices.get(name or names[0])


def _choice_name(target: Target) -> str:
    if isinstance(target, LoadSpec):
        return f"{target.checkpoint} · {target.describe()} · {target.device}"
    return target.label


def _refusal(target: Target) -> ExplainedError | None:
    """Why this visitor may not run `target` (the sidebar's rules for loading a checkpoint)."""
    if isinstance(target, ServerSpec):
        return None if access.is_admin() else BatchError("batch.server_refused")
    if not isinstance(target, LoadSpec) or target.checkpoint == state.startup_checkpoint():
        return None
    resident = frozenset(r.spec for r in model_cache.services().pool.residents())
    refusal = access.policy().refusal(target, access.role(), resident)
    return BatchError(refusal) if refusal is not None else None


def _start(
    who: str,
    source: str,
    dataset: UploadedFile | None,
    media: list[UploadedFile],
    picked: Path | None,
    roots: list[Path],
    target: Target | None,
    settings: GenerationSettings,
    options: BatchOptions,
    target_b: Target | None = None,
) -> None:
    if target is None:
        st.error(t("batch.no_model"))
        return
    for chosen in (target, target_b):
        refusal = _refusal(chosen) if chosen is not None else None
        if refusal is not None:
            language.error(refusal)
            return
    try:
        if source == "upload":
            if dataset is None and not any(f.name.lower().endswith(".zip") for f in media):
                st.error(t("batch.need_dataset"))
                return
            run_id = registry().start_upload(
                who,
                (dataset.name, dataset) if dataset is not None else None,
                [(f.name, f) for f in media],
                target,
                settings,
                options,
                target_b=target_b,
            )
        else:
            if picked is None:
                st.error(t("batch.need_server_file"))
                return
            dataset_file = server_dataset(picked, roots)
            run_id = registry().start_dataset(who, dataset_file, target, settings, options, target_b=target_b)
    except BatchError as error:
        language.error(error)
        return
    st.session_state[_ROUND] += 1
    batch_runs.select(run_id)
    st.rerun()


# -- the selected run ------------------------------------------------------------------------


def _show(run: BatchRun) -> None:
    st.subheader(run.name)
    if run.ab:
        st.caption(t("batch_ab.run_caption", a=run.checkpoint, b=run.checkpoint_b, when=batch_runs.when(run.created)))
    else:
        st.caption(t("batch.run_caption", checkpoint=run.checkpoint, when=batch_runs.when(run.created)))
    if run.active:
        _live(run.id)
    else:
        _panel(run)


@st.fragment(run_every=POLL_S)
def _live(run_id: str) -> None:
    """The panel of a run that is going, redrawn every POLL_S seconds until it ends."""
    run = registry().get(run_id, identity.owner())
    if run is None:
        return
    if not run.active:
        st.rerun()  # the whole page: it draws the finished panel, which polls no more
    _panel(run)


def _panel(run: BatchRun) -> None:
    if run.ab:
        batch_ab_view.panel(
            run, registry(), batch_runs.status(run), batch_runs.controls, batch_results.open_conversation
        )
        return
    batch_runs.progress(run)
    batch_runs.controls(run)
    batch_runs.summary(run)
    batch_results.render(run)
