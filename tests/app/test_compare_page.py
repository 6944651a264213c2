"""The Compare page with two real demo checkpoints (`demo` and `demo-qwen2_5`): both answer the same
image and question, each exactly as its own engine does; the word diff and both stats lines show; a
follow-up goes to both with their own histories; one after the other when the pool holds one model;
the page in Chinese."""

from __future__ import annotations

import threading
from contextlib import contextmanager

import pytest
from streamlit.testing.v1 import AppTest

from components import state
from model_backend.conversation import Conversation, ImageAttachment
from model_backend.settings import GenerationSettings, LoadSpec
from tests.app.conftest import ROOT
from tests.media_factory import make_png
from tests.waiting import wait_until

PAGE = "app_pages/compare.py"
IMAGE = make_png(96, 64, seed=3)
# Short answers: the demo rambles up to the default 512 tokens, and six of them cost a minute on CI.
SETTINGS = GenerationSettings(max_new_tokens=40)


@pytest.fixture(autouse=True)
def demo_env(monkeypatch: pytest.MonkeyPatch, tmp_path_factory: pytest.TempPathFactory) -> None:
    monkeypatch.setenv("INTERNVL_MODEL", "demo")
    monkeypatch.setenv("INTERNVL_STUDIO_CACHE", str(tmp_path_factory.getbasetemp() / "studio-cache"))


def open_compare(lang: str = "en") -> AppTest:
    app = AppTest.from_file(str(ROOT / "app.py"), default_timeout=300)
    app.session_state["ui_language"] = lang
    app.session_state[state.GENERATION] = SETTINGS
    app.run()
    app.switch_page(PAGE).run()
    assert not app.exception, app.exception
    return app


def pair(app: AppTest):
    from components.model_cache import services

    workspace, owner = services().workspace, app.session_state["owner"]
    a_id, b_id = app.session_state["compare_pair"]
    return workspace.open(a_id, owner), workspace.open(b_id, owner)


def wait_both_done(app: AppTest, turns: int, timeout_s: float = 300.0) -> None:
    """Rerun until both conversations have `turns` answered turns and no answer runs any more."""
    from components.model_cache import services

    def both_done() -> bool:
        lives = pair(app)
        if all(
            len(live.conversation.turns) == turns
            and all(turn.answered for turn in live.conversation.turns)
            and services().workspace.run(live) is None
            for live in lives
        ):
            return True
        for live in lives:
            run = services().workspace.run(live)
            if run is not None:
                run.wait_done(0.5)  # returns when the answer ends, or after 0.5 s to rerun the page meanwhile
        app.run()  # the page's own poll, done by hand
        return False

    wait_until(both_done, timeout_s, lambda: f"both answers: {[live.conversation.turns for live in pair(app)]}")
    app.run()
    assert not app.exception, app.exception


def own_answers(checkpoint: str, questions: list[str], image: bool = True) -> list[str]:
    """What the checkpoint's own engine answers to the same image and questions, turn by turn."""
    from components.model_cache import services

    conversation, answers = Conversation(), []
    with services().factory.lease(LoadSpec(checkpoint)) as engine:
        for number, question in enumerate(questions):
            images = (ImageAttachment(IMAGE, "shapes.png"),) if image and number == 0 else ()
            turn = conversation.ask(question, images=images)
            turn.answer = engine.stream(conversation, SETTINGS, threading.Event()).text()
            answers.append(turn.answer)
    return answers


def ask(app: AppTest, question: str) -> None:
    app.chat_input[0].set_value(question).run()
    assert not app.exception, app.exception


def html_of(app: AppTest) -> str:
    return " ".join(element.proto.body for element in app.get("html"))


def test_two_demo_checkpoints_answer_side_by_side_with_a_diff_and_a_follow_up() -> None:
    app = open_compare()
    assert app.title[0].value == "Compare"
    assert [s.value for s in app.subheader][:2] == ["Model A", "Model B"]
    assert app.selectbox(key="compare_a_source").value == "current"
    assert app.selectbox(key="compare_b_source").value == "demo"
    assert app.selectbox(key="compare_b_demo").value == "demo-qwen2_5"
    assert "Now: demo" in [c.value for c in app.caption]

    app.file_uploader(key="compare_images").set_value([("shapes.png", IMAGE, "image/png")]).run()
    ask(app, "What is in the picture?")
    wait_both_done(app, turns=1)

    a, b = pair(app)
    expected_a = own_answers("demo", ["What is in the picture?"])
    expected_b = own_answers("demo-qwen2_5", ["What is in the picture?"])
    assert a.conversation.turns[0].answer == expected_a[0]
    assert b.conversation.turns[0].answer == expected_b[0]
    assert expected_a[0] != expected_b[0]  # two different checkpoints, really
    assert a.conversation.turns[0].images[0].data == IMAGE == b.conversation.turns[0].images[0].data

    assert "Last answers compared" in [s.value for s in app.subheader]
    captions = [c.value for c in app.caption]
    assert any(c.startswith("**Model A** · first token") and "tokens/s" in c for c in captions)
    assert any(c.startswith("**Model B** · first token") and "tokens/s" in c for c in captions)
    assert any(c.startswith("Words in common: ") for c in captions)
    diff = html_of(app)
    assert 'class="compare-diff"' in diff and 'class="diff-a"' in diff and 'class="diff-b"' in diff
    assert app.query_params["ab"] in (f"{a.id}~{b.id}", [f"{a.id}~{b.id}"])
    assert "Not enough memory for both at once: B answers after A." not in [i.value for i in app.info]

    ask(app, "And the colours?")
    wait_both_done(app, turns=2)
    a, b = pair(app)
    questions = ["What is in the picture?", "And the colours?"]
    assert [turn.answer for turn in a.conversation.turns] == own_answers("demo", questions)
    assert [turn.answer for turn in b.conversation.turns] == own_answers("demo-qwen2_5", questions)
    assert not a.conversation.turns[1].images and not b.conversation.turns[1].images


