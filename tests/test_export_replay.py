"""Exports that reproduce: the replay script gives the app's greedy answers, the request is the engine's.

The replay bundle is unzipped into a temporary folder and its `replay.py` run with this Python
in a subprocess (outside the project, so it can only use what it carries), against the demo
checkpoint; its answers must equal the app's local engine's, character for character. The OpenAI
request's body must equal what the app's server engine posts for the same conversation (a small
recording server on 127.0.0.1 receives both), and its curl command and Python script, when run,
must post that very body.
"""

from __future__ import annotations

import ast
import io
import json
import os
import shlex
import shutil
import subprocess
import sys
import threading
import zipfile
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest

from model_backend.conversation import Conversation, ImageAttachment, VideoAttachment, edited
from model_backend.demo_checkpoint import demo_checkpoint_path
from model_backend.engines.openai_compat import OpenAICompatEngine
from model_backend.export.replay import ExportError, openai_request, replay_script, replayable
from model_backend.settings import GenerationSettings, LoadSpec, ServerSpec
from tests.media_factory import has_ffmpeg, make_photo, make_video

ROOT = Path(__file__).resolve().parents[1]
SPEC = LoadSpec("demo", dtype="float32", device="cpu")  # as the `loaded` fixture (tests/conftest.py) loads it
GREEDY = GenerationSettings(max_new_tokens=16, max_tiles=6)
#: What the generated scripts may import: the libraries a model's authors have, nothing of this project.
ALLOWED_IMPORTS = {"__future__", "argparse", "importlib", "json", "os", "sys", "pathlib"}
ALLOWED_IMPORTS |= {"numpy", "torch", "torchvision", "PIL", "transformers", "decord", "requests"}


def ask(engine, conversation: Conversation, question: str, settings: GenerationSettings = GREEDY, **media) -> str:
    """The app's answer to `question`, recorded on the conversation as the app records it."""
    conversation.ask(question, **media)
    answer = engine.stream(conversation, settings, threading.Event()).text()
    conversation.turns[-1].answer = answer
    return answer


def unzip(bundle, folder: Path) -> Path:
    with zipfile.ZipFile(io.BytesIO(bundle.data)) as archive:
        archive.extractall(folder)
    return folder / "replay.py"


def replay(bundle, folder: Path) -> list[dict]:
    """Unzip the bundle into `folder` and run its replay.py on the demo checkpoint, in a fresh Python
    that cannot import this project; returns its JSON lines."""
    env = {key: value for key, value in os.environ.items() if key != "PYTHONPATH"}
    env["HF_HUB_OFFLINE"] = "1"
    command = [sys.executable, str(unzip(bundle, folder)), "--checkpoint", str(demo_checkpoint_path()), "--json"]
    result = subprocess.run(command, cwd=folder, env=env, capture_output=True, text=True, timeout=300)
    assert result.returncode == 0, result.stderr[-3000:]
    return [json.loads(line) for line in result.stdout.splitlines() if line.startswith("{")]


def replay_here(bundle, folder: Path, capsys: pytest.CaptureFixture[str]) -> list[dict]:
    """`replay` in this process (no second start of torch): for the cases after the self-contained one."""
    script = unzip(bundle, folder)
    namespace = {"__file__": str(script), "__name__": "replay"}
    exec(compile(script.read_text(encoding="utf-8"), str(script), "exec"), namespace)
    capsys.readouterr()
    assert namespace["main"](["--checkpoint", str(demo_checkpoint_path()), "--json"]) == 0
    return [json.loads(line) for line in capsys.readouterr().out.splitlines() if line.startswith("{")]


def imported_modules(source: str) -> set[str]:
    modules = set()
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.Import):
            modules |= {alias.name.split(".")[0] for alias in node.names}
        elif isinstance(node, ast.ImportFrom):
            modules.add((node.module or "").split(".")[0])
    return modules


def ruff_problems(path: Path) -> str:
    """What the project's linter says about a generated file ('' when clean, or when ruff is absent)."""
    ruff = ROOT / ".venv" / "bin" / "ruff"
    if not ruff.exists():
        return ""
    command = [str(ruff), "check", "--no-cache", "--config", str(ROOT / "pyproject.toml"), str(path)]
    result = subprocess.run(command, capture_output=True, text=True, timeout=60)
    return "" if result.returncode == 0 else result.stdout


