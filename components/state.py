"""Everything the app keeps per browser session, behind one set of keys and typed getters.

Session state holds only text, bytes and the frozen settings dataclasses (never PIL images or
tensors), so a rerun, a page switch or a failed load never loses a conversation.
"""

from __future__ import annotations

import os
from typing import Literal

import streamlit as st

from model_backend.settings import GenerationSettings, LoadSpec, ServerSpec

Backend = Literal["local", "server"]

LOAD_SPEC = "load_spec"
GENERATION = "generation_settings"
SERVER = "server_spec"
BACKEND = "backend"
MAX_IMAGES = "max_images"
LOAD_ERROR = "load_error"

DEFAULT_MAX_IMAGES = 6
MAX_IMAGES_LIMIT = 16
CHECKPOINT_ENV = "INTERNVL_MODEL"


def startup_checkpoint() -> str:
    """The checkpoint to load first: $INTERNVL_MODEL (hub id, folder or `demo`), else the catalog default."""
    chosen = os.environ.get(CHECKPOINT_ENV, "").strip()
    if chosen:
        return chosen
    from model_backend.checkpoints.catalog import DEFAULT_CHECKPOINT

    return DEFAULT_CHECKPOINT


def load_spec() -> LoadSpec:
    if LOAD_SPEC not in st.session_state:
        st.session_state[LOAD_SPEC] = LoadSpec(checkpoint=startup_checkpoint())
    return st.session_state[LOAD_SPEC]


def set_load_spec(spec: LoadSpec) -> None:
    if spec != st.session_state.get(LOAD_SPEC):
        st.session_state.pop(LOAD_ERROR, None)  # a new spec gets a fresh attempt
    st.session_state[LOAD_SPEC] = spec


def generation_settings() -> GenerationSettings:
    return st.session_state.setdefault(GENERATION, GenerationSettings())


def backend() -> Backend:
    return st.session_state.setdefault(BACKEND, "local")


def server_spec() -> ServerSpec | None:
    return st.session_state.get(SERVER)


def use_server(spec: ServerSpec) -> None:
    st.session_state[SERVER] = spec
    st.session_state[BACKEND] = "server"


def use_local(spec: LoadSpec) -> None:
    set_load_spec(spec)
    st.session_state[BACKEND] = "local"


def max_images() -> int:
    return st.session_state.setdefault(MAX_IMAGES, DEFAULT_MAX_IMAGES)
