"""AppTest helpers: run the real app (app.py and its navigation) with a fake engine.

The fake is registered with the app's engine factory under the session's checkpoint name
(`EngineFactory.register`), so the pages and the sidebar treat it as that checkpoint, loaded; every
registration is undone after its test.
"""

from __future__ import annotations

import sys
from pathlib import Path

import pytest
from streamlit.testing.v1 import AppTest

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(Path(__file__).resolve().parent))  # fake_engine, importable from the tests
sys.path.insert(0, str(ROOT))

from fake_engine import FakeEngine  # noqa: E402

from components import state  # noqa: E402
from model_backend.settings import LoadSpec  # noqa: E402

PAGES = {
    "image": "app_pages/image_chat.py",
    "multi": "app_pages/multi_image.py",
    "video": "app_pages/video_qa.py",
    "settings": "app_pages/settings.py",
}


_REGISTERED: list[str] = []


def use_engine(app: AppTest, engine: FakeEngine) -> None:
    """Answer `app`'s checkpoint (the one in its session, else the start-up one) with `engine`."""
    from components.model_cache import services

    try:
        spec = app.session_state[state.LOAD_SPEC]
    except KeyError:
        spec = app.session_state[state.LOAD_SPEC] = LoadSpec(state.startup_checkpoint())
    services().factory.register(spec.checkpoint, engine)
    _REGISTERED.append(spec.checkpoint)


@pytest.fixture(autouse=True)
def _engines_of_this_test_only():
    """Each test leaves the shared engine factory as it found it: its fakes unregistered, and the
    models it loaded (a Settings test that applies the demo) unloaded, so no later page shows them."""
    from components.model_cache import services
    from tests.app import conftest as imported  # the tests' copy: pytest loads this file under another name

    pool = services().pool
    before = {resident.spec for resident in pool.residents()}
    yield
    while imported._REGISTERED:
        services().factory.unregister(imported._REGISTERED.pop())
    for resident in pool.residents():
        if resident.spec not in before:
            pool.evict(resident.spec)


def start(page: str, engine: FakeEngine | None) -> AppTest:
    app = AppTest.from_file(str(ROOT / "app.py"), default_timeout=120)
    if engine is not None:
        use_engine(app, engine)
    app.run()
    if page != "image":
        app.switch_page(PAGES[page]).run()
    assert not app.exception, app.exception
    return app


@pytest.fixture
def fake() -> FakeEngine:
    return FakeEngine()


def conversation_of(app: AppTest, page: str = "image"):
    """The conversation a page of `app` shows (it lives in the app's workspace, not in session state)."""
    from components.model_cache import services

    live = services().workspace.open(app.session_state[f"conversation_id_{page}"], app.session_state["owner"])
    return live.conversation


def seed_conversation(app: AppTest, page: str, conversation) -> None:
    """Open `app` on `conversation` (call before its first run), as if it had been made there."""
    from components.model_cache import services

    owner = "browser:apptest-" + str(id(app))
    live = services().workspace.draft(owner, page)
    live.conversation = conversation
    app.session_state["owner"] = owner
    app.session_state[f"conversation_id_{page}"] = live.id
