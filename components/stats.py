"""Per-answer cost captions, their stage details, and the context meter."""

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
    if stats.thinking_tokens:
        parts.append(f"{stats.thinking_tokens} of them thinking")
    if stats.prompt_tokens is not None:
        visual = f" ({stats.visual_tokens:,} visual)" if stats.visual_tokens else ""
        parts.append(f"prompt {stats.prompt_tokens:,} tokens{visual}")
    if stats.tiles:
        tiles = "+".join(map(str, stats.tiles)) if len(stats.tiles) <= 8 else str(sum(stats.tiles))
        parts.append(f"tiles {tiles}")
    if stats.peak_gpu_memory_gb is not None:
        parts.append(f"peak GPU {stats.peak_gpu_memory_gb:.2f} GB")
    hits = int((stats.stages or {}).get("vision_cache_hits", 0))
    if hits:
        parts.append(f"vision features reused for {hits} image{'s' if hits > 1 else ''}")
    return " · ".join(parts)


def stage_rows(stats: AnswerStats) -> list[tuple[str, str, str]]:
    """(stage, time, detail) rows of where an answer's time went; empty when the engine gave no stages.

    >>> stage_rows(AnswerStats(new_tokens=3, stages={"preprocess_s": 0.01, "vision_encoder_s": 0.0,
    ...     "prefill_s": 0.2, "decode_s": 0.1, "vision_cache_hits": 1, "vision_cache_misses": 0,
    ...     "tiles_encoded": 0, "prefill_tokens": 300, "reused_tokens": 0}))[1]
    ('Vision encoder', '—', 'skipped: features of 1 image kept from an earlier turn')
    """
    stages = stats.stages
    if not stages:
        return []
    hits, misses = int(stages.get("vision_cache_hits", 0)), int(stages.get("vision_cache_misses", 0))
    tiles = int(stages.get("tiles_encoded", 0))
    if tiles:
        vision = f"{tiles} tile{'s' if tiles > 1 else ''} encoded"
        if hits:
            vision += f"; features of {hits} image{'s' if hits > 1 else ''} kept"
    elif hits:
        vision = f"skipped: features of {hits} image{'s' if hits > 1 else ''} kept from an earlier turn"
    else:
        vision = "no images"
    encoder_s = stages.get("vision_encoder_s", 0.0)
    computed, reused = int(stages.get("prefill_tokens", 0)), int(stages.get("reused_tokens", 0))
    return [
        ("Preprocessing", _seconds(stages.get("preprocess_s")), "media tiles, prompt and tokens"),
        ("Vision encoder", _seconds(encoder_s) if encoder_s else "—", vision),
        ("Prefill", _seconds(stages.get("prefill_s")), f"{computed:,} tokens computed, {reused:,} reused"),
        ("Decode", _seconds(stages.get("decode_s")), f"{stats.new_tokens:,} new tokens"),
        ("Vision cache", "", f"{hits} hit{'s' if hits != 1 else ''}, {misses} miss{'es' if misses != 1 else ''}"),
    ]


def show(stats: AnswerStats) -> None:
    """The cost caption under an answer, and its stage timings in a collapsed expander (a click opens it)."""
    st.caption(describe(stats))
    rows = stage_rows(stats)
    if rows:
        with st.expander("Where the time went", icon=":material/timer:"):
            table = ["| Stage | Time | |", "| --- | --- | --- |", *(f"| {a} | {b} | {c} |" for a, b, c in rows)]
            st.markdown("\n".join(table))


def _seconds(value: float | None) -> str:
    if value is None:
        return "—"
    return f"{value * 1000:.0f} ms" if value < 1 else f"{value:.2f} s"


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
