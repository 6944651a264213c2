"""The backend's errors on the pages in Chinese: a checkpoint that does not load, a server that is gone (with its
connection error under Details), and a session without the admin role that holds a server target."""

from __future__ import annotations

import socket

import pytest
from streamlit.testing.v1 import AppTest

from i18n import Text
from model_backend.settings import LoadSpec, ServerSpec
from tests.app.conftest import ROOT, conversation_of


def _closed_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def _app_zh() -> AppTest:
    app = AppTest.from_file(str(ROOT / "app.py"), default_timeout=120)
    app.session_state["ui_language"] = "zh"
    return app


def test_a_folder_that_is_no_checkpoint_is_explained_in_chinese(tmp_path) -> None:
    app = _app_zh()
    app.session_state["load_spec"] = LoadSpec(str(tmp_path), device="cpu")
    app.run()
    assert not app.exception, app.exception
    banner = (
        f"**模型无法加载**: 文件夹 {tmp_path} 不是模型权重：里面没有 config.json。"
        "请选择存放模型权重文件（config.json 和权重文件）的文件夹。 你的对话都已保留。"
    )
    assert banner in [e.value for e in app.main.error], [e.value for e in app.main.error]


def test_a_server_that_is_gone_is_explained_in_chinese_with_the_connection_error_folded() -> None:
    url = f"http://127.0.0.1:{_closed_port()}"
    app = _app_zh()
    app.session_state["backend"] = "server"
    app.session_state["server_spec"] = ServerSpec(url, "OpenGVLab/InternVL3-1B")
    app.run()
    app.chat_input[0].set_value("你在吗？").run()
    assert not app.exception, app.exception
    message = (
        f"无法连接到服务器 {url}。它可能已经停止，或者地址有误："
        "请启动服务器（或在“设置”页面改正地址），然后重新发送问题。"
    )
    assert message in [e.value for e in app.main.error], [e.value for e in app.main.error]
    details = [x for x in app.main.expander if x.label == "详细信息"]
    assert details and "ConnectError" in details[0].code[0].value
    turn = conversation_of(app).turns[-1]
    assert turn.question == "你在吗？" and turn.answer is None
    assert turn.error == Text("remote.cannot_connect", {"url": url})


def test_a_user_who_is_not_an_admin_gets_no_server_engine(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("INTERNVL_PASSWORD", "let me in")  # a login is configured, so roles apply
    app = _app_zh()
    app.session_state["role"] = "user"
    app.session_state["backend"] = "server"  # as if left over: only an admin can choose it on Settings
    app.session_state["server_spec"] = ServerSpec(f"http://127.0.0.1:{_closed_port()}", "m")
    app.run()
    assert not app.exception, app.exception
    failure = app.session_state["load_error"]
    assert failure.problem == Text("load.server_refused")
    assert failure.problem.render("zh") == (
        "只有管理员才能让本应用使用兼容 OpenAI 接口的服务器。请使用本服务器提供的模型权重，或联系管理员。"
    )
    banner = " ".join(e.value for e in app.main.error)  # the reason is on the page, not only in session state
    assert "只有管理员才能" in banner
    app.chat_input[0].set_value("Hello").run()
    assert not app.exception, app.exception
    turn = conversation_of(app).turns[-1]
    assert turn.answer is None and turn.error == Text("chat.no_model")  # no request reached any server
