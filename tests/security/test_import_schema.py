"""Crafted imports give one plain message, never a traceback, and what passes opens again from the store."""

from __future__ import annotations

import json
from dataclasses import fields
from pathlib import Path

import pytest

from model_backend.conversation import AnswerStats, Conversation, ConversationError, Turn
from model_backend.conversation_schema import StatsRecord, TurnRecord
from model_backend.storage.store import ConversationStore


def _export(**turn: object) -> str:
    record = {"question": "Hi", "answer": "Hello", **turn}
    return json.dumps({"format": "internvl-studio/conversation", "version": 1, "turns": [record]})


def _nested_message(depth: int) -> dict:
    message: dict = {"key": "store.deleted", "params": {}}
    for _ in range(depth):
        message = {"key": "store.full", "params": {"quota": message}}
    return message


@pytest.mark.parametrize(
    "crafted",
    [
        "[" * 100_000 + "]" * 100_000,  # deeper than any parser should follow
        _export(error=_nested_message(50)),
        _export(surprise="an unknown key"),
        _export(stats={"new_tokens": "many"}),
        _export(images=[{"name": "a.png", "data": "not base64!"}]),
        _export(images=[{"name": "a.png", "data": ""}] * 65),
        _export(question={"not": "text"}),
        _export(video={"name": "v.mp4", "data": "", "num_frames": 0}),
    ],
    ids=[
        "deep JSON",
        "deep messages",
        "unknown key",
        "wrong type",
        "bad base64",
        "too many images",
        "object",
        "0 frames",
    ],
)
def test_a_crafted_import_is_one_plain_message(crafted: str) -> None:
    with pytest.raises(ConversationError) as caught:
        Conversation.from_json(crafted)
    assert caught.value.text.key in ("conversation.import_damaged", "conversation.import_foreign")


def test_an_unknown_error_key_imports_as_its_words_and_opens_again_from_the_store(tmp_path: Path) -> None:
    crafted = _export(answer=None, error={"key": "no.such.key", "params": {"x": 1}, "en": "Something broke."})
    conversation = Conversation.from_json(crafted)
    assert conversation.turns[0].error == "Something broke."
    store = ConversationStore(tmp_path)
    conversation_id = store.create("browser:a", "image")
    store.save(conversation_id, "browser:a", conversation)
    reopened = store.load(conversation_id, "browser:a")
    assert reopened is not None and reopened.conversation.turns[0].error == "Something broke."


def test_a_file_past_the_size_limit_is_refused_before_it_is_parsed(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr("model_backend.conversation.MAX_IMPORT_BYTES", 100)
    with pytest.raises(ConversationError) as caught:
        Conversation.from_json("x" * 101)
    assert caught.value.text.key == "conversation.import_too_big"


def test_the_schema_knows_every_field_an_export_writes() -> None:
    """A field added to a turn or its stats must be added to the schema too, or exports stop importing."""
    assert set(TurnRecord.model_fields) == {f.name for f in fields(Turn)}
    assert set(StatsRecord.model_fields) == {f.name for f in fields(AnswerStats)}
