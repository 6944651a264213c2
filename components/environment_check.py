"""Settings' environment section: the same report as `python -m model_backend doctor`.

It imports torch and waits up to ~2 s for the hub, so it runs only when asked (a button), never
on the page's first draw.
"""

from __future__ import annotations

import streamlit as st

ICONS = {"ok": ":material/check_circle:", "warning": ":material/warning:", "error": ":material/error:"}


def render() -> None:
    with st.expander("Environment check", icon=":material/stethoscope:"):
        st.caption("Python, torch and CUDA, GPUs, transformers, flash-attn, bitsandbytes, decord, disk, hub.")
        if not st.button("Run the check", key="run_doctor"):
            return
        from model_backend.doctor import run_checks

        with st.spinner("Checking…"):
            checks = run_checks()
        for check in checks:
            line = f"{ICONS.get(check.status, '')} **{check.name}**: {check.detail}"
            if check.advice:
                line += f"  \n{check.advice}"
            {"ok": st.markdown, "warning": st.warning, "error": st.error}.get(check.status, st.markdown)(line)
