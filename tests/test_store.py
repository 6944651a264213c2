"""ConversationStore: SQLite round trips, owners kept apart, search, delete, quota, killed writers."""

from __future__ import annotations

import json
import os
import signal
import sqlite3
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from i18n import Text
from model_backend.conversation import AnswerStats, Conversation, ImageAttachment, VideoAttachment
from model_backend.storage.store import ConversationStore, StoreError, StoreFullError

ROOT = Path(__file__).resolve().parents[1]


def sample() -> Conversation:
    conversation = Conversation()
    conversation.ask("What is in the picture?", images=(ImageAttachment(b"\x89PNG fake bytes", "cat.png"),))
    conversation.turns[-1].answer = "A cat on a mat."
    conversation.turns[-1].stats = AnswerStats(time_to_first_token_s=0.5, new_tokens=5, tiles=[7])
    conversation.ask("And the video?", video=VideoAttachment(b"video bytes", "clip.mp4", num_frames=4, start_s=1.0))
    conversation.turns[-1].answer = "It is raining."
    conversation.turns[-1].stopped = True
    return conversation


def test_a_saved_conversation_comes_back_exactly(tmp_path: Path) -> None:
    store = ConversationStore(tmp_path)
    conversation_id = store.create("alice", "image")
    store.save(conversation_id, "alice", sample())
    store.close()
    loaded = ConversationStore(tmp_path).load(conversation_id, "alice")
    assert loaded is not None and loaded.page == "image"
    assert loaded.conversation == sample()
    assert loaded.title == "What is in the picture?"


def test_the_settings_of_the_last_answer_are_kept(tmp_path: Path) -> None:
    store = ConversationStore(tmp_path)
    conversation_id = store.create("alice", "image")
    settings = {"generation": {"max_new_tokens": 4000}, "load_spec": {"checkpoint": "demo"}}
    store.save(conversation_id, "alice", sample(), settings=settings)
    store.save(conversation_id, "alice", sample())  # a save without settings keeps the last ones
    assert store.load(conversation_id, "alice").settings == settings


def test_media_are_stored_once_by_content(tmp_path: Path) -> None:
    store = ConversationStore(tmp_path)
    for _ in range(2):
        store.save(store.create("alice", "image"), "alice", sample())
    files = [path for path in (tmp_path / "media").rglob("*") if path.is_file()]
    assert len(files) == 2  # the image and the video, shared by both conversations


def test_another_owner_never_sees_or_changes_a_conversation(tmp_path: Path) -> None:
    store = ConversationStore(tmp_path)
    conversation_id = store.create("alice", "image")
    store.save(conversation_id, "alice", sample())
    assert store.load(conversation_id, "mallory") is None
    assert store.list("mallory") == []
    store.rename(conversation_id, "mallory", "pwned")
    store.delete(conversation_id, "mallory")
    with pytest.raises(StoreError):
        store.save(conversation_id, "mallory", Conversation())
    assert store.load(conversation_id, "alice").title == "What is in the picture?"


def test_list_searches_questions_and_answers_and_rename_delete_work(tmp_path: Path) -> None:
    store = ConversationStore(tmp_path)
    cat = store.create("alice", "image")
    store.save(cat, "alice", sample())
    dog = store.create("alice", "image")
    other = Conversation()
    other.ask("A 100% dog_photo?")
    store.save(dog, "alice", other)
    assert [s.id for s in store.list("alice", "image", "CAT ON")] == [cat]
    assert [s.id for s in store.list("alice", "image", "100%")] == [dog]
    assert [s.id for s in store.list("alice", "image", "0%_")] == []  # LIKE wildcards are literal
    assert store.list("alice", "video") == []
    store.rename(cat, "alice", "Cats")
    assert store.load(cat, "alice").title == "Cats"
    store.delete(cat, "alice")
    assert [s.id for s in store.list("alice")] == [dog]
    assert not [p for p in (tmp_path / "media").rglob("*") if p.is_file()], "orphaned media were not removed"


def test_a_streaming_answer_comes_back_interrupted_with_its_partial_text(tmp_path: Path) -> None:
    store = ConversationStore(tmp_path)
    conversation = sample()
    conversation.ask("Tell me more")
    conversation_id = store.create("alice", "image")
    store.save(conversation_id, "alice", conversation, streaming=conversation.turns[-1], partial="Once upon")
    assert conversation.turns[-1].answer is None  # saving never changes the live turn
    last = store.load(conversation_id, "alice").conversation.turns[-1]
    assert last.interrupted and last.answer == "Once upon" and not last.stopped


