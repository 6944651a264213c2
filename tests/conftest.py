"""Fixtures every test folder may use: the real OpenAI-compatible server (see server_fixture.py)
and the demo checkpoint loaded once through the real loading path.

Defined once here, so a full run starts one shared `transformers serve`, whichever folders ask for it.
"""

import os
import sys
import tempfile

# One torch thread per test process, and the same for the app servers and CLIs the tests start (they
# inherit the environment). The models here are tiny: a second thread buys little on a quiet machine,
# and on CI's two loaded cores OpenMP's threads spin waiting for each other (measured with two CPU
# burners: the parity tests took 80 s with two threads, 49 s with one; `-n 2` with two threads each
# took 2.6 times as long as with one).
os.environ["OMP_NUM_THREADS"] = "1"

import pytest

from model_backend.settings import LoadSpec
from tests.server_fixture import hf_home, openai_server  # noqa: F401  (pytest finds fixtures by name)

if "torch" in sys.modules:  # a plugin imported it before the variable was set: tell it too
    sys.modules["torch"].set_num_threads(1)

# The app's conversation store, for every AppTest in this process: never the user's own data folder.
os.environ["INTERNVL_DATA_DIR"] = tempfile.mkdtemp(prefix="internvl-studio-data-")


_SERVER_FIXTURES = {"openai_server", "server", "hf_home"}
_BROWSER_FIXTURES = {"browser", "page"}


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """Mark by what a test uses, so `make test-fast` (`-m "not browser and not server"`) cannot miss one:
    a test that asks for the real server is `server`; one under tests/browser, or one that asks for
    Chromium or a page (the security tests do), is `browser`."""
    for item in items:
        if _SERVER_FIXTURES & set(getattr(item, "fixturenames", ())):
            item.add_marker(pytest.mark.server)
        if "browser" in item.path.parts or _BROWSER_FIXTURES & set(getattr(item, "fixturenames", ())):
            item.add_marker(pytest.mark.browser)


@pytest.fixture(scope="session")
def loaded():
    """The demo checkpoint, float32 on CPU, shared: engines never mutate the model (tested)."""
    from model_backend.checkpoints.loading import load_model

    return load_model(LoadSpec("demo", dtype="float32", device="cpu"))


@pytest.fixture(scope="session")
def engine(loaded):
    from model_backend.engines.local import LocalEngine

    return LocalEngine(loaded)
