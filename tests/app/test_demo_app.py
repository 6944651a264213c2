"""The app with the real offline demo checkpoint and LocalEngine (no fake): load, answer, switch, recover."""

from __future__ import annotations

import pytest
from streamlit.testing.v1 import AppTest

from tests.app.conftest import ROOT, conversation_of, seed_conversation


@pytest.fixture(autouse=True)
def demo_env(monkeypatch: pytest.MonkeyPatch, tmp_path_factory: pytest.TempPathFactory) -> None:
    monkeypatch.setenv("INTERNVL_MODEL", "demo")
    monkeypatch.setenv("INTERNVL_STUDIO_CACHE", str(tmp_path_factory.getbasetemp() / "studio-cache"))


def sidebar_text(app: AppTest) -> str:
    return " ".join(e.value for e in app.sidebar.markdown) + " ".join(e.value for e in app.sidebar.warning)


def test_demo_loads_answers_and_is_badged() -> None:
    app = AppTest.from_file(str(ROOT / "app.py"), default_timeout=300)
    app.run()
    assert not app.exception, app.exception
    assert "random text" in sidebar_text(app)
    assert "`demo`" in sidebar_text(app)
    app.chat_input[0].set_value("Hello, who are you?").run()
    assert not app.exception, app.exception
    turn = conversation_of(app).turns[0]
    assert turn.answered and turn.stats.new_tokens > 0 and turn.stats.prompt_tokens > 0
    assert any("tokens/s" in c.value for c in app.caption)


def test_missing_hub_checkpoint_offers_the_demo_and_keeps_history() -> None:
    # AppTest (1.67) drops sidebar elements from its tree on reruns of an st.navigation app, so
    # the sidebar is read on the first run; the browser tests check it across reruns.
    from model_backend.conversation import Conversation
    from model_backend.settings import LoadSpec

    app = AppTest.from_file(str(ROOT / "app.py"), default_timeout=300)
    history = Conversation()
    history.ask("Remember me").answer = "ok"
    seed_conversation(app, "image", history)
    app.session_state["load_spec"] = LoadSpec("OpenGVLab/Definitely-Missing-1B", allow_remote_code=True)
    app.run()
    assert not app.exception, app.exception
    errors = " ".join(e.value for e in app.sidebar.error)
    assert "Could not download" in errors and "Definitely-Missing-1B" in errors
    next(b for b in app.sidebar.button if b.label == "Use the offline demo checkpoint").click().run()
    assert not app.exception, app.exception
    assert app.session_state["load_spec"].checkpoint == "demo"
    assert "load_error" not in app.session_state
    assert conversation_of(app).turns[0].question == "Remember me"
    app.chat_input[0].set_value("And now?").run()
    assert conversation_of(app).turns[1].answered  # the demo answered


def test_default_checkpoint_offline_says_so_within_seconds(monkeypatch: pytest.MonkeyPatch) -> None:
    from model_backend.checkpoints.hub import PROBE_TIMEOUT_S
    from tests.test_loading import record_hub_calls

    monkeypatch.delenv("INTERNVL_MODEL")
    probes, downloads = record_hub_calls(monkeypatch)
    app = AppTest.from_file(str(ROOT / "app.py"), default_timeout=300)  # an upper bound, not a timing
    app.run()
    # Within seconds: one probe of the hub, bounded by its short timeout; no download was tried.
    assert probes == [PROBE_TIMEOUT_S] and all(downloads), (probes, downloads)
    assert not app.exception, app.exception
    assert app.session_state["load_spec"].checkpoint == "OpenGVLab/InternVL2-1B"
    banner = " ".join(e.value for e in app.main.error)
    assert "The model hub cannot be reached" in banner and "conversations are kept" in banner
    next(b for b in app.main.button if b.label == "Use the offline demo checkpoint").click().run()
    assert app.session_state["load_spec"].checkpoint == "demo"


def test_a_phi3_family_checkpoint_answers_in_the_app() -> None:
    """InternVL2-4B's family (Phi-3 LLM, SentencePiece Llama tokenizer, phi3-chat, the get_max_length shim)."""
    from model_backend.settings import LoadSpec

    app = AppTest.from_file(str(ROOT / "app.py"), default_timeout=300)
    app.session_state["load_spec"] = LoadSpec("demo-phi3", dtype="float32", device="cpu")
    app.run()
    assert not app.exception, app.exception
    assert "load_error" not in app.session_state, app.session_state["load_error"]
    app.chat_input[0].set_value("Hello, Phi-3?").run()
    assert not app.exception, app.exception
    turn = conversation_of(app).turns[0]
    assert turn.error is None and turn.answered and turn.stats.new_tokens > 0
