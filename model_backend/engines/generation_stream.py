"""Between the local engine's generate thread and the reader of its answer: a streamer that also
times the new tokens and holds the vision stage's timing, a stopping criterion driven by events
(Stop, or the engine giving up), and the loop that reads the streamer's pieces.
"""

from __future__ import annotations

import queue
import threading
import time
from collections.abc import Iterator
from typing import Any

import torch
from transformers import StoppingCriteria

from model_backend.engines.text_streamer import ExactTextStreamer
from model_backend.engines.vision import VisionTiming


class TimedStreamer(ExactTextStreamer):
    """A TextIteratorStreamer that also counts new tokens and when they arrived, and the vision stage."""

    started = 0.0
    first_token_at: float | None = None
    last_token_at: float | None = None
    new_tokens = 0

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.vision = VisionTiming()

    def put(self, value: torch.Tensor) -> None:
        if not (self.skip_prompt and self.next_tokens_are_prompt):
            now = time.perf_counter()
            self.first_token_at = self.first_token_at or now
            self.last_token_at = now
            self.new_tokens += int(value.numel())
        super().put(value)


class EventStop(StoppingCriteria):
    """Ends generation after the current token once any of the events is set."""

    def __init__(self, *events: threading.Event) -> None:
        self.events = events

    def __call__(self, input_ids: torch.LongTensor, scores: torch.FloatTensor, **kwargs: Any) -> torch.BoolTensor:
        done = any(event.is_set() for event in self.events)
        return torch.full((input_ids.shape[0],), done, dtype=torch.bool, device=input_ids.device)


def streamed_pieces(streamer: TimedStreamer, stop: threading.Event) -> Iterator[str]:
    """The streamer's text until its end signal; returns early on `stop` even before the first token."""
    while True:
        try:
            yield next(streamer)
        except StopIteration:
            return
        except queue.Empty:
            if stop.is_set():
                return
