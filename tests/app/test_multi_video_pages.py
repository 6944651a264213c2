"""Multi-image and video pages with a fake engine: labels, limits, first-turn media, frame strip."""

from __future__ import annotations

import pytest
from fake_engine import FakeEngine

from tests.app.conftest import start
from tests.media_factory import has_ffmpeg, make_png, make_video


def pngs(count: int) -> list[tuple[str, bytes, str]]:
    return [(f"p{i}.png", make_png(64 + i, 48, seed=i), "image/png") for i in range(count)]


def test_two_images_are_labelled_and_follow_ups_keep_them() -> None:
    engine = FakeEngine(["They differ"], ["Yes"])
    app = start("multi", engine)
    app.file_uploader(key="uploads_multi").set_value(pngs(2)).run()
    captions = [c for image in app.image for c in image.captions]
    assert captions[:2] == ["Image-1: p0.png", "Image-2: p1.png"]
    assert any("of at most 6 tiles" in c.value for c in app.caption)  # 12 tiles split over 2 images
    app.chat_input[0].set_value("Compare them").run()
    app.chat_input[0].set_value("Are you sure?").run()
    assert not app.exception
    first, second = engine.prompts
    assert len(first.media) == 2 and first.max_tiles_per_image == (6, 6)
    assert second.media == first.media and second.history[0][0].startswith("Image-1: <image>\nImage-2: <image>")


def test_too_many_images_is_a_clear_error() -> None:
    engine = FakeEngine()
    app = start("multi", engine)
    app.session_state["max_images"] = 3
    app.file_uploader(key="uploads_multi").set_value(pngs(4)).run()
    assert [e.value for e in app.error] == [
        "Too many images: 4 uploaded, but at most 3 fit in one question. Remove 1 of them. "
        "Or allow more on the Settings page (Max images per multi-image question, up to 16)."
    ]
    app.chat_input[0].set_value("Compare").run()
    assert app.error[-1].value == "Too many images: remove 1 first (at most 3 fit in one question)."
    assert engine.prompts == []  # and never "upload at least two"


def test_one_image_is_not_enough() -> None:
    engine = FakeEngine()
    app = start("multi", engine)
    app.file_uploader(key="uploads_multi").set_value(pngs(1)).run()
    app.chat_input[0].set_value("Compare").run()
    assert any("at least two images" in e.value for e in app.error)
    assert engine.prompts == []


@pytest.mark.skipif(not has_ffmpeg(), reason="ffmpeg makes the test video")
def test_video_strip_and_question(tmp_path) -> None:
    clip = make_video(tmp_path / "clip.mp4", seconds=2, fps=10)
    engine = FakeEngine(["A counter"], ["Still a counter"])
    app = start("video", engine)
    app.file_uploader(key="video_video").upload("clip.mp4", clip.read_bytes(), "video/mp4").run()
    assert not app.exception, app.exception
    captions = [c for image in app.image for c in image.captions]
    assert len(captions) == 8 and captions[0].startswith("Frame1 · ")
    app.chat_input[0].set_value("What is shown?").run()
    app.chat_input[0].set_value("And then?").run()
    first, second = engine.prompts
    assert first.media[0].num_frames == 8 and first.question.startswith("Frame1: <image>\n")
    assert second.media == first.media  # follow-ups refer to the same frames


def test_undecodable_video_is_a_clear_error() -> None:
    app = start("video", FakeEngine())
    app.file_uploader(key="video_video").upload("clip.mp4", b"\x00\x00\x00 ftypisom garbage", "video/mp4").run()
    assert any("clip.mp4" in e.value and "not a video" in e.value for e in app.error), [e.value for e in app.error]
