"""The Batch page's batch size on the real demo checkpoint (float32): a run with batch size 2 gives
the same predictions as one with batch size 1, really batches its rows, and keeps its batch size
when it is cancelled and resumed."""

from __future__ import annotations

import json
import threading

import pytest
from streamlit.testing.v1 import AppTest

from components.state import LOAD_SPEC
from model_backend.settings import LoadSpec
from tests.app.conftest import ROOT
from tests.media_factory import make_png
from tests.waiting import wait_until

PAGE = "app_pages/batch.py"
SPEC = LoadSpec("demo", dtype="float32", device="cpu")
IMAGES = {"wide.png": make_png(160, 64, seed=2), "tall.png": make_png(64, 140, seed=3), "a.png": make_png(96, 64)}
RECORDS = [
    {"id": "wide", "image": "wide.png", "question": "Describe every part of this picture, please."},
    {"id": "tall", "image": "tall.png", "question": "Colour?"},
    {"id": "text", "question": "Say hello."},
    {"id": "small", "image": "a.png", "question": "What is it?", "answer": "shapes"},
    {"id": "two", "image": ["a.png", "wide.png"], "question": "Compare them."},
]


@pytest.fixture(autouse=True)
def demo_env(monkeypatch: pytest.MonkeyPatch, tmp_path_factory: pytest.TempPathFactory) -> None:
    monkeypatch.setenv("INTERNVL_MODEL", "demo")
    monkeypatch.setenv("INTERNVL_STUDIO_CACHE", str(tmp_path_factory.getbasetemp() / "studio-cache"))


def open_batch() -> AppTest:
    app = AppTest.from_file(str(ROOT / "app.py"), default_timeout=300)
    app.session_state[LOAD_SPEC] = SPEC  # float32: where batched greedy answers equal one-by-one ones
    app.run()
    app.switch_page(PAGE).run()
    assert not app.exception, app.exception
    return app


def start(app: AppTest, form_round: int, batch_size: int) -> str:
    data = "".join(json.dumps(r) + "\n" for r in RECORDS).encode()
    app.file_uploader(key=f"batch_dataset_{form_round}").set_value(("sizes.jsonl", data, "application/json"))
    app.file_uploader(key=f"batch_media_{form_round}").set_value([(n, b, "image/png") for n, b in IMAGES.items()])
    app.number_input(key="batch_max_new_tokens").set_value(6)
    app.number_input(key="batch_batch_size").set_value(batch_size)
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


def predictions(app: AppTest, run_id: str) -> list[tuple[str, str | None, str | None]]:
    from components import batch_view

    results = batch_view.registry().results(run_id, app.session_state["owner"])
    return [(r["id"], r["prediction"], r["error"]) for r in results]


def test_batch_size_2_gives_the_batch_size_1_predictions_and_resume_keeps_it(monkeypatch: pytest.MonkeyPatch) -> None:
    from components import batch_view
    from model_backend.engines import batched

    batches: list[int] = []
    real_answer_batch = batched.answer_batch

    def counting(engine, conversations, settings):  # type: ignore[no-untyped-def]
        batches.append(len(conversations))
        return real_answer_batch(engine, conversations, settings)

    monkeypatch.setattr(batched, "answer_batch", counting)
    app = open_batch()
    size = app.number_input(key="batch_batch_size")
    assert size.label == "Batch size" and size.value == 1 and "float32" in size.help

    one = start(app, 0, 1)
    wait_done(app, one)
    alone = predictions(app, one)
    assert [error for _, _, error in alone] == [None] * len(RECORDS)
    assert len({text for _, text, _ in alone}) > 1  # the rows' answers differ: a mix-up would show
    assert batches == []  # batch size 1: every row through its own generate call

    registry = batch_view.registry()
    gate, blocker = registry.queue, object()
    for _ in range(gate.cap):  # hold the model's turns, so the run waits at its first rows
        assert gate.enter(SPEC, blocker, threading.Event())
    try:
        two = start(app, 1, 2)
        app.button(key=f"batch_cancel_{two}").click().run()
    finally:
        for _ in range(gate.cap):
            gate.leave(SPEC)
    wait_done(app, two)
    assert app.get("progress")[0].proto.text.startswith("Cancelled · 0 of 5")

    launched = []
    launch = registry._launch
    monkeypatch.setattr(registry, "_launch", lambda job: (launched.append(job.options.batch_size), launch(job)))
    app.button(key=f"batch_resume_{two}").click().run()
    wait_done(app, two)
    assert launched == [2]  # the resumed job runs with the batch size the run was started with
    assert predictions(app, two) == alone
    assert batches == [2, 2]  # 5 history-free rows: two pairs, and the last row alone
