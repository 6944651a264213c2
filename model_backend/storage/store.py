"""Conversations on disk: SQLite (WAL) for the turns, content-addressed files for their media.

Every write is one SQLite transaction, and a media file is written to a temporary name and
renamed into place before any row points at it, so killing the server at any moment leaves the
store readable with everything that was committed before. A conversation belongs to an owner
(a browser id or a login) and is only ever listed, read or changed for that owner.

An answer that is still streaming is saved with `streaming: true` on its turn; when the store
reads such a turn back it comes back as an interrupted partial answer, since a live answer is
never read from the store (the app keeps it in memory).

>>> store = ConversationStore(Path("/tmp/studio-data"))             # doctest: +SKIP
>>> conversation_id = store.create("browser-1", "image")             # doctest: +SKIP
>>> store.save(conversation_id, "browser-1", conversation)          # doctest: +SKIP
"""

from __future__ import annotations

import errno
import functools
import hashlib
import json
import os
import secrets
import sqlite3
import tempfile
import threading
import time
from collections import OrderedDict
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import TypeVar

from model_backend.conversation import Conversation, Turn, turn_from_record, turn_record
from model_backend.errors import BackendError

DATA_ENV = "INTERNVL_DATA_DIR"
QUOTA_ENV = "INTERNVL_STORE_QUOTA_GB"
DEFAULT_QUOTA_GB = 5.0
TITLE_LENGTH = 60
_DIGEST_MEMO = 64

_SCHEMA = """
CREATE TABLE IF NOT EXISTS conversations (
    id TEXT PRIMARY KEY,
    owner TEXT NOT NULL,
    page TEXT NOT NULL,
    title TEXT NOT NULL,
    created REAL NOT NULL,
    updated REAL NOT NULL,
    body TEXT NOT NULL,
    search TEXT NOT NULL,
    settings TEXT NOT NULL DEFAULT '{}'
);
CREATE INDEX IF NOT EXISTS conversations_by_owner ON conversations (owner, page, updated);
CREATE TABLE IF NOT EXISTS media (sha256 TEXT PRIMARY KEY, size INTEGER NOT NULL);
CREATE TABLE IF NOT EXISTS conversation_media (
    conversation_id TEXT NOT NULL,
    sha256 TEXT NOT NULL,
    PRIMARY KEY (conversation_id, sha256)
);
"""


class StoreError(BackendError, RuntimeError):
    """The store cannot do what was asked; `text` is meant for the user, `detail` for a developer."""


class StoreFullError(StoreError):
    """Saving would go past the storage quota."""


@dataclass(frozen=True)
class ConversationSummary:
    id: str
    page: str
    title: str
    updated: float


@dataclass(frozen=True)
class StoredConversation:
    id: str
    page: str
    title: str
    conversation: Conversation
    #: What the last answer was made with (JSON-ready: generation settings, checkpoint).
    settings: dict


def storage_fault(error: sqlite3.Error | OSError) -> StoreError:
    """A database or file error as a `StoreError` in plain words; its own words (paths too) stay in `detail`."""
    words = f"{type(error).__name__}: {error}"
    lowered = words.lower()
    if getattr(error, "errno", None) == errno.ENOSPC or "disk is full" in lowered or "disk full" in lowered:
        return StoreError("store.disk_full", detail=words)
    if getattr(error, "errno", None) in (errno.EROFS, errno.EACCES, errno.EPERM) or any(
        phrase in lowered for phrase in ("readonly", "read-only", "unable to open database")
    ):
        return StoreError("store.read_only", detail=words)
    return StoreError("store.failed", detail=words)


_R = TypeVar("_R")


def faults_explained(method: Callable[..., _R]) -> Callable[..., _R]:
    """Every public store call raises only `StoreError`: a full disk or a read-only folder is a message.

    Opening a store (`__init__`) that fails for any reason means its folder cannot be used.
    """

    @functools.wraps(method)
    def call(*args: object, **kwargs: object) -> _R:
        try:
            return method(*args, **kwargs)
        except (sqlite3.Error, OSError) as error:
            fault = storage_fault(error)
            if method.__name__ == "__init__" and fault.text.key == "store.failed":
                fault = StoreError("store.read_only", detail=fault.detail)
            raise fault from error

    return call


def default_data_dir() -> Path:
    """`$INTERNVL_DATA_DIR`, else `~/.local/share/internvl-studio`."""
    configured = os.environ.get(DATA_ENV, "").strip()
    return Path(configured).expanduser() if configured else Path.home() / ".local" / "share" / "internvl-studio"


def default_quota_bytes() -> int:
    configured = os.environ.get(QUOTA_ENV, "").strip()
    return int(float(configured or DEFAULT_QUOTA_GB) * 1e9)


def new_id() -> str:
    """An unguessable id (128 bits), safe in a URL."""
    return secrets.token_urlsafe(16)


