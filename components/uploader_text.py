"""Streamlit's own words in its file uploaders ("Upload", "200MB per file", "Drag and drop a file
here"), in the visitor's language.

Streamlit draws them in English and has no setting for them, so for a language other than
English one style sheet (drawn once per run, from the sidebar) hides those words and shows the
table's instead, with CSS only: each piece is found by the `data-testid` Streamlit gives it
(`stFileUploaderDropzone`, its button, `stFileUploaderDropzoneInstructions`), which are the
hooks Streamlit's own tests use (Streamlit is pinned to 1.67.*; `tests/browser/test_language_browser.py`
reads the words on screen, so an upgrade that renames them fails there). The accepted types of
an uploader come from its key's prefix below; an uploader not listed shows the size limit alone.
"""

from __future__ import annotations

import streamlit as st

from components.language import current, t
from components.media import IMAGE_TYPES
from components.video_input import VIDEO_TYPES

#: Uploader key prefixes (`st-key-<key>` classes) and the file types they take.
TYPES_BY_KEY = {
    "upload_": IMAGE_TYPES,
    "uploads_": IMAGE_TYPES,
    "compare_images": IMAGE_TYPES,
    "video_": VIDEO_TYPES,
    "import_": ["json"],
}
_SAME = {"jpeg": "jpg", "tiff": "tif"}  # as Streamlit lists them: one name per format
_DROPZONE = '[data-testid="stFileUploaderDropzone"]'
_BUTTON = f'{_DROPZONE} [data-testid="stBaseButton-secondary"] [data-testid="stMarkdownContainer"] p'
_LIMIT = '[data-testid="stFileUploaderDropzoneInstructions"] span'
_SIZE = "0.875rem"  # Streamlit's size for both (14 px)


def _types(types: list[str]) -> str:
    return ", ".join(dict.fromkeys(_SAME.get(kind, kind).upper() for kind in types))


def _quoted(words: str) -> str:
    return '"' + words.replace("\\", "\\\\").replace('"', '\\"') + '"'


def style_sheet() -> str | None:
    """The CSS that words the uploaders in the visitor's language (None in English: Streamlit's own)."""
    if current() == "en":
        return None
    limit = t("uploader.limit", size=f"{st.get_option('server.maxUploadSize')}MB")
    rules = [
        f"{_BUTTON}, {_LIMIT} {{ font-size: 0; }}",
        f"{_BUTTON}::after {{ content: {_quoted(t('uploader.button'))}; font-size: {_SIZE}; }}",
        f"{_LIMIT}::after {{ content: {_quoted(limit)}; font-size: {_SIZE}; }}",
    ]
    for prefix, types in TYPES_BY_KEY.items():
        words = t("uploader.limit_types", limit=limit, types=_types(types))
        rules.append(f'[class*="st-key-{prefix}"] {_LIMIT}::after {{ content: {_quoted(words)}; }}')
    return "\n".join(rules)


def install() -> None:
    """Draw the style sheet (an element of no size); nothing in English."""
    css = style_sheet()
    if css is not None:
        st.html(f"<style>\n{css}\n</style>")