# -- the replay script --------------------------------------------------------------------------


def test_the_replay_script_gives_the_app_greedy_answers(engine, tmp_path: Path) -> None:
    conversation = Conversation()
    photo = ImageAttachment(make_photo(900, 600, seed=3), name="holiday photo.jpg")
    app_answers = [
        ask(engine, conversation, "Describe the image.", images=(photo,)),
        ask(engine, conversation, "And what colour is it?"),
    ]
    assert all(app_answers), "a random model that answers nothing would make this test vacuous"

    bundle = replay_script(conversation, SPEC, GREEDY)
    assert set(bundle.names) == {"replay.py", "README.txt", "media/1-holiday_photo.jpg"}
    lines = replay(bundle, tmp_path / "bundle")
    assert [line["answer"] for line in lines] == app_answers
    assert [line["same"] for line in lines] == [True, True]
    assert (tmp_path / "bundle" / "media" / "1-holiday_photo.jpg").read_bytes() == photo.data


@pytest.mark.skipif(not has_ffmpeg(), reason="ffmpeg makes the test video")
def test_the_replay_script_gives_the_app_answers_about_a_video(
    engine, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    clip = make_video(tmp_path / "clip.mp4", seconds=2.0, fps=10)
    video = VideoAttachment(clip.read_bytes(), name="clip.mp4", num_frames=4, start_s=0.5)
    settings = GenerationSettings(max_new_tokens=12, system_prompt="Answer in one short sentence.")
    conversation = Conversation()
    app_answers = [
        ask(engine, conversation, "What happens in the video?", settings, video=video),
        ask(engine, conversation, "What comes next?", settings),
    ]
    assert all(app_answers)

    bundle = replay_script(conversation, SPEC, settings)
    assert "'bound': [0.5, 100000]" in bundle.script  # the open end of the range, as the app reads it
    lines = replay_here(bundle, tmp_path / "bundle", capsys)
    assert [line["answer"] for line in lines] == app_answers
    assert [line["same"] for line in lines] == [True, True]


def test_the_script_carries_the_app_prompts_and_is_self_contained(tmp_path: Path) -> None:
    """Two images relabel the first turn (Image-1:, Image-2:), a stopped answer is compared by its start,
    a last question that failed is asked again; the script imports nothing of this project."""
    first, second = (ImageAttachment(make_photo(300 + 100 * k, 200, seed=k), name="a.png") for k in range(2))
    conversation = Conversation()
    conversation.ask("What is this?", images=(first,))
    conversation.turns[-1].answer = "A cat."
    conversation.ask("And this one?", images=(second,))
    conversation.turns[-1].answer, conversation.turns[-1].stopped = "A d", True
    conversation.ask("Compare them.")
    conversation.turns[-1].error = "Out of GPU memory while answering"

    bundle = replay_script(conversation, LoadSpec("OpenGVLab/InternVL2-1B"), GenerationSettings(max_tiles=12))
    script = tmp_path / "replay.py"
    script.write_text(bundle.script, encoding="utf-8")
    namespace = {"__file__": str(script), "__name__": "replay"}  # its main() does not run
    exec(compile(bundle.script, str(script), "exec"), namespace)

    assert namespace["CHECKPOINT"] == "OpenGVLab/InternVL2-1B"
    assert namespace["GENERATION_CONFIG"] == GenerationSettings(max_tiles=12).generation_config()
    # Two files of the same name: each gets its own number.
    assert [m["file"] for m in namespace["MEDIA"]] == ["media/1-a.png", "media/2-a.png"]
    assert [m["max_num"] for m in namespace["MEDIA"]] == [12, 12]
    turns = namespace["TURNS"]
    assert [t["question"] for t in turns] == [
        "<image>\nWhat is this?",
        "Image-2: <image>\nAnd this one?",
        "Compare them.",
    ]
    assert turns[2]["history"] == [
        ["Image-1: <image>\nWhat is this?", "A cat."],
        ["Image-2: <image>\nAnd this one?", "A d"],
    ]
    assert [t["media"] for t in turns] == [[0], [0, 1], [0, 1]]
    assert [namespace["compare"](t, "A dog.") for t in turns] == [False, True, None]

    assert imported_modules(bundle.script) <= ALLOWED_IMPORTS
    assert ruff_problems(script) == ""
    readme = zipfile.ZipFile(io.BytesIO(bundle.data)).read("README.txt").decode()
    assert "OpenGVLab/InternVL2-1B" in readme and "turns replayed: 3" in readme


def test_nothing_to_replay_before_the_first_answer() -> None:
    conversation = Conversation()
    assert not replayable(conversation)
    with pytest.raises(ExportError) as raised:
        openai_request(conversation, "internvl", GREEDY)
    assert raised.value.text.render("zh") == "还没有可以发送的问题。"
    conversation.ask("Hello")  # still being answered: nothing to replay yet
    assert not replayable(conversation)
    with pytest.raises(ExportError) as raised:
        replay_script(conversation, SPEC, GREEDY)
    assert str(raised.value) == "There is no answer to replay yet."
    conversation.turns[-1].error = "the server went away"
    assert replayable(conversation)


# -- the OpenAI-compatible request ----------------------------------------------------------------


class Recorder:
    """A chat-completions server that records each request and streams one fixed answer."""

    answer = "A cat."

    def __init__(self) -> None:
        self.requests: list[tuple[dict, dict]] = []  # (headers, JSON body)
        recorder = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, format: str, *args: object) -> None:
                pass

            def do_POST(self) -> None:
                body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
                recorder.requests.append((dict(self.headers), body))
                events = [
                    {"choices": [{"index": 0, "delta": {"content": recorder.answer}, "finish_reason": None}]},
                    {"choices": [{"index": 0, "delta": {}, "finish_reason": "stop"}]},
                ]
                payload = "".join(f"data: {json.dumps(event)}\n\n" for event in events) + "data: [DONE]\n\n"
                self.send_response(200)
                self.send_header("Content-Type", "text/event-stream")
                self.send_header("Content-Length", str(len(payload.encode())))
                self.end_headers()
                self.wfile.write(payload.encode())

        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.base_url = f"http://127.0.0.1:{self.httpd.server_address[1]}"

    def last_body(self) -> dict:
        return self.requests[-1][1]


