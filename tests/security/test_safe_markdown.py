"""Untrusted text never draws an image: every escape trick, checked by a CommonMark parser (markdown-it-py)."""

from __future__ import annotations

import pytest
from markdown_it import MarkdownIt

from components.safe_markdown import has_image, plain_label, safe_markdown
from tests.security.tricks import TRICKS, URL


@pytest.mark.parametrize("trick", sorted(TRICKS))
def test_no_image_survives(trick: str) -> None:
    text = TRICKS[trick]
    assert has_image(text)  # the trick really is an image to a CommonMark renderer
    safe = safe_markdown(text)
    assert not has_image(safe)
    assert URL in safe  # still there as a link to click, so nothing is hidden from the reader


@pytest.mark.parametrize(
    "text",
    [
        f"\\![x]({URL})",  # an escaped `!`: already a link
        f"`![x]({URL})` in code",
        f"```\n![x]({URL})\n```",
        "**bold**, a [link](http://example.org), <img src=x> as text",
    ],
)
def test_text_without_an_image_is_left_as_written(text: str) -> None:
    assert not has_image(text)
    assert safe_markdown(text) == text


def test_images_become_links_named_in_the_visitors_language() -> None:
    assert safe_markdown(f"![猫]({URL})", "图片") == f"[图片: 猫]({URL})"


@pytest.mark.parametrize("title", [*TRICKS.values(), "**Hi** :red[x] :material/home: `code` <b>", "a_b.jpg"])
def test_a_plain_label_is_never_markdown(title: str) -> None:
    label = plain_label(title)
    assert not has_image(label)
    blocks = MarkdownIt("commonmark").enable(["table", "strikethrough"]).parse(label)
    runs = [child for block in blocks if block.type == "inline" for child in block.children or ()]
    # Drawn, it is exactly the title: plain text runs, nothing bold, linked, coded or listed.
    assert {run.type for run in runs} <= {"text", "softbreak"}
    assert {block.type for block in blocks} <= {"paragraph_open", "inline", "paragraph_close"}
    assert "".join(run.content for run in runs) == title.replace("\n", "")
