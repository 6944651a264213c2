"""OpenAICompatEngine against a real `transformers serve` process on 127.0.0.1 (see conftest.py)."""

from __future__ import annotations

import os
import signal
import threading
from pathlib import Path

import pytest

from model_backend.conversation import Conversation, ImageAttachment, VideoAttachment
from model_backend.engines.base import EngineError
from model_backend.engines.openai_compat import OpenAICompatEngine, list_models
from model_backend.settings import GenerationSettings, ServerSpec
from tests.media_factory import make_photo, make_png
from tests.server_fixture import SERVER_VERSION, RunningServer, free_port, server_version, start_server

pytestmark = pytest.mark.server

JPEG = make_photo(160, 96)
PNG = make_png(90, 120, seed=3)
GREEDY = GenerationSettings(max_new_tokens=8, max_tiles=4)


def _engine(server: RunningServer, model: str | None = None) -> OpenAICompatEngine:
    return OpenAICompatEngine(ServerSpec(server.base_url, model or server.model, timeout_s=30))


def _ask(question: str, *images: bytes) -> Conversation:
    conversation = Conversation()
    conversation.ask(question, images=tuple(ImageAttachment(data) for data in images))
    return conversation


def test_list_models_names_the_served_checkpoint(server: RunningServer) -> None:
    assert list_models(server.base_url) == [server.model]
    assert list_models(ServerSpec(server.base_url + "/v1", "x")) == [server.model]  # ".../v1" works too


def test_the_server_is_recognised_as_transformers_serve(server: RunningServer) -> None:
    engine = _engine(server)
    assert engine.flavour() == "transformers"
    assert engine.context_window() is None
    assert engine.label == f"server {server.model} @ {server.base_url.removeprefix('http://')}"


def test_the_locked_server_release_is_the_one_these_tests_pin() -> None:
    """The behaviour below (usage when asked for, a piece per token or two) is that of one release."""
    assert server_version() == SERVER_VERSION


def test_text_streams_in_several_pieces_with_stats(server: RunningServer) -> None:
    answer = _engine(server).stream(_ask("Hello there"), GREEDY, threading.Event())
    pieces = list(answer)
    # transformers serve 5.25 sends a piece per token, except that a token whose text is not complete yet
    # rides with the next one: live, not one final blob.
    assert 4 <= len(pieces) <= 8
    assert answer.text() == "".join(pieces)
    assert answer.stats.new_tokens == 8  # the server's count (usage, which the engine asks for)
    assert not answer.stats.counted_from_stream
    assert answer.stats.prompt_tokens and answer.stats.prompt_tokens > 2
    assert answer.stats.time_to_first_token_s is not None and answer.stats.time_to_first_token_s > 0
    assert answer.stats.tokens_per_s and answer.stats.tokens_per_s > 0


def test_images_reach_the_model(server: RunningServer) -> None:
    engine = _engine(server)
    text_only = engine.stream(_ask("Describe."), GREEDY, threading.Event())
    one = engine.stream(_ask("Describe.", JPEG), GREEDY, threading.Event())
    two = engine.stream(_ask("Compare.", JPEG, PNG), GREEDY, threading.Event())
    for answer in (text_only, one, two):
        assert answer.text()
    # Each image tile costs 4 tokens in the tiny model: prompt lengths prove the images were expanded.
    assert text_only.stats.prompt_tokens < one.stats.prompt_tokens < two.stats.prompt_tokens


def test_second_turn_resends_the_history(server: RunningServer) -> None:
    engine = _engine(server)
    conversation = _ask("What is it?", JPEG)
    first = engine.stream(conversation, GREEDY, threading.Event())
    conversation.turns[-1].answer = first.text()
    conversation.ask("And the colours?")
    second = engine.stream(conversation, GREEDY, threading.Event())
    assert second.text()
    assert second.stats.prompt_tokens > first.stats.prompt_tokens + first.stats.new_tokens


