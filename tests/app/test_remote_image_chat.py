"""Image chat with the remote backend, in AppTest: Settings lists a real `transformers serve`'s models,
the page streams its answers (history and image resent each turn), and a dead server is explained."""

from __future__ import annotations

import pytest
from streamlit.testing.v1 import AppTest

from model_backend.conversation import Conversation, ImageAttachment
from model_backend.settings import ServerSpec
from tests.app.conftest import ROOT, conversation_of, seed_conversation
from tests.media_factory import make_png
from tests.server_fixture import RunningServer, free_port

pytestmark = pytest.mark.server


def _app() -> AppTest:
    app = AppTest.from_file(str(ROOT / "app.py"), default_timeout=60)
    app.session_state["backend"] = "server"  # start on the server backend: no local model is loaded
    app.session_state["server_spec"] = ServerSpec("http://127.0.0.1:9", "none")
    return app


def _errors(app: AppTest) -> list[str]:
    return [e.value for e in app.error]


def test_settings_lists_the_served_model_and_image_chat_answers(openai_server: RunningServer) -> None:
    app = _app()
    app.run()
    app.switch_page("app_pages/settings.py").run()
    app.text_input(key="url").set_value(openai_server.base_url + "/v1").run()
    app.toggle(key="list").set_value(True).run()
    assert app.selectbox(key="server_model").options == [openai_server.model]
    app.number_input(key="max_new").set_value(12)
    next(b for b in app.button if b.label == "Apply / Load").click().run()
    app.run()  # AppTest keeps the tree of the run that called st.rerun: draw the page again
    assert not app.exception, app.exception
    assert app.session_state["server_spec"] == ServerSpec(openai_server.base_url + "/v1", openai_server.model)
    # (AppTest 1.67 drops the sidebar from its tree on reruns of an st.navigation app: the browser test reads it.)

    app.switch_page("app_pages/image_chat.py")
    conversation = Conversation()
    conversation.ask("What is in this picture?", images=(ImageAttachment(make_png(160, 120, seed=4), "a.png"),))
    seed_conversation(app, "image", conversation)  # as if the question had just been sent
    app.run()
    assert not app.exception and not _errors(app), (app.exception, _errors(app))
    app.chat_input[0].set_value("And the colours?").run()
    assert not app.exception and not _errors(app), (app.exception, _errors(app))

    turns = conversation_of(app).turns
    assert [t.question for t in turns] == ["What is in this picture?", "And the colours?"]
    assert all(t.answer and t.stats.new_tokens == 12 for t in turns)  # greedy: runs to max new tokens
    # The second request resent the first turn, image included.
    assert turns[1].stats.prompt_tokens > turns[0].stats.prompt_tokens + 12
    assert sum("new tokens" in c.value for c in app.caption) == 2


def test_a_server_that_is_not_running_is_explained_and_the_question_kept() -> None:
    url = f"http://127.0.0.1:{free_port()}"
    app = _app()
    app.session_state["server_spec"] = ServerSpec(url, "local/tiny-internvl-hf")
    app.run()
    app.chat_input[0].set_value("Anyone there?").run()
    assert not app.exception, app.exception
    connect = (
        f"Could not connect to the server at {url}. It may have stopped, or the address may be wrong: start the "
        "server (or correct its address on the Settings page), then send the question again."
    )
    assert connect in _errors(app), _errors(app)
    turn = conversation_of(app).turns[-1]
    assert turn.question == "Anyone there?" and turn.answer is None
    assert any(m.value == "Anyone there?" for m in app.markdown)
