"""First-party cookies the app sets (the browser id, the UI language), written from one place.

Streamlit reads cookies but cannot set them, so `write` draws a tiny same-origin `st.iframe`
whose script sets the queued ones; the browser sends them back from the next page load.
"""

from __future__ import annotations

import json

import streamlit as st

_PENDING = "cookies_to_set"
_ONE_YEAR_S = 365 * 24 * 3600


def queue(name: str, value: str, max_age_s: int = _ONE_YEAR_S) -> None:
    """Set cookie `name` (SameSite=Strict; Secure on https) on the next `write`."""
    st.session_state.setdefault(_PENDING, {})[name] = (value, max_age_s)


def forget(name: str) -> None:
    """Delete cookie `name` on the next `write`."""
    queue(name, "", max_age_s=0)


def write() -> None:
    """Draw the cookie writer (call where an invisible element fits).

    It is drawn on every run of the session, not once: an element that appears on one run only
    shifts the ones after it, and Streamlit then shows a stale copy of them until the run ends,
    which while an answer streams is the whole answer. The script stays the same after the
    cookies are set, so reruns do not reload the frame.
    """
    pending: dict[str, tuple[str, int]] = st.session_state.get(_PENDING, {})
    if not pending:
        st.empty()
        return
    # Set from a script, so never HttpOnly (Streamlit cannot send Set-Cookie); Secure whenever the page is https.
    secure = "(window.parent.location.protocol === 'https:' ? '; Secure' : '')"
    lines = [
        f"window.parent.document.cookie = {json.dumps(f'{name}={value}; Max-Age={age}; Path=/; SameSite=Strict')}"
        f" + {secure};"
        for name, (value, age) in sorted(pending.items())
    ]
    st.iframe(f"<script>{''.join(lines)}</script>", height=1)
