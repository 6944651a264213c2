"""Who the visitor is, for keeping conversations apart: a login when there is one, else this browser.

Without accounts, each browser gets an unguessable id in a first-party cookie (see `cookies`);
until the browser sends it back (the next page load), the session keeps the id it made.
"""

from __future__ import annotations

import re

import streamlit as st

from components import cookies
from model_backend.store import new_id

COOKIE = "internvl_studio_browser"
_OWNER = "owner"
_TOKEN = re.compile(r"^[A-Za-z0-9_-]{20,64}$")


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
            cookies.queue(COOKIE, token)
        key = f"browser:{token}"
    st.session_state[_OWNER] = key
    return key


def _logged_in_user() -> str | None:
    try:
        if st.user.is_logged_in:
            return str(st.user.get("email") or st.user.get("sub"))
    except Exception:  # no auth configured: st.user has nothing to say
        return None
    return None
