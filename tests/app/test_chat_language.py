"""The chat in Chinese, and the chat's fixes of issue #12: a folded long question, a copy control
under each answer, a context meter that never says "0 prompt" while the first answer streams."""

from __future__ import annotations

import re

from fake_engine import FakeEngine
from streamlit.proto.Block_pb2 import Block as BlockProto
from streamlit.testing.v1 import AppTest

from i18n import Text, text
from model_backend.conversation import AnswerStats, Conversation
from tests.app.conftest import ROOT, conversation_of, seed_conversation, start, use_engine


def chinese(app: AppTest) -> AppTest:
    app.session_state["ui_language"] = "zh"
    return app


def start_zh(engine: FakeEngine | None, conversation: Conversation | None = None) -> AppTest:
    app = AppTest.from_file(str(ROOT / "app.py"), default_timeout=120)
    chinese(app)
    if engine is not None:
        use_engine(app, engine)
    if conversation is not None:
        seed_conversation(app, "image", conversation)
    app.run()
    assert not app.exception, app.exception
    return app


def ask(app: AppTest, question: str) -> None:
    app.chat_input[0].set_value(question).run()
    assert not app.exception, app.exception


def popover_labels(app: AppTest) -> list[str]:
    labels: list[str] = []

    def walk(node) -> None:
        proto = getattr(node, "proto", None)
        if isinstance(proto, BlockProto) and proto.WhichOneof("type") == "popover":
            labels.append(proto.popover.label)
        for child in getattr(node, "children", {}).values():
            walk(child)

    walk(app.main)
    return labels


def test_the_image_chat_page_speaks_chinese() -> None:
    app = start_zh(FakeEngine(["你好", "！"]))
    assert app.title[0].value == "图片对话"
    assert "没有图片：模型只根据文字回答。" in [c.value for c in app.caption]
    assert app.chat_input[0].placeholder == "询问这张图片，或任何问题"
    assert app.button(key="regen_image").label == "重新生成"
    assert app.button(key="clear_image").label == "清空"
    assert {"编辑上一问", "导出", "导入"} <= set(popover_labels(app))
    # The sidebar is read on the first run (AppTest drops it from the tree on reruns of an st.navigation app).
    assert "对话" in [e.label for e in app.sidebar.expander]
    assert app.button(key="new_image").label == "新对话"
    assert app.text_input(key="search_image").label == "搜索"
    assert "还没有保存的对话。" in [c.value for c in app.sidebar.caption]
    ask(app, "Hi")
    captions = [c.value for c in app.caption]
    # The first token's time is the run's own (from the question); the rest is what the fake engine reported.
    caption = re.compile(r"首个 token \d+\.\d\d 秒 · 每秒 100\.0 个 token · 新生成 2 个 token")
    assert any(caption.match(c) for c in captions), captions
    assert "复制" in popover_labels(app)
    assert app.progress[0].text == "上下文：提示词 100 + 回答预算 512，上限 8,192 个 token"


def test_no_model_says_so_in_chinese_and_keeps_the_question() -> None:
    app = chinese(AppTest.from_file(str(ROOT / "app.py"), default_timeout=120))
    app.session_state["backend"] = "server"  # no server set: no engine, and nothing to load
    app.run()
    ask(app, "有人吗？")
    expected = "没有加载模型，所以这个问题没有得到回答。请查看侧边栏，然后点击“重新生成”。"
    assert expected in [e.value for e in app.main.error]
    turn = conversation_of(app).turns[0]
    assert turn.question == "有人吗？" and turn.error == Text("chat.no_model")
    app.run()  # drawn again from the history
    assert expected in [e.value for e in app.main.error]


def test_a_turn_error_from_the_history_is_shown_in_chinese() -> None:
    history = Conversation()
    history.ask("Q").error = Text("chat.no_model")
    app = start_zh(FakeEngine(), history)
    assert "没有加载模型，所以这个问题没有得到回答。请查看侧边栏，然后点击“重新生成”。" in [e.value for e in app.error]


def test_a_failed_answer_says_so_in_chinese_with_its_details_folded() -> None:
    engine = FakeEngine(["fine"])
    app = start_zh(engine)
    ask(app, "First")
    engine.fail = RuntimeError("CUDA error: device-side assert triggered")
    ask(app, "Second")
    app.run()  # from the history, as after a reload
    assert text("zh", "engine.unexpected") in [e.value for e in app.main.error]
    (details,) = app.chat_message[3].expander
    assert details.label == "详细信息"
    assert "CUDA error: device-side assert triggered" in details.code[0].value
    assert conversation_of(app).turns[0].answer == "fine"


