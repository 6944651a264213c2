"""SessionStore: only tokens the server issued stand for anyone, until they expire or are revoked."""

from __future__ import annotations

from pathlib import Path

import pytest

from model_backend.serving.access import AccessPolicy
from model_backend.storage.sessions import SessionStore


@pytest.fixture
def store(tmp_path: Path) -> SessionStore:
    return SessionStore(tmp_path, lifetime=3600)


def test_an_issued_token_stands_for_its_owner_role_and_scope(store: SessionStore) -> None:
    token = store.issue("browser:abc", "user", scope="s1")
    found = store.lookup(token)
    assert found is not None and (found.owner, found.role, found.scope) == ("browser:abc", "user", "s1")


@pytest.mark.parametrize("value", [None, "", "browser:abc", "A" * 22, "x" * 500])
def test_a_value_the_server_never_issued_stands_for_nobody(store: SessionStore, value: str | None) -> None:
    store.issue("browser:abc", "admin")
    assert store.lookup(value) is None


def test_only_the_digest_is_kept_on_disk(store: SessionStore, tmp_path: Path) -> None:
    token = store.issue("browser:abc", "admin")
    store.close()
    assert token.encode() not in (tmp_path / "sessions.sqlite3").read_bytes()
    found = SessionStore(tmp_path).lookup(token)  # and it still counts after a restart
    assert found is not None and (found.owner, found.role) == ("browser:abc", "admin")


def test_expired_revoked_and_all_revoked_tokens_stand_for_nobody(tmp_path: Path) -> None:
    expired = SessionStore(tmp_path / "a", lifetime=-1)
    assert expired.lookup(expired.issue("browser:a", None)) is None
    store = SessionStore(tmp_path / "b", lifetime=3600)
    first, second = store.issue("browser:a", "user"), store.issue("browser:b", "user")
    store.revoke(first)
    assert store.lookup(first) is None and store.lookup(second) is not None
    assert store.revoke_all() == 1
    assert store.lookup(second) is None


def test_the_login_scope_changes_with_either_password() -> None:
    scope = AccessPolicy(password="a", admin_password="b").login_scope()
    assert scope == AccessPolicy(password="a", admin_password="b").login_scope()
    assert scope != AccessPolicy(password="a", admin_password="c").login_scope()
    assert scope != AccessPolicy(password="ab", admin_password=None).login_scope()