@pytest.fixture(scope="module")
def recorder() -> Iterator[Recorder]:
    server = Recorder()
    thread = threading.Thread(target=server.httpd.serve_forever, daemon=True)
    thread.start()
    yield server
    server.httpd.shutdown()
    server.httpd.server_close()


def two_turns() -> Conversation:
    """An answered question about a photo and an answered follow-up (with Chinese, and an apostrophe for the shell)."""
    conversation = Conversation()
    conversation.ask("What's in it?", images=(ImageAttachment(make_photo(640, 480, seed=1), name="p.jpg"),))
    conversation.turns[-1].answer = "A cat on a mat."
    conversation.ask("它是什么颜色？")
    conversation.turns[-1].answer = Recorder.answer
    return conversation


@pytest.mark.parametrize("flavour", ["lmdeploy", "vllm"])
def test_the_request_body_is_what_the_engine_sends(recorder: Recorder, flavour: str) -> None:
    conversation = two_turns()
    settings = GenerationSettings(max_new_tokens=32, repetition_penalty=1.1, max_tiles=6)
    exported = openai_request(conversation, "internvl", settings, flavour=flavour, base_url=recorder.base_url)

    # The engine asked the last question again (a regenerate): what it posts is the reference.
    asked = Conversation([*conversation.turns[:-1], edited(conversation.turns[-1], conversation.turns[-1].question)])
    engine = OpenAICompatEngine(ServerSpec(recorder.base_url, "internvl"), flavour=flavour)
    assert engine.stream(asked, settings, threading.Event()).text() == Recorder.answer
    assert exported.body == recorder.last_body()
    assert exported.url == f"{recorder.base_url}/v1/chat/completions"
    images = [part for message in exported.body["messages"] for part in message["content"] if isinstance(part, dict)]
    assert [part["image_url"]["url"][:23] for part in images if part["type"] == "image_url"] == [
        "data:image/jpeg;base64,"
    ]


