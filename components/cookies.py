"""First-party cookies the app sets (the browser id, the UI language), written from one place.

Streamlit reads cookies but cannot set them, so `write` draws a tiny same-origin `st.iframe`
whose script sets the queued ones; the browser sends them back from the next page load.
"""

from __future__ import annotations

import json

import streamlit as st

_PENDING = "cookies_to_set"
_ONE_YEAR_S = 365 * 24 * 3600


def queue(name: str, value: str) -> None:
    """Set cookie `name` (one year, SameSite=Strict) on the next `write`."""
    st.session_state.setdefault(_PENDING, {})[name] = value


def write() -> None:
    """Draw the cookie writer (call where an invisible element fits).

    It is drawn on every run of the session, not once: an element that appears on one run only
    shifts the ones after it, and Streamlit then shows a stale copy of them until the run ends,
    which while an answer streams is the whole answer. The script stays the same after the
    cookies are set, so reruns do not reload the frame.
    """
    pending: dict[str, str] = st.session_state.get(_PENDING, {})
    if not pending:
        st.empty()
        return
    settings = f"Max-Age={_ONE_YEAR_S}; Path=/; SameSite=Strict"
    lines = [
        f"window.parent.document.cookie = {json.dumps(f'{name}={value}; {settings}')};"
        for name, value in sorted(pending.items())
    ]
    st.iframe(f"<script>{''.join(lines)}</script>", height=1)
