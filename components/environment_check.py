"""Settings' environment section: the same report as `python -m model_backend doctor`, in the visitor's language.

It imports torch and waits up to ~2 s for the hub, so it runs only when asked (a button), never
on the page's first draw. The report is kept for the session, so it stays on screen while the
other settings change and follows a switch of language.
"""

from __future__ import annotations

import streamlit as st

from components import language
from components.language import t

ICONS = {"ok": ":material/check_circle:", "warning": ":material/warning:", "error": ":material/error:"}
#: Session key of the last report (a list of `model_backend.doctor.Check`: frozen, words as `Text`).
REPORT = "doctor_report"


def render() -> None:
    with st.expander(t("doctor.title"), icon=":material/stethoscope:", expanded=REPORT in st.session_state):
        st.caption(t("doctor.caption"))
        if st.button(t("doctor.run"), key="run_doctor"):
            from model_backend.doctor import run_checks

            with st.spinner(t("doctor.checking")):
                st.session_state[REPORT] = run_checks()
        for check in st.session_state.get(REPORT, ()):
            line = f"{ICONS.get(check.status, '')} **{_name(check.name)}**: {language.render(check.detail)}"
            if check.advice:
                line += f"  \n{language.render(check.advice)}"
            {"ok": st.markdown, "warning": st.warning, "error": st.error}.get(check.status, st.markdown)(line)


def _name(name: str) -> str:
    """The check's name in the visitor's language where it is a word (package names stay as they are)."""
    words = {
        "disk": t("doctor.name.disk"),
        "hub": t("doctor.name.hub"),
        "InternLM2 generate": t("doctor.name.generate"),
    }
    return words.get(name, name)
