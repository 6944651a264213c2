"""Who may do what on a shared server: the access policy from the environment, and login throttling.

With no configuration at all the app binds 127.0.0.1 and its one local user is an admin. Once a
login is configured (Streamlit's OIDC in secrets, or a shared password), ordinary users choose
among the allowed or already loaded checkpoints; only admins load anything else, run a hub
checkpoint's own code, open server folders (under configured roots), point the app at another
server or unload models.

Environment:
  INTERNVL_PASSWORD            shared password for everyone (no accounts)
  INTERNVL_ADMIN_PASSWORD      a second password that gives the admin role
  INTERNVL_ADMINS              comma-separated e-mails that are admins under OIDC login
  INTERNVL_ALLOWED_CHECKPOINTS comma-separated checkpoints users may load (default: the catalog + the demos)
  INTERNVL_MODEL_ROOTS         os.pathsep-separated folders under which admins may load local checkpoints
  INTERNVL_TRUSTED_PROXIES     comma-separated proxy addresses whose X-Forwarded-For is believed ("loopback":
                               a proxy on the same machine)
"""

from __future__ import annotations

import hashlib
import hmac
import logging
import os
import threading
import time
from collections import deque
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

from i18n import Text
from model_backend.checkpoints.catalog import CATALOG, find_entry
from model_backend.settings import LoadSpec

Role = Literal["admin", "user"]
_log = logging.getLogger(__name__)


@dataclass(frozen=True)
class AccessPolicy:
    password: str | None = None
    admin_password: str | None = None
    admins: frozenset[str] = frozenset()
    allowed: tuple[str, ...] | None = None
    model_roots: tuple[Path, ...] = ()
    trusted_proxies: frozenset[str] = frozenset()

    @classmethod
    def from_env(cls, env: dict[str, str] | None = None) -> AccessPolicy:
        env = dict(os.environ if env is None else env)

        def items(name: str, sep: str = ",") -> tuple[str, ...]:
            return tuple(part.strip() for part in env.get(name, "").split(sep) if part.strip())

        return cls(
            password=env.get("INTERNVL_PASSWORD") or None,
            admin_password=env.get("INTERNVL_ADMIN_PASSWORD") or None,
            admins=frozenset(email.lower() for email in items("INTERNVL_ADMINS")),
            allowed=items("INTERNVL_ALLOWED_CHECKPOINTS") or None,
            model_roots=tuple(Path(p).expanduser().resolve() for p in items("INTERNVL_MODEL_ROOTS", os.pathsep)),
            trusted_proxies=frozenset(items("INTERNVL_TRUSTED_PROXIES")),
        )

    def check_password(self, given: str) -> Role | None:
        """The role a password gives, compared in constant time; None when it is wrong."""
        given_bytes = given.encode()
        if self.admin_password and hmac.compare_digest(given_bytes, self.admin_password.encode()):
            return "admin"
        if self.password and hmac.compare_digest(given_bytes, self.password.encode()):
            return "user"
        return None

    def login_scope(self) -> str:
        """A digest of the passwords in force: a login made under other passwords no longer counts."""
        both = f"{self.password or ''}\0{self.admin_password or ''}".encode()
        return hashlib.sha256(both).hexdigest()[:32]

    def role_for_email(self, email: str | None) -> Role:
        return "admin" if email and email.lower() in self.admins else "user"

    def allowed_checkpoints(self) -> tuple[str, ...]:
        if self.allowed is not None:
            return self.allowed
        # imported here: loading imports torch, which a policy check does not need
        from model_backend.checkpoints.loading import DEMO_FAMILY_IDS

        demos = tuple(DEMO_FAMILY_IDS)  # each LLM family's offline demo checkpoint
        return ("demo", *demos, *(entry.name for entry in CATALOG if not entry.server_only))

    def refusal(self, spec: LoadSpec, role: Role, resident: frozenset[LoadSpec] = frozenset()) -> Text | None:
        """Why `role` may not load `spec` (None: allowed), as a `Text` the page shows in the visitor's language.

        For users it is decided without touching the disk.
        """
        checkpoint = spec.checkpoint.strip()
        if role == "user":
            entry = find_entry(checkpoint)
            allowed = {name.lower() for name in self.allowed_checkpoints()}
            names = {checkpoint.lower()} | ({entry.name.lower(), entry.hub_id.lower()} if entry else set())
            if spec in resident or names & allowed:
                return None
            return Text("access.not_allowed", {"checkpoint": checkpoint})
        folder = Path(checkpoint).expanduser()
        outside = not any(folder.resolve().is_relative_to(root) for root in self.model_roots)
        if self.model_roots and checkpoint.lower() != "demo" and folder.is_dir() and outside:
            roots = ", ".join(str(root) for root in self.model_roots)
            return Text("access.outside_roots", {"roots": roots})
        return None


