"""Issue #12's matrix of bad inputs, raised where the backend meets them: each gives its exact message in English
and in Chinese, and the technical words (a library's, a parser's, a connection's) only in the error's `detail`.

The inputs are real: image and video files made here (tests/media_factory.py, ffmpeg), exports cut short,
the tiny demo checkpoint's local engine with its context window narrowed, folders that hold no checkpoint,
and the OpenAI-compatible engine pointed at a localhost port where nothing listens.
"""

from __future__ import annotations

import dataclasses
import io
import json
import re
import socket
import subprocess
import threading
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import pytest
from PIL import Image

from i18n import ExplainedError, Text
from model_backend.checkpoints.loading import LoadError, load_model
from model_backend.conversation import Conversation, ConversationError, ImageAttachment
from model_backend.engines.base import EngineError
from model_backend.engines.local import LocalEngine
from model_backend.engines.openai_compat import OpenAICompatEngine
from model_backend.preprocess import MediaError, load_image, load_video
from model_backend.settings import GenerationSettings, LoadSpec, ServerSpec
from tests.media_factory import has_ffmpeg, make_photo, make_video

needs_ffmpeg = pytest.mark.skipif(not has_ffmpeg(), reason="ffmpeg is needed to make test videos")
FORMATS = "MP4, MOV, AVI, MKV, WEBM"


@dataclass(frozen=True)
class Expected:
    """What one bad input must give: the error's type, both messages, and a piece of the technical detail."""

    kind: type[ExplainedError]
    en: str
    zh: str
    detail: str | None = None  # a fragment of `error.detail`; None: the error has no technical side


def raised(action: Callable[[], object]) -> ExplainedError:
    with pytest.raises(ExplainedError) as caught:
        action()
    return caught.value


def check(error: ExplainedError, expected: Expected) -> None:
    assert isinstance(error, expected.kind), type(error)
    assert str(error) == expected.en  # the CLI and the logs
    assert error.text.render("en") == expected.en
    assert error.text.render("zh") == expected.zh
    if expected.detail is None:
        assert not error.detail, error.detail
    else:
        assert error.detail and expected.detail in error.detail, error.detail
        assert expected.detail not in expected.en and expected.detail not in expected.zh
        assert error.detail not in str(error)