def test_the_quota_gives_a_clear_error_and_keeps_what_was_saved(tmp_path: Path) -> None:
    store = ConversationStore(tmp_path, quota_bytes=3000)
    conversation_id = store.create("alice", "image")
    store.save(conversation_id, "alice", sample())
    big = sample()
    big.ask("another", images=(ImageAttachment(os.urandom(5000), "big.png"),))
    with pytest.raises(StoreFullError, match="storage is full") as full:
        store.save(conversation_id, "alice", big)
    assert full.value.text.render("zh").startswith("对话存储空间已满（0.0 GB），因此这次没有保存。")
    assert store.load(conversation_id, "alice").conversation == sample()


def test_a_turns_error_comes_back_in_either_language_after_a_restart(tmp_path: Path) -> None:
    conversation = sample()
    conversation.ask("Describe the diagram")
    failed = conversation.turns[-1]
    failed.error = Text("engine.context_full", {"prompt_tokens": 700, "answer_tokens": 64, "limit": 600})
    failed.error_detail = "prompt 700 tokens + max_new_tokens 64 > context window 600"
    store = ConversationStore(tmp_path)
    conversation_id = store.create("alice", "image")
    store.save(conversation_id, "alice", conversation)
    store.close()
    turn = ConversationStore(tmp_path).load(conversation_id, "alice").conversation.turns[-1]
    assert turn.error == failed.error and turn.error_detail == failed.error_detail
    assert turn.error.render("zh").startswith("这个问题超出了模型一次能读取的长度：提示词有 700 个 token")
    assert str(turn.error).startswith("This question does not fit into what the model can read at once")
    # Stored as the key and its values (plus the English, for a version that no longer has the key).
    with sqlite3.connect(tmp_path / "conversations.sqlite3") as db:
        body = json.loads(db.execute("SELECT body FROM conversations").fetchone()[0])
    assert body[-1]["error"]["key"] == "engine.context_full" and body[-1]["error"]["params"]["limit"] == 600


def test_rows_saved_before_the_table_keep_their_plain_error_words(tmp_path: Path) -> None:
    store = ConversationStore(tmp_path)
    conversation_id = store.create("alice", "image")
    old_row = [{"question": "Hi", "images": [], "video": None, "answer": None, "error": "Out of GPU memory"}]
    forgotten_key = {"key": "engine.gone_in_this_version", "params": {}, "en": "Something old went wrong."}
    old_row.append({"question": "Again", "images": [], "video": None, "answer": None, "error": forgotten_key})
    with sqlite3.connect(tmp_path / "conversations.sqlite3") as db:
        db.execute("UPDATE conversations SET body = ? WHERE id = ?", (json.dumps(old_row), conversation_id))
    first, second = store.load(conversation_id, "alice").conversation.turns
    assert first.error == "Out of GPU memory" and first.error_detail is None
    assert second.error == "Something old went wrong."


def test_a_deleted_conversation_and_a_missing_media_file_are_explained(tmp_path: Path) -> None:
    store = ConversationStore(tmp_path)
    conversation_id = store.create("alice", "image")
    store.save(conversation_id, "alice", sample())
    for path in (tmp_path / "media").rglob("*"):
        if path.is_file():
            path.unlink()
    with pytest.raises(StoreError) as missing:
        store.load(conversation_id, "alice")
    assert str(missing.value).startswith("A picture or video of this conversation is missing")
    assert "No such file" in missing.value.detail and "No such file" not in str(missing.value)
    store.delete(conversation_id, "alice")
    with pytest.raises(StoreError) as deleted:
        store.save(conversation_id, "alice", sample())
    assert deleted.value.text.render("zh") == "这个对话已不存在（已被删除）。请开始一个新的对话。"


def test_kill_9_mid_write_never_corrupts_the_store(tmp_path: Path) -> None:
    """A writer saving in a loop is killed; everything committed before is readable afterwards."""
    script = textwrap.dedent(
        f"""
        import sys
        sys.path.insert(0, {str(ROOT)!r})
        from model_backend.conversation import Conversation
        from model_backend.storage.store import ConversationStore
        store = ConversationStore(__import__("pathlib").Path({str(tmp_path)!r}))
        cid = store.create("alice", "image")
        conversation = Conversation()
        conversation.ask("count")
        n = 0
        while True:
            n += 1
            store.save(cid, "alice", conversation, streaming=conversation.turns[-1], partial="x" * n)
            if n == 50:
                print(cid, flush=True)
        """
    )
    writer = subprocess.Popen([sys.executable, "-c", script], stdout=subprocess.PIPE, text=True)
    conversation_id = writer.stdout.readline().strip()
    writer.send_signal(signal.SIGKILL)
    writer.wait(30)
    store = ConversationStore(tmp_path)
    assert store._db.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
    answer = store.load(conversation_id, "alice").conversation.turns[-1].answer
    assert answer == "x" * len(answer) and len(answer) >= 50
