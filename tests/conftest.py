"""Fixtures every test folder may use: the real OpenAI-compatible server (see server_fixture.py)
and the demo checkpoint loaded once through the real loading path.

Defined once here, so a full run starts one shared `transformers serve`, whichever folders ask for it.
"""

import os
import tempfile

import pytest

from model_backend.settings import LoadSpec
from tests.server_fixture import hf_home, openai_server  # noqa: F401  (pytest finds fixtures by name)

# The app's conversation store, for every AppTest in this process: never the user's own data folder.
os.environ["INTERNVL_DATA_DIR"] = tempfile.mkdtemp(prefix="internvl-studio-data-")


_SERVER_FIXTURES = {"openai_server", "server", "hf_home"}


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """Mark by what a test uses, so `make test-fast` (`-m "not browser and not server"`) cannot miss one:
    a test that asks for the real server is `server`, one under tests/browser is `browser`."""
    for item in items:
        if _SERVER_FIXTURES & set(getattr(item, "fixturenames", ())):
            item.add_marker(pytest.mark.server)
        if "browser" in item.path.parts:
            item.add_marker(pytest.mark.browser)


@pytest.fixture(scope="session")
def loaded():
    """The demo checkpoint, float32 on CPU, shared: engines never mutate the model (tested)."""
    from model_backend.loading import load_model

    return load_model(LoadSpec("demo", dtype="float32", device="cpu"))


@pytest.fixture(scope="session")
def engine(loaded):
    from model_backend.engines.local import LocalEngine

    return LocalEngine(loaded)
