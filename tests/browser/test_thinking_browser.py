"""InternVL3.5's thinking in real Chromium: an imported answer's `<think>` part shows collapsed."""

from __future__ import annotations

import re

import pytest
from helpers import go, messages, upload

from model_backend.conversation import AnswerStats, Conversation
from model_backend.text.thinking import join
from tests.browser.conftest import screenshot

pytestmark = pytest.mark.browser


def test_an_answers_thinking_shows_collapsed_above_the_answer(page) -> None:
    # The demo model never thinks, so the answer comes in an export, as one from InternVL3.5 would.
    conversation = Conversation()
    turn = conversation.ask("Which is greater, 9.11 or 9.8?")
    turn.answer = join("Compare the tenths: 1 is less than 8, so 9.8 is greater.", "**9.8** is greater.")
    turn.stats = AnswerStats(new_tokens=30, thinking_tokens=21, tokens_per_s=20.0)
    go(page, "Image chat")
    page.get_by_role("button", name=re.compile("Import")).click()
    upload(page, "A JSON export", [("thinking.json", conversation.to_json().encode(), "application/json")])

    answer = messages(page).nth(1)
    section = answer.get_by_test_id("stExpander").filter(has_text="Thinking").first
    section.wait_for()
    thought = section.get_by_text("Compare the tenths", exact=False)
    assert not thought.is_visible()  # collapsed: the thinking is there, but hidden until opened
    assert answer.get_by_text("9.8 is greater.", exact=False).last.is_visible()
    assert "<think>" not in answer.inner_text()
    answer.get_by_text(re.compile("21 of them thinking")).first.wait_for()
    screenshot(page, "thinking-collapsed")

    section.get_by_text("Thinking", exact=True).click()
    thought.wait_for(state="visible")
    box = answer.get_by_text("9.8 is greater.", exact=False).last.bounding_box()
    assert section.bounding_box()["y"] < box["y"]  # the answer shows below the thinking
