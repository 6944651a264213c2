"""The Batch page with a fake engine: upload a JSONL and its image, start, watch it finish, read the
table, filter it, download, open a row on the chat page; in English and in Chinese."""

from __future__ import annotations

import json
import threading

import pytest
from fake_engine import FakeEngine
from streamlit.testing.v1 import AppTest

from tests.app.conftest import ROOT, use_engine
from tests.media_factory import make_png
from tests.waiting import wait_until

PAGE = "app_pages/batch.py"


def open_batch(engine: FakeEngine, lang: str = "en") -> AppTest:
    app = AppTest.from_file(str(ROOT / "app.py"), default_timeout=120)
    use_engine(app, engine)
    app.session_state["ui_language"] = lang
    app.run()
    app.switch_page(PAGE).run()
    assert not app.exception, app.exception
    return app


def upload_and_start(app: AppTest, records: list[dict]) -> str:
    data = "".join(json.dumps(r) + "\n" for r in records).encode()
    app.file_uploader(key="batch_dataset_0").set_value(("set.jsonl", data, "application/json"))
    app.file_uploader(key="batch_media_0").set_value([("a.png", make_png(96, 64, seed=1), "image/png")])
    app.run()
    app.button(key="batch_start").click().run()
    assert not app.exception, app.exception
    return app.query_params["run"][0] if isinstance(app.query_params["run"], list) else app.query_params["run"]


def wait_done(app: AppTest, run_id: str, timeout_s: float = 300.0) -> None:
    """Rerun the page until the run has ended (the page's own poll, done by hand)."""
    from components import batch_view

    registry, owner = batch_view.registry(), app.session_state["owner"]
    wait_until(lambda: not registry.get(run_id, owner).active, timeout_s, "the run to finish")
    app.run()
    assert not app.exception, app.exception


RECORDS = [
    {"id": "right", "image": "images/a.png", "question": "What is it?", "answer": "fake answer"},
    {"id": "wrong", "image": "a.png", "question": "Colour?", "answer": "blue"},
    {"id": "bad", "image": "missing.png", "question": "Where?", "answer": "here"},
]


def test_a_run_from_upload_to_table_filter_download_and_chat() -> None:
    from components import batch_results

    app = open_batch(FakeEngine())
    assert app.title[0].value == "Batch"
    assert "No runs yet. Upload a dataset and press Start." in [c.value for c in app.caption]
    run_id = upload_and_start(app, RECORDS)
    wait_done(app, run_id)

    progress = app.get("progress")[0].proto.text
    assert progress == "Finished · 3 of 3 questions answered · errors: 1"
    table = app.dataframe[0].value
    assert list(table["row"]) == ["right", "wrong", "bad"]
    assert list(table["prediction"]) == ["fake answer", "fake answer", ""]
    assert list(table["score"][:2]) == [1.0, 0.0] and table["error"][2] == "image file not found: missing.png"
    assert table["thumbnail"][0].startswith("data:image/jpeg;base64,") and not isinstance(table["thumbnail"][2], str)
    assert [m.label for m in app.metric][:3] == ["Relaxed match", "ANLS (mean)", "Errors"]
    assert app.metric[0].value == "50.0%"

    app.toggle(key=f"batch_wrong_{run_id}").set_value(True).run()
    assert list(app.dataframe[0].value["row"]) == ["wrong", "bad"]
    assert "2 of 3 results shown." in [c.value for c in app.caption]

    labels = [button.proto.label for button in app.get("download_button")]
    assert labels == ["Download JSONL", "Download CSV"]
    owner = app.session_state["owner"]
    lines = [json.loads(line) for line in batch_results.jsonl_download(run_id, owner).decode().splitlines()]
    checkpoint = app.session_state["load_spec"].checkpoint  # the fake answers as the session's checkpoint
    assert [(r["id"], r["prediction"], r["checkpoint"]) for r in lines][:2] == [
        ("right", "fake answer", checkpoint),
        ("wrong", "fake answer", checkpoint),
    ]
    csv = batch_results.csv_download(run_id, owner).decode("utf-8-sig").splitlines()
    assert csv[0].startswith("id,line,turn,image") and len(csv) == 4

    app.selectbox(key=f"batch_open_row_{run_id}").set_value(2).run()  # the results' seq: "wrong"
    app.button(key=f"batch_open_{run_id}").click().run()
    assert not app.exception, app.exception
    chat = [m.markdown[0].value for m in app.chat_message if m.markdown]
    assert chat[:2] == ["Colour?", "fake answer"]
    assert app.title[0].value == "Image chat"


