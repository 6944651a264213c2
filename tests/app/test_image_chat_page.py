"""Image chat page with a fake engine: history, regenerate, edit, clear, export/import, errors."""

from __future__ import annotations

import json

from fake_engine import FakeEngine

from model_backend.conversation import Conversation, ImageAttachment
from model_backend.engines.base import EngineError
from tests.app.conftest import conversation_of, start
from tests.media_factory import make_png


def texts(app) -> list[str]:
    return [m.markdown[0].value for m in app.chat_message if m.markdown]


def ask(app, question: str) -> None:
    app.chat_input[0].set_value(question).run()
    assert not app.exception, app.exception


def conversation(app, page: str = "image") -> Conversation:
    return conversation_of(app, page)


def test_pure_text_chat_streams_and_keeps_history() -> None:
    app = start("image", FakeEngine(["Hel", "lo"], ["Second ", "answer"]))
    ask(app, "Hi there")
    ask(app, "And again?")
    assert texts(app) == ["Hi there", "Hello", "And again?", "Second answer"]
    assert any("new tokens" in c.value for c in app.caption)  # per-answer stats caption
    assert conversation(app).turns[1].stats.new_tokens == 2


def test_history_is_per_page() -> None:
    app = start("image", FakeEngine(["one"]))
    ask(app, "Image page question")
    app.switch_page("app_pages/multi_image.py").run()
    assert not conversation(app, "multi").turns
    app.switch_page("app_pages/image_chat.py").run()
    assert texts(app)[:2] == ["Image page question", "one"]


def test_regenerate_replaces_last_answer() -> None:
    engine = FakeEngine(["first"], ["second"])
    app = start("image", engine)
    ask(app, "Q")
    app.button(key="regen_image").click().run()
    assert texts(app) == ["Q", "second"]
    assert len(engine.prompts) == 2 and engine.prompts[1].question == "Q"


def test_edit_and_resend_last_question() -> None:
    engine = FakeEngine(["a"], ["b"])
    app = start("image", engine)
    ask(app, "Old question")
    app.text_area(key="edit_text_image_1").set_value("New question")
    app.button(key="resend_image").click().run()
    assert texts(app) == ["New question", "b"]
    assert engine.prompts[-1].question == "New question"


def test_clear_empties_the_conversation() -> None:
    app = start("image", FakeEngine(["a"]))
    ask(app, "Q")
    app.button(key="clear_image").click().run()
    assert texts(app) == []
    assert conversation(app).turns == []


def test_export_json_round_trips() -> None:
    app = start("image", FakeEngine(["x"]))
    ask(app, "Q")
    exported = conversation(app).to_json()
    restored = Conversation.from_json(exported)
    assert restored.turns[0].question == "Q" and restored.turns[0].answer == "x"
    assert json.loads(exported)["format"] == "internvl-studio/conversation"


def test_import_bad_json_shows_error_and_keeps_history() -> None:
    app = start("image", FakeEngine(["x"]))
    ask(app, "Keep me")
    app.file_uploader(key="import_image").upload("broken.json", b"{not json", "application/json").run()
    errors = [e.value for e in app.error]
    assert any(e.startswith("Could not import broken.json: ") and "not JSON" in e for e in errors), errors
    details = [x for x in app.main.expander if x.label == "Details"]  # the parser's own words, folded
    assert details and "JSONDecodeError" in details[0].code[0].value
    assert texts(app)[:2] == ["Keep me", "x"]


def test_import_valid_export_replaces_conversation() -> None:
    app = start("image", FakeEngine())
    imported = Conversation()
    imported.ask("Imported question").answer = "Imported answer"
    app.file_uploader(key="import_image").upload("good.json", imported.to_json().encode(), "application/json").run()
    assert texts(app) == ["Imported question", "Imported answer"]


