"""The request an InternVL server receives: labels, data URLs, tile budgets, history order, decoding fields.

No server needed: these pin down the message shapes each server flavour understands.
"""

from __future__ import annotations

import base64
import io
import sys
import types
from dataclasses import dataclass

import pytest
from PIL import Image

from model_backend.conversation import Conversation, ImageAttachment, VideoAttachment
from model_backend.engines.openai_messages import FLAVOURS, build_messages, image_data_url, sampling_fields
from model_backend.settings import GenerationSettings
from tests.media_factory import make_photo, make_png

JPEG = make_photo(64, 48)
PNG = make_png(40, 30, seed=1)


def _decode(url: str) -> bytes:
    header, payload = url.split(",", 1)
    assert header.endswith(";base64")
    return base64.b64decode(payload)


def _shape(content) -> list[str]:
    """Content parts as readable tokens: text as is, images as IMG(budget)."""
    return [p["text"] if p["type"] == "text" else f"IMG({p['image_url'].get('max_dynamic_patch')})" for p in content]


def test_jpeg_and_png_bytes_are_sent_unchanged() -> None:
    assert image_data_url(JPEG).startswith("data:image/jpeg;base64,")
    assert _decode(image_data_url(JPEG)) == JPEG
    assert image_data_url(PNG).startswith("data:image/png;base64,")
    assert _decode(image_data_url(PNG)) == PNG


def test_other_formats_are_reencoded_to_an_image_the_server_can_read() -> None:
    buffer = io.BytesIO()
    Image.new("RGB", (20, 10), (0, 128, 255)).save(buffer, format="WEBP")
    url = image_data_url(buffer.getvalue())
    assert url.startswith("data:image/jpeg;base64,")
    assert Image.open(io.BytesIO(_decode(url))).size == (20, 10)
    buffer = io.BytesIO()
    Image.new("RGB", (8, 8)).save(buffer, format="BMP")
    assert image_data_url(buffer.getvalue()).startswith("data:image/png;base64,")  # lossless stays lossless


def test_single_image_is_unlabelled_and_carries_the_whole_tile_budget() -> None:
    conversation = Conversation()
    conversation.ask("What is this?", images=(ImageAttachment(JPEG),))
    messages = build_messages(conversation, GenerationSettings(max_tiles=6), "transformers")
    assert messages == [
        {
            "role": "user",
            "content": [
                {"type": "image_url", "image_url": {"url": image_data_url(JPEG), "max_dynamic_patch": 6}},
                {"type": "text", "text": "\nWhat is this?"},
            ],
        }
    ]


def test_two_images_are_labelled_and_share_the_tile_budget() -> None:
    conversation = Conversation()
    conversation.ask("Compare them.", images=(ImageAttachment(JPEG), ImageAttachment(PNG)))
    content = build_messages(conversation, GenerationSettings(max_tiles=12), "transformers")[0]["content"]
    assert _shape(content) == ["Image-1: ", "IMG(6)", "\nImage-2: ", "IMG(6)", "\nCompare them."]
    assert _decode(content[3]["image_url"]["url"]) == PNG


def test_lmdeploy_gets_one_text_part_with_image_tokens_where_the_images_go() -> None:
    # LMDeploy reads only the first text part; interleaving would drop the question.
    conversation = Conversation()
    conversation.ask("Compare them.", images=(ImageAttachment(JPEG), ImageAttachment(PNG)))
    content = build_messages(conversation, GenerationSettings(max_tiles=12), "lmdeploy")[0]["content"]
    assert _shape(content) == ["Image-1: <IMAGE_TOKEN>\nImage-2: <IMAGE_TOKEN>\nCompare them.", "IMG(6)", "IMG(6)"]


def test_vllm_gets_internvl_image_placeholders_in_the_text() -> None:
    conversation = Conversation()
    conversation.ask("Compare them.", images=(ImageAttachment(JPEG), ImageAttachment(PNG)))
    content = build_messages(conversation, GenerationSettings(max_tiles=12), "vllm")[0]["content"]
    assert content[0]["text"] == "Image-1: <image>\nImage-2: <image>\nCompare them."


