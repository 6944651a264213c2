"""Who the visitor is, for keeping conversations apart: a login when there is one, else this browser.

Without accounts, each browser gets an unguessable id in a first-party cookie (SameSite=Strict,
one year). Streamlit reads cookies but cannot set them, so the id is written by a tiny script in
a same-origin `st.iframe`; until the browser sends it back (the next page load), the
session keeps the id it made.
"""

from __future__ import annotations

import json
import re

import streamlit as st

from model_backend.store import new_id

COOKIE = "internvl_studio_browser"
_OWNER = "owner"
_TOKEN = re.compile(r"^[A-Za-z0-9_-]{20,64}$")
_ONE_YEAR_S = 365 * 24 * 3600


def owner() -> str:
    """The owner key of this visitor's conversations."""
    known = st.session_state.get(_OWNER)
    if known is not None:
        return known
    user = _logged_in_user()
    if user is not None:
        key = f"user:{user}"
    else:
        token = st.context.cookies.get(COOKIE, "")
        if not isinstance(token, str) or not _TOKEN.match(token):
            token = new_id()
            st.session_state["set_browser_cookie"] = token
        key = f"browser:{token}"
    st.session_state[_OWNER] = key
    return key


def write_cookie() -> None:
    """Send a new browser id to the browser (call where an invisible element fits).

    It is drawn on every run of the session, not once: an element that appears on one run only
    shifts the ones after it, and Streamlit then shows a stale copy of them until the run ends,
    which while an answer streams is the whole answer.
    """
    token = st.session_state.get("set_browser_cookie")
    if token is None:
        st.empty()
        return
    cookie = f"{COOKIE}={token}; Max-Age={_ONE_YEAR_S}; Path=/; SameSite=Strict"
    st.iframe(f"<script>window.parent.document.cookie = {json.dumps(cookie)};</script>", height=1)


def _logged_in_user() -> str | None:
    try:
        if st.user.is_logged_in:
            return str(st.user.get("email") or st.user.get("sub"))
    except Exception:  # no auth configured: st.user has nothing to say
        return None
    return None
