"""What the three chat pages share: their conversation, settings and engine, the conversation view
with its action row and context meter, and asking and answering.

A page reads top to bottom: `ChatPage.open` -> its own media inputs (and `encode_ahead` for the
media the next question will carry) -> `show_conversation` -> `st.chat_input` -> `submit` ->
`answer_pending`.
"""

from __future__ import annotations

from dataclasses import dataclass

import streamlit as st

from components import chat, chat_actions, conversations, model_cache, state, stats
from model_backend.conversation import Conversation, ImageAttachment, VideoAttachment
from model_backend.engines.base import Engine
from model_backend.serving.workspace import LiveConversation
from model_backend.settings import GenerationSettings


@dataclass
class ChatPage:
    name: str
    settings: GenerationSettings
    live: LiveConversation
    engine: Engine | None
    #: True while the conversation's answer runs on the server: asking and editing wait for it.
    answering: bool
    _pending: st.delta_generator.DeltaGenerator | None = None

    @classmethod
    def open(cls, name: str, title: str) -> ChatPage:
        st.title(title)
        live = conversations.current(name)
        conversations.sidebar_list(name, live)
        return cls(name, state.generation_settings(), live, model_cache.current_engine(), chat.answering(live))

    @property
    def conversation(self) -> Conversation:
        return self.live.conversation

    def show_conversation(self, draw_boxes: bool = False) -> None:
        """The history, the place where the new answer streams, the action row and the context meter."""
        chat.show_history(self.conversation, draw_boxes=draw_boxes)
        self._pending = st.container()  # above the actions, right under the history
        chat_actions.render(self.name, self.live, self.answering)
        stats.context_meter(self.conversation, self.engine, self.settings)

    def encode_ahead(self, images: tuple[ImageAttachment, ...] = (), video: VideoAttachment | None = None) -> None:
        """Start encoding media the next question will carry while the question is typed (a local
        model only; once per attachment: later runs with the same media do nothing)."""
        if self.engine is None or self.answering or (not images and video is None):
            return
        chosen = model_cache.target()
        if chosen is not None:
            ahead = model_cache.services().ahead
            ahead.start(self.live.id, chosen, self.conversation, self.settings, images, video)

    def submit(
        self, question: str, images: tuple[ImageAttachment, ...] = (), video: VideoAttachment | None = None
    ) -> None:
        chat.submit(self.live, question, images=images, video=video)

    def answer_pending(self) -> None:
        chat.answer_pending(self.name, self.live, self.engine, self.settings, self._pending or st.container())
