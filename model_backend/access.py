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
"""

from __future__ import annotations

import hmac
import os
import threading
import time
from collections import deque
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

from i18n import Text
from model_backend.catalog import CATALOG, find_entry
from model_backend.settings import LoadSpec

Role = Literal["admin", "user"]


@dataclass(frozen=True)
class AccessPolicy:
    password: str | None = None
    admin_password: str | None = None
    admins: frozenset[str] = frozenset()
    allowed: tuple[str, ...] | None = None
    model_roots: tuple[Path, ...] = ()

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
        )

    def check_password(self, given: str) -> Role | None:
        """The role a password gives, compared in constant time; None when it is wrong."""
        given_bytes = given.encode()
        if self.admin_password and hmac.compare_digest(given_bytes, self.admin_password.encode()):
            return "admin"
        if self.password and hmac.compare_digest(given_bytes, self.password.encode()):
            return "user"
        return None

    def role_for_email(self, email: str | None) -> Role:
        return "admin" if email and email.lower() in self.admins else "user"

    def allowed_checkpoints(self) -> tuple[str, ...]:
        if self.allowed is not None:
            return self.allowed
        from model_backend.loading import DEMO_FAMILY_IDS  # here: it imports torch, which a policy check does not need

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
    """At most `limit` failed logins per `window_s` for one client, so a password cannot be guessed fast."""

    def __init__(self, limit: int = 5, window_s: float = 60.0) -> None:
        self.limit, self.window_s = limit, window_s
        self._lock = threading.Lock()
        self._failures: dict[str, deque[float]] = {}

    def wait_s(self, client: str) -> float:
        """Seconds until `client` may try again (0: now)."""
        with self._lock:
            recent = self._recent(client)
            return 0.0 if len(recent) < self.limit else recent[0] + self.window_s - time.monotonic()

    def failed(self, client: str) -> None:
        with self._lock:
            self._recent(client).append(time.monotonic())

    def _recent(self, client: str) -> deque[float]:
        failures = self._failures.setdefault(client, deque())
        while failures and failures[0] <= time.monotonic() - self.window_s:
            failures.popleft()
        return failures
