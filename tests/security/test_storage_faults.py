"""Storage faults are messages, never tracebacks: a full disk, a read-only or unusable data folder."""

from __future__ import annotations

import errno
import sqlite3
from pathlib import Path

import pytest

from model_backend.conversation import Conversation, ImageAttachment
from model_backend.storage.sessions import SessionStore
from model_backend.storage.store import ConversationStore, StoreError, storage_fault
from tests.media_factory import make_png


@pytest.mark.parametrize(
    ("error", "key"),
    [
        (OSError(errno.ENOSPC, "No space left on device"), "store.disk_full"),
        (sqlite3.OperationalError("database or disk is full"), "store.disk_full"),
        (sqlite3.OperationalError("attempt to write a readonly database"), "store.read_only"),
        (PermissionError(errno.EACCES, "Permission denied"), "store.read_only"),
        (sqlite3.DatabaseError("database disk image is malformed"), "store.failed"),
    ],
)
def test_each_fault_has_its_own_plain_message_and_keeps_the_words_as_detail(error: Exception, key: str) -> None:
    fault = storage_fault(error)
    assert fault.text.key == key
    assert str(error) in (fault.detail or "")
    assert all(str(error) not in fault.text.render(lang) for lang in ("en", "zh"))


def test_a_full_disk_while_saving_is_a_store_error_and_loses_what_was_saved_before(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    store = ConversationStore(tmp_path)
    conversation = Conversation()
    conversation.ask("First question").answer = "First answer"
    conversation_id = store.create("browser:a", "image")
    store.save(conversation_id, "browser:a", conversation)

    def disk_full(*args: object) -> None:
        raise OSError(errno.ENOSPC, "No space left on device", str(tmp_path / "media" / "x"))

    monkeypatch.setattr(store, "_write_media_file", disk_full)
    conversation.ask("Second, with a picture", images=(ImageAttachment(make_png(8, 8)),))
    with pytest.raises(StoreError) as caught:
        store.save(conversation_id, "browser:a", conversation)
    assert caught.value.text.key == "store.disk_full"
    assert str(tmp_path) not in str(caught.value)  # the server's paths only in the details
    kept = store.load(conversation_id, "browser:a")
    assert kept is not None and [t.question for t in kept.conversation.turns] == ["First question"]


@pytest.mark.parametrize("opener", [ConversationStore, SessionStore])
def test_an_unusable_data_folder_says_so_when_the_store_opens(tmp_path: Path, opener: type) -> None:
    blocked = tmp_path / "a-file"
    blocked.write_text("not a folder")
    with pytest.raises(StoreError) as caught:
        opener(blocked / "data")
    assert caught.value.text.key == "store.read_only"
    assert "INTERNVL_DATA_DIR" in caught.value.text.render("en")
