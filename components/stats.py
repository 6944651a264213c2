"""Per-answer cost captions, their stage details, and the context meter.

`describe` and `stage_rows` take the language (English by default) so they also serve code
without a browser behind it; the Streamlit parts use the visitor's.
"""

from __future__ import annotations

import streamlit as st

from components import language
from components.language import t
from i18n import DEFAULT_LANGUAGE, text
from model_backend.conversation import AnswerStats, Conversation
from model_backend.engines.base import Engine
from model_backend.settings import GenerationSettings


def describe(stats: AnswerStats, lang: str = DEFAULT_LANGUAGE) -> str:
    """One line such as `first token 0.21 s · 35.2 tokens/s · prompt 1,304 tokens (1,280 visual)`."""
    parts: list[str] = []
    if stats.time_to_first_token_s is not None:
        parts.append(text(lang, "stats.first_token", seconds=f"{stats.time_to_first_token_s:.2f}"))
    if stats.tokens_per_s is not None:
        parts.append(text(lang, "stats.speed", rate=f"{stats.tokens_per_s:.1f}"))
    if stats.counted_from_stream:
        parts.append(text(lang, "stats.new_pieces", count=stats.new_tokens))
    else:
        parts.append(text(lang, "stats.new_tokens", count=stats.new_tokens))
    if stats.thinking_tokens:
        parts.append(text(lang, "stats.thinking_tokens", count=stats.thinking_tokens))
    if stats.prompt_tokens is not None:
        tokens = f"{stats.prompt_tokens:,}"
        if stats.visual_tokens:
            parts.append(text(lang, "stats.prompt_visual", tokens=tokens, visual=f"{stats.visual_tokens:,}"))
        else:
            parts.append(text(lang, "stats.prompt", tokens=tokens))
    elif stats.counted_from_stream:
        parts.append(text(lang, "stats.prompt_unreported"))
    if stats.tiles:
        tiles = "+".join(map(str, stats.tiles)) if len(stats.tiles) <= 8 else str(sum(stats.tiles))
        parts.append(text(lang, "stats.tiles", tiles=tiles))
    if stats.peak_gpu_memory_gb is not None:
        parts.append(text(lang, "stats.peak_gpu", memory=f"{stats.peak_gpu_memory_gb:.2f}"))
    hits = int((stats.stages or {}).get("vision_cache_hits", 0))
    if hits:
        parts.append(text(lang, "stats.reused_one") if hits == 1 else text(lang, "stats.reused_many", count=hits))
    reused = int((stats.stages or {}).get("reused_tokens", 0))
    if reused:
        parts.append(text(lang, "stats.prompt_reused", count=f"{reused:,}"))
    return " · ".join(parts)


def stage_rows(stats: AnswerStats, lang: str = DEFAULT_LANGUAGE) -> list[tuple[str, str, str]]:
    """(stage, time, detail) rows of where an answer's time went; empty when the engine gave no stages.

    >>> stage_rows(AnswerStats(new_tokens=3, stages={"preprocess_s": 0.01, "vision_encoder_s": 0.0,
    ...     "prefill_s": 0.2, "decode_s": 0.1, "vision_cache_hits": 1, "vision_cache_misses": 0,
    ...     "tiles_encoded": 0, "prefill_tokens": 300, "reused_tokens": 0}))[1]
    ('Vision encoder', '—', 'skipped: features of 1 image kept from an earlier turn or while the question was typed')
    """
    stages = stats.stages
    if not stages:
        return []
    hits, misses = int(stages.get("vision_cache_hits", 0)), int(stages.get("vision_cache_misses", 0))
    tiles = int(stages.get("tiles_encoded", 0))
    kept = text(lang, "stats.features_kept_one") if hits == 1 else text(lang, "stats.features_kept_many", count=hits)
    if tiles:
        encoded = (
            text(lang, "stats.tiles_encoded_one") if tiles == 1 else text(lang, "stats.tiles_encoded_many", count=tiles)
        )
        vision = text(lang, "stats.encoded_and_kept", encoded=encoded, kept=kept) if hits else encoded
    elif hits:
        vision = text(lang, "stats.vision_skipped", kept=kept)
    else:
        vision = text(lang, "stats.no_images")
    encoder_s = stages.get("vision_encoder_s", 0.0)
    computed, reused = int(stages.get("prefill_tokens", 0)), int(stages.get("reused_tokens", 0))
    cache = text(
        lang,
        "stats.cache_detail",
        hits=text(lang, "stats.cache_hits_one") if hits == 1 else text(lang, "stats.cache_hits_many", count=hits),
        misses=(
            text(lang, "stats.cache_misses_one") if misses == 1 else text(lang, "stats.cache_misses_many", count=misses)
        ),
    )
    return [
        (text(lang, "stats.preprocess"), _seconds(stages.get("preprocess_s")), text(lang, "stats.preprocess_detail")),
        (text(lang, "stats.vision"), _seconds(encoder_s) if encoder_s else "—", vision),
        (
            text(lang, "stats.prefill"),
            _seconds(stages.get("prefill_s")),
            text(lang, "stats.prefill_detail", computed=f"{computed:,}", reused=f"{reused:,}"),
        ),
        (
            text(lang, "stats.decode"),
            _seconds(stages.get("decode_s")),
            text(lang, "stats.new_tokens", count=f"{stats.new_tokens:,}"),
        ),
        (text(lang, "stats.cache"), "", cache),
    ]


def show(stats: AnswerStats) -> None:
    """The cost caption under an answer, and its stage timings in a collapsed expander (a click opens it)."""
    lang = language.current()
    st.caption(describe(stats, lang))
    rows = stage_rows(stats, lang)
    if rows:
        with st.expander(t("stats.where_time"), icon=":material/timer:"):
            header = f"| {t('stats.column_stage')} | {t('stats.column_time')} | |"
            table = [header, "| --- | --- | --- |", *(f"| {a} | {b} | {c} |" for a, b, c in rows)]
            st.markdown("\n".join(table))


def _seconds(value: float | None) -> str:
    if value is None:
        return "—"
    return f"{value * 1000:.0f} ms" if value < 1 else f"{value:.2f} s"


def context_meter(conversation: Conversation, engine: Engine | None, settings: GenerationSettings) -> None:
    """How full the context window is: the last prompt plus the answer budget, against the window.

    A prompt is counted only when its answer ends, so while a question waits or its answer
    streams the meter says it is counting instead of showing an older (or zero) prompt size.
    """
    window = engine.context_window() if engine is not None else None
    if not window:
        return
    turns = conversation.turns
    prompts = [turn.stats.prompt_tokens for turn in turns if turn.stats and turn.stats.prompt_tokens]
    last_prompt = prompts[-1] if prompts else 0
    budget = settings.max_new_tokens
    if turns and not turns[-1].answered and turns[-1].error is None:
        prompt = t("stats.context_counting")  # the bar keeps the earlier prompt: a lower bound
    elif prompts or not any(turn.answered for turn in turns):
        prompt = t("stats.context_prompt", tokens=f"{last_prompt:,}")
    else:
        prompt = t("stats.context_uncounted")  # answers without stats (an older export)
    used = last_prompt + budget
    st.progress(
        min(used / window, 1.0), text=t("stats.context", prompt=prompt, budget=f"{budget:,}", window=f"{window:,}")
    )
    if used > window:
        st.warning(t("stats.context_full"))
