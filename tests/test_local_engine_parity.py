"""LocalEngine's greedy streamed answer equals the checkpoint's own `model.chat`, case by case.

QA users compare checkpoints through this app, so it must give them exactly the answers the
checkpoint's own code gives. The reference side uses the seeds' preprocessing verbatim
(`tests/seed_reference.py`) and calls `model.chat` as the model cards do; the engine side goes
through our conversation, preprocessing, prompt building and streaming.

Every case runs for every demo family (model_backend/demo_checkpoint/families.py, docs/families.md):
each has its checkpoints' template, LLM class and tokenizer kind (byte-level BPE, fast and slow;
InternLM2's and Llama's SentencePiece), so separators and streamed decoding are checked against
every kind the catalog uses. The default family's cases run three times: with the engine's caches
on (later turns reuse the vision features and the KV cache of earlier ones, and the module's cases
share one engine), with both off (every turn encodes and prefills everything again, as `model.chat`
does), and in bfloat16 with the caches on; the other families run with the caches on, the default
(KV prefix reuse applies where the LLM class supports it: `prefix_reuse_supported`).
"""

from __future__ import annotations

import threading
from pathlib import Path

import pytest
import torch

from model_backend.checkpoints.loading import load_model
from model_backend.conversation import Conversation, ImageAttachment, VideoAttachment
from model_backend.demo_checkpoint import DEFAULT_FAMILY, FAMILIES, demo_checkpoint_path
from model_backend.engines.local import LocalEngine
from model_backend.settings import GenerationSettings, LoadSpec
from tests import seed_reference
from tests.media_factory import has_ffmpeg, make_photo, make_video

MAX_NEW_TOKENS = 24
GREEDY = GenerationSettings(max_new_tokens=MAX_NEW_TOKENS, do_sample=False)


# ((family, dtype), caches MB): caches off (0) and bfloat16 only for the default family; the
# vision path and the KV cache code do not depend on the LLM family.
CASES = [((DEFAULT_FAMILY, "float32"), 512), ((DEFAULT_FAMILY, "float32"), 0), ((DEFAULT_FAMILY, "bfloat16"), 512)]
CASES += [((f, "float32"), 512) for f in FAMILIES if f != DEFAULT_FAMILY]


def pytest_generate_tests(metafunc: pytest.Metafunc) -> None:
    if "engine" in metafunc.fixturenames:
        ids = [f"{family}-{dtype}-caches-{'on' if mb else 'off'}" for (family, dtype), mb in CASES]
        metafunc.parametrize(("loaded", "engine"), CASES, indirect=True, scope="module", ids=ids)


@pytest.fixture(scope="module")
def loaded(request: pytest.FixtureRequest):
    """The family's demo checkpoint, built once (cached on disk) and loaded once for this module."""
    family, dtype = request.param
    checkpoint = "demo" if family == DEFAULT_FAMILY else str(demo_checkpoint_path(family))
    return load_model(LoadSpec(checkpoint, dtype=dtype, device="cpu"))


@pytest.fixture(scope="module")
def engine(loaded, request: pytest.FixtureRequest) -> LocalEngine:
    """The engine under test, with the vision-feature and KV prefix caches on (512 MB) or off (0)."""
    return LocalEngine(loaded, vision_cache_mb=request.param, prefix_cache_mb=request.param)


def reused(engine: LocalEngine, answer) -> None:
    """With its KV cache on, a follow-up really took the earlier turn's computed prefix."""
    if engine.prefix_cache.enabled:
        assert answer.stats.stages["reused_tokens"] > 0, "the KV cache was on but nothing was reused"


@pytest.fixture(scope="module")
def photos(tmp_path_factory: pytest.TempPathFactory) -> list[Path]:
    folder = tmp_path_factory.mktemp("photos")
    paths = []
    # 7 tiles at most for either (a 3x2 or a 1x2 grid, plus the thumbnail): the tiling itself is pinned
    # against the seeds' code in test_preprocess_images.py, and each tile costs every case here its time.
    for index, (width, height) in enumerate([(900, 600), (300, 600)]):
        path = folder / f"photo{index}.jpg"
        path.write_bytes(make_photo(width, height, seed=index))
        paths.append(path)
    return paths


