"""AccessPolicy and AttemptLimiter: who may load what, passwords in constant time, throttled guessing."""

from __future__ import annotations

from pathlib import Path

import pytest

from i18n import Text
from model_backend.serving.access import AccessPolicy, AttemptLimiter, client_key
from model_backend.settings import LoadSpec


def test_with_no_configuration_nothing_is_gated() -> None:
    policy = AccessPolicy.from_env({})
    assert policy.password is None and policy.admin_password is None
    assert policy.check_password("") is None


def test_passwords_give_their_role_and_wrong_ones_nothing() -> None:
    policy = AccessPolicy.from_env({"INTERNVL_PASSWORD": "team", "INTERNVL_ADMIN_PASSWORD": "boss"})
    assert policy.check_password("team") == "user"
    assert policy.check_password("boss") == "admin"
    assert policy.check_password("Team") is None and policy.check_password("") is None


def test_admins_come_from_the_email_list_in_any_case() -> None:
    policy = AccessPolicy.from_env({"INTERNVL_ADMINS": "Alice@Example.com, bob@example.com"})
    assert policy.role_for_email("alice@example.com") == "admin"
    assert policy.role_for_email("carol@example.com") == "user"
    assert policy.role_for_email(None) == "user"


def test_users_load_only_allowed_or_resident_checkpoints(tmp_path: Path) -> None:
    policy = AccessPolicy.from_env({})
    assert policy.refusal(LoadSpec("InternVL2-1B"), "user") is None
    assert policy.refusal(LoadSpec("OpenGVLab/InternVL2-1B"), "user") is None  # the catalog entry's hub id
    assert policy.refusal(LoadSpec("demo"), "user") is None
    assert "ask an admin" in _words(policy.refusal(LoadSpec("evil/remote-code", allow_remote_code=True), "user"))
    folder = LoadSpec(str(tmp_path))
    assert "ask an admin" in _words(policy.refusal(folder, "user"))
    missing = policy.refusal(LoadSpec("/no/such/folder"), "user")
    assert "ask an admin" in _words(missing)  # same words: no folder probing
    assert policy.refusal(folder, "user", resident=frozenset({folder})) is None
    assert policy.refusal(folder, "admin") is None


def test_an_allow_list_replaces_the_catalog_for_users() -> None:
    policy = AccessPolicy.from_env({"INTERNVL_ALLOWED_CHECKPOINTS": "demo, OpenGVLab/InternVL2-8B"})
    assert policy.refusal(LoadSpec("InternVL2-8B"), "user") is None
    assert policy.refusal(LoadSpec("InternVL2-1B"), "user") is not None
    assert policy.refusal(LoadSpec("InternVL2-1B"), "admin") is None


def test_admins_open_folders_only_under_the_model_roots(tmp_path: Path) -> None:
    inside, outside = tmp_path / "models" / "finetune", tmp_path / "elsewhere"
    inside.mkdir(parents=True)
    outside.mkdir()
    policy = AccessPolicy.from_env({"INTERNVL_MODEL_ROOTS": str(tmp_path / "models")})
    assert policy.refusal(LoadSpec(str(inside)), "admin") is None
    assert "INTERNVL_MODEL_ROOTS" in _words(policy.refusal(LoadSpec(str(outside)), "admin"))
    assert "INTERNVL_MODEL_ROOTS" in _words(policy.refusal(LoadSpec(str(inside / ".." / ".." / "elsewhere")), "admin"))


def test_a_refusal_is_worded_in_both_languages() -> None:
    refusal = AccessPolicy.from_env({}).refusal(LoadSpec("evil/remote-code"), "user")
    assert isinstance(refusal, Text)
    assert refusal.render("en").startswith("evil/remote-code is not on this server's list of checkpoints.")
    assert refusal.render("zh") == (
        "evil/remote-code 不在这台服务器允许使用的模型列表中。请选择一个允许的或已加载的模型，或者请管理员加载它。"
    )


def _words(refusal: Text | None) -> str:
    """The refusal in English, as the logs show it (it is a `Text`: the page words it in the visitor's language)."""
    assert refusal is not None
    return refusal.render("en")


def test_the_limiter_blocks_a_client_after_five_failures_and_only_that_client(monkeypatch) -> None:
    clock = [1000.0]
    monkeypatch.setattr("model_backend.serving.access.time.monotonic", lambda: clock[0])
    limiter = AttemptLimiter(limit=5, window_s=60)
    for _ in range(5):
        assert limiter.wait_s("10.0.0.1") == 0
        limiter.failed("10.0.0.1")
    assert limiter.wait_s("10.0.0.1") == 60
    assert limiter.wait_s("10.0.0.2") == 0
    clock[0] += 61
    assert limiter.wait_s("10.0.0.1") == 0


def test_each_lock_out_of_the_same_client_lasts_twice_as_long_and_is_logged(monkeypatch, caplog) -> None:
    clock = [1000.0]
    monkeypatch.setattr("model_backend.serving.access.time.monotonic", lambda: clock[0])
    limiter = AttemptLimiter(limit=5, window_s=60, max_lock_s=200)
    locks = []
    for _ in range(4):
        for _ in range(5):
            limiter.failed("ip:10.0.0.1")
        locks.append(limiter.wait_s("ip:10.0.0.1"))
        clock[0] += locks[-1]
        assert limiter.wait_s("ip:10.0.0.1") == 0
    assert locks == [60, 120, 200, 200]  # doubling, capped
    assert [r.getMessage() for r in caplog.records] == [
        f"login: client ip:10.0.0.1 locked out for {seconds} s after 5 wrong passwords"
        for seconds in (60, 120, 200, 200)
    ]


def test_a_good_login_clears_the_clients_record(monkeypatch) -> None:
    clock = [1000.0]
    monkeypatch.setattr("model_backend.serving.access.time.monotonic", lambda: clock[0])
    limiter = AttemptLimiter(limit=5, window_s=60)
    for _ in range(4):
        limiter.failed("session:a")
    limiter.succeeded("session:a")
    limiter.failed("session:a")
    assert limiter.wait_s("session:a") == 0  # the four earlier failures no longer count


@pytest.mark.parametrize(
    ("address", "forwarded", "trusted", "expected"),
    [
        ("198.51.100.7", None, frozenset(), "ip:198.51.100.7"),
        ("198.51.100.7", "203.0.113.9", frozenset(), "ip:198.51.100.7"),  # a header from anyone is not believed
        (None, "203.0.113.9", frozenset(), "session:s1"),  # loopback peer, no trusted proxy: the session
        (None, None, frozenset({"loopback"}), "session:s1"),
        (None, "203.0.113.9", frozenset({"loopback"}), "ip:203.0.113.9"),  # the README's same-machine proxy
        (None, "6.6.6.6, 203.0.113.9", frozenset({"loopback"}), "ip:203.0.113.9"),  # a forged first hop ignored
        ("10.0.0.2", "203.0.113.9", frozenset({"10.0.0.2"}), "ip:203.0.113.9"),
        ("10.0.0.3", "203.0.113.9", frozenset({"10.0.0.2"}), "ip:10.0.0.3"),
    ],
)
def test_the_client_key_never_puts_every_visitor_in_one_bucket(address, forwarded, trusted, expected) -> None:
    assert client_key(address, forwarded, "s1", trusted) == expected


def test_trusted_proxies_come_from_the_environment() -> None:
    policy = AccessPolicy.from_env({"INTERNVL_TRUSTED_PROXIES": "loopback, 10.0.0.2"})
    assert policy.trusted_proxies == frozenset({"loopback", "10.0.0.2"})
