"""Answers that run on the server, owned by their conversation rather than by a browser tab.

An `AnswerRun` streams one answer on its own thread: it waits its turn for the model (at most
`max_concurrent` answers per model, first come first served), then writes the text into the
turn, saving the partial answer as it grows. Pages only look at it: leaving the page, refreshing
or closing the tab changes nothing; only `stop()` ends it, within a token or two.

>>> runs = RunRegistry(factory, max_concurrent=2)                         # doctest: +SKIP
>>> run = runs.start("conv-1", conversation, settings, spec, save)       # doctest: +SKIP
>>> run.wait_done(60); conversation.turns[-1].answer                       # doctest: +SKIP
"""

from __future__ import annotations

import logging
import threading
import time
from collections import deque
from collections.abc import Callable, Hashable
from dataclasses import dataclass

from i18n import ExplainedError, Text
from model_backend.conversation import Conversation, ConversationError, Turn
from model_backend.serving.factory import EngineFactory, Target
from model_backend.settings import GenerationSettings

log = logging.getLogger(__name__)
#: How often a growing answer is written to the store.
SAVE_EVERY_S = 0.5
DEFAULT_MAX_CONCURRENT = 2

#: `save(conversation, streaming_turn, partial_text)`; raises to report that the answer could not be kept.
Saver = Callable[[Conversation, "Turn | None", str], None]


@dataclass(frozen=True)
class RunView:
    """What a page draws for a run at one moment."""

    text: str
    done: bool
    ahead: int  # answers in line before this one (0 once it is generating)
    status: str  # "waiting", "loading", "streaming", "done"


class FairQueue:
    """At most `cap` generations per model at once; the rest wait in arrival order."""

    def __init__(self, cap: int) -> None:
        self.cap = max(1, cap)
        self._cond = threading.Condition()
        self._running: dict[Hashable, int] = {}
        self._waiting: dict[Hashable, deque[object]] = {}

    def enter(self, key: Hashable, ticket: object, stop: threading.Event) -> bool:
        """Block until `ticket` may generate on `key`; False when `stop` was set while waiting."""
        with self._cond:
            line = self._waiting.setdefault(key, deque())
            line.append(ticket)
            try:
                while not (line[0] is ticket and self._running.get(key, 0) < self.cap):
                    if stop.is_set():
                        return False
                    self._cond.wait(0.1)
                self._running[key] = self._running.get(key, 0) + 1
                return True
            finally:
                line.remove(ticket)
                if not line:
                    self._waiting.pop(key, None)
                self._cond.notify_all()

    def leave(self, key: Hashable) -> None:
        with self._cond:
            self._running[key] -= 1
            if not self._running[key]:
                del self._running[key]
            self._cond.notify_all()

    def ahead(self, key: Hashable, ticket: object) -> int:
        """Answers that go before `ticket`: those generating now and those earlier in line."""
        with self._cond:
            line = self._waiting.get(key, deque())
            if ticket not in line:
                return 0
            return list(line).index(ticket) + self._running.get(key, 0)