# -- media files -----------------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def media(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Every bad image and video of the matrix, made once."""
    folder = tmp_path_factory.mktemp("bad-media")
    (folder / "empty.png").write_bytes(b"")
    (folder / "corrupt.jpg").write_bytes(make_photo(400, 300)[:3000])  # a JPEG that stops a third of the way in
    (folder / "notes.png").write_text("these are my notes, not a picture")
    for name, side in (("bomb.png", 12_000), ("huge-bomb.png", 14_000)):  # tiny files, enormous pixel counts
        buffer = io.BytesIO()
        Image.new("1", (side, side)).save(buffer, format="PNG")
        (folder / name).write_bytes(buffer.getvalue())
    if has_ffmpeg():
        (folder / "empty.mp4").write_bytes(b"")
        clip = make_video(folder / "clip.mp4", seconds=2.0, fps=10)
        (folder / "truncated.mp4").write_bytes(clip.read_bytes()[: clip.stat().st_size // 3])
        sound = ["-f", "lavfi", "-i", "sine=frequency=440:duration=1", "-c:a", "aac", str(folder / "sound.mp4")]
        subprocess.run(["ffmpeg", "-loglevel", "error", "-y", *sound], check=True, capture_output=True, timeout=120)
        (folder / "notes.mkv").write_text("not a video either")
    return folder


IMAGE_CASES = {
    # Uploads reach the backend as bytes: an empty upload is said to be empty.
    "empty image": (
        lambda folder: load_image((folder / "empty.png").read_bytes()),
        Expected(MediaError, "This file is empty.", "这个文件是空的。"),
    ),
    "corrupt image": (
        lambda folder: load_image(str(folder / "corrupt.jpg")),
        Expected(
            MediaError,
            "This image is damaged or incomplete. Try saving it again, or use another file.",
            "这张图片已损坏或不完整。请重新保存后再试，或换一个文件。",
            detail="image file is truncated",
        ),
    ),
    "not an image": (
        lambda folder: load_image(str(folder / "notes.png")),
        Expected(
            MediaError,
            "'notes.png' is not an image this app can read. Use a PNG, JPEG, WebP, GIF or BMP file.",
            "'notes.png' 不是本应用能读取的图片。请使用 PNG、JPEG、WebP、GIF 或 BMP 文件。",
            detail="cannot identify image file",
        ),
    ),
    "an upload that is not an image": (
        lambda folder: load_image((folder / "notes.png").read_bytes()),
        Expected(
            MediaError,
            "This file is not an image this app can read. Use a PNG, JPEG, WebP, GIF or BMP file.",
            "这个文件不是本应用能读取的图片。请使用 PNG、JPEG、WebP、GIF 或 BMP 文件。",
            detail="cannot identify image file",
        ),
    ),
    "decompression bomb": (
        lambda folder: load_image(str(folder / "bomb.png")),
        Expected(
            MediaError,
            "This image is 12000×12000 pixels (144 megapixels); the limit is 50 megapixels. "
            "Scale it down and upload it again.",
            "这张图片为 12000×12000 像素（144 百万像素），上限是 50 百万像素。请缩小后重新上传。",
        ),
    ),
    "decompression bomb past Pillow's own limit": (
        lambda folder: load_image(str(folder / "huge-bomb.png")),
        Expected(
            MediaError,
            "This image is too large to open safely. Use an image of at most 50 megapixels "
            "(for example, scale it down before uploading).",
            "这张图片太大，无法安全打开。请使用不超过 50 百万像素的图片（例如先缩小再上传）。",
            detail="decompression bomb",
        ),
    ),
}


@pytest.mark.parametrize("case", list(IMAGE_CASES))
def test_bad_images(case: str, media: Path) -> None:
    action, expected = IMAGE_CASES[case]
    check(raised(lambda: action(media)), expected)


VIDEO_CASES = {
    "empty video": (
        lambda folder: load_video(str(folder / "empty.mp4")),
        Expected(MediaError, "This video file is empty.", "这个视频文件是空的。"),
    ),
    "truncated video": (
        lambda folder: load_video(str(folder / "truncated.mp4")),
        Expected(
            MediaError,
            f"This file is not a video this app can read. Use one of: {FORMATS}.",
            f"这个文件不是本应用能读取的视频。请使用以下格式之一：{FORMATS}。",
            detail="truncated.mp4",
        ),
    ),
    "audio-only mp4": (
        lambda folder: load_video(str(folder / "sound.mp4")),
        Expected(
            MediaError,
            "This file has no picture track (it may hold sound only), so there is nothing to show the model. "
            "Upload a video with pictures.",
            "这个文件没有画面（可能只有声音），模型无从观看。请上传带画面的视频。",
            detail="st_nb >= 0",
        ),
    ),
    "unsupported video": (
        lambda folder: load_video(str(folder / "notes.mkv")),
        Expected(
            MediaError,
            f"This file is not a video this app can read. Use one of: {FORMATS}.",
            f"这个文件不是本应用能读取的视频。请使用以下格式之一：{FORMATS}。",
            detail="notes.mkv",
        ),
    ),
    "range that ends before it starts": (
        lambda folder: load_video(str(folder / "clip.mp4"), num_frames=4, start_s=1.5, end_s=1.0),
        Expected(
            MediaError,
            "The chosen part of the video is empty: the end (1.0 s) must come after the start (1.5 s). "
            "Move one of the two.",
            "所选的视频片段为空：结束时间（1.0 s）必须晚于开始时间（1.5 s）。请调整其中一个。",
        ),
    ),
    "range after the end of the video": (
        lambda folder: load_video(str(folder / "clip.mp4"), num_frames=4, start_s=5.0, end_s=6.0),
        Expected(
            MediaError,
            "The chosen part starts at 5.0 s, after the end of this 2.0 s video.",
            "所选片段从 5.0 s 开始，已超过这段 2.0 s 视频的结尾。",
        ),
    ),
    "negative time": (
        lambda folder: load_video(str(folder / "clip.mp4"), num_frames=4, start_s=-1.0),
        Expected(MediaError, "Start and end times cannot be negative.", "开始和结束时间不能为负数。"),
    ),
}


@needs_ffmpeg
@pytest.mark.parametrize("case", list(VIDEO_CASES))
def test_bad_videos(case: str, media: Path) -> None:
    action, expected = VIDEO_CASES[case]
    check(raised(lambda: action(media)), expected)


# -- conversation import ---------------------------------------------------------------------------------------


def _export() -> str:
    conversation = Conversation()
    conversation.ask("What is in this photo?", images=(ImageAttachment(make_photo(64, 48), "photo.jpg"),))
    conversation.turns[-1].answer = "A gradient."
    return conversation.to_json()


FOREIGN_ZH = (
    "这个文件虽然是 JSON，但不是 InternVL Studio 导出的对话：它可能来自其他程序。请选择用本应用的“导出”按钮保存的文件。"
)
IMPORT_CASES = {
    "a picture instead of an export": (
        lambda: make_photo(64, 48),
        Expected(
            ConversationError,
            "This file is not a conversation exported by InternVL Studio: its content is not JSON. "
            "Choose a file that was saved with this app's Export button.",
            "这个文件不是 InternVL Studio 导出的对话：它的内容不是 JSON。请选择用本应用的“导出”按钮保存的文件。",
            detail="UnicodeDecodeError",
        ),
    ),
    "the Markdown download instead of the JSON export": (
        lambda: Conversation.from_json(_export()).to_markdown(),
        Expected(
            ConversationError,
            "This file is not a conversation exported by InternVL Studio: its content is not JSON. "
            "Choose a file that was saved with this app's Export button.",
            "这个文件不是 InternVL Studio 导出的对话：它的内容不是 JSON。请选择用本应用的“导出”按钮保存的文件。",
            detail="Expecting value: line 1 column 1 (char 0)",
        ),
    ),
    "another tool's JSON": (
        lambda: json.dumps([{"title": "Trip", "mapping": {"a": {"message": {"content": {"parts": ["hi"]}}}}}]),
        Expected(
            ConversationError,
            "This file holds JSON, but not a conversation exported by InternVL Studio: it probably comes from "
            "another program. Choose a file that was saved with this app's Export button.",
            FOREIGN_ZH,
            detail="a JSON list",
        ),
    ),
    "another tool's JSON object": (
        lambda: json.dumps({"messages": [{"role": "user", "content": "hi"}], "model": "gpt-4o"}),
        Expected(
            ConversationError,
            "This file holds JSON, but not a conversation exported by InternVL Studio: it probably comes from "
            "another program. Choose a file that was saved with this app's Export button.",
            FOREIGN_ZH,
            detail="'messages', 'model'",
        ),
    ),
    "export cut short": (
        lambda: _export()[: len(_export()) // 2],
        Expected(
            ConversationError,
            "This conversation export is damaged: it is incomplete (cut off) or was changed after it was "
            "exported, so it cannot be opened. Export the conversation again, or choose another file.",
            "这个对话导出文件已损坏：它不完整（被截断）或在导出后被改动过，因此无法打开。请重新导出该对话，或选择其他文件。",
            detail="line ",  # the parser's position: for developers only (issue #12)
        ),
    ),
    "export with a turn changed": (
        lambda: _export().replace('"question"', '"questoin"'),
        Expected(
            ConversationError,
            "This conversation export is damaged: it is incomplete (cut off) or was changed after it was "
            "exported, so it cannot be opened. Export the conversation again, or choose another file.",
            "这个对话导出文件已损坏：它不完整（被截断）或在导出后被改动过，因此无法打开。请重新导出该对话，或选择其他文件。",
            detail="turns.0.question: Field required; turns.0.questoin: Extra inputs are not permitted",
        ),
    ),
    "export of another format version": (
        lambda: _export().replace('"version": 1', '"version": 7'),
        Expected(
            ConversationError,
            "This conversation was exported in a format this version of InternVL Studio cannot read "
            "(format version 7). Update the app, or export the conversation again with this version.",
            "这个对话的导出格式（格式版本 7）是当前版本的 InternVL Studio 无法读取的。"
            "请更新应用，或用当前版本重新导出该对话。",
        ),
    ),
}


@pytest.mark.parametrize("case", list(IMPORT_CASES))
def test_bad_imports(case: str) -> None:
    make, expected = IMPORT_CASES[case]
    error = raised(lambda: Conversation.from_json(make()))
    check(error, expected)
    assert "column" not in str(error) and "char" not in str(error)


# -- a prompt past the context window --------------------------------------------------------------------------


def _prompt_tokens(engine: LocalEngine, conversation: Conversation, settings: GenerationSettings) -> tuple[int, int]:
    prompt = LocalEngine(engine.loaded).prepare(conversation, settings)  # the real prompt, wide window
    return prompt.tokens, prompt.visual_tokens


def test_a_question_past_the_context_window(loaded) -> None:
    conversation = Conversation()
    conversation.ask("Tell me everything about lighthouses, their keepers and their lamps.")
    settings = GenerationSettings(max_new_tokens=64)
    tokens, _ = _prompt_tokens(LocalEngine(loaded), conversation, settings)
    narrow = LocalEngine(dataclasses.replace(loaded, context_tokens=tokens + 10))
    error = raised(lambda: narrow.stream(conversation, settings, threading.Event()))
    limit = tokens + 10
    check(
        error,
        Expected(
            EngineError,
            f"This question does not fit into what the model can read at once: the prompt is {tokens} tokens, "
            f"the answer may take up to 64 more, and the model's context window is {limit} tokens. "
            "Ask a shorter question, lower the answer length (max new tokens), or start a new conversation.",
            f"这个问题超出了模型一次能读取的长度：提示词有 {tokens} 个 token，回答最多还可能需要 64 个，"
            f"而模型的上下文窗口只有 {limit} 个 token。请缩短问题、调低回答长度（最大新 token 数），或开始新的对话。",
            detail="max_new_tokens 64",
        ),
    )


def test_the_sizes_of_a_long_question_are_written_with_thousands_separators(loaded) -> None:
    conversation = Conversation()
    conversation.ask("lighthouse " * 3000)
    narrow = LocalEngine(dataclasses.replace(loaded, context_tokens=2048))
    error = raised(lambda: narrow.prepare(conversation, GenerationSettings()))
    assert re.search(r"the prompt is \d{1,2},\d{3} tokens", str(error)), str(error)
    assert "context window is 2,048 tokens" in str(error)


def test_images_past_the_context_window(loaded) -> None:
    conversation = Conversation()
    conversation.ask("Compare the photos.", images=(ImageAttachment(make_photo(900, 600), "wide.jpg"),))
    settings = GenerationSettings(max_new_tokens=32, max_tiles=6)
    tokens, visual = _prompt_tokens(LocalEngine(loaded), conversation, settings)
    narrow = LocalEngine(dataclasses.replace(loaded, context_tokens=600))
    error = raised(lambda: narrow.stream(conversation, settings, threading.Event()))
    check(
        error,
        Expected(
            EngineError,
            f"This question does not fit into what the model can read at once: the prompt is {tokens:,} tokens "
            f"({visual:,} of them for the images or video frames), the answer may take up to 32 more, and the "
            "model's context window is 600 tokens. Attach fewer images, or use fewer tiles or video frames; "
            "or ask a shorter question, or start a new conversation.",
            f"这个问题超出了模型一次能读取的长度：提示词有 {tokens:,} 个 token（其中 {visual:,} 个用于图片或视频帧），"
            "回答最多还可能需要 32 个，而模型的上下文窗口只有 600 个 token。请少附几张图片，或减少切块数或视频帧数；"
            "也可以缩短问题，或开始新的对话。",
            detail="context window 600",
        ),
    )


# -- loading a checkpoint --------------------------------------------------------------------------------------


def test_a_missing_folder(tmp_path: Path) -> None:
    missing = str(tmp_path / "no-such-checkpoint")
    check(
        raised(lambda: load_model(LoadSpec(missing, device="cpu"))),
        Expected(
            LoadError,
            f"Could not find the checkpoint {missing}: it is not a folder on this machine, a name from the "
            "catalog, a hub id (owner/name), 'demo' or 'demo-<family>'. Check the spelling or the folder's path.",
            f"找不到模型权重 {missing}：它既不是本机上的文件夹，也不是模型目录中的名称、"
            "模型仓库 id（owner/name）、'demo' 或 'demo-<family>'。请检查拼写或文件夹路径。",
        ),
    )


def test_an_empty_folder(tmp_path: Path) -> None:
    check(
        raised(lambda: load_model(LoadSpec(str(tmp_path), device="cpu"))),
        Expected(
            LoadError,
            f"The folder {tmp_path} is not a model checkpoint: it has no config.json. Choose the folder that "
            "holds the checkpoint's files (config.json and the weights).",
            f"文件夹 {tmp_path} 不是模型权重：里面没有 config.json。"
            "请选择存放模型权重文件（config.json 和权重文件）的文件夹。",
        ),
    )


def test_a_checkpoint_whose_weights_are_damaged(tmp_path: Path) -> None:
    from model_backend.demo_checkpoint import make_demo_checkpoint

    folder = make_demo_checkpoint(tmp_path / "broken")
    (folder / "model.safetensors").write_bytes(b"cut off during the download")
    check(
        raised(lambda: load_model(LoadSpec(str(folder), dtype="float32", device="cpu"))),
        Expected(
            LoadError,
            f"Could not load {folder}: its files could not be read as a model. They may be incomplete or damaged "
            "(for example by a download that was cut off): download the checkpoint again, or choose another one.",
            f"无法加载 {folder}：它的文件无法作为模型读取。文件可能不完整或已损坏（例如下载中断）："
            "请重新下载该模型权重，或换一个。",
            detail="Error",  # the safetensors reader's words, with the exception's type
        ),
    )


# -- the OpenAI-compatible server is gone ----------------------------------------------------------------------


def _closed_port() -> int:
    """A localhost port nothing listens on (taken from the OS, then let go)."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def test_the_server_is_gone() -> None:
    url = f"http://127.0.0.1:{_closed_port()}"
    conversation = Conversation()
    conversation.ask("Are you there?")
    engine = OpenAICompatEngine(ServerSpec(url, "OpenGVLab/InternVL3-1B"), flavour="openai")
    check(
        raised(lambda: engine.stream(conversation, GenerationSettings(), threading.Event()).text()),
        Expected(
            EngineError,
            f"Could not connect to the server at {url}. It may have stopped, or the address may be wrong: start "
            "the server (or correct its address on the Settings page), then send the question again.",
            f"无法连接到服务器 {url}。它可能已经停止，或者地址有误："
            "请启动服务器（或在“设置”页面改正地址），然后重新发送问题。",
            detail="ConnectError",
        ),
    )


# -- a failed turn keeps its message through export and import -------------------------------------------------


def test_a_failed_turn_keeps_its_message_and_detail_through_export_and_import() -> None:
    conversation = Conversation()
    conversation.ask("Are you there?")
    failed = conversation.turns[-1]
    failed.error = Text("remote.cannot_connect", {"url": "http://127.0.0.1:9"})
    failed.error_detail = "ConnectError: [Errno 111] Connection refused"
    restored = Conversation.from_json(conversation.to_json()).turns[-1]
    assert restored.error == failed.error and restored.error_detail == failed.error_detail
    assert restored.error.render("zh").startswith("无法连接到服务器 http://127.0.0.1:9。")
    # As one error for the page: the message in the visitor's language, the detail under "Details".
    problem = restored.problem
    assert (
        isinstance(problem, ExplainedError) and problem.text == failed.error and problem.detail == failed.error_detail
    )
    # An export made before the table held the error as words: it still imports, as those words.
    old = json.loads(conversation.to_json())
    old["turns"][-1]["error"] = "Could not connect to the server at http://127.0.0.1:9: is it running?"
    del old["turns"][-1]["error_detail"]
    legacy = Conversation.from_json(json.dumps(old)).turns[-1]
    assert legacy.error == "Could not connect to the server at http://127.0.0.1:9: is it running?"
    assert legacy.error_detail is None and str(legacy.problem) == legacy.error


# -- the base of the backend's errors --------------------------------------------------------------------------


def test_backend_errors_take_a_key_a_text_or_words_but_never_a_mistyped_key() -> None:
    from model_backend.errors import BackendError

    by_key = EngineError("remote.no_reply", detail="ReadTimeout", url="http://h:1")
    by_text = EngineError(Text("remote.no_reply", {"url": "http://h:1"}), detail="ReadTimeout")
    assert by_key.text == by_text.text and by_key.detail == by_text.detail == "ReadTimeout"
    assert isinstance(by_key, RuntimeError) and isinstance(by_key, BackendError)  # old `except` clauses still catch
    # A caller not converted to keys yet (an older page, the CLI) still gets its words shown, in every language.
    worded = EngineError("the server at x lists no models: pass --server-model NAME")
    assert str(worded) == worded.text.render("zh") == "the server at x lists no models: pass --server-model NAME"
    with pytest.raises(KeyError, match=r"remote\.no_such_key"):
        EngineError("remote.no_such_key")
