"""An Engine that replays queued answers, to drive the pages fast and deterministically."""

from __future__ import annotations

import threading
from collections.abc import Iterator

from model_backend.conversation import AnswerStats, Conversation, PromptPlan
from model_backend.engines.base import STREAM_ONLY, Answer
from model_backend.settings import GenerationSettings


class FakeEngine:
    label = "fake engine"
    capabilities = STREAM_ONLY

    def __init__(self, *replies: list[str], window: int | None = 8192, fail: Exception | None = None) -> None:
        self.replies = [list(r) for r in replies]
        self.window = window
        self.fail = fail
        self.prompts: list[PromptPlan] = []

    def context_window(self) -> int | None:
        return self.window

    def stream(self, conversation: Conversation, settings: GenerationSettings, stop: threading.Event) -> Answer:
        plan = conversation.build_prompt(settings.max_tiles)
        self.prompts.append(plan)
        if self.fail is not None:
            raise self.fail
        pieces = self.replies.pop(0) if self.replies else ["fake", " answer"]

        def produce(stats: AnswerStats) -> Iterator[str]:
            stats.prompt_tokens = 100 + len(plan.media) * 256
            stats.visual_tokens = len(plan.media) * 256
            stats.time_to_first_token_s = 0.01
            for piece in pieces:
                if stop.is_set():
                    return
                stats.new_tokens += 1
                yield piece
            stats.tokens_per_s = 100.0

        return Answer(produce)