def test_the_curl_command_is_shell_that_posts_the_body(recorder: Recorder, tmp_path: Path) -> None:
    conversation = two_turns()
    exported = openai_request(conversation, "internvl", GREEDY, base_url=recorder.base_url, api_key_env="MY_KEY")
    words = shlex.split(exported.curl, comments=True)
    assert words[:2] == ["printf", "%s"] and words[3] == "|"
    assert json.loads(words[2]) == exported.body
    assert "Authorization: Bearer $MY_KEY" in words  # the key is read from the environment, never written
    if shutil.which("curl") is None or shutil.which("bash") is None:
        pytest.skip("curl and bash run the command")
    script = tmp_path / "request.sh"
    script.write_text(exported.curl, encoding="utf-8")
    env = {**os.environ, "MY_KEY": "secret"}
    result = subprocess.run(["bash", str(script)], capture_output=True, text=True, timeout=60, env=env)
    assert result.returncode == 0, result.stderr
    assert recorder.last_body() == exported.body
    assert recorder.requests[-1][0]["Authorization"] == "Bearer secret"
    assert Recorder.answer in result.stdout


def test_the_python_request_posts_the_body(recorder: Recorder, tmp_path: Path) -> None:
    pytest.importorskip("requests")
    conversation = two_turns()
    exported = openai_request(conversation, "internvl", GREEDY, flavour="vllm", base_url=recorder.base_url)
    script = tmp_path / "request.py"
    script.write_text(exported.python, encoding="utf-8")
    assert imported_modules(exported.python) <= ALLOWED_IMPORTS
    assert ruff_problems(script) == ""
    env = {key: value for key, value in os.environ.items() if key != "PYTHONPATH"}
    result = subprocess.run([sys.executable, str(script)], capture_output=True, text=True, timeout=60, env=env)
    assert result.returncode == 0, result.stderr
    assert recorder.last_body() == exported.body
    assert result.stdout.splitlines() == [Recorder.answer, "Same as the app's answer: yes"]


# -- the buttons --------------------------------------------------------------------------------


def _export_page() -> None:
    import streamlit as st

    from components import export_buttons
    from model_backend.conversation import Conversation
    from model_backend.settings import GenerationSettings, LoadSpec

    conversation = Conversation()
    if st.session_state.get("answered", True):
        conversation.ask("Hello")
        conversation.turns[-1].answer = "Hi"
    export_buttons.render("image", conversation, LoadSpec("demo"), GenerationSettings(), None)


def _buttons(language: str, answered: bool = True):
    from streamlit.testing.v1 import AppTest

    app = AppTest.from_function(_export_page, default_timeout=60)
    app.session_state["ui_language"] = language
    app.session_state["answered"] = answered
    app.run()
    assert not app.exception, app.exception
    return app, app.get("download_button")


@pytest.mark.parametrize(
    ("language", "labels"),
    [
        ("en", ["Replay script (.zip)", "OpenAI request (curl)", "OpenAI request (Python)"]),
        ("zh", ["重放脚本（.zip）", "OpenAI 请求（curl）", "OpenAI 请求（Python）"]),
    ],
)
def test_the_buttons_speak_the_visitor_language(language: str, labels: list[str]) -> None:
    app, buttons = _buttons(language)
    assert [button.proto.label for button in buttons] == labels
    assert not any(button.proto.disabled for button in buttons)
    assert app.selectbox[0].label == ("Server for the request" if language == "en" else "请求发往的服务器")
    assert app.selectbox[0].value == "lmdeploy"
    assert buttons[1].proto.help.startswith("最后一个问题" if language == "zh" else "The last question")


def test_the_buttons_say_why_there_is_nothing_to_export_yet() -> None:
    _, buttons = _buttons("zh", answered=False)
    assert all(button.proto.disabled for button in buttons)
    assert [button.proto.help for button in buttons] == ["还没有可以重放的回答。"] + ["还没有可以发送的问题。"] * 2
