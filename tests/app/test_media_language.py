"""The multi-image and video pages in English and in Chinese: their labels, the exact words of
each media problem, and Ask naming the real problem (issue #12: 17 images of 16 are too many,
not too few; an empty time range is empty, not undecodable). Also: the frame strip decodes a
frame once, whatever reruns the page."""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest
from fake_engine import FakeEngine
from streamlit.testing.v1 import AppTest

from tests.app.conftest import PAGES, ROOT, use_engine
from tests.media_factory import has_ffmpeg, make_photo, make_png, make_video

needs_ffmpeg = pytest.mark.skipif(not has_ffmpeg(), reason="ffmpeg makes the test videos")
LANGUAGES = ["en", "zh"]


def start(page: str, lang: str, engine: FakeEngine | None = None) -> AppTest:
    app = AppTest.from_file(str(ROOT / "app.py"), default_timeout=120)
    app.session_state["ui_language"] = lang
    use_engine(app, engine or FakeEngine())
    app.run()
    app.switch_page(PAGES[page]).run()
    assert not app.exception, app.exception
    return app


def errors(app: AppTest) -> list[str]:
    return [e.value for e in app.error]


def ask(app: AppTest, question: str = "?") -> None:
    app.chat_input[0].set_value(question).run()
    assert not app.exception, app.exception


def pngs(count: int) -> list[tuple[str, bytes, str]]:
    return [(f"p{i}.png", make_png(40, 30, seed=i), "image/png") for i in range(count)]


def audio_only_mp4(path: Path) -> Path:
    """An mp4 with a sound track and no picture (what a phone's voice memo export looks like)."""
    cmd = ["ffmpeg", "-loglevel", "error", "-y", "-f", "lavfi", "-i", "sine=duration=1", "-c:a", "aac", str(path)]
    subprocess.run(cmd, check=True, capture_output=True, timeout=60)
    return path


MULTI_LABELS = {
    "en": (
        "Multi-image compare",
        "Upload 2 to 6 images",
        "Compare the images, e.g. “What differs between Image-1 and Image-2?”",
    ),
    "zh": ("多图对比", "上传 2 到 6 张图片", "对比这些图片，例如：“Image-1 和 Image-2 有什么不同？”"),
}


@pytest.mark.parametrize("lang", LANGUAGES)
def test_multi_image_page_labels(lang: str) -> None:
    app = start("multi", lang)
    title, upload, placeholder = MULTI_LABELS[lang]
    assert app.title[0].value == title
    assert app.file_uploader(key="uploads_multi").label == upload
    assert app.chat_input[0].placeholder == placeholder
    app.file_uploader(key="uploads_multi").set_value(pngs(2)).run()
    tiles = {"en": "6 of at most 6 tiles, plus a thumbnail", "zh": "6 个图块（最多 6 个），另加 1 张缩略图"}[lang]
    assert [c.value for c in app.caption].count(tiles) == 2
    assert [c for image in app.image for c in image.captions][:2] == ["Image-1: p0.png", "Image-2: p1.png"]


TOO_MANY = {
    "en": (
        "Too many images: 17 uploaded, but at most 16 fit in one question. Remove 1 of them.",
        "Too many images: remove 1 first (at most 16 fit in one question).",
    ),
    "zh": (
        "图片太多：已上传 17 张，但一个问题最多只能放 16 张。请移除其中 1 张。",
        "图片太多：请先移除 1 张（一个问题最多只能放 16 张）。",
    ),
}


@pytest.mark.parametrize("lang", LANGUAGES)
def test_17_images_of_16_are_too_many_and_ask_says_so(lang: str) -> None:
    engine = FakeEngine()
    app = start("multi", lang, engine)
    app.session_state["max_images"] = 16  # the highest the Settings page allows (state.MAX_IMAGES_LIMIT)
    app.file_uploader(key="uploads_multi").set_value(pngs(17)).run()
    shown, on_ask = TOO_MANY[lang]
    assert errors(app) == [shown]  # at the highest limit, no advice to raise it
    ask(app, "Compare")
    assert errors(app) == [shown, on_ask]
    assert engine.prompts == []


def test_below_the_highest_limit_the_settings_page_is_the_other_way_out() -> None:
    for lang, advice in (
        ("en", "Or allow more on the Settings page (Max images per multi-image question, up to 16)."),
        ("zh", "也可以在“设置”页调高“每个多图问题的最多图片数”（最多 16 张）。"),
    ):
        app = start("multi", lang)
        app.file_uploader(key="uploads_multi").set_value(pngs(7)).run()  # the default limit is 6
        assert len(errors(app)) == 1 and errors(app)[0].endswith(advice), errors(app)


