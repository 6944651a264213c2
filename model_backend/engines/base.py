"""The one interface every engine answers: `stream(conversation, settings, stop) -> Answer`.

An `Answer` is lazy: iterating it streams text pieces, `text()` drains it, and `stats` is
complete once it has been drained (its `thinking_tokens` is counted here, for every engine).
The CLI, the pages and the benchmarks only consume this.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Protocol

from model_backend.conversation import AnswerStats, Conversation
from model_backend.errors import BackendError
from model_backend.settings import GenerationSettings
from model_backend.text.thinking import ThinkingCounter


class EngineError(BackendError, RuntimeError):
    """Answering failed; `text` is meant for the user (what happened, what to do), `detail` for a developer."""


class Answer:
    """Text pieces of one answer, streamed; `stats` fills in as they arrive.

    >>> answer = Answer(lambda stats: iter(["Hel", "lo"]))
    >>> answer.text()
    'Hello'
    """

    def __init__(self, produce: Callable[[AnswerStats], Iterator[str]]) -> None:
        self.stats = AnswerStats()
        self._pieces = produce(self.stats)
        self._text: list[str] = []
        self._thinking = ThinkingCounter()

    def __iter__(self) -> Iterator[str]:
        for piece in self._pieces:
            self._text.append(piece)
            self._count_thinking(piece)
            yield piece
        self._count_thinking("")  # the engine's final token count (an answer may end mid-thought)

    def _count_thinking(self, piece: str) -> None:
        # A server engine counts its tokens only at the end; until then each piece stands for one.
        self._thinking.feed(piece, max(self.stats.new_tokens, len(self._text)))
        self.stats.thinking_tokens = self._thinking.thinking_tokens

    def text(self) -> str:
        for _ in self:
            pass
        return "".join(self._text)


@dataclass(frozen=True)
class Capabilities:
    """What an engine does beyond `stream`, declared, so that callers never sniff for attributes."""

    #: Answers several prompts in one generate call (a batch run's batch size); a server batches on its own.
    batches: bool = False
    #: Keeps decoded tiles and vision features in this process: `vision.prepare` warms the next row's media.
    keeps_media: bool = False
    #: Prefills a conversation up to where the next question goes, while it is typed (`encode_ahead`).
    encodes_ahead: bool = False


#: An engine that only streams: a server, or a test's fake.
STREAM_ONLY = Capabilities()


class Engine(Protocol):
    """Answers the pending last turn of a conversation."""

    #: Shown next to answers; the demo checkpoint sets it because its answers are random.
    label: str
    capabilities: Capabilities

    def stream(self, conversation: Conversation, settings: GenerationSettings, stop: threading.Event) -> Answer:
        """Stream the answer to `conversation.pending()`. Setting `stop` ends it within a token or two."""
        ...

    def context_window(self) -> int | None:
        """The model's context length in tokens, where known."""
        ...
