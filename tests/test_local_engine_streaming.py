"""LocalEngine streaming behaviour: pieces, stop, separators, errors before and during generation, stats.

Runs the tiny demo checkpoint on the CPU. Where a test needs a generation it cannot get from
random weights (a separator typed out as text, an out-of-memory error), it replaces
`model.generate` with a stand-in that talks to the same streamer the real one does.
"""

from __future__ import annotations

import dataclasses
import threading
import time
from pathlib import Path

import pytest
import torch

from model_backend.conversation import Conversation, ImageAttachment
from model_backend.engines.base import EngineError
from model_backend.engines.local import DEMO_LABEL, LocalEngine
from model_backend.preprocess.errors import MediaError
from model_backend.settings import GenerationSettings
from tests.media_factory import make_photo

STORY = "Tell me a long story about a lighthouse keeper."


class LongAnswer(GenerationSettings):
    """Answers that run to max_new_tokens: the demo checkpoint is calibrated to stop after a few words."""

    def generation_config(self) -> dict:
        return {**super().generation_config(), "min_new_tokens": self.max_new_tokens}


def ask(question: str = STORY, images: tuple[ImageAttachment, ...] = ()) -> Conversation:
    conversation = Conversation()
    conversation.ask(question, images=images)
    return conversation


def generation_threads() -> list[threading.Thread]:
    return [t for t in threading.enumerate() if t.name == "internvl-generate" and t.is_alive()]


@pytest.fixture
def slow_model(loaded):
    """Every decoding step takes >= 10 ms, so a stop request provably lands mid-answer."""

    def slow_step(module, args) -> None:
        time.sleep(0.01)  # the behaviour under test: a slowed model (each decoding step), not a wait

    handle = loaded.model.language_model.register_forward_pre_hook(slow_step)
    yield loaded.model
    handle.remove()


def fake_generate(tokenizer, text: str, error: BaseException | None = None):
    """A `generate` stand-in that streams `text` token by token (then raises `error`, if given) and,
    as the real one, returns the new tokens; it computes no KV cache, so none is kept."""

    def generate(pixel_values=None, input_ids=None, attention_mask=None, streamer=None, **kwargs):
        streamer.put(input_ids.cpu())  # the prompt, as the real `generate` hands it over first
        tokens = tokenizer(text, add_special_tokens=False, return_tensors="pt").input_ids
        for token in tokens[0]:
            streamer.put(token[None])
        if error is not None:
            raise error
        streamer.end()
        return tokens

    return generate


def test_label_says_the_demo_answers_are_random(engine) -> None:
    assert engine.label == DEMO_LABEL


def test_tokens_arrive_in_several_pieces(engine) -> None:
    answer = engine.stream(ask(), LongAnswer(max_new_tokens=48), threading.Event())
    pieces = list(answer)
    assert answer.stats.new_tokens == 48
    assert len(pieces) >= 5, pieces
    assert all(pieces), "empty pieces should not be yielded"


def test_stop_ends_the_answer_within_two_pieces_and_the_thread(engine, slow_model) -> None:
    stop = threading.Event()
    answer = engine.stream(ask(), LongAnswer(max_new_tokens=400), stop)
    after_stop = 0
    tokens_at_stop = 0
    for _piece in answer:
        if stop.is_set():
            after_stop += 1
        else:
            stop.set()
            tokens_at_stop = answer.stats.new_tokens
    assert after_stop <= 2
    assert tokens_at_stop > 0
    # A token or two may be under way when the request lands; the slack absorbs a busy CI machine.
    assert answer.stats.new_tokens <= tokens_at_stop + 4, "generation went on after the stop request"
    assert not generation_threads()


def test_stop_before_the_first_token_returns_promptly(engine, loaded) -> None:
    steps: list[int] = []  # the language model's forward passes: the prefill, then one per new token
    counting = loaded.model.language_model.register_forward_pre_hook(lambda module, args: steps.append(1))
    stop = threading.Event()
    stop.set()
    try:
        answer = engine.stream(ask(), LongAnswer(max_new_tokens=400), stop)
        pieces = list(answer)  # returns once the worker has ended: every pass it made is counted
    finally:
        counting.remove()
    assert len(pieces) <= 1
    assert answer.stats.new_tokens <= 2
    # Promptly: at most the prefill and a step or two ran, not the 400 steps the answer asked for.
    assert len(steps) <= 3, f"{len(steps)} forward passes after a stop set before the first token"
    assert not generation_threads()