BAD_IMAGES = {
    "en": (
        "broken.jpg: This image is damaged or incomplete. Try saving it again, or use another file.",
        "notes.png: This file is not an image this app can read. Use a PNG, JPEG, WebP, GIF or BMP file.",
        "2 of the images cannot be read (see above): remove or replace them first.",
        "Details",
    ),
    "zh": (
        "broken.jpg: 这张图片已损坏或不完整。请重新保存后再试，或换一个文件。",
        "notes.png: 这个文件不是本应用能读取的图片。请使用 PNG、JPEG、WebP、GIF 或 BMP 文件。",
        "有 2 张图片无法读取（见上方）：请先移除或替换它们。",
        "详细信息",
    ),
}


@pytest.mark.parametrize("lang", LANGUAGES)
def test_corrupt_and_unsupported_images_are_explained(lang: str) -> None:
    engine = FakeEngine()
    app = start("multi", lang, engine)
    uploads = [
        ("broken.jpg", make_photo(400, 300)[:3000], "image/jpeg"),  # a JPEG cut short
        ("notes.png", b"hello, this is a text file\n" * 20, "image/png"),  # not an image at all
        ("fine.png", make_png(40, 30), "image/png"),
    ]
    app.file_uploader(key="uploads_multi").set_value(uploads).run()
    damaged, unsupported, on_ask, details = BAD_IMAGES[lang]
    assert errors(app) == [damaged, unsupported]
    # The decoder's own words are kept, folded away under "Details", never in the message.
    assert [e.label for e in app.expander].count(details) == 2
    ask(app, "Compare")
    assert errors(app) == [damaged, unsupported, on_ask]
    assert engine.prompts == []


def test_one_image_asks_for_two_in_chinese() -> None:
    app = start("multi", "zh")
    app.file_uploader(key="uploads_multi").set_value(pngs(1)).run()
    assert [i.value for i in app.info] == ["请至少再添加一张图片来对比。"]
    ask(app, "对比")
    assert errors(app) == ["请先上传至少两张图片。"]


VIDEO_LABELS = {
    "en": {
        "title": "Video QA",
        "upload": "Upload a video",
        "ask": "Ask about the video, e.g. “What happens in this clip?”",
        "facts": "clip.mp4: 2.0 s, 160×120, 10.0 fps",
        "sliders": ["Frames", "Time range (s)"],
        "tiles": "Tiles per frame",
        "strip": "**The 8 frames the model will see**",
        "first_frame": "Frame1 · 0.1s",
        "no_video": "Upload a video first.",
    },
    "zh": {
        "title": "视频问答",
        "upload": "上传一个视频",
        "ask": "询问这段视频，例如：“这段视频里发生了什么？”",
        "facts": "clip.mp4：2.0 秒，160×120，10.0 帧/秒",
        "sliders": ["帧数", "时间范围（秒）"],
        "tiles": "每帧图块数",
        "strip": "**模型将看到的 8 帧**",
        "first_frame": "Frame1（第 1 帧）· 0.1 秒",
        "no_video": "请先上传一个视频。",
    },
}


@needs_ffmpeg
@pytest.mark.parametrize("lang", LANGUAGES)
def test_video_page_labels(lang: str, tmp_path: Path) -> None:
    words = VIDEO_LABELS[lang]
    app = start("video", lang)
    assert app.title[0].value == words["title"]
    assert app.file_uploader(key="video_video").label == words["upload"]
    assert app.chat_input[0].placeholder == words["ask"]
    ask(app, "?")
    assert errors(app) == [words["no_video"]]
    clip = make_video(tmp_path / "clip.mp4", seconds=2, fps=10)
    app.file_uploader(key="video_video").upload("clip.mp4", clip.read_bytes(), "video/mp4").run()
    assert not app.exception, app.exception
    assert words["facts"] in [c.value for c in app.caption]
    assert [s.label for s in app.slider] == words["sliders"]
    assert app.number_input(key="tiles_video").label == words["tiles"]
    assert words["strip"] in [m.value for m in app.markdown]
    captions = [c for image in app.image for c in image.captions]
    assert len(captions) == 8 and captions[0] == words["first_frame"]


EMPTY_RANGE = {
    "en": (
        "The chosen part of the video is empty: the end (1.0s) must come after the start (1.0s). Move one of the two.",
        "The chosen part of the video is empty: widen the time range first.",
    ),
    "zh": (
        "所选的视频片段为空：结束时间（1.0 秒）必须晚于开始时间（1.0 秒）。请调整其中一个。",
        "所选的视频片段为空：请先把时间范围拉大。",
    ),
}


