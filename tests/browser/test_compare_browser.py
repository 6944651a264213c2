"""The Compare page in real Chromium against `streamlit run` with the demo checkpoint.

A = this session's model (`demo`), B = the default demo of another family (`demo-qwen2_5`): both
answer the same uploaded picture, streaming in their two columns at the same time (two tiny
models fit in memory together), then the two stats lines and the word diff show; a follow-up
goes to both; a refresh shows the same comparison.
"""

from __future__ import annotations

import io

import pytest
from helpers import go, messages, upload, wait_idle
from PIL import Image, ImageDraw

from tests.browser.conftest import screenshot

pytestmark = pytest.mark.browser

ANSWER_TIMEOUT_S = 240
CURSOR = "▌"


def picture() -> bytes:
    image = Image.new("RGB", (200, 140), (60, 120, 200))
    ImageDraw.Draw(image).ellipse((40, 30, 120, 110), fill=(250, 200, 40))
    buffer = io.BytesIO()
    image.save(buffer, "PNG")
    return buffer.getvalue()


def texts(page) -> list[str]:
    """Every chat message's text, read in one step in the page: reading them one by one took long
    enough on a loaded machine for a short answer to finish between the reads."""
    return page.evaluate("() => Array.from(document.querySelectorAll('[data-testid=stChatMessage]'), m => m.innerText)")


def watch_both_streaming(page) -> None:
    """From now on, note in the page whether two answers ever show the streaming cursor at one moment
    (checked at every change the page makes, so a short answer cannot finish between two looks)."""
    page.evaluate(
        """(cursor) => {
          window.__bothStreaming = false;
          const check = () => {
            const streaming = Array.from(document.querySelectorAll("[data-testid=stChatMessage]"))
              .filter((message) => message.innerText.includes(cursor)).length;
            if (streaming >= 2) {
              window.__bothStreaming = true;
              observer.disconnect();
            }
          };
          const observer = new MutationObserver(check);
          observer.observe(document.body, { subtree: true, childList: true, characterData: true });
        }""",
        CURSOR,
    )


def wait_answers(page, answered: int) -> tuple[list[str], bool]:
    """Wait until `answered` answers carry their stats; also say whether both streamed at one moment."""
    page.wait_for_function(
        """(answered) => Array.from(document.querySelectorAll("[data-testid=stChatMessage]"))
          .filter((message) => message.innerText.includes("new tokens")).length >= answered""",
        arg=answered,
        timeout=ANSWER_TIMEOUT_S * 1000,
    )
    wait_idle(page)
    return texts(page), page.evaluate("() => window.__bothStreaming")


def test_two_demo_checkpoints_side_by_side(page) -> None:
    go(page, "Compare")
    page.get_by_text("Now: demo").first.wait_for()
    upload(page, "Upload one or more images", [("sun.png", picture(), "image/png")])
    page.get_by_text("sun.png").first.wait_for()

    box = page.get_by_test_id("stChatInputTextArea")
    box.fill("What is in the picture?")
    watch_both_streaming(page)
    box.press("Enter")
    shown, both_streaming = wait_answers(page, answered=2)
    assert both_streaming, "the two answers did not stream at the same time"
    assert page.get_by_text("Not enough memory for both at once").count() == 0

    # A's column: question, answer; then B's. The two answers differ (two checkpoints).
    assert len(shown) == 4 and all("What is in the picture?" in shown[i] for i in (0, 2))
    assert shown[1] != shown[3]
    page.get_by_text("Last answers compared").wait_for()
    page.get_by_text("Words in common:").wait_for()
    assert page.locator(".compare-diff").count() == 1
    assert page.locator(".compare-diff .diff-a").count() >= 1 and page.locator(".compare-diff .diff-b").count() >= 1
    assert page.get_by_text("Model A ·").count() == 1 and page.get_by_text("Model B ·").count() == 1
    # The app scrolls inside its own container: bring the two columns' first question to the top.
    messages(page).first.evaluate("element => element.scrollIntoView({block: 'start'})")
    screenshot(page, "compare")

    box.fill("And the colours?")
    watch_both_streaming(page)
    box.press("Enter")
    shown, _ = wait_answers(page, answered=4)
    assert len(shown) == 8
    assert "And the colours?" in shown[2] and "And the colours?" in shown[6]

    page.reload()
    page.get_by_role("heading", name="Compare").first.wait_for()
    wait_idle(page)
    after = texts(page)
    assert len(after) == 8 and "And the colours?" in after[6]