def test_an_answer_stopped_before_its_first_word_says_only_that() -> None:
    app = start("image", FakeEngine())
    imported = Conversation()
    imported.ask("Stopped at once").answer = ""
    imported.turns[-1].stopped = True
    imported.ask("Stopped mid-way").answer = "Half an"
    imported.turns[-1].stopped = True
    app.file_uploader(key="import_image").upload("s.json", imported.to_json().encode(), "application/json").run()
    captions = [c.value for c in app.caption]
    assert any("Stopped before the answer began" in c for c in captions)
    assert any("Stopped: partial answer" in c for c in captions)
    assert not any("(empty answer)" in c for c in captions)  # not both "empty" and "stopped" for one answer


def test_a_conversation_with_an_earlier_image_does_not_claim_to_have_none() -> None:
    app = start("image", FakeEngine())
    imported = Conversation()
    imported.ask("What is this?", images=(ImageAttachment(make_png(32, 24), "row.png"),)).answer = "Shapes."
    app.file_uploader(key="import_image").upload("i.json", imported.to_json().encode(), "application/json").run()
    captions = [c.value for c in app.caption]
    assert any("follow-ups are about the image earlier in this conversation" in c for c in captions)
    assert not any("text alone" in c for c in captions)


def test_corrupt_image_upload_shows_error_and_keeps_history() -> None:
    engine = FakeEngine(["kept"])
    app = start("image", engine)
    ask(app, "Before")
    app.file_uploader(key="upload_image").upload("photo.png", b"\x89PNG\r\n\x1a\nnot really", "image/png").run()
    assert any("photo.png" in e.value for e in app.error), [e.value for e in app.error]
    assert texts(app)[:2] == ["Before", "kept"]
    ask(app, "After")
    assert engine.prompts[-1].media == ()  # the broken file was not attached


def test_engine_error_is_shown_and_history_survives() -> None:
    engine = FakeEngine(["fine"])
    app = start("image", engine)
    ask(app, "First")
    engine.fail = EngineError("Out of GPU memory while answering: use fewer tiles")
    ask(app, "Second")
    assert any("Out of GPU memory" in e.value for e in app.error)
    turns = conversation(app).turns
    assert [t.question for t in turns] == ["First", "Second"] and turns[0].answer == "fine"


def test_example_gallery_attaches_image_and_shows_tile_preview() -> None:
    engine = FakeEngine(["<ref>orange</ref><box>[[100, 400, 300, 700]]</box>"])
    app = start("image", engine)
    app.segmented_control(key="source_image").set_value("Example").run()
    assert not app.exception, app.exception
    assert any("visual tokens" in c.value for c in app.caption)
    ask(app, "Where is the orange?")
    assert len(engine.prompts[0].media) == 1
    captions = [c for image in app.image for c in image.captions]
    assert any("box(es) from the answer" in c for c in captions), captions


def test_an_image_is_decoded_once_for_its_check_preview_thumbnail_and_boxes(monkeypatch) -> None:
    import streamlit as st

    from model_backend.preprocess import images

    decodes = []
    real_open = images.open_image
    monkeypatch.setattr(images, "open_image", lambda data, *a, **k: decodes.append(1) or real_open(data, *a, **k))
    st.cache_data.clear()
    st.cache_resource.clear()
    app = start("image", FakeEngine(["<ref>orange</ref><box>[[100, 400, 300, 700]]</box>"]))
    app.segmented_control(key="source_image").set_value("Example").run()
    ask(app, "Where is the orange?")  # the turn's thumbnail and the boxes drawn on the image
    app.run()  # a rerun decodes nothing again
    assert any("box(es) from the answer" in c for image in app.image for c in image.captions)
    assert len(decodes) == 1


def test_a_full_store_says_so_and_keeps_the_question(monkeypatch) -> None:
    from components.model_cache import services

    app = start("image", FakeEngine(["never", "shown"]))
    monkeypatch.setattr(services().workspace.store, "quota_bytes", 10)
    ask(app, "Will this be kept?")
    errors = [e.value for e in app.error]
    assert any("storage is full" in e and "Delete conversations" in e for e in errors), errors
    assert texts(app)[0] == "Will this be kept?"