def chat(loaded, pixel_values, question, history=None, num_patches_list=None, model=None):
    """The checkpoint's own answer, called the way the model cards call it."""
    model = model or loaded.model
    if pixel_values is not None:
        pixel_values = pixel_values.to(loaded.model.dtype)
    config = {"max_new_tokens": MAX_NEW_TOKENS, "do_sample": False}
    with torch.no_grad():
        return model.chat(
            loaded.tokenizer,
            pixel_values,
            question,
            config,
            history=history,
            return_history=True,
            num_patches_list=num_patches_list,
        )


def seed_image(loaded, path: Path, max_tiles: int) -> torch.Tensor:
    return seed_reference.load_image(path, input_size=loaded.image_size, max_num=max_tiles)


def streamed(engine: LocalEngine, conversation: Conversation, settings: GenerationSettings = GREEDY) -> str:
    pieces = list(engine.stream(conversation, settings, threading.Event()))
    return "".join(pieces)


def test_pure_text(loaded, engine) -> None:
    expected, _ = chat(loaded, None, "Tell me a story about a lighthouse.")
    conversation = Conversation()
    conversation.ask("Tell me a story about a lighthouse.")
    assert expected, "a random model that answers nothing would make this test vacuous"
    assert streamed(engine, conversation) == expected


def test_one_multi_tile_image(loaded, engine, photos) -> None:
    pixel_values = seed_image(loaded, photos[0], max_tiles=6)
    assert pixel_values.shape[0] == 7  # 3x2 grid + thumbnail
    expected, _ = chat(loaded, pixel_values, "Describe the image.")
    conversation = Conversation()
    conversation.ask("Describe the image.", images=(ImageAttachment(photos[0].read_bytes()),))
    answer = engine.stream(
        conversation, GenerationSettings(max_new_tokens=MAX_NEW_TOKENS, max_tiles=6), threading.Event()
    )
    assert answer.text() == expected
    assert answer.stats.tiles == [7]
    assert answer.stats.visual_tokens == 7 * loaded.num_image_token


def test_two_images(loaded, engine, photos) -> None:
    tiles = [seed_image(loaded, path, max_tiles=6) for path in photos]  # a 12-tile budget shared by two
    question = "Image-1: <image>\nImage-2: <image>\nWhat differs between the two images?"
    expected, _ = chat(loaded, torch.cat(tiles), question, num_patches_list=[t.shape[0] for t in tiles])
    assert expected
    conversation = Conversation()
    images = tuple(ImageAttachment(path.read_bytes()) for path in photos)
    conversation.ask("What differs between the two images?", images=images)
    assert streamed(engine, conversation) == expected


def test_second_turn_with_history(loaded, engine, photos) -> None:
    pixel_values = seed_image(loaded, photos[1], max_tiles=12)
    first, history = chat(loaded, pixel_values, "What is in this picture?")
    second, _ = chat(loaded, pixel_values, "And what colour is it?", history=history)
    assert first and second

    conversation = Conversation()
    conversation.ask("What is in this picture?", images=(ImageAttachment(photos[1].read_bytes()),))
    conversation.turns[-1].answer = streamed(engine, conversation)
    assert conversation.turns[-1].answer == first
    misses = engine.media_cache.misses
    conversation.ask("And what colour is it?")
    answer = engine.stream(conversation, GREEDY, threading.Event())
    assert answer.text() == second
    reused(engine, answer)
    assert engine.media_cache.misses == misses, "the follow-up turn re-tiled an image it had already tiled"


def test_edited_second_question(loaded, engine, photos) -> None:
    """Edit and resend: the kept cache holds the old second turn, which must not leak into the new one."""
    pixel_values = seed_image(loaded, photos[1], max_tiles=12)
    first, history = chat(loaded, pixel_values, "What is in this picture?")
    edited, _ = chat(loaded, pixel_values, "Which shapes do you see?", history=history)

    conversation = Conversation()
    conversation.ask("What is in this picture?", images=(ImageAttachment(photos[1].read_bytes()),))
    conversation.turns[-1].answer = streamed(engine, conversation)
    assert conversation.turns[-1].answer == first
    conversation.ask("And what colour is it?")
    conversation.turns[-1].answer = streamed(engine, conversation)
    conversation.truncate_to(1)
    conversation.ask("Which shapes do you see?")
    answer = engine.stream(conversation, GREEDY, threading.Event())
    assert answer.text() == edited
    reused(engine, answer)