def test_an_empty_edited_question_is_refused_in_chinese() -> None:
    app = start_zh(FakeEngine(["a"]))
    ask(app, "Old question")
    app.text_area(key="edit_text_image_1").set_value("   ")
    app.button(key="resend_image").click().run()
    assert "编辑后的问题是空的。" in [e.value for e in app.error]
    assert conversation_of(app).turns[0].question == "Old question"


def test_a_bad_import_names_the_file_in_chinese() -> None:
    app = start_zh(FakeEngine(["x"]))
    ask(app, "Keep me")
    app.file_uploader(key="import_image").upload("broken.json", b"{not json", "application/json").run()
    assert any(e.value.startswith("无法导入 broken.json:") for e in app.error), [e.value for e in app.error]
    assert conversation_of(app).turns[0].question == "Keep me"


def test_a_long_question_is_folded_under_show_all() -> None:
    long_question = "\n".join(f"Line {n}: " + " ".join(["word"] * 12) for n in range(400))  # 28,000 characters
    app = start("image", FakeEngine(["Short answer"]))
    ask(app, long_question)
    user = app.chat_message[0]
    shown = user.markdown[0].value
    assert shown.startswith("Line 0:") and shown.endswith(" …") and len(shown) < 700
    (folded,) = user.expander
    assert folded.label == f"Show all ({len(long_question):,} characters)"
    assert not folded.proto.expanded
    assert folded.markdown[0].value == long_question
    assert app.chat_message[1].markdown[0].value == "Short answer"


def test_a_short_question_is_drawn_in_full() -> None:
    app = start("image", FakeEngine(["ok"]))
    ask(app, "A question\nof two lines")
    assert app.chat_message[0].markdown[0].value == "A question\nof two lines"
    assert not app.chat_message[0].expander


def test_every_answer_has_a_copy_box_with_its_text_without_the_thinking() -> None:
    app = start("image", FakeEngine(["<think>", "hmm", "</think>", "The **answer**"], ["Second"]))
    ask(app, "One")
    ask(app, "Two")
    assert popover_labels(app).count("Copy") == 2
    assert [c.value for c in app.main.code] == ["The **answer**", "Second"]
    app.run()  # a rerun draws the same
    assert [c.value for c in app.main.code] == ["The **answer**", "Second"]


def test_the_chinese_long_question_label() -> None:
    history = Conversation()
    history.ask("字" * 2000).answer = "好"
    app = start_zh(FakeEngine(), history)
    (folded,) = app.chat_message[0].expander
    assert folded.label == "显示全部（2,000 个字符）"


def _meter_script() -> None:
    import streamlit as st

    from components import stats
    from model_backend.settings import GenerationSettings

    class Window:
        def context_window(self) -> int:
            return 8192

    stats.context_meter(st.session_state["meter_conversation"], Window(), GenerationSettings(max_new_tokens=512))


def _meter(conversation: Conversation, language: str = "en") -> str:
    app = AppTest.from_function(_meter_script)
    app.session_state["meter_conversation"] = conversation
    app.session_state["ui_language"] = language
    app.run()
    assert not app.exception, app.exception
    return app.progress[0].text


def test_the_context_meter_counts_while_the_first_answer_streams() -> None:
    waiting = Conversation()
    waiting.ask("First question")  # its answer streams: no prompt size yet
    assert _meter(waiting) == "Context: counting the prompt… + 512 answer budget of 8,192 tokens"
    assert _meter(waiting, "zh") == "上下文：正在统计提示词… + 回答预算 512，上限 8,192 个 token"
    answered = Conversation()
    answered.ask("First").answer = "ok"
    answered.turns[0].stats = AnswerStats(new_tokens=1, prompt_tokens=1234)
    assert _meter(answered) == "Context: 1,234 prompt + 512 answer budget of 8,192 tokens"
    answered.ask("Second")  # the next answer streams: the older prompt is not this one's size
    assert "counting the prompt…" in _meter(answered)
    assert _meter(Conversation()) == "Context: 0 prompt + 512 answer budget of 8,192 tokens"
    imported = Conversation()
    imported.ask("From an older export").answer = "no stats"
    assert _meter(imported) == "Context: prompt not counted yet + 512 answer budget of 8,192 tokens"