def test_sampling_with_repetition_penalty_is_accepted(server: RunningServer) -> None:
    settings = GenerationSettings(max_new_tokens=5, do_sample=True, temperature=0.9, repetition_penalty=1.3)
    answer = _engine(server).stream(_ask("Hi"), settings, threading.Event())
    answer.text()  # no 422: transformers serve took every field
    # Sampled tokens may be partial UTF-8 (no text piece) or, rarely, the end token: count the server's tokens.
    assert 1 <= answer.stats.new_tokens <= 5


def test_stop_closes_the_stream_promptly(server: RunningServer) -> None:
    stop = threading.Event()
    settings = GenerationSettings(max_new_tokens=16384)  # ~35 s of tokens for the tiny model on this CPU
    answer = _engine(server).stream(_ask("Talk for a long time."), settings, stop)
    pieces = []
    for piece in answer:
        pieces.append(piece)
        if len(pieces) == 3:
            stop.set()
    assert len(pieces) == 3
    # The stream was closed, not drained: the server's closing usage event (16,384 tokens) never arrived.
    assert answer.stats.counted_from_stream and answer.stats.new_tokens == 3
    # The server stays usable right after a stop.
    assert _engine(server).stream(_ask("Hi"), GREEDY, threading.Event()).text()


def test_unknown_model_names_what_the_server_serves(server: RunningServer) -> None:
    with pytest.raises(EngineError) as caught:
        _engine(server, model="OpenGVLab/InternVL2-8B").stream(_ask("Hi"), GREEDY, threading.Event()).text()
    assert str(caught.value) == (
        f"The server does not serve the model OpenGVLab/InternVL2-8B; it serves: {server.model}. "
        "Choose one of these on the Settings page."
    )


def test_nothing_listening_gives_a_could_not_connect_error_and_keeps_the_conversation() -> None:
    url = f"http://127.0.0.1:{free_port()}"
    conversation = _ask("Hi", JPEG)
    before = conversation.to_json()
    with pytest.raises(EngineError) as caught:
        OpenAICompatEngine(ServerSpec(url, "m")).stream(conversation, GREEDY, threading.Event()).text()
    assert str(caught.value) == (
        f"Could not connect to the server at {url}. It may have stopped, or the address may be wrong: start the "
        "server (or correct its address on the Settings page), then send the question again."
    )
    assert caught.value.detail.startswith("ConnectError: ")  # httpx's words, in the details only
    assert conversation.to_json() == before
    with pytest.raises(EngineError, match="Could not connect"):
        list_models(url)


def test_server_killed_mid_answer_keeps_the_partial_text(hf_home: Path, tmp_path: Path) -> None:
    doomed = start_server(hf_home, tmp_path)
    try:
        conversation = _ask("Talk for a long time.")
        before = conversation.to_json()
        answer = _engine(doomed).stream(conversation, GenerationSettings(max_new_tokens=16384), threading.Event())
        received = []
        with pytest.raises(EngineError, match="incomplete"):
            for piece in answer:
                received.append(piece)
                if len(received) == 3:
                    # A crash, not a shutdown: on SIGTERM uvicorn would finish the answer first.
                    os.killpg(doomed.process.pid, signal.SIGKILL)
        assert len(received) >= 3
        assert answer.text().startswith("".join(received[:3]))
        assert conversation.to_json() == before
        with pytest.raises(EngineError, match="Could not connect"):
            _engine(doomed).stream(_ask("Hi"), GREEDY, threading.Event()).text()
    finally:
        doomed.stop()


def test_video_frames_reach_the_model(server: RunningServer, tmp_path: Path) -> None:
    from tests.media_factory import make_video

    data = make_video(tmp_path / "clip.mp4").read_bytes()
    prompt_tokens = []
    for frames in (1, 4):
        conversation = Conversation()
        conversation.ask("What happens?", video=VideoAttachment(data, num_frames=frames))
        answer = _engine(server).stream(conversation, GREEDY, threading.Event())
        assert answer.text()
        prompt_tokens.append(answer.stats.prompt_tokens)
    assert prompt_tokens[1] > prompt_tokens[0]
