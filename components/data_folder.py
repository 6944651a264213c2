"""One clear page when the app's data folder cannot be used, instead of a traceback on every page."""

from __future__ import annotations

import streamlit as st

from components import identity, language, model_cache
from model_backend.storage.store import StoreError


def gate() -> None:
    """Open the stores (sessions, conversations); if the folder is read-only or missing, say so and stop.

    Nothing is cached when opening fails, so once the admin fixes the folder a reload works.
    """
    try:
        identity.sessions()
        model_cache.services()
    except StoreError as error:
        st.title("InternVL Studio")
        language.error(error)
        st.stop()