def test_one_after_the_other_when_the_pool_holds_one_model() -> None:
    from components.model_cache import services

    pool = services().pool
    budget = pool.budget_gb
    for resident in pool.residents():
        pool.evict(resident.spec)
    pool.budget_gb = 1e-6  # a model alone may exceed it; a second one pushes the idle first one out
    factory, events = services().factory, []
    plain_lease = factory.lease

    @contextmanager
    def recorded(target, progress=None):
        answering = threading.current_thread().name == "answer-run"  # not the sidebar's or the page's loads
        with plain_lease(target, progress) as engine:
            if answering:
                events.append(("start", target.checkpoint))
            yield engine
            if answering:
                events.append(("end", target.checkpoint))

    factory.lease = recorded
    try:
        app = open_compare()
        ask(app, "Describe it.")
        wait_both_done(app, turns=1)
        said = "Answered one after the other: there was not enough memory for both models at once."
        assert said in [c.value for c in app.caption]
        assert events == [("start", "demo"), ("end", "demo"), ("start", "demo-qwen2_5"), ("end", "demo-qwen2_5")]
        a, b = pair(app)
        assert a.conversation.turns[0].answer == own_answers("demo", ["Describe it."], image=False)[0]
        assert b.conversation.turns[0].answer == own_answers("demo-qwen2_5", ["Describe it."], image=False)[0]
    finally:
        pool.budget_gb = budget
        del factory.lease


def test_the_page_in_chinese() -> None:
    app = open_compare("zh")
    assert app.title[0].value == "模型对比"
    assert [s.value for s in app.subheader][:2] == ["模型 A", "模型 B"]
    assert app.selectbox(key="compare_b_source").format_func("demo") == "演示检查点"
    assert app.selectbox(key="compare_b_dtype").label == "精度" and app.selectbox(key="compare_b_quant").label == "量化"
    assert app.selectbox(key="compare_b_quant").format_func("8bit") == "8 位（bitsandbytes）"
    assert app.chat_input[0].placeholder == "向两个模型提问…"
    assert "没有图片：问题将以纯文本发给两个模型。" in [c.value for c in app.caption]
    app.selectbox(key="compare_b_source").set_value("folder").run()
    app.text_input(key="compare_b_folder").set_value("/no/such/folder").run()
    assert "服务器上没有文件夹 /no/such/folder。请检查路径。" in [w.value for w in app.warning]
    ask(app, "你好")  # Ask repeats the side's own problem and asks neither model
    assert [e.value for e in app.error] == ["服务器上没有文件夹 /no/such/folder。请检查路径。"]
    assert all(not live.conversation.turns for live in pair(app))


def test_one_checkpoint_in_two_precisions_loads_two_pool_entries_and_survives_a_refresh() -> None:
    from components.model_cache import services

    float32, bfloat16 = LoadSpec("demo", dtype="float32"), LoadSpec("demo", dtype="bfloat16")
    app = open_compare()
    assert app.selectbox(key="compare_b_dtype").value == "auto"  # the default, as in Settings
    assert app.selectbox(key="compare_b_quant").value == "none"
    assert app.selectbox(key="compare_b_dtype").format_func("auto").startswith("auto (")
    app.selectbox(key="compare_a_source").set_value("demo").run()
    app.selectbox(key="compare_a_dtype").set_value("float32")
    app.selectbox(key="compare_b_demo").set_value("demo")
    app.selectbox(key="compare_b_dtype").set_value("bfloat16").run()
    ask(app, "Describe it.")
    wait_both_done(app, turns=1)

    resident = {r.spec for r in services().pool.residents()}
    assert {float32, bfloat16} <= resident  # two pool entries: the same weights in two precisions
    a, b = pair(app)
    assert a.settings["load_spec"]["dtype"] == "float32" and b.settings["load_spec"]["dtype"] == "bfloat16"
    expected_a = _own_answer(float32, "Describe it.")
    expected_b = _own_answer(bfloat16, "Describe it.")
    assert a.conversation.turns[0].answer == expected_a and b.conversation.turns[0].answer == expected_b
    shown = [m.markdown[0].value for m in app.chat_message if m.markdown]
    assert expected_a in shown and expected_b in shown  # both answers on the page

    link = app.query_params["ab"]
    again = AppTest.from_file(str(ROOT / "app.py"), default_timeout=300)  # a refresh: a new session, same browser
    again.session_state["owner"] = app.session_state["owner"]
    again.run()
    again.query_params["ab"] = link[0] if isinstance(link, list) else link
    again.switch_page(PAGE).run()
    assert not again.exception, again.exception
    assert again.session_state["compare_pair"] == (a.id, b.id)
    for side, dtype in (("a", "float32"), ("b", "bfloat16")):
        assert again.selectbox(key=f"compare_{side}_source").value == "demo"
        assert again.selectbox(key=f"compare_{side}_demo").value == "demo"
        assert again.selectbox(key=f"compare_{side}_dtype").value == dtype
        assert again.selectbox(key=f"compare_{side}_quant").value == "none"


def _own_answer(spec: LoadSpec, question: str) -> str:
    from components.model_cache import services

    conversation = Conversation()
    conversation.ask(question)
    with services().factory.lease(spec) as engine:
        return engine.stream(conversation, SETTINGS, threading.Event()).text()