class AttemptLimiter:
    """Throttles password guessing per client: `limit` failures lock that client out, for longer each time.

    A lock-out lasts `window_s`, then doubles with each further lock-out of the same client (capped at
    `max_lock_s`); a successful login clears the client's record. Clients are keyed by `client_key`, so
    one client's failures never lock out another, and each lock-out is logged.
    """

    def __init__(self, limit: int = 5, window_s: float = 60.0, max_lock_s: float = 3600.0) -> None:
        self.limit, self.window_s, self.max_lock_s = limit, window_s, max_lock_s
        self._lock = threading.Lock()
        self._failures: dict[str, deque[float]] = {}
        self._locked_until: dict[str, float] = {}
        self._lockouts: dict[str, int] = {}

    def wait_s(self, client: str) -> float:
        """Seconds until `client` may try again (0: now)."""
        with self._lock:
            return max(0.0, self._locked_until.get(client, 0.0) - time.monotonic())

    def failed(self, client: str) -> None:
        now = time.monotonic()
        with self._lock:
            failures = self._failures.setdefault(client, deque())
            while failures and failures[0] <= now - self.window_s:
                failures.popleft()
            failures.append(now)
            if len(failures) < self.limit:
                return
            failures.clear()
            count = self._lockouts[client] = self._lockouts.get(client, 0) + 1
            lock_s = min(self.window_s * 2 ** (count - 1), self.max_lock_s)
            self._locked_until[client] = now + lock_s
        _log.warning("login: client %s locked out for %.0f s after %d wrong passwords", client, lock_s, self.limit)

    def succeeded(self, client: str) -> None:
        with self._lock:
            for record in (self._failures, self._locked_until, self._lockouts):
                record.pop(client, None)


def client_key(address: str | None, forwarded_for: str | None, session_id: str, trusted_proxies: frozenset[str]) -> str:
    """Who is trying to log in, for `AttemptLimiter`: never one bucket shared by every visitor.

    `address` is the connection's peer as Streamlit reports it (None for a loopback client, as behind a
    proxy on the same machine). A proxy's `X-Forwarded-For` is believed only when the peer is a trusted
    proxy (`INTERNVL_TRUSTED_PROXIES`; "loopback" names a same-machine proxy, whose peer Streamlit reports
    as None): then its last address, the one that proxy saw, is the client. Otherwise the peer address,
    and without one the browser session.

    >>> client_key(None, "203.0.113.9, 10.0.0.2", "s1", frozenset({"loopback"}))
    'ip:10.0.0.2'
    >>> client_key(None, "203.0.113.9", "s1", frozenset())
    'session:s1'
    """
    peer = address or "loopback"
    if forwarded_for and peer in trusted_proxies:
        hops = [hop.strip() for hop in forwarded_for.split(",") if hop.strip()]
        if hops:
            return f"ip:{hops[-1]}"
    if address:
        return f"ip:{address}"
    return f"session:{session_id}"