def test_the_run_survives_leaving_the_page_and_can_be_cancelled_and_resumed() -> None:
    from components import batch_view

    engine = FakeEngine()
    app = open_batch(engine)
    many = [{"id": n, "question": f"Q{n}"} for n in range(40)]
    gate, model = batch_view.registry().queue, app.session_state["load_spec"]
    blocker = object()
    # Hold the model's only free turn slots, so the run waits right at its first row.
    for _ in range(gate.cap):
        assert gate.enter(model, blocker, threading.Event())
    try:
        run_id = upload_and_start(app, many)
        assert "Running" in app.get("progress")[0].proto.text or "Loading" in app.get("progress")[0].proto.text
        app.switch_page("app_pages/image_chat.py").run()
        app.switch_page(PAGE).run()  # back: the same run, still going
        assert app.button(key=f"batch_cancel_{run_id}").label == "Cancel"
        app.button(key=f"batch_cancel_{run_id}").click().run()
    finally:
        for _ in range(gate.cap):
            gate.leave(model)
    wait_done(app, run_id)
    assert app.get("progress")[0].proto.text.startswith("Cancelled · 0 of 40")
    assert "Resume carries on" in app.info[0].value
    app.button(key=f"batch_resume_{run_id}").click().run()
    wait_done(app, run_id)
    assert app.get("progress")[0].proto.text == "Finished · 40 of 40 questions answered · no errors"


def test_bad_uploads_are_explained() -> None:
    app = open_batch(FakeEngine())
    app.file_uploader(key="batch_media_0").set_value([("a.png", make_png(8, 8), "image/png")]).run()
    app.button(key="batch_start").click().run()
    assert app.error[0].value == "Add a dataset file (or a zip that holds one)."
    app.file_uploader(key="batch_dataset_0").set_value(("t.csv", b"id,answer\n1,x\n", "text/csv")).run()
    app.button(key="batch_start").click().run()
    assert app.error[0].value == "The dataset file could not be read. The details say why."
    details = next(e for e in app.main.expander if e.label == "Details")  # the sidebar may list loaded models
    assert "no 'question' column" in details.children[0].value  # the reader's words, folded away


@pytest.mark.parametrize("lang", ["zh"])
def test_the_page_in_chinese(lang: str) -> None:
    app = open_batch(FakeEngine(), lang)
    assert app.title[0].value == "批量评测"
    assert app.file_uploader(key="batch_dataset_0").label == "数据集文件（JSONL、JSON 或 CSV）"
    assert app.file_uploader(key="batch_media_0").label == "图片和视频（多个文件，或一个 zip）"
    assert app.button(key="batch_start").label == "开始"
    run_id = upload_and_start(app, RECORDS)
    wait_done(app, run_id)
    assert app.get("progress")[0].proto.text == "已完成 · 已回答 3 / 3 个问题 · 错误：1"
    assert app.toggle(key=f"batch_wrong_{run_id}").label == "只看答错或失败的"
    assert "显示 3 / 3 条结果。" in [c.value for c in app.caption]
    assert [button.proto.label for button in app.get("download_button")] == ["下载 JSONL", "下载 CSV"]
    assert app.button(key=f"batch_open_{run_id}").label == "作为对话打开"
    assert [m.label for m in app.metric][:2] == ["宽松匹配", "ANLS（平均）"]
    app.file_uploader(key="batch_media_1").set_value([("a.png", make_png(8, 8), "image/png")]).run()
    app.button(key="batch_start").click().run()
    assert app.error[0].value == "请添加数据集文件（或包含数据集文件的 zip）。"
