"""Conversations as the app sees them: kept in memory while in use, saved to the store, answered by runs.

A `LiveConversation` is shared by every tab that shows it, and by the run that answers it, so a
page that is left and opened again, or a second tab, sees the same turns and the same live
answer. A conversation is created in the store with its first question, so visits that ask
nothing leave no empty entries behind.
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from dataclasses import asdict, dataclass, field

from model_backend.conversation import Conversation, Turn
from model_backend.serving.factory import Target
from model_backend.serving.runs import AnswerRun, RunRegistry
from model_backend.settings import GenerationSettings, LoadSpec
from model_backend.storage.store import ConversationStore, ConversationSummary, new_id

#: Conversations kept in memory (their media included) besides those that are answering.
KEEP_IN_MEMORY = 32


@dataclass
class LiveConversation:
    id: str
    owner: str
    page: str
    conversation: Conversation
    stored: bool = False
    #: What the last answer was asked with: {"generation": {...}, "load_spec": {...} or absent}.
    settings: dict = field(default_factory=dict)


class Workspace:
    """The store, the live conversations and their runs, behind one thread-safe object."""

    def __init__(self, store: ConversationStore, runs: RunRegistry) -> None:
        self.store, self.runs = store, runs
        self._lock = threading.Lock()
        self._live: OrderedDict[str, LiveConversation] = OrderedDict()

    def draft(self, owner: str, page: str) -> LiveConversation:
        """A new, empty conversation (stored once it has a question)."""
        live = LiveConversation(new_id(), owner, page, Conversation())
        self._remember(live)
        return live

    def open(self, conversation_id: str, owner: str) -> LiveConversation | None:
        """The owner's conversation by id (from memory, else from the store), or None."""
        with self._lock:
            live = self._live.get(conversation_id)
            if live is not None:
                self._live.move_to_end(conversation_id)
                return live if live.owner == owner else None
        stored = self.store.load(conversation_id, owner)
        if stored is None:
            return None
        live = LiveConversation(stored.id, owner, stored.page, stored.conversation, True, stored.settings)
        with self._lock:  # another tab may have opened it meanwhile: keep the first copy
            live = self._live.setdefault(conversation_id, live)
        self._remember(live)
        return live

    def save(self, live: LiveConversation, streaming: Turn | None = None, partial: str = "") -> None:
        """Write the conversation to the store (raises StoreError, e.g. past the quota)."""
        if not live.stored:
            if not live.conversation.turns:
                return
            self.store.create(live.owner, live.page, live.id)
            live.stored = True
        self.store.save(live.id, live.owner, live.conversation, streaming, partial, live.settings)

    def answer(self, live: LiveConversation, settings: GenerationSettings, target: Target) -> AnswerRun:
        """Start answering the pending turn on the server; saved first, so a crash shows it interrupted."""
        live.settings = {"generation": settings.to_dict()}
        if isinstance(target, LoadSpec):
            live.settings["load_spec"] = asdict(target)
        self.save(live, streaming=live.conversation.pending())

        def save(conversation: Conversation, streaming: Turn | None, partial: str) -> None:
            self.save(live, streaming, partial)

        return self.runs.start(live.id, live.conversation, settings, target, save)

    def run(self, live: LiveConversation) -> AnswerRun | None:
        return self.runs.get(live.id)

    def replace(self, live: LiveConversation, conversation: Conversation) -> None:
        """Put new turns in place (clear, import), stopping a live answer first."""
        self.runs.stop(live.id)
        live.conversation = conversation
        self.save(live)

    def list(self, owner: str, page: str | None = None, query: str = "") -> list[ConversationSummary]:
        return self.store.list(owner, page, query)

    def rename(self, conversation_id: str, owner: str, title: str) -> None:
        self.store.rename(conversation_id, owner, title)

    def delete(self, conversation_id: str, owner: str) -> None:
        with self._lock:
            live = self._live.get(conversation_id)
            if live is not None and live.owner != owner:
                return
        self.runs.stop(conversation_id)
        with self._lock:
            self._live.pop(conversation_id, None)
        self.store.delete(conversation_id, owner)

    def _remember(self, live: LiveConversation) -> None:
        with self._lock:
            self._live[live.id] = live
            self._live.move_to_end(live.id)
            for key in list(self._live):
                if len(self._live) <= KEEP_IN_MEMORY:
                    break
                if self.runs.get(key) is None and key != live.id:
                    del self._live[key]