@needs_ffmpeg
@pytest.mark.parametrize("lang", LANGUAGES)
def test_an_empty_time_range_says_so_and_ask_does_not_blame_decoding(lang: str, tmp_path: Path) -> None:
    engine = FakeEngine()
    app = start("video", lang, engine)
    clip = make_video(tmp_path / "clip.mp4", seconds=2, fps=10)
    app.file_uploader(key="video_video").upload("clip.mp4", clip.read_bytes(), "video/mp4").run()
    app.slider(key="range_video").set_value((1.0, 1.0)).run()
    shown, on_ask = EMPTY_RANGE[lang]
    assert errors(app) == [shown]
    assert not app.image  # no strip for an empty part
    ask(app, "What happens?")
    assert errors(app) == [shown, on_ask]
    assert engine.prompts == []
    app.slider(key="range_video").set_value((0.5, 1.5)).run()  # the way out the message gives
    assert errors(app) == []
    ask(app, "What happens?")
    assert engine.prompts[0].media[0].start_s == 0.5 and engine.prompts[0].media[0].end_s == 1.5


BAD_VIDEOS = {
    "en": (
        "sound.mp4: This file has no picture track (it may hold sound only), so there is nothing to show the "
        "model. Upload a video with pictures.",
        "notes.mp4: This file is not a video this app can read. Use one of: MP4, MOV, AVI, MKV, WEBM.",
        "This video cannot be used (see the message above): upload another one first.",
        "Details",
    ),
    "zh": (
        "sound.mp4: 这个文件没有画面（可能只有声音），模型无从观看。请上传带画面的视频。",
        "notes.mp4: 这个文件不是本应用能读取的视频。请使用以下格式之一：MP4, MOV, AVI, MKV, WEBM。",
        "这个视频无法使用（见上方的说明）：请先换一个视频上传。",
        "详细信息",
    ),
}


@needs_ffmpeg
@pytest.mark.parametrize("lang", LANGUAGES)
def test_audio_only_and_unsupported_videos_are_explained(lang: str, tmp_path: Path) -> None:
    engine = FakeEngine()
    app = start("video", lang, engine)
    no_picture, unsupported, on_ask, details = BAD_VIDEOS[lang]
    sound = audio_only_mp4(tmp_path / "sound.mp4")
    app.file_uploader(key="video_video").upload("sound.mp4", sound.read_bytes(), "video/mp4").run()
    assert errors(app) == [no_picture]
    assert details in [e.label for e in app.expander]  # decord's own words, folded away
    ask(app, "What is said?")
    assert errors(app) == [no_picture, on_ask]
    app.file_uploader(key="video_video").upload("notes.mp4", b"this is not a video" * 100, "video/mp4").run()
    assert errors(app) == [unsupported]
    assert engine.prompts == []


@needs_ffmpeg
def test_the_strip_decodes_each_frame_once_whatever_reruns_the_page(tmp_path: Path, monkeypatch) -> None:
    from components import video_input

    opens, decodes = [], []
    real_init, real_jpeg = video_input.OpenVideo.__init__, video_input._jpeg
    monkeypatch.setattr(video_input.OpenVideo, "__init__", lambda self, data: opens.append(1) or real_init(self, data))
    monkeypatch.setattr(video_input, "_jpeg", lambda image: decodes.append(1) or real_jpeg(image))
    video_input._opened.clear()
    engine = FakeEngine(["A counter"])
    app = start("video", "en", engine)
    clip = make_video(tmp_path / "clip.mp4", seconds=3, fps=10)
    app.file_uploader(key="video_video").upload("clip.mp4", clip.read_bytes(), "video/mp4").run()
    assert (len(opens), len(decodes)) == (1, 8)
    app.number_input(key="tiles_video").set_value(2).run()  # a control that does not move the frames
    assert (len(opens), len(decodes)) == (1, 8)
    app.slider(key="frames_video").set_value(4).run()
    after_four = len(decodes)
    assert 8 < after_four <= 12  # only the frames not sampled before
    app.slider(key="frames_video").set_value(8).run()  # back: every frame is already there
    ask(app, "What is shown?")  # the question, its answer, and the strip of the attached video
    assert (len(opens), len(decodes)) == (1, after_four)
    assert engine.prompts[0].media[0].num_frames == 8


@needs_ffmpeg
def test_a_clip_too_short_for_a_range_is_taken_whole(tmp_path: Path) -> None:
    """A 0.04 s clip rounds to a 0.0 s range: no slider (it needs two ends), and no false "empty part"."""
    engine = FakeEngine(["One frame"])
    app = start("video", "en", engine)
    clip = make_video(tmp_path / "one.mp4", seconds=0.04, fps=25, size=(64, 48))
    app.file_uploader(key="video_video").upload("one.mp4", clip.read_bytes(), "video/mp4").run()
    assert errors(app) == [] and [s.label for s in app.slider] == ["Frames"]
    ask(app, "What is it?")
    assert engine.prompts[0].media[0].start_s is None and engine.prompts[0].media[0].end_s is None
