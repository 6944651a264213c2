"""Thinking mode: the system prompt that switches it on, and an answer split into thinking and answer.

InternVL3.5 (Qwen3 LLMs) thinks when its system prompt asks it to, and then writes
`<think>…</think>` before the answer. `split(text)` separates the two parts of a finished or a
still-streaming answer, so the chat can show the thinking in a collapsed section while it
streams; `ThinkingCounter` counts how many of an answer's tokens were thinking.

>>> split("<think>Count the cats.</think>\\n\\nTwo cats.")
Split(thinking='Count the cats.', answer='Two cats.', still_thinking=False)
>>> split("<think>Count the")
Split(thinking='Count the', answer='', still_thinking=True)
>>> split("Two cats.")
Split(thinking='', answer='Two cats.', still_thinking=False)
"""

from __future__ import annotations

from typing import NamedTuple

THINK_OPEN = "<think>"
THINK_CLOSE = "</think>"

# The "Thinking System Prompt" of the InternVL3.5 model cards (huggingface.co/OpenGVLab/InternVL3_5-8B,
# section "InternVL3.5 Family": "To enable the Thinking mode of our model, please set the system prompt
# to R1_SYSTEM_PROMPT", which links to VLMEvalKit's vlmeval/vlm/internvl/internvl_chat.py, line 38);
# the same text is THINKING_SYSTEM_PROMPT in vLLM's InternVL3.5 recipe
# (docs.vllm.ai/projects/recipes/en/latest/InternVL/InternVL3_5.html). Verbatim, paragraphs unwrapped.
R1_SYSTEM_PROMPT = (
    "You are an AI assistant that rigorously follows this response protocol:\n\n"
    "1. First, conduct a detailed analysis of the question. Consider different angles, potential "
    "solutions, and reason through the problem step-by-step. Enclose this entire thinking process "
    "within <think> and </think> tags.\n\n"
    "2. After the thinking section, provide a clear, concise, and direct answer to the user's question. "
    "Separate the answer from the think section with a newline.\n\n"
    "Ensure that the thinking process is thorough but remains focused on the query. The final answer "
    "should be standalone and not reference the thinking section."
)


class Split(NamedTuple):
    """An answer's thinking (without the tags), its answer, and whether the thinking is still open."""

    thinking: str
    answer: str
    still_thinking: bool


def split(text: str) -> Split:
    """Separate `<think>…</think>` from the answer; works on a partial (streaming) answer too.

    - `<think>` with no `</think>` yet: all of it is thinking, `still_thinking` is True.
    - A start that may still become `<think>` (`"<thi"`) counts as thinking that has not begun.
    - `</think>` without an opening tag (a prompt that opened it): what comes before is thinking.
    - A `</think>` being streamed (`"…</thi"`) is held back from the thinking shown.
    Text without tags is all answer.
    """
    stripped = text.lstrip()
    if stripped and len(stripped) < len(THINK_OPEN) and THINK_OPEN.startswith(stripped):
        return Split("", "", True)
    close = text.find(THINK_CLOSE)
    if stripped.startswith(THINK_OPEN):
        body = stripped[len(THINK_OPEN) :]
        close = body.find(THINK_CLOSE)
        if close < 0:
            return Split(_hold_partial_close(body).strip(), "", True)
        return Split(body[:close].strip(), body[close + len(THINK_CLOSE) :].strip(), False)
    if close >= 0:
        return Split(text[:close].strip(), text[close + len(THINK_CLOSE) :].strip(), False)
    return Split("", text, False)


def join(thinking: str, answer: str) -> str:
    """The raw answer text that `split` takes apart again (used by exports and tests)."""
    return f"{THINK_OPEN}{thinking}{THINK_CLOSE}\n\n{answer}" if thinking else answer


def _hold_partial_close(body: str) -> str:
    for length in range(min(len(THINK_CLOSE) - 1, len(body)), 0, -1):
        if body.endswith(THINK_CLOSE[:length]):
            return body[:-length]
    return body


class ThinkingCounter:
    """Counts an answer's thinking tokens while it streams, piece by piece (constant work per piece).

    Feed it each piece and the number of new tokens so far. While the answer is thinking every
    token counts as thinking; once `</think>` shows up the count stops (the tags' own tokens
    count as thinking). An answer whose prompt opened the thinking (only `</think>` appears)
    counts everything up to that tag.

    >>> counter = ThinkingCounter()
    >>> for piece, tokens in [("<think>a", 2), (" b", 3), ("</think>", 5), ("Hi", 6)]:
    ...     counter.feed(piece, tokens)
    >>> counter.thinking_tokens
    5
    """

    def __init__(self) -> None:
        self.thinking_tokens = 0
        self._closed = False
        self._start = ""  # the answer's first characters, leading whitespace dropped
        self._tail = ""  # the last characters seen, to find a `</think>` split over pieces

    def feed(self, piece: str, new_tokens: int) -> None:
        if self._closed:
            return
        if len(self._start) < len(THINK_OPEN):
            self._start = (self._start + piece).lstrip()[: len(THINK_OPEN)]
        window = self._tail + piece
        self._tail = window[-(len(THINK_CLOSE) - 1) :]
        if THINK_CLOSE in window:
            self.thinking_tokens, self._closed = new_tokens, True
        elif self._start and THINK_OPEN.startswith(self._start):  # thinking (or `<think>` still arriving)
            self.thinking_tokens = new_tokens
        else:  # an answer that did not open with `<think>`: nothing so far was thinking
            self.thinking_tokens = 0
