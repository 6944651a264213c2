"""Thinking mode: the split of a (streaming) answer, its token count, the prompt it sends, exports."""

from __future__ import annotations

import json

import pytest

from model_backend.checkpoints.catalog import find_entry
from model_backend.checkpoints.thinking_mode import has_thinking_mode, supports_thinking
from model_backend.conversation import AnswerStats, Conversation
from model_backend.engines.base import Answer
from model_backend.settings import GenerationSettings
from model_backend.text.grounding import answer_boxes
from model_backend.text.thinking import (
    R1_SYSTEM_PROMPT,
    Split,
    ThinkingCounter,
    join,
    split,
)


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("<think>\nLook at it.\n</think>\n\nA cat.", Split("Look at it.", "A cat.", False)),
        ("  <think>a</think>b", Split("a", "b", False)),
        ("<think>Look at", Split("Look at", "", True)),
        ("<think>Look at it.</thi", Split("Look at it.", "", True)),  # the closing tag is still arriving
        ("<thi", Split("", "", True)),  # the opening tag is still arriving
        ("Look at it.</think>A cat.", Split("Look at it.", "A cat.", False)),  # the prompt opened <think>
        ("A cat.", Split("", "A cat.", False)),
        ("<ref>cat</ref><box>[[1, 2, 3, 4]]</box>", Split("", "<ref>cat</ref><box>[[1, 2, 3, 4]]</box>", False)),
        ("", Split("", "", False)),
    ],
)
def test_split_separates_thinking_and_answer_also_while_streaming(text, expected):
    assert split(text) == expected


def test_every_prefix_of_a_streamed_answer_shows_no_tag_and_grows_monotonically():
    text = join("step one, step two", "The answer.")
    shown_thinking = shown_answer = ""
    for end in range(1, len(text) + 1):
        parts = split(text[:end])
        assert "<" not in parts.thinking and "think>" not in parts.answer
        assert parts.thinking.startswith(shown_thinking.strip()) or not shown_thinking
        assert parts.answer.startswith(shown_answer) or not shown_answer
        shown_thinking, shown_answer = parts.thinking, parts.answer
    assert (shown_thinking, shown_answer) == ("step one, step two", "The answer.")


def _pieces(*pieces: str):
    def produce(stats: AnswerStats):
        for piece in pieces:
            stats.new_tokens += 1
            yield piece

    return produce


def test_answer_counts_thinking_tokens_separately():
    answer = Answer(_pieces("<think>", "step", " one", "</think>", "\n\n", "Answer"))
    assert answer.text() == "<think>step one</think>\n\nAnswer"
    assert (answer.stats.new_tokens, answer.stats.thinking_tokens) == (6, 4)


def test_a_closing_tag_split_over_pieces_ends_the_count_where_it_completes():
    answer = Answer(_pieces("<thi", "nk>a", " b</th", "ink>", "Hi", " there"))
    answer.text()
    assert answer.stats.thinking_tokens == 4


def test_an_answer_without_thinking_counts_none_even_if_it_starts_like_a_tag():
    answer = Answer(_pieces("<", "ref>cat</ref>", "<box>[[1,2,3,4]]</box>"))
    answer.text()
    assert answer.stats.thinking_tokens == 0


def test_an_answer_stopped_mid_thought_is_all_thinking():
    answer = Answer(_pieces("<think>", "still", " going"))
    answer.text()
    assert answer.stats.thinking_tokens == answer.stats.new_tokens == 3


def test_counter_uses_the_engines_token_count_not_the_pieces():
    counter = ThinkingCounter()
    for piece, tokens in [("<think>ab", 5), ("c</think>", 9), ("answer", 20)]:
        counter.feed(piece, tokens)
    assert counter.thinking_tokens == 9


def test_thinking_prompt_is_the_cards_text_and_folds_into_the_system_prompt():
    assert R1_SYSTEM_PROMPT.startswith("You are an AI assistant that rigorously follows this response protocol:\n\n1.")
    assert "Enclose this entire thinking process within <think> and </think> tags." in R1_SYSTEM_PROMPT
    assert R1_SYSTEM_PROMPT.endswith("The final answer should be standalone and not reference the thinking section.")
    assert GenerationSettings().system_message() is None
    assert GenerationSettings(system_prompt="Be brief.").system_message() == "Be brief."
    assert GenerationSettings(thinking=True).system_message() == R1_SYSTEM_PROMPT
    assert GenerationSettings(thinking=True, system_prompt="Be brief.").system_message() == (
        R1_SYSTEM_PROMPT + "\n\nBe brief."
    )


def test_which_checkpoints_have_a_thinking_mode(tmp_path):
    assert supports_thinking(find_entry("InternVL3_5-8B"))
    assert not supports_thinking(find_entry("InternVL3-8B"))
    assert supports_thinking(None, {"llm_config": {"architectures": ["Qwen3ForCausalLM"]}})
    assert not supports_thinking(None, {"llm_config": {"architectures": ["Qwen2ForCausalLM"]}})
    assert has_thinking_mode("OpenGVLab/InternVL3_5-2B") and not has_thinking_mode("InternVL2-1B")
    assert has_thinking_mode("demo-qwen3") and not has_thinking_mode("demo-phi3") and not has_thinking_mode("demo")
    folder = tmp_path / "my-finetune"
    folder.mkdir()
    (folder / "config.json").write_text(json.dumps({"llm_config": {"architectures": ["Qwen3MoeForCausalLM"]}}))
    assert has_thinking_mode(str(folder))
    assert not has_thinking_mode(str(tmp_path / "missing")) and not has_thinking_mode("")


def test_grounding_draws_only_the_answers_boxes():
    text = join("maybe <box>[[0, 0, 10, 10]]</box>?", "<ref>cat</ref><box>[[10, 20, 500, 600]]</box>")
    assert [(b.label, b.x1) for b in answer_boxes(text)] == [("cat", 10)]


def _thought_conversation() -> Conversation:
    conversation = Conversation()
    turn = conversation.ask("How many cats?")
    turn.answer = join("I count them.", "Two cats.")
    turn.stats = AnswerStats(new_tokens=9, thinking_tokens=6)
    return conversation


def test_markdown_export_puts_the_thinking_in_a_collapsed_section_above_the_answer():
    markdown = _thought_conversation().to_markdown()
    assert "<details><summary>Thinking</summary>\n\nI count them.\n\n</details>" in markdown
    assert "**Assistant:** Two cats." in markdown
    assert markdown.index("I count them.") < markdown.index("Two cats.")
    assert "<think>" not in markdown


def test_json_export_keeps_both_parts_and_the_thinking_tokens():
    restored = Conversation.from_json(_thought_conversation().to_json())
    assert split(restored.turns[0].answer) == Split("I count them.", "Two cats.", False)
    assert restored.turns[0].stats.thinking_tokens == 6


def test_exports_made_before_thinking_tokens_still_load():
    document = json.loads(_thought_conversation().to_json())
    del document["turns"][0]["stats"]["thinking_tokens"]
    restored = Conversation.from_json(json.dumps(document))
    assert restored.turns[0].stats.thinking_tokens == 0 and restored.turns[0].stats.new_tokens == 9
