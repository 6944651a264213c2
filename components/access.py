"""The login gate and the session's role (see `model_backend.serving.access` for the policy).

Streamlit's own OIDC login (`st.login`) is used when `[auth]` is configured in
`.streamlit/secrets.toml`; else a shared password from the environment, if one is set; else
there is no gate and the local user is an admin (the app then listens on 127.0.0.1 only).
"""

from __future__ import annotations

import streamlit as st
from streamlit.runtime.scriptrunner import get_script_run_ctx

from components import cookies, identity
from components.language import t
from model_backend.serving.access import AccessPolicy, AttemptLimiter, Role, client_key

ROLE = "role"


@st.cache_resource(show_spinner=False)
def _limiter() -> AttemptLimiter:
    return AttemptLimiter()


def policy() -> AccessPolicy:
    return AccessPolicy.from_env()


def gate() -> None:
    """Stop the run with a login form until the visitor is let in; then remember their role."""
    rules = policy()
    if _oidc_configured():
        if not st.user.is_logged_in:
            st.title("InternVL Studio")
            st.button(t("access.log_in"), type="primary", on_click=st.login, icon=":material/login:")
            st.stop()
        st.session_state[ROLE] = rules.role_for_email(st.user.get("email"))
        st.sidebar.button(t("access.log_out"), on_click=st.logout, key="logout")
    elif rules.password or rules.admin_password:
        if ROLE not in st.session_state:
            session = identity.current_session()
            if session is not None and session.role is not None and session.scope == rules.login_scope():
                st.session_state[ROLE] = session.role  # logged in before, in this browser: a reload or a new tab
            else:
                _password_form(rules)
                cookies.write()  # a logout's cookie removal, drawn while the form shows
                st.stop()
        st.sidebar.button(t("access.log_out"), on_click=_log_out, key="logout", icon=":material/logout:")
    else:
        st.session_state[ROLE] = "admin"


def role() -> Role:
    return st.session_state.get(ROLE, "user")


def is_admin() -> bool:
    return role() == "admin"


def _password_form(rules: AccessPolicy) -> None:
    st.title("InternVL Studio")
    with st.form("login"):
        given = st.text_input(t("access.password"), type="password")
        submitted = st.form_submit_button(t("access.enter"), type="primary")
    if not submitted:
        return
    client = _client(rules)
    wait = _limiter().wait_s(client)
    if wait > 0:
        st.error(t("access.too_many", seconds=f"{wait:.0f}"))
        return
    granted = rules.check_password(given)
    if granted is None:
        _limiter().failed(client)
        st.error(t("access.wrong_password"))
        return
    _limiter().succeeded(client)
    identity.log_in(granted, rules.login_scope())
    st.session_state[ROLE] = granted
    st.rerun()


def _log_out() -> None:
    identity.log_out()
    st.session_state.pop(ROLE, None)


def _client(rules: AccessPolicy) -> str:
    """This visitor's throttling key: their address (as a trusted proxy reports it), else this session."""
    ctx = get_script_run_ctx()
    session = ctx.session_id if ctx is not None else "no-session"
    forwarded = st.context.headers.get("X-Forwarded-For")
    return client_key(st.context.ip_address, forwarded, session, rules.trusted_proxies)


def _oidc_configured() -> bool:
    try:
        return "auth" in st.secrets
    except Exception:  # no secrets file at all
        return False
