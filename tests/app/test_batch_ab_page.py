"""The Batch page's A/B mode with two real demo checkpoints (`demo` and `demo-qwen2_5`): the Compare
page's two pickers in the form, one run, per-model scores, the joint table and its "disagree only"
filter, the downloads of the joint table; and the form in Chinese."""

from __future__ import annotations

import json
import threading

import pytest
from streamlit.testing.v1 import AppTest

from model_backend.conversation import Conversation, ImageAttachment
from model_backend.settings import GenerationSettings, LoadSpec
from tests.app.conftest import ROOT
from tests.media_factory import make_png
from tests.waiting import wait_until

PAGE = "app_pages/batch.py"
IMAGE = make_png(96, 64, seed=5)
RECORDS = [
    {"id": "one", "image": "a.png", "question": "What is in the picture?", "answer": "shapes"},
    {"id": "two", "image": "a.png", "question": "Which colours?", "answer": "red"},
    {"id": "three", "question": "Say hello."},
    {"id": "gone", "image": "missing.png", "question": "Where?", "answer": "here"},
]


@pytest.fixture(autouse=True)
def demo_env(monkeypatch: pytest.MonkeyPatch, tmp_path_factory: pytest.TempPathFactory) -> None:
    monkeypatch.setenv("INTERNVL_MODEL", "demo")
    monkeypatch.setenv("INTERNVL_STUDIO_CACHE", str(tmp_path_factory.getbasetemp() / "studio-cache"))


def open_batch(lang: str = "en") -> AppTest:
    app = AppTest.from_file(str(ROOT / "app.py"), default_timeout=300)
    app.session_state["ui_language"] = lang
    app.run()
    app.switch_page(PAGE).run()
    assert not app.exception, app.exception
    return app


def start_ab(app: AppTest, tokens: int = 6) -> str:
    app.toggle(key="batch_ab").set_value(True).run()
    data = "".join(json.dumps(r) + "\n" for r in RECORDS).encode()
    app.file_uploader(key="batch_dataset_0").set_value(("pairs.jsonl", data, "application/json"))
    app.file_uploader(key="batch_media_0").set_value([("a.png", IMAGE, "image/png")])
    app.number_input(key="batch_max_new_tokens").set_value(tokens)
    app.run()
    app.button(key="batch_start").click().run()
    assert not app.exception, app.exception
    run = app.query_params["run"]
    return run[0] if isinstance(run, list) else run


def wait_done(app: AppTest, run_id: str, timeout_s: float = 300.0) -> None:
    from components import batch_view

    registry, owner = batch_view.registry(), app.session_state["owner"]
    wait_until(lambda: not registry.get(run_id, owner).active, timeout_s, "the run to finish")
    app.run()
    assert not app.exception, app.exception


def own_answer(checkpoint: str, record: dict, tokens: int) -> str:
    from components.model_cache import services

    images = (ImageAttachment(IMAGE, "a.png"),) if "image" in record else ()
    conversation = Conversation()
    conversation.ask(record["question"], images=images)
    settings = GenerationSettings(max_new_tokens=tokens)
    with services().factory.lease(LoadSpec(checkpoint)) as engine:
        return engine.stream(conversation, settings, threading.Event()).text()