@pytest.mark.skipif(not has_ffmpeg(), reason="ffmpeg makes the test video")
def test_eight_frame_video(loaded, engine, tmp_path: Path) -> None:
    path = make_video(tmp_path / "clip.mp4", seconds=2.0, fps=10)
    pixel_values, num_patches_list = seed_reference.load_video(
        str(path), input_size=loaded.image_size, max_num=1, num_segments=8
    )
    prefix = "".join(f"Frame{i + 1}: <image>\n" for i in range(8))
    expected, _ = chat(loaded, pixel_values, prefix + "What happens in the video?", num_patches_list=num_patches_list)
    assert expected
    conversation = Conversation()
    conversation.ask("What happens in the video?", video=VideoAttachment(path.read_bytes(), num_frames=8))
    answer = engine.stream(conversation, GREEDY, threading.Event())
    assert answer.text() == expected
    assert answer.stats.tiles == [1] * 8


def test_custom_system_prompt_matches_chat_without_touching_the_shared_model(loaded, engine, photos) -> None:
    from transformers import AutoModel

    system = "You are a terse assistant who answers in one word."
    # `chat` reads `self.system_message`, so the reference is a separate instance with it set;
    # the shared model must stay as it was.
    reference = AutoModel.from_pretrained(loaded.path, torch_dtype=loaded.model.dtype, trust_remote_code=True).eval()
    reference.system_message = system
    pixel_values = seed_image(loaded, photos[0], max_tiles=12)
    expected, _ = chat(loaded, pixel_values, "Describe the image.", model=reference)

    before = (loaded.model.system_message, repr(loaded.model.conv_template))
    conversation = Conversation()
    conversation.ask("Describe the image.", images=(ImageAttachment(photos[0].read_bytes()),))
    settings = GenerationSettings(max_new_tokens=MAX_NEW_TOKENS, system_prompt=system)
    assert streamed(engine, conversation, settings) == expected
    assert (loaded.model.system_message, repr(loaded.model.conv_template)) == before
    # ...and the default system prompt still gives the default answer afterwards.
    default, _ = chat(loaded, pixel_values, "Describe the image.")
    assert streamed(engine, conversation) == default
    assert default != expected, "the system prompt made no difference, so this test proves nothing"


def test_third_turn_with_a_new_image_and_regenerate(loaded, engine, photos) -> None:
    """Turn 2 brings a second image: with the cache, the first image's features are kept and only the
    new one is encoded, while `chat` encodes both in one batch; turn 3 and a regenerate follow."""
    first_tiles = seed_image(loaded, photos[0], max_tiles=6)
    second_tiles = seed_image(loaded, photos[1], max_tiles=6)
    both = torch.cat([first_tiles, second_tiles])
    patches = [first_tiles.shape[0], second_tiles.shape[0]]
    first, _ = chat(loaded, first_tiles, "What is this?")
    # Once there are two images, the conversation labels them, earlier turns included.
    history = [("Image-1: <image>\nWhat is this?", first)]
    second, history = chat(loaded, both, "Image-2: <image>\nAnd this one?", history=history, num_patches_list=patches)
    third, _ = chat(loaded, both, "Compare them.", history=history, num_patches_list=patches)
    assert first and second and third

    settings = GenerationSettings(max_new_tokens=MAX_NEW_TOKENS, max_tiles=6)
    conversation = Conversation()
    conversation.ask("What is this?", images=(ImageAttachment(photos[0].read_bytes()),))
    conversation.turns[-1].answer = streamed(engine, conversation, settings)
    conversation.ask("And this one?", images=(ImageAttachment(photos[1].read_bytes()),))
    conversation.turns[-1].answer = streamed(engine, conversation, settings)
    conversation.ask("Compare them.")
    conversation.turns[-1].answer = streamed(engine, conversation, settings)
    assert [turn.answer for turn in conversation.turns] == [first, second, third]

    conversation.truncate_to(2)  # regenerate the last answer
    conversation.ask("Compare them.")
    answer = engine.stream(conversation, settings, threading.Event())
    assert answer.text() == third
    reused(engine, answer)
