"""Browser sessions the server issued: who a cookie stands for, what role its login gave, until when.

A visitor's identity cookie holds a random token (128 bits) that only the server mints; the server keeps
the token's SHA-256 with the owner key of the visitor's conversations, the role a login gave (None where
no login is configured) and an expiry. A cookie the server did not issue, or one past its expiry or
revoked, stands for nobody: a visitor cannot choose an identity, and a login never adopts an identity
from a cookie it did not issue. Logging in rotates the token (the old one is revoked); logging out
revokes it; `revoke_all` (or deleting `sessions.sqlite3`) signs everyone out.

>>> sessions = SessionStore(Path("/tmp/studio-data"))                      # doctest: +SKIP
>>> token = sessions.issue("browser:abc", role="user")                      # doctest: +SKIP
>>> sessions.lookup(token).role                                             # doctest: +SKIP
'user'
"""

from __future__ import annotations

import hashlib
import os
import secrets
import sqlite3
import threading
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

from model_backend.storage.store import faults_explained

LIFETIME_ENV = "INTERNVL_SESSION_DAYS"
DEFAULT_LIFETIME_DAYS = 30.0
Role = Literal["admin", "user"]

_SCHEMA = """
CREATE TABLE IF NOT EXISTS sessions (
    token_sha256 TEXT PRIMARY KEY,
    owner TEXT NOT NULL,
    role TEXT,
    scope TEXT NOT NULL DEFAULT '',
    created REAL NOT NULL,
    expires REAL NOT NULL
);
"""


@dataclass(frozen=True)
class Session:
    owner: str
    role: Role | None
    expires: float
    #: What the login was checked against (a digest of the passwords then in force): a role counts only
    #: while the passwords are the same, so changing one signs out every login made with the old ones.
    scope: str = ""


def lifetime_s() -> float:
    configured = os.environ.get(LIFETIME_ENV, "").strip()
    return float(configured or DEFAULT_LIFETIME_DAYS) * 24 * 3600


def _digest(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


class SessionStore:
    """The issued sessions, in `root/sessions.sqlite3` (one transaction per change)."""

    @faults_explained
    def __init__(self, root: Path, lifetime: float | None = None) -> None:
        root.mkdir(parents=True, exist_ok=True)
        self.lifetime_s = lifetime_s() if lifetime is None else lifetime
        self._lock = threading.Lock()
        self._db = sqlite3.connect(root / "sessions.sqlite3", check_same_thread=False, isolation_level=None)
        self._db.execute("PRAGMA journal_mode=WAL")
        self._db.executescript(_SCHEMA)

    @faults_explained
    def issue(self, owner: str, role: Role | None, scope: str = "") -> str:
        """A new token for `owner` with `role` (given under `scope`); only its digest is kept."""
        token = secrets.token_urlsafe(16)
        now = time.time()
        with self._lock:
            self._db.execute(
                "INSERT INTO sessions (token_sha256, owner, role, scope, created, expires) VALUES (?, ?, ?, ?, ?, ?)",
                (_digest(token), owner, role, scope, now, now + self.lifetime_s),
            )
        return token

    @faults_explained
    def lookup(self, token: str | None) -> Session | None:
        """The session `token` stands for; None for a token never issued, expired or revoked."""
        if not token or len(token) > 128:
            return None
        with self._lock:
            row = self._db.execute(
                "SELECT owner, role, expires, scope FROM sessions WHERE token_sha256 = ?", (_digest(token),)
            ).fetchone()
        if row is None or row[2] <= time.time():
            return None
        return Session(row[0], row[1], row[2], row[3])

    @faults_explained
    def ever_issued_to(self, owner: str) -> bool:
        """Whether a session (live or expired, not revoked) was issued for `owner`."""
        with self._lock:
            return self._db.execute("SELECT 1 FROM sessions WHERE owner = ? LIMIT 1", (owner,)).fetchone() is not None

    @faults_explained
    def revoke(self, token: str | None) -> None:
        if token:
            with self._lock:
                self._db.execute("DELETE FROM sessions WHERE token_sha256 = ?", (_digest(token),))

    @faults_explained
    def revoke_all(self) -> int:
        """Sign everyone out; the number of sessions ended."""
        with self._lock:
            return self._db.execute("DELETE FROM sessions").rowcount

    @faults_explained
    def forget_expired(self) -> None:
        with self._lock:
            self._db.execute("DELETE FROM sessions WHERE expires <= ?", (time.time(),))

    def close(self) -> None:
        with self._lock:
            self._db.close()
