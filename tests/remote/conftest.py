"""The remote-backend tests' server: the session's shared `transformers serve` (tests/server_fixture.py)."""

from __future__ import annotations

import pytest

from tests.server_fixture import RunningServer, free_port, start_server  # noqa: F401  (re-exported for tests)


@pytest.fixture(scope="session")
def server(openai_server: RunningServer) -> RunningServer:
    """The shared server, under the name these tests use."""
    return openai_server
