"""Chat habits in real Chromium: the action row on a phone-width screen, a long question folded,
and the answer's copy box."""

from __future__ import annotations

import pytest
from helpers import ask, messages, wait_answer_done, wait_idle

from tests.browser.conftest import screenshot

pytestmark = pytest.mark.browser

ACTIONS = ("Regenerate", "Edit last", "Clear", "Export", "Import")


def test_the_action_row_takes_at_most_two_lines_on_a_390_px_phone(browser, server) -> None:
    context = browser.new_context(viewport={"width": 390, "height": 844}, is_mobile=True, has_touch=True)
    tab = context.new_page()
    tab.set_default_timeout(60_000)
    try:
        tab.goto(server.url)
        # On a phone the sidebar starts closed; the page's own widgets say the app is up.
        tab.get_by_test_id("stChatInput").wait_for(timeout=180_000)
        tab.get_by_test_id("stChatInputTextArea").fill("Hello from a phone")
        tab.get_by_test_id("stChatInputTextArea").press("Enter")
        wait_answer_done(tab, 2)
        wait_idle(tab)  # the run that draws the finished answer's action row has ended
        boxes = []
        for label in ACTIONS:
            box = tab.get_by_role("button", name=label).locator("visible=true").first.bounding_box()
            assert box is not None and box["x"] + box["width"] <= 390, label
            boxes.append(box)
        # Buttons on one line share most of their height; a new line starts below the last one's middle.
        lines, bottom = 0, float("-inf")
        for box in sorted(boxes, key=lambda b: b["y"]):
            if box["y"] >= bottom:
                lines, bottom = lines + 1, box["y"] + box["height"] / 2
        assert lines <= 2, f"the five actions take {lines} lines: {[(b['x'], b['y']) for b in boxes]}"
        screenshot(tab, "phone-390px")
    finally:
        context.close()


def test_a_long_question_is_folded_and_opens_in_full(page) -> None:
    question = "\n".join(f"Line {n} of a very long question." for n in range(1, 61))
    ask(page, question)
    wait_answer_done(page, 2)
    shown = messages(page).nth(0)
    assert "Line 60 of" not in shown.inner_text()  # folded: only the beginning is drawn
    shown.get_by_text("Show all").click()
    shown.get_by_text("Line 60 of a very long question.").wait_for()


def test_an_answer_offers_its_text_to_copy(page) -> None:
    ask(page, "Say something I can copy")
    wait_answer_done(page, 2)
    answer = messages(page).nth(1)
    written = answer.get_by_test_id("stMarkdownContainer").first.inner_text()
    answer.get_by_role("button", name="Copy").click()
    copy_box = page.get_by_test_id("stPopoverBody").get_by_test_id("stCode").locator("visible=true").first
    copy_box.wait_for()
    assert " ".join(written.split()[:5]) in " ".join(copy_box.inner_text().split())