class AnswerRun:
    """One answer being written into `turn` on a server thread."""

    def __init__(
        self,
        conversation: Conversation,
        settings: GenerationSettings,
        target: Target,
        factory: EngineFactory,
        queue: FairQueue,
        save: Saver,
    ) -> None:
        self.conversation, self.turn = conversation, conversation.pending()
        self._settings, self._target, self._factory, self._queue, self._save = settings, target, factory, queue, save
        self._stop = threading.Event()
        self._changed = threading.Condition()
        self._pieces: list[str] = []
        self._status = "waiting"
        self._done = False
        #: Set when the store refused the answer (e.g. quota): the error itself, so the page shows it in the
        #: visitor's language with its detail; the answer is still on screen.
        self.save_error: Exception | None = None
        self._thread = threading.Thread(target=self._work, name="answer-run", daemon=True)
        #: When the question was sent: the first token's time counts from here, as the user waits
        #: (in line, for a model to load, then for the engine), not from when the engine began.
        self._asked_at = time.monotonic()

    def start(self) -> AnswerRun:
        self._thread.start()
        return self

    def stop(self) -> None:
        self._stop.set()

    @property
    def done(self) -> bool:
        return self._done

    def view(self) -> RunView:
        with self._changed:
            text, done, status = "".join(self._pieces), self._done, self._status
        ahead = self._queue.ahead(self._target, self) if status == "waiting" else 0
        return RunView(text, done, ahead, status)

    def wait_change(self, timeout_s: float) -> None:
        """Return when the text or status changes, or after `timeout_s`."""
        with self._changed:
            self._changed.wait(timeout_s)

    def wait_done(self, timeout_s: float) -> bool:
        self._thread.join(timeout_s)
        return self._done

    # -- the server thread -------------------------------------------------------------------

    def _set(self, status: str | None = None, piece: str | None = None) -> None:
        with self._changed:
            if status is not None:
                self._status = status
            if piece is not None:
                self._pieces.append(piece)
            self._changed.notify_all()

    def _work(self) -> None:
        turn, finished, stats, first_at = self.turn, False, None, None
        try:
            if not self._queue.enter(self._target, self, self._stop):
                return
            try:
                self._set("loading")
                with self._factory.lease(self._target) as engine:
                    answer = engine.stream(self.conversation, self._settings, self._stop)
                    stats = answer.stats
                    self._set("streaming")
                    saved = time.monotonic()
                    for piece in answer:
                        if not self._pieces:
                            first_at = time.monotonic()
                        self._set(piece=piece)
                        if time.monotonic() - saved >= SAVE_EVERY_S:
                            self._save_partial()
                            saved = time.monotonic()
                    finished = not self._stop.is_set()  # an engine ends its stream quietly on stop
            finally:
                self._queue.leave(self._target)
        except Exception as error:  # every failure becomes a message on the turn, the rest is kept
            turn.error, turn.error_detail = explain(error)
        finally:
            pieces = "".join(self._pieces)
            if stats is not None and first_at is not None:
                stats.time_to_first_token_s = first_at - self._asked_at
            turn.stats = stats
            if finished or pieces or turn.error is None:
                turn.answer = pieces
            turn.stopped = not finished and turn.error is None
            self._persist(None)
            with self._changed:
                self._done, self._status = True, "done"
                self._changed.notify_all()

    def _save_partial(self) -> None:
        with self._changed:
            partial = "".join(self._pieces)
        self._persist(self.turn, partial)  # after a crash, a reload shows this much, marked interrupted

    def _persist(self, streaming: Turn | None, partial: str = "") -> None:
        try:
            self._save(self.conversation, streaming, partial)
        except Exception as error:  # the answer stays on screen; the user is told it was not kept
            log.warning("could not save the answer: %s", error)
            self.save_error = error


class RunRegistry:
    """The live answer of each conversation, by conversation id."""

    def __init__(self, factory: EngineFactory, max_concurrent: int = DEFAULT_MAX_CONCURRENT) -> None:
        self.factory = factory
        self.queue = FairQueue(max_concurrent)
        self._lock = threading.Lock()
        self._runs: dict[str, AnswerRun] = {}

    def start(
        self, key: str, conversation: Conversation, settings: GenerationSettings, target: Target, save: Saver
    ) -> AnswerRun:
        """Answer the conversation's pending turn on a server thread (one live run per conversation)."""
        with self._lock:
            current = self._runs.get(key)
            if current is not None and not current.done:
                raise ConversationError("conversation.still_answering")
            run = AnswerRun(conversation, settings, target, self.factory, self.queue, save)
            self._runs[key] = run
        return run.start()

    def get(self, key: str) -> AnswerRun | None:
        """The conversation's run while it answers (finished runs are dropped)."""
        with self._lock:
            run = self._runs.get(key)
            if run is not None and run.done:
                del self._runs[key]
                return None
            return run

    def stop(self, key: str, wait_s: float = 2.0) -> None:
        """Stop the conversation's answer and wait (briefly) until it has kept its partial text."""
        with self._lock:
            run = self._runs.get(key)
        if run is not None:
            run.stop()
            run.wait_done(wait_s)

    def live_count(self) -> int:
        with self._lock:
            return sum(1 for run in self._runs.values() if not run.done)


def explain(error: Exception) -> tuple[Text, str | None]:
    """An answering failure as a turn keeps it: the message (a `Text`, shown in the visitor's
    language, also from the store after a restart) and the technical detail.

    Every error the backend means for users is an `ExplainedError` (loading, the pool, the engines,
    media, the conversation, the store); anything else is a bug, logged with its traceback.
    """
    if isinstance(error, ExplainedError):
        return error.text, error.detail
    log.exception("unexpected error while answering", exc_info=error)
    return Text("engine.unexpected"), f"{type(error).__name__}: {error}"


def error_message(error: Exception) -> str:
    """An answering failure in English, with its detail: for the CLI's batch results and logs."""
    message, detail = explain(error)
    return f"{message} ({detail})" if detail else str(message)
