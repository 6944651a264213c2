"""Per-answer cost captions and the context meter."""

from __future__ import annotations

import streamlit as st

from model_backend.conversation import AnswerStats, Conversation
from model_backend.engines.base import Engine
from model_backend.settings import GenerationSettings


def describe(stats: AnswerStats) -> str:
    """One line such as `first token 0.21 s · 35.2 tokens/s · prompt 1,304 tokens (1,280 visual)`."""
    parts: list[str] = []
    if stats.time_to_first_token_s is not None:
        parts.append(f"first token {stats.time_to_first_token_s:.2f} s")
    if stats.tokens_per_s is not None:
        parts.append(f"{stats.tokens_per_s:.1f} tokens/s")
    parts.append(f"{stats.new_tokens} new tokens")
    if stats.prompt_tokens is not None:
        visual = f" ({stats.visual_tokens:,} visual)" if stats.visual_tokens else ""
        parts.append(f"prompt {stats.prompt_tokens:,} tokens{visual}")
    if stats.tiles:
        tiles = "+".join(map(str, stats.tiles)) if len(stats.tiles) <= 8 else str(sum(stats.tiles))
        parts.append(f"tiles {tiles}")
    if stats.peak_gpu_memory_gb is not None:
        parts.append(f"peak GPU {stats.peak_gpu_memory_gb:.2f} GB")
    return " · ".join(parts)


def context_meter(conversation: Conversation, engine: Engine | None, settings: GenerationSettings) -> None:
    """How full the context window is: the last prompt plus the answer budget, against the window."""
    window = engine.context_window() if engine is not None else None
    if not window:
        return
    prompts = [t.stats.prompt_tokens for t in conversation.turns if t.stats and t.stats.prompt_tokens]
    last_prompt = prompts[-1] if prompts else 0
    used = last_prompt + settings.max_new_tokens
    st.progress(
        min(used / window, 1.0),
        text=f"Context: {last_prompt:,} prompt + {settings.max_new_tokens:,} answer budget of {window:,} tokens",
    )
    if used > window:
        st.warning("The next question may not fit the context window: clear the conversation or lower max tokens.")
