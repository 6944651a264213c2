"""Turn a `Conversation` into an OpenAI-style chat request for an InternVL server.

Servers read image placement differently, so the request shape depends on the server's flavour:

- `openai` / `transformers`: text and image parts interleaved in order (`Image-1:` text, image, `Image-2:`
  text, image, question). `transformers serve` and the hosted OpenAI API honour the order of parts.
- `lmdeploy`: ONE text part holding `<IMAGE_TOKEN>` where each image goes, then the image parts. LMDeploy's
  InternVL handler reads only the first text part of a message and prepends every image to it when the
  text has no `<IMAGE_TOKEN>`, so interleaved parts would lose the question and the labels.
- `vllm`: the same with InternVL's own `<image>` placeholder, which vLLM leaves in place (otherwise it puts
  all images in front of the joined text).

The labels themselves come from `Conversation.build_prompt`, so every backend numbers images and frames
the same way (`Image-k:` across the whole conversation when it has more than one image, `Frame{i}:` per
video frame). Per-image tile budgets travel as LMDeploy's `max_dynamic_patch` on each `image_url`.
"""

from __future__ import annotations

import base64
import io
from collections.abc import Iterator
from typing import Literal

from model_backend.conversation import IMAGE_PLACEHOLDER, Conversation, ImageAttachment, VideoAttachment
from model_backend.settings import GenerationSettings

Flavour = Literal["openai", "transformers", "lmdeploy", "vllm"]
FLAVOURS: tuple[Flavour, ...] = ("openai", "transformers", "lmdeploy", "vllm")

# What each server wants in the text where an image goes; None means "interleave the parts instead".
_PLACEHOLDERS: dict[str, str | None] = {
    "openai": None,
    "transformers": None,
    "lmdeploy": "<IMAGE_TOKEN>",
    "vllm": "<image>",
}
_LOSSLESS_MAGIC = (b"GIF8", b"BM", b"II*\x00", b"MM\x00*")


def image_data_url(data: bytes) -> str:
    """A base64 data URL; JPEG and PNG bytes are sent as they are, other formats re-encoded.

    >>> image_data_url(b"\\x89PNG\\r\\n\\x1a\\n...")[:22]
    'data:image/png;base64,'
    """
    if data.startswith(b"\xff\xd8\xff"):
        return _data_url("image/jpeg", data)
    if data.startswith(b"\x89PNG\r\n\x1a\n"):
        return _data_url("image/png", data)
    from model_backend.preprocess.images import open_image  # raises MediaError with a readable message

    image = open_image(data)
    # Lossless sources (GIF, BMP, TIFF: often screenshots or diagrams) stay lossless; photos become JPEG.
    lossless = data.startswith(_LOSSLESS_MAGIC)
    return _encode(image, "PNG" if lossless else "JPEG")


def _encode(image, fmt: str) -> str:
    buffer = io.BytesIO()
    image.save(buffer, format=fmt, **({"quality": 95} if fmt == "JPEG" else {}))
    return _data_url(f"image/{fmt.lower()}", buffer.getvalue())


def _data_url(mime: str, data: bytes) -> str:
    return f"data:{mime};base64,{base64.b64encode(data).decode('ascii')}"


def _video_frame_urls(video: VideoAttachment) -> list[str]:
    from model_backend.preprocess.video import sample_frames

    frames = sample_frames(video.data, num_frames=video.num_frames, start_s=video.start_s, end_s=video.end_s)
    if len(frames) != video.num_frames:
        # The prompt already holds one `Frame{i}:` label per requested frame; a mismatch would shift images.
        raise ValueError(f"{video.name}: asked for {video.num_frames} frames, the video gave {len(frames)}")
    return [_encode(frame.image, "JPEG") for frame in frames]


def _image_stream(media: tuple, budgets: tuple[int, ...]) -> Iterator[tuple[str, int]]:
    """(data URL, tile budget) for every placeholder of the prompt, in order; videos expand to frames."""
    for item, budget in zip(media, budgets, strict=True):
        if isinstance(item, ImageAttachment):
            yield image_data_url(item.data), budget
        else:
            for url in _video_frame_urls(item):
                yield url, budget


def _image_part(url: str, budget: int, flavour: Flavour) -> dict:
    image_url: dict = {"url": url}
    if flavour != "openai":  # the hosted OpenAI API rejects unknown keys; the InternVL servers ignore or use it
        image_url["max_dynamic_patch"] = budget
    return {"type": "image_url", "image_url": image_url}


def _user_content(question: str, images: Iterator[tuple[str, int]], flavour: Flavour) -> str | list[dict]:
    pieces = question.split(IMAGE_PLACEHOLDER)
    if len(pieces) == 1:
        return question  # text-only turn: a plain string is understood by every server
    placeholder = _PLACEHOLDERS[flavour]
    image_parts = [_image_part(*next(images), flavour) for _ in pieces[1:]]
    if placeholder is not None:
        return [{"type": "text", "text": placeholder.join(pieces)}, *image_parts]
    parts: list[dict] = []
    for index, text in enumerate(pieces):
        if text:
            parts.append({"type": "text", "text": text})
        if index < len(image_parts):
            parts.append(image_parts[index])
    return parts


def build_messages(conversation: Conversation, settings: GenerationSettings, flavour: Flavour) -> list[dict]:
    """The whole history as chat messages, ending with the pending question (sent again every turn)."""
    plan = conversation.build_prompt(settings.max_tiles)
    images = _image_stream(plan.media, plan.max_tiles_per_image)
    messages: list[dict] = []
    if settings.system_message():
        messages.append({"role": "system", "content": settings.system_message()})
    for question, answer in plan.history:
        messages.append({"role": "user", "content": _user_content(question, images, flavour)})
        messages.append({"role": "assistant", "content": answer})
    messages.append({"role": "user", "content": _user_content(plan.question, images, flavour)})
    return messages


def sampling_fields(settings: GenerationSettings, flavour: Flavour) -> dict:
    """Decoding fields of the request body, in the dialect the server accepts."""
    fields: dict = {"max_tokens": settings.max_new_tokens}  # always explicit: server defaults vary (1024, 16...)
    if settings.do_sample:
        fields.update(temperature=settings.temperature, top_p=settings.top_p)
    else:
        fields["temperature"] = 0.0
        if flavour in ("lmdeploy", "vllm"):
            fields["top_k"] = 1  # the LMDeploy guide's greedy setting; vLLM accepts it too
    penalty = settings.repetition_penalty
    if penalty != 1.0:
        if flavour in ("lmdeploy", "vllm"):
            fields["repetition_penalty"] = penalty
        elif flavour == "transformers":
            # `transformers serve` rejects unknown fields (422) but maps frequency_penalty p to repetition 1 + p.
            fields["frequency_penalty"] = penalty - 1.0
        # the hosted OpenAI API has no repetition penalty; it is left out rather than faked
    # Without it a server may send no token counts in a stream (vLLM, and transformers serve since 5.25).
    fields["stream_options"] = {"include_usage": True}
    return fields


def vllm_processor_fields(conversation: Conversation, settings: GenerationSettings) -> dict:
    """vLLM takes the tile budget per request, not per image: the largest one of the prompt."""
    budgets = conversation.build_prompt(settings.max_tiles).max_tiles_per_image
    return {"mm_processor_kwargs": {"max_dynamic_patch": max(budgets)}} if budgets else {}