def test_an_ab_run_gives_one_table_with_scores_a_filter_and_downloads() -> None:
    from components import batch_ab_view, batch_view

    app = open_batch()
    app.toggle(key="batch_ab").set_value(True).run()
    assert [m.value for m in app.markdown if m.value in ("**Model A**", "**Model B**")] == [
        "**Model A**",
        "**Model B**",
    ]
    assert app.selectbox(key="batch_ab_a_source").value == "current"
    assert app.selectbox(key="batch_ab_b_demo").value == "demo-qwen2_5"
    run_id = start_ab(app)
    wait_done(app, run_id)

    progress = app.get("progress")[0].proto.text
    assert progress == "Finished · A 4 · B 4 of 4 questions answered · errors: 2"
    captions = [c.value for c in app.caption]
    assert any(c.startswith("A: demo · B: demo-qwen2_5 · started ") for c in captions)
    assert "Both models fit in memory together: each question goes to A, then to B." in captions

    scores = app.dataframe[0].value
    assert list(scores["model"]) == ["A · demo", "B · demo-qwen2_5"]
    assert list(scores["answered"]) == [4, 4] and list(scores["errors"]) == [1, 1]
    table = app.dataframe[1].value
    assert list(table["row"]) == ["one", "two", "three", "gone"]
    generation = app.session_state["batch_max_new_tokens"]
    for number, record in enumerate(RECORDS[:3]):
        assert table["prediction_a"][number] == own_answer("demo", record, generation)
        assert table["prediction_b"][number] == own_answer("demo-qwen2_5", record, generation)
    assert any(table["prediction_a"][n] != table["prediction_b"][n] for n in range(3)), "the two answer alike"
    assert table["error_a"][3] == table["error_b"][3] == "image file not found: missing.png"
    owner = app.session_state["owner"]
    joint = batch_view.registry().joint(run_id, owner)
    disagree = [row["id"] for row in joint if row["agree"] is False]
    assert f"The two models disagree on {len(disagree)} of 3 questions both answered." in captions
    assert "4 of 4 questions shown." in captions

    app.toggle(key=f"batch_ab_disagree_{run_id}").set_value(True).run()
    if disagree:
        assert list(app.dataframe[1].value["row"]) == disagree  # "gone" failed on both sides: not compared
        assert f"{len(disagree)} of 4 questions shown." in [c.value for c in app.caption]
    else:
        assert "The two models agree on every question answered so far." in [c.value for c in app.caption]

    labels = [button.proto.label for button in app.get("download_button")]
    assert labels == ["Download JSONL", "Download CSV"]
    lines = [
        json.loads(line) for line in batch_ab_view.jsonl_download(batch_view.registry(), run_id, owner).splitlines()
    ]
    shown = list(zip(table["row"], table["prediction_a"], table["prediction_b"], strict=True))
    assert [(r["id"], r["prediction_a"], r["prediction_b"]) for r in lines] == [*shown[:3], ("gone", None, None)]
    csv = batch_ab_view.csv_download(batch_view.registry(), run_id, owner).decode("utf-8-sig").splitlines()
    assert (
        csv[0].startswith("id,line,turn,image,images,video,question,reference,checkpoint_a,checkpoint_b")
        and len(csv) == 5
    )
    runs = [b.proto.label for b in app.button if b.proto.label.startswith("▸ ")]
    assert runs == ["▸ pairs.jsonl · A/B · Finished · 8/8"]


def test_the_ab_form_in_chinese() -> None:
    app = open_batch("zh")
    assert app.toggle(key="batch_ab").label == "A/B：对比两个模型"
    app.toggle(key="batch_ab").set_value(True).run()
    assert "**模型 A**" in [m.value for m in app.markdown] and "**模型 B**" in [m.value for m in app.markdown]
    run_id = start_ab(app, tokens=2)
    wait_done(app, run_id)
    assert app.get("progress")[0].proto.text == "已完成 · A 4 · B 4 / 4 个问题已回答 · 错误：2"
    assert app.toggle(key=f"batch_ab_disagree_{run_id}").label == "只看答案不一致的行"
    assert "显示 4 / 4 个问题。" in [c.value for c in app.caption]
    assert app.selectbox(key=f"batch_ab_open_side_{run_id}").label == "谁的回答"
    assert app.selectbox(key=f"batch_ab_open_side_{run_id}").format_func("b") == "模型 B"
    assert app.button(key=f"batch_ab_open_{run_id}").label == "作为对话打开"
    assert app.selectbox(key="batch_ab_b_dtype").label == "精度"


def test_either_side_of_a_row_opens_as_a_conversation_with_that_sides_checkpoint_and_precision() -> None:
    from components import batch_view
    from components.model_cache import services

    app = open_batch()
    app.toggle(key="batch_ab").set_value(True).run()
    app.selectbox(key="batch_ab_b_demo").set_value("demo")  # the same checkpoint in another precision
    app.selectbox(key="batch_ab_b_dtype").set_value("float32").run()
    assert app.selectbox(key="batch_ab_b_quant").value == "none"
    run_id = start_ab(app)
    wait_done(app, run_id)
    owner = app.session_state["owner"]
    joint = batch_view.registry().joint(run_id, owner)
    assert [r["checkpoint_a"] for r in joint[:3]] == [r["checkpoint_b"] for r in joint[:3]] == ["demo"] * 3
    assert app.selectbox(key=f"batch_ab_open_side_{run_id}").format_func("b") == "Model B"

    for record, side, spec in ((joint[0], "b", LoadSpec("demo", dtype="float32")), (joint[1], "a", LoadSpec("demo"))):
        app.selectbox(key=f"batch_ab_open_row_{run_id}").set_value((record["line"], int(record.get("turn") or 0)))
        app.selectbox(key=f"batch_ab_open_side_{run_id}").set_value(side)
        app.button(key=f"batch_ab_open_{run_id}").click().run()
        assert not app.exception, app.exception
        assert app.title[0].value == "Image chat"
        chat = [m.markdown[0].value for m in app.chat_message if m.markdown]
        assert chat[:2] == [record["question"], record[f"prediction_{side}"]]
        conversation_id = app.query_params["c"]
        conversation_id = conversation_id[0] if isinstance(conversation_id, list) else conversation_id
        opened = services().workspace.open(conversation_id, owner)
        assert LoadSpec(**opened.settings["load_spec"]) == spec  # follow-ups go to that side's model
        assert app.session_state["load_spec"] == spec
        app.switch_page(PAGE).run()
        assert not app.exception, app.exception
