"""Settings, answer half: the OpenAI-compatible server, decoding, tiles, system prompt, image limit.

The answer settings apply at once (`apply_answer_settings`, on every run of the page): they cost
nothing to change, and a change that waited for a button was lost when the visitor left the page.
The server fields belong to the load form: they wait for Apply, like a checkpoint.
"""

from __future__ import annotations

from typing import Any

import streamlit as st

from components import state
from components.language import t
from components.settings_model import initial
from i18n import ExplainedError
from model_backend.checkpoints.thinking_mode import has_thinking_mode
from model_backend.settings import GENERATION_RANGES as RANGES
from model_backend.settings import GenerationSettings, ServerSpec

DEFAULT_SERVER_URL = "http://127.0.0.1:23333/v1"
DECODINGS = ("greedy", "sampling")


def server_fields() -> dict[str, Any]:
    """Base URL, API key and model; the model list comes from the server's /v1/models when it answers."""
    current = state.server_spec()
    base_url = st.text_input(
        t("settings.server.url"), value=initial("url", current.base_url if current else DEFAULT_SERVER_URL), key="url"
    )
    api_key = st.text_input(
        t("settings.server.api_key"),
        value=initial("api_key", (current.api_key or "") if current else ""),
        type="password",
        key="api_key",
    )
    listing = st.toggle(t("settings.server.list"), value=initial("list", False), key="list")
    models = _served_models(base_url, api_key or None) if listing else []
    if models:
        active = current.model if current and current.model in models else models[0]
        wanted = initial("server_model", active)
        index = models.index(wanted) if wanted in models else models.index(active)
        model = st.selectbox(t("settings.server.model"), models, index=index, key="server_model")
    else:
        model = st.text_input(
            t("settings.server.model_typed"),
            value=initial("server_model_typed", current.model if current else ""),
            key="server_model_typed",
        )
    return {"base_url": base_url.strip(), "model": model.strip(), "api_key": api_key or None}


def _served_models(base_url: str, api_key: str | None) -> list[str]:
    from model_backend.engines.base import EngineError
    from model_backend.engines.openai_compat import list_models

    try:
        return list_models(base_url, api_key=api_key, timeout=5)
    except (EngineError, ValueError, OSError) as error:
        st.warning(t("settings.server.list_failed"))
        with st.expander(t("common.details")):
            st.code(str(error), language=None, wrap_lines=True)
        return []


def generation_fields(checkpoint: str | None = None) -> dict[str, Any]:
    """The answer settings; the thinking switch only when `checkpoint` (the model chosen above) has that mode."""
    current = state.generation_settings()
    tiles, tokens = st.columns(2)
    max_tiles = tiles.slider(t("settings.max_tiles"), *RANGES["max_tiles"], current.max_tiles, key="max_tiles")
    max_new = tokens.number_input(
        t("settings.max_new_tokens"), *RANGES["max_new_tokens"], current.max_new_tokens, step=64, key="max_new"
    )
    labels = {"greedy": t("settings.decoding.greedy"), "sampling": t("settings.decoding.sampling")}
    decoding = st.radio(
        t("settings.decoding"),
        DECODINGS,
        index=int(current.do_sample),
        format_func=labels.__getitem__,
        horizontal=True,
        key="decoding",
    )
    temp, top_p, rep = st.columns(3)
    disabled = decoding == "greedy"
    temperature = temp.slider(
        t("settings.temperature"), *RANGES["temperature"], current.temperature, disabled=disabled, key="temp"
    )
    top = top_p.slider(t("settings.top_p"), *RANGES["top_p"], current.top_p, disabled=disabled, key="top_p")
    penalty = rep.slider(
        t("settings.repetition_penalty"), *RANGES["repetition_penalty"], current.repetition_penalty, key="rep"
    )
    system = st.text_area(t("settings.system_prompt"), value=current.system_prompt or "", key="system")
    thinking = False
    if checkpoint and has_thinking_mode(checkpoint):
        thinking = st.toggle(
            t("settings.thinking"), value=current.thinking, key="thinking", help=t("settings.thinking_help")
        )
    reuse_prefix = st.toggle(
        t("settings.reuse_prefix"), value=current.reuse_prefix, key="reuse_prefix", help=t("settings.reuse_prefix_help")
    )
    return {
        "reuse_prefix": bool(reuse_prefix),
        "max_tiles": int(max_tiles),
        "max_new_tokens": int(max_new),
        "do_sample": not disabled,
        "temperature": float(temperature),
        "top_p": float(top),
        "repetition_penalty": float(penalty),
        "system_prompt": system.strip() or None,
        "thinking": bool(thinking),
    }


def max_images_field() -> int:
    return int(
        st.number_input(t("settings.max_images"), 2, state.MAX_IMAGES_LIMIT, state.max_images(), key="max_images_in")
    )


def apply_answer_settings(generation: dict[str, Any], max_images: int) -> None:
    """Make the answer settings the session's at once (the widgets keep them in range, so they are valid)."""
    settings = GenerationSettings(**generation)
    if settings != state.generation_settings():
        st.session_state[state.GENERATION] = settings
    st.session_state[state.MAX_IMAGES] = max_images


def server_spec(server: dict[str, Any]) -> ServerSpec:
    """The frozen server settings; raises SettingsError (a bad URL) or ExplainedError (no model)."""
    spec = ServerSpec(**server)
    if not spec.model:
        raise ExplainedError("settings.server.no_model")
    return spec
