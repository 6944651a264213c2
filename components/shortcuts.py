"""Keyboard shortcuts: Esc stops the answer being written, as the Stop button does.

Streamlit has no keyboard API, so a same-origin `st.iframe` adds one key listener to the page
(once per browser tab: a flag on the document keeps reruns from adding more). It clicks the
Stop button (Stop both on the Compare page), so stopping goes through the button's own callback and nothing else.
"""

from __future__ import annotations

import streamlit as st

_SCRIPT = """<script>
const page = window.parent.document;
if (!page.__internvlStudioKeys) {
  page.__internvlStudioKeys = true;
  page.addEventListener("keydown", (event) => {
    if (event.key !== "Escape" || event.isComposing) return;
    const stop = page.querySelector(
      '[class*="st-key-stop_"] button:not([disabled]), .st-key-compare_stop button:not([disabled])'
    );
    if (stop) { event.preventDefault(); stop.click(); }
  });
}
</script>"""


def install() -> None:
    """Draw the listener (every run, so the sidebar keeps the same number of elements)."""
    st.iframe(_SCRIPT, height=1)