def test_plain_openai_servers_get_no_unknown_image_fields() -> None:
    conversation = Conversation()
    conversation.ask("What is this?", images=(ImageAttachment(JPEG),))
    content = build_messages(conversation, GenerationSettings(), "openai")[0]["content"]
    assert content[0]["image_url"] == {"url": image_data_url(JPEG)}


def test_history_is_resent_in_order_with_global_image_numbers_and_system_prompt() -> None:
    conversation = Conversation()
    conversation.ask("Describe it.", images=(ImageAttachment(JPEG),))
    conversation.turns[-1].answer = "A photo."
    conversation.ask("And this one?", images=(ImageAttachment(PNG),))
    settings = GenerationSettings(max_tiles=4, system_prompt="Answer briefly.")
    messages = build_messages(conversation, settings, "transformers")
    assert [m["role"] for m in messages] == ["system", "user", "assistant", "user"]
    assert messages[0]["content"] == "Answer briefly."
    assert _shape(messages[1]["content"]) == ["Image-1: ", "IMG(4)", "\nDescribe it."]
    assert messages[2]["content"] == "A photo."
    assert _shape(messages[3]["content"]) == ["Image-2: ", "IMG(4)", "\nAnd this one?"]
    assert _decode(messages[3]["content"][1]["image_url"]["url"]) == PNG


def test_text_only_turns_are_plain_strings() -> None:
    conversation = Conversation()
    conversation.ask("Hello")
    assert build_messages(conversation, GenerationSettings(), "lmdeploy") == [{"role": "user", "content": "Hello"}]


@dataclass
class _Frame:
    index: int
    timestamp_s: float
    image: Image.Image


def test_video_becomes_its_sampled_frames_each_labelled(monkeypatch: pytest.MonkeyPatch) -> None:
    calls = []

    def sample_frames(source, num_frames=8, start_s=None, end_s=None):
        calls.append((source, num_frames, start_s, end_s))
        return [_Frame(i, float(i), Image.new("RGB", (32, 24), (i * 60, 0, 0))) for i in range(num_frames)]

    fake_module = types.SimpleNamespace(sample_frames=sample_frames)
    monkeypatch.setitem(sys.modules, "model_backend.preprocess.video", fake_module)
    conversation = Conversation()
    conversation.ask("What happens?", video=VideoAttachment(b"video-bytes", num_frames=3, start_s=1.0, end_s=4.0))
    content = build_messages(conversation, GenerationSettings(max_tiles=12), "transformers")[0]["content"]
    assert calls == [(b"video-bytes", 3, 1.0, 4.0)]
    assert _shape(content) == ["Frame1: ", "IMG(1)", "\nFrame2: ", "IMG(1)", "\nFrame3: ", "IMG(1)", "\nWhat happens?"]
    assert content[1]["image_url"]["url"].startswith("data:image/jpeg;base64,")
    lmdeploy = build_messages(conversation, GenerationSettings(), "lmdeploy")[0]["content"]
    assert lmdeploy[0]["text"].startswith("Frame1: <IMAGE_TOKEN>\nFrame2: <IMAGE_TOKEN>\n")


def test_greedy_sends_temperature_zero_and_an_explicit_max_tokens() -> None:
    fields = sampling_fields(GenerationSettings(max_new_tokens=77), "openai")
    assert fields == {"max_tokens": 77, "temperature": 0.0, "stream_options": {"include_usage": True}}
    assert sampling_fields(GenerationSettings(), "lmdeploy")["top_k"] == 1


def test_sampling_and_repetition_penalty_per_flavour() -> None:
    settings = GenerationSettings(do_sample=True, temperature=0.5, top_p=0.8, repetition_penalty=1.25)
    lmdeploy = sampling_fields(settings, "lmdeploy")
    assert (lmdeploy["temperature"], lmdeploy["top_p"], lmdeploy["repetition_penalty"]) == (0.5, 0.8, 1.25)
    transformers = sampling_fields(settings, "transformers")
    assert "repetition_penalty" not in transformers  # transformers serve answers 422 to unknown fields
    assert transformers["frequency_penalty"] == pytest.approx(0.25)  # it maps this to repetition 1 + p
    # Every flavour asks for token counts: transformers serve 5.25 sends none in a stream otherwise.
    assert all(sampling_fields(settings, f)["stream_options"] == {"include_usage": True} for f in FLAVOURS)
    assert "repetition_penalty" not in sampling_fields(settings, "openai")
