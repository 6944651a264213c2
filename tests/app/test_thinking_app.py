"""A thinking answer in the chat: the `<think>` part in a collapsed "Thinking" section, the answer below."""

from __future__ import annotations

from fake_engine import FakeEngine

from tests.app.conftest import conversation_of, start


def test_thinking_streams_into_a_collapsed_section_above_the_answer() -> None:
    app = start("image", FakeEngine(["<think>", "step", "</think>", "\n\n", "Answer"]))
    app.chat_input[0].set_value("How many?").run()
    assert not app.exception, app.exception
    assistant = app.chat_message[1]
    (section,) = assistant.expander
    assert section.label == "Thinking"
    assert not section.proto.expanded  # collapsed until the user opens it
    assert [m.value for m in section.markdown] == ["step"]
    answers = [m.value for m in assistant.markdown if m.value == "Answer"]
    assert answers == ["Answer"]  # the answer itself, without the thinking or its tags
    assert not any("think>" in m.value for m in app.markdown)
    stats = conversation_of(app).turns[0].stats
    assert (stats.new_tokens, stats.thinking_tokens) == (5, 3)
    assert any("3 of them thinking" in c.value for c in app.caption)


def test_an_answer_without_thinking_has_no_thinking_section() -> None:
    app = start("image", FakeEngine(["Just ", "the answer"]))
    app.chat_input[0].set_value("Hi").run()
    assert not app.exception, app.exception
    assert not [e for e in app.chat_message[1].expander if e.label.startswith("Thinking")]
