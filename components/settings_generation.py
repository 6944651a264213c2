"""Settings, answer half: the OpenAI-compatible server, decoding, tiles, system prompt, image limit."""

from __future__ import annotations

from typing import Any

import streamlit as st

from components import state
from model_backend.settings import MAX_TILES_LIMIT, GenerationSettings, ServerSpec
from model_backend.thinking import has_thinking_mode


def server_fields() -> dict[str, Any]:
    """Base URL, API key and model; the model list comes from the server's /v1/models when it answers."""
    current = state.server_spec()
    base_url = st.text_input("Base URL", value=current.base_url if current else "http://127.0.0.1:23333/v1", key="url")
    api_key = st.text_input("API key (optional)", value=(current.api_key or "") if current else "", type="password")
    models = _served_models(base_url, api_key or None) if st.toggle("List the server's models", key="list") else []
    if models:
        index = models.index(current.model) if current and current.model in models else 0
        model = st.selectbox("Model", models, index=index, key="server_model")
    else:
        model = st.text_input("Model name", value=current.model if current else "", key="server_model_typed")
    return {"base_url": base_url.strip(), "model": model.strip(), "api_key": api_key or None}


def _served_models(base_url: str, api_key: str | None) -> list[str]:
    from model_backend.engines.base import EngineError
    from model_backend.engines.openai_compat import list_models

    try:
        return list_models(base_url, api_key=api_key, timeout=5)
    except (EngineError, ValueError, OSError) as error:
        st.warning(f"Could not list the server's models ({error}); type the model name instead.")
        return []


def generation_fields(checkpoint: str | None = None) -> dict[str, Any]:
    """The answer settings; the thinking switch only when `checkpoint` (the model chosen above) has that mode."""
    current = state.generation_settings()
    tiles, tokens = st.columns(2)
    max_tiles = tiles.slider("Max tiles per question", 1, MAX_TILES_LIMIT, current.max_tiles, key="max_tiles")
    max_new = tokens.number_input("Max new tokens", 1, 16384, current.max_new_tokens, step=64, key="max_new")
    sampling = st.radio(
        "Decoding", ["Greedy", "Sampling"], index=int(current.do_sample), horizontal=True, key="decoding"
    )
    temp, top_p, rep = st.columns(3)
    disabled = sampling == "Greedy"
    temperature = temp.slider("Temperature", 0.01, 2.0, current.temperature, disabled=disabled, key="temp")
    top = top_p.slider("Top-p", 0.01, 1.0, current.top_p, disabled=disabled, key="top_p")
    penalty = rep.slider("Repetition penalty", 1.0, 2.0, current.repetition_penalty, key="rep")
    system = st.text_area(
        "System prompt (empty = the checkpoint's own)", value=current.system_prompt or "", key="system"
    )
    thinking = False
    if checkpoint and has_thinking_mode(checkpoint):
        thinking = st.toggle(
            "Thinking mode",
            value=current.thinking,
            key="thinking",
            help="Asks the model to think first, with the system prompt its model card gives for that; "
            "the thinking shows in a collapsed 'Thinking' section above the answer. "
            "The card recommends sampling at temperature 0.6 with it.",
        )
    return {
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
        st.number_input(
            "Max images per multi-image question", 2, state.MAX_IMAGES_LIMIT, state.max_images(), key="max_images_in"
        )
    )


def build(generation: dict[str, Any], server: dict[str, Any] | None) -> tuple[GenerationSettings, ServerSpec | None]:
    """The frozen settings; raises SettingsError with the offending field's message."""
    spec = ServerSpec(**server) if server is not None else None
    if spec is not None and not spec.model:
        from model_backend.settings import SettingsError

        raise SettingsError("server model: give the model name the server serves")
    return GenerationSettings(**generation), spec
