"""Who the visitor is, for keeping conversations apart: a login when there is one, else this browser.

Without OIDC accounts, a browser is known by a session token in a first-party cookie (see `cookies`)
that only the server mints and recognises (`model_backend.storage.sessions`): a cookie value the server never
issued, or one expired or revoked, stands for nobody, so an identity cannot be chosen. The session also
remembers the role a password login gave, so a reload or a new tab stays logged in until the user logs
out or the session expires; logging in rotates the token.
"""

from __future__ import annotations

import re

import streamlit as st

from components import cookies
from model_backend.storage.sessions import Role, Session, SessionStore
from model_backend.storage.store import ConversationStore, default_data_dir, new_id

COOKIE = "internvl_studio_browser"
_OWNER = "owner"
_SESSION = "identity_session"  # (token, Session) this browser presented or was given, or None
_LEGACY_ID = re.compile(r"^[A-Za-z0-9_-]{20,64}$")


@st.cache_resource(show_spinner=False, on_release=SessionStore.close)
def sessions() -> SessionStore:
    return SessionStore(default_data_dir())


@st.cache_resource(show_spinner=False, on_release=ConversationStore.close)
def _conversations() -> ConversationStore:
    """A read connection to the conversation store (SQLite in WAL mode takes several), to look up old ids."""
    return ConversationStore()


def current_session() -> Session | None:
    """The issued session this browser's cookie stands for (looked up once per Streamlit session)."""
    if _SESSION not in st.session_state:
        token = st.context.cookies.get(COOKIE)
        token = token if isinstance(token, str) else None
        found = sessions().lookup(token)
        st.session_state[_SESSION] = (token, found) if found is not None else None
        if found is None and token is not None:
            _adopt_legacy_id(token)
    held = st.session_state[_SESSION]
    return held[1] if held is not None else None


def owner() -> str:
    """The owner key of this visitor's conversations."""
    known = st.session_state.get(_OWNER)
    if known is not None:
        return known
    user = _logged_in_user()
    if user is not None:
        key = f"user:{user}"
    else:
        session = current_session()
        key = session.owner if session is not None else _start(f"browser:{new_id()}", role=None)
    st.session_state[_OWNER] = key
    return key


def log_in(role: Role, scope: str) -> None:
    """A password login: this browser keeps its conversations (when its cookie was one the server
    issued) under a new token that carries `role`; the old token stops working."""
    session = current_session()
    if session is not None:
        sessions().revoke(st.session_state[_SESSION][0])
    browser = session.owner if session is not None else f"browser:{new_id()}"
    st.session_state[_OWNER] = _start(browser, role, scope)


def log_out() -> None:
    """Revoke this browser's token and forget who it was; the next run asks for the password again."""
    held = st.session_state.get(_SESSION)
    if held is not None:
        sessions().revoke(held[0])
    cookies.forget(COOKIE)
    st.session_state.pop(_OWNER, None)
    st.session_state[_SESSION] = None  # looked up: nobody


def _adopt_legacy_id(value: str) -> None:
    """Before sessions, the cookie held the browser id itself. Such an id is taken over once, by the
    first browser that presents it, and only if conversations are stored under it: upgrading loses no
    one's list, and a value made up now owns nothing, so it gets nothing."""
    owner = f"browser:{value}"
    if not _LEGACY_ID.match(value) or sessions().ever_issued_to(owner):
        return
    if _conversations().list(owner):
        _start(owner, role=None)


def _start(browser: str, role: Role | None, scope: str = "") -> str:
    store = sessions()
    token = store.issue(browser, role, scope)
    st.session_state[_SESSION] = (token, store.lookup(token))
    cookies.queue(COOKIE, token, max_age_s=int(store.lifetime_s))
    return browser


def _logged_in_user() -> str | None:
    try:
        if st.user.is_logged_in:
            return str(st.user.get("email") or st.user.get("sub"))
    except Exception:  # no auth configured: st.user has nothing to say
        return None
    return None