def test_real_stream_never_shows_template_tokens(engine, loaded) -> None:
    text = engine.stream(ask(), LongAnswer(max_new_tokens=64), threading.Event()).text()
    for marker in (loaded.model.conv_template.sep.strip(), "<|im_start|>", "<IMG_CONTEXT>"):
        assert marker not in text


def test_a_separator_that_arrives_as_plain_text_is_cut(engine, loaded, monkeypatch) -> None:
    # phi3-chat's `<|end|>` is not a special token in every tokenizer: it can stream as text.
    monkeypatch.setattr(loaded.model.conv_template, "sep", "<|end|>")
    text = "  Hello there, friend.<|end|> this must not show"
    monkeypatch.setattr(loaded.model, "generate", fake_generate(loaded.tokenizer, text))
    pieces = list(engine.stream(ask(), GenerationSettings(max_new_tokens=64), threading.Event()))
    assert "".join(pieces) == "Hello there, friend."
    assert not any("<|" in piece for piece in pieces)


def test_context_overflow_is_an_error_before_generating(loaded, monkeypatch) -> None:
    engine = LocalEngine(dataclasses.replace(loaded, context_tokens=600))

    def must_not_run(**kwargs):
        raise AssertionError("generate ran although the prompt cannot fit")

    monkeypatch.setattr(loaded.model, "generate", must_not_run)
    photo = ImageAttachment(make_photo(900, 600))
    with pytest.raises(EngineError) as caught:
        engine.stream(ask("Describe the image.", (photo,)), GenerationSettings(max_new_tokens=64), threading.Event())
    message = str(caught.value)
    visual = 7 * loaded.num_image_token
    assert f"({visual:,} of them for the images or video frames)" in message
    assert "up to 64 more" in message and "context window is 600 tokens" in message
    assert "Attach fewer images" in message and "start a new conversation" in message
    assert caught.value.text.params["image_tokens"] == visual  # a number; the message writes it "1,792"
    assert "上下文窗口只有 600 个 token" in caught.value.text.render("zh")


def test_out_of_memory_in_the_worker_becomes_a_clear_engine_error(engine, loaded, monkeypatch) -> None:
    oom = torch.OutOfMemoryError("CUDA out of memory. Tried to allocate 20.00 GiB")
    monkeypatch.setattr(loaded.model, "generate", fake_generate(loaded.tokenizer, "", oom))
    with pytest.raises(EngineError, match="ran out of memory while answering") as caught:
        engine.stream(ask(), GenerationSettings(max_new_tokens=16), threading.Event()).text()
    assert caught.value.text.key == "engine.out_of_memory"
    assert caught.value.detail == "OutOfMemoryError: CUDA out of memory. Tried to allocate 20.00 GiB"
    assert "20.00 GiB" not in str(caught.value)  # the library's words stay in the details
    assert caught.value.__cause__ is oom
    assert not generation_threads()


def test_a_failure_mid_answer_keeps_the_pieces_and_then_raises(engine, loaded, monkeypatch) -> None:
    broken = fake_generate(loaded.tokenizer, "Some words before it broke ", ValueError("boom"))
    monkeypatch.setattr(loaded.model, "generate", broken)
    pieces: list[str] = []
    with pytest.raises(EngineError, match=r"^Generation failed: the model stopped with an error") as caught:
        for piece in engine.stream(ask(), GenerationSettings(max_new_tokens=16), threading.Event()):
            pieces.append(piece)
    assert caught.value.detail == "ValueError: boom"
    assert "".join(pieces).startswith("Some words")


def test_a_corrupt_image_is_a_media_error(engine) -> None:
    with pytest.raises(MediaError):
        engine.stream(
            ask("What is this?", (ImageAttachment(b"not an image", "x.jpg"),)), GenerationSettings(), threading.Event()
        )


def test_stats_are_filled(engine, loaded, tmp_path: Path) -> None:
    photo = ImageAttachment(make_photo(900, 600))
    answer = engine.stream(
        ask("Describe the image.", (photo,)), GenerationSettings(max_new_tokens=16), threading.Event()
    )
    answer.text()
    stats = answer.stats
    assert stats.tiles == [7]  # a 3x2 grid (aspect 1.5) plus the thumbnail, out of 12
    assert stats.visual_tokens == 7 * loaded.num_image_token
    assert stats.prompt_tokens > stats.visual_tokens
    assert 1 <= stats.new_tokens <= 16
    assert stats.time_to_first_token_s is not None and stats.time_to_first_token_s > 0
    if stats.new_tokens > 1:
        assert stats.tokens_per_s is not None and stats.tokens_per_s > 0
    assert stats.peak_gpu_memory_gb is None  # CPU