class ConversationStore:
    """Conversations of many owners in `root/conversations.sqlite3` and `root/media/`."""

    @faults_explained
    def __init__(self, root: Path | None = None, quota_bytes: int | None = None) -> None:
        self.root = root or default_data_dir()
        self.media_dir = self.root / "media"
        self.media_dir.mkdir(parents=True, exist_ok=True)
        self.quota_bytes = default_quota_bytes() if quota_bytes is None else quota_bytes
        self._lock = threading.Lock()
        self._digest_lock = threading.Lock()
        self._digests: OrderedDict[int, tuple[bytes, str]] = OrderedDict()
        # One connection shared under a lock: the writes are small and SQLite serialises them anyway.
        self._db = sqlite3.connect(self.root / "conversations.sqlite3", check_same_thread=False, isolation_level=None)
        self._db.execute("PRAGMA journal_mode=WAL")
        self._db.execute("PRAGMA synchronous=NORMAL")  # with WAL: durable across a killed process
        self._db.executescript(_SCHEMA)

    # -- conversations -----------------------------------------------------------------------

    @faults_explained
    def create(self, owner: str, page: str, conversation_id: str | None = None, title: str = "New conversation") -> str:
        conversation_id = conversation_id or new_id()
        now = time.time()
        with self._transaction() as db:
            db.execute(
                "INSERT INTO conversations VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
                (conversation_id, owner, page, title, now, now, "[]", "", "{}"),
            )
        return conversation_id

    @faults_explained
    def save(
        self,
        conversation_id: str,
        owner: str,
        conversation: Conversation,
        streaming: Turn | None = None,
        partial: str = "",
        settings: dict | None = None,
    ) -> None:
        """Write the conversation's turns; `streaming` is the turn whose answer (`partial` so far) is still growing."""
        hashes: set[str] = set()

        def encode(data: bytes) -> dict:
            digest = self._digest(data)
            hashes.add(digest)
            return {"sha256": digest}

        records = []
        for turn in conversation.turns:
            record = turn_record(turn, encode)
            if turn is streaming:
                record.update(answer=partial, streaming=True)
            records.append(record)
        body = json.dumps(records)
        media = {self._digest(m.data): m.data for turn in conversation.turns for m in _media(turn)}
        search = "\n".join(f"{t.question}\n{t.answer or ''}" for t in conversation.turns).lower()
        with self._transaction() as db:
            row = db.execute("SELECT title FROM conversations WHERE id = ? AND owner = ?", (conversation_id, owner))
            row = row.fetchone()
            if row is None:
                raise StoreError("store.deleted")
            new_media = [digest for digest in media if not self._has_media(digest)]
            self._check_quota(conversation_id, len(body) + sum(len(media[d]) for d in new_media))
            for digest in new_media:  # files first: a row never points at a file that is not there
                self._write_media_file(digest, media[digest])
            title = row[0]
            if title == "New conversation" and conversation.turns:
                title = _title(conversation.turns[0].question)
            db.execute(
                "UPDATE conversations SET body = ?, search = ?, title = ?, updated = ? WHERE id = ?",
                (body, search, title, time.time(), conversation_id),
            )
            if settings is not None:
                db.execute(
                    "UPDATE conversations SET settings = ? WHERE id = ?", (json.dumps(settings), conversation_id)
                )
            db.executemany("INSERT OR REPLACE INTO media VALUES (?, ?)", [(d, len(media[d])) for d in new_media])
            db.execute("DELETE FROM conversation_media WHERE conversation_id = ?", (conversation_id,))
            db.executemany("INSERT INTO conversation_media VALUES (?, ?)", [(conversation_id, d) for d in hashes])

    @faults_explained
    def load(self, conversation_id: str, owner: str) -> StoredConversation | None:
        """The conversation if it exists and belongs to `owner`; a turn saved mid-answer comes back interrupted."""
        with self._lock:
            row = self._db.execute(
                "SELECT page, title, body, settings FROM conversations WHERE id = ? AND owner = ?",
                (conversation_id, owner),
            ).fetchone()
        if row is None:
            return None
        page, title, body, settings = row
        turns = []
        for record in json.loads(body):
            turn = turn_from_record(record, self._read_media)
            if record.get("streaming"):
                turn.interrupted = True
                turn.answer = turn.answer or ""
            turns.append(turn)
        return StoredConversation(conversation_id, page, title, Conversation(turns), json.loads(settings))

    @faults_explained
    def list(self, owner: str, page: str | None = None, query: str = "") -> list[ConversationSummary]:
        """The owner's conversations, newest first; `query` matches questions and answers (any case)."""
        sql = "SELECT id, page, title, updated FROM conversations WHERE owner = ?"
        args: list = [owner]
        if page is not None:
            sql += " AND page = ?"
            args.append(page)
        if query.strip():
            sql += " AND (search LIKE ? ESCAPE '\\' OR lower(title) LIKE ? ESCAPE '\\')"
            pattern = "%" + _escape_like(query.strip().lower()) + "%"
            args += [pattern, pattern]
        with self._lock:
            rows = self._db.execute(sql + " ORDER BY updated DESC", args).fetchall()
        return [ConversationSummary(*row) for row in rows]

    @faults_explained
    def rename(self, conversation_id: str, owner: str, title: str) -> None:
        title = title.strip()[:200] or "Untitled"
        with self._transaction() as db:
            db.execute("UPDATE conversations SET title = ? WHERE id = ? AND owner = ?", (title, conversation_id, owner))

    @faults_explained
    def delete(self, conversation_id: str, owner: str) -> None:
        """Delete the conversation, and the media files no other conversation uses."""
        with self._transaction() as db:
            deleted = db.execute(
                "DELETE FROM conversations WHERE id = ? AND owner = ?", (conversation_id, owner)
            ).rowcount
            if not deleted:
                return
            db.execute("DELETE FROM conversation_media WHERE conversation_id = ?", (conversation_id,))
            orphans = [
                row[0]
                for row in db.execute(
                    "SELECT sha256 FROM media WHERE sha256 NOT IN (SELECT sha256 FROM conversation_media)"
                )
            ]
            db.executemany("DELETE FROM media WHERE sha256 = ?", [(d,) for d in orphans])
        for digest in orphans:  # after the commit: a crash here leaves a stray file, never a dangling row
            self._media_path(digest).unlink(missing_ok=True)

    @faults_explained
    def used_bytes(self) -> int:
        with self._lock:
            return self._used_bytes_locked()

    def close(self) -> None:
        with self._lock:
            self._db.close()

    # -- internals ---------------------------------------------------------------------------

    def _transaction(self) -> _Transaction:
        return _Transaction(self)

    def _digest(self, data: bytes) -> str:
        """sha256 of `data`, remembered per bytes object: a streaming answer saves twice a second."""
        with self._digest_lock:
            known = self._digests.get(id(data))
            if known is not None and known[0] is data:
                self._digests.move_to_end(id(data))
                return known[1]
        digest = hashlib.sha256(data).hexdigest()
        with self._digest_lock:
            self._digests[id(data)] = (data, digest)
            while len(self._digests) > _DIGEST_MEMO:
                self._digests.popitem(last=False)
        return digest

    def _has_media(self, digest: str) -> bool:
        row = self._db.execute("SELECT 1 FROM media WHERE sha256 = ?", (digest,)).fetchone()
        return row is not None and self._media_path(digest).is_file()

    def _used_bytes_locked(self) -> int:
        media = self._db.execute("SELECT coalesce(sum(size), 0) FROM media").fetchone()[0]
        bodies = self._db.execute("SELECT coalesce(sum(length(body)), 0) FROM conversations").fetchone()[0]
        return int(media) + int(bodies)

    def _check_quota(self, conversation_id: str, adding: int) -> None:
        current = self._db.execute("SELECT length(body) FROM conversations WHERE id = ?", (conversation_id,)).fetchone()
        after = self._used_bytes_locked() - (current[0] if current else 0) + adding
        if after > self.quota_bytes:
            raise StoreFullError("store.full", quota=f"{self.quota_bytes / 1e9:.1f}", env=QUOTA_ENV)

    def _media_path(self, digest: str) -> Path:
        return self.media_dir / digest[:2] / digest

    def _write_media_file(self, digest: str, data: bytes) -> None:
        target = self._media_path(digest)
        target.parent.mkdir(parents=True, exist_ok=True)
        handle, staging = tempfile.mkstemp(dir=target.parent, prefix=".incoming-")
        try:
            with os.fdopen(handle, "wb") as sink:
                sink.write(data)
                sink.flush()
                os.fsync(sink.fileno())
            os.replace(staging, target)
        except BaseException:
            Path(staging).unlink(missing_ok=True)
            raise

    def _read_media(self, fields: dict) -> bytes:
        try:
            return self._media_path(str(fields["sha256"])).read_bytes()
        except OSError as error:
            raise StoreError("store.media_missing", detail=str(error)) from error


class _Transaction:
    """`with store._transaction() as db:` runs the block in one IMMEDIATE transaction under the lock."""

    def __init__(self, store: ConversationStore) -> None:
        self._store = store

    def __enter__(self) -> sqlite3.Connection:
        self._store._lock.acquire()
        self._store._db.execute("BEGIN IMMEDIATE")
        return self._store._db

    def __exit__(self, kind, value, traceback) -> None:
        try:
            self._store._db.execute("COMMIT" if kind is None else "ROLLBACK")
        finally:
            self._store._lock.release()


def _media(turn: Turn) -> list:
    return [*turn.images, *([turn.video] if turn.video is not None else [])]


def _title(question: str) -> str:
    line = " ".join(question.split())
    return line if len(line) <= TITLE_LENGTH else line[: TITLE_LENGTH - 1] + "…"


def _escape_like(text: str) -> str:
    return text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
