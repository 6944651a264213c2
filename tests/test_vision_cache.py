"""Vision features are kept between turns: a follow-up about the same image runs no vision encoder,
the cache holds to its memory bound, a different tile plan misses it, and answers stay exact.

The fp32 parity cases run with the cache on and off in test_local_engine_parity.py; here the same
multi-turn cases run in bf16 (on the CPU), where a different batch of tiles could round differently.
"""

from __future__ import annotations

import threading
from pathlib import Path

import pytest
import torch

from model_backend.conversation import Conversation, ImageAttachment
from model_backend.engines.local import LocalEngine
from model_backend.engines.vision_cache import VISION_CACHE_ENV, VisionCache, default_capacity_mb
from model_backend.settings import GenerationSettings, LoadSpec
from tests import seed_reference
from tests.media_factory import make_photo

MAX_NEW_TOKENS = 16
SETTINGS = GenerationSettings(max_new_tokens=MAX_NEW_TOKENS, max_tiles=6)
MB = 1024 * 1024


@pytest.fixture(scope="module")
def photos(tmp_path_factory: pytest.TempPathFactory) -> list[Path]:
    folder = tmp_path_factory.mktemp("photos")
    paths = []
    for index, (width, height) in enumerate([(900, 600), (500, 700)]):
        path = folder / f"photo{index}.jpg"
        path.write_bytes(make_photo(width, height, seed=index))
        paths.append(path)
    return paths


@pytest.fixture
def encoder_calls(loaded):
    """How many times the vision encoder ran (a forward hook on `model.vision_model`)."""
    calls: list[int] = []
    handle = loaded.model.vision_model.register_forward_hook(lambda module, args, output: calls.append(1))
    yield calls
    handle.remove()


def answer(engine: LocalEngine, conversation: Conversation, settings: GenerationSettings = SETTINGS):
    result = engine.stream(conversation, settings, threading.Event())
    conversation.turns[-1].answer = result.text()
    return result


def about(path: Path, question: str = "What is in this picture?") -> Conversation:
    conversation = Conversation()
    conversation.ask(question, images=(ImageAttachment(path.read_bytes()),))
    return conversation


# -- the LRU ---------------------------------------------------------------------------------


def test_lru_respects_its_byte_bound_and_evicts_the_least_recently_used() -> None:
    cache = VisionCache(capacity_mb=1)
    quarter = torch.zeros(MB // 4 // 4)  # float32: 0.25 MB each
    for name in "abc":
        cache.put(name, quarter.clone(), tiles=(1,))
    assert cache.get("a") is not None  # "a" is now the most recently used, "b" the least
    cache.put("d", torch.zeros(MB // 2 // 4), tiles=(2,))  # 0.5 MB: 1.25 MB in all, so "b" goes
    assert cache.used_bytes <= MB
    assert cache.get("b") is None
    assert [cache.get(name) is not None for name in "acd"] == [True, True, True]
    assert cache.used_bytes == MB


def test_an_entry_larger_than_the_whole_bound_is_not_kept_and_zero_is_off() -> None:
    cache = VisionCache(capacity_mb=1)
    cache.put("small", torch.zeros(16), tiles=(1,))
    cache.put("huge", torch.zeros(MB), tiles=(1,))  # 4 MB
    assert cache.get("huge") is None and cache.get("small") is not None
    assert not VisionCache(capacity_mb=0).enabled


def test_replacing_a_key_does_not_count_its_bytes_twice() -> None:
    cache = VisionCache(capacity_mb=1)
    cache.put("a", torch.zeros(1024), tiles=(1,))
    cache.put("a", torch.zeros(1024), tiles=(1,))
    assert cache.used_bytes == 4096 and len(cache) == 1


def test_capacity_comes_from_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv(VISION_CACHE_ENV, raising=False)
    assert default_capacity_mb() == 512
    monkeypatch.setenv(VISION_CACHE_ENV, "0")
    assert default_capacity_mb() == 0
    monkeypatch.setenv(VISION_CACHE_ENV, "lots")
    with pytest.raises(ValueError, match=VISION_CACHE_ENV):
        default_capacity_mb()


# -- the engine ------------------------------------------------------------------------------


def test_a_second_turn_about_the_same_image_runs_no_vision_encoder(loaded, photos, encoder_calls) -> None:
    engine = LocalEngine(loaded, vision_cache_mb=64)
    conversation = about(photos[0])
    first = answer(engine, conversation)
    assert len(encoder_calls) == 1
    assert first.stats.stages["vision_cache_misses"] == 1 and first.stats.stages["tiles_encoded"] == 7
    assert first.stats.stages["vision_encoder_s"] > 0

    conversation.ask("And what colour is it?")
    second = answer(engine, conversation)
    assert len(encoder_calls) == 1, "the follow-up ran the vision encoder again"
    stages = second.stats.stages
    assert (stages["vision_cache_hits"], stages["vision_cache_misses"], stages["tiles_encoded"]) == (1, 0, 0)
    assert stages["vision_encoder_s"] == 0
    assert second.stats.tiles == [7] and second.stats.visual_tokens == 7 * loaded.num_image_token
    assert 0 < engine.vision_cache.used_bytes <= 64 * MB


def test_a_different_max_tiles_misses_the_cache(loaded, photos, encoder_calls) -> None:
    engine = LocalEngine(loaded, vision_cache_mb=64)
    answer(engine, about(photos[0]), SETTINGS)
    fewer = answer(engine, about(photos[0]), GenerationSettings(max_new_tokens=MAX_NEW_TOKENS, max_tiles=2))
    assert len(encoder_calls) == 2
    assert fewer.stats.stages["vision_cache_misses"] == 1 and fewer.stats.tiles == [3]
    again = answer(engine, about(photos[0]), SETTINGS)  # the max-tiles-6 features are still kept
    assert len(encoder_calls) == 2 and again.stats.stages["vision_cache_hits"] == 1


def test_with_the_cache_off_every_turn_encodes_its_images(loaded, photos, encoder_calls) -> None:
    engine = LocalEngine(loaded, vision_cache_mb=0)
    conversation = about(photos[0])
    answer(engine, conversation)
    conversation.ask("And then?")
    second = answer(engine, conversation)
    assert len(encoder_calls) == 2
    assert second.stats.stages["vision_cache_hits"] == 0 and len(engine.vision_cache) == 0


def test_a_checkpoint_whose_generate_takes_no_features_encodes_inside_generate(
    loaded, photos, encoder_calls, monkeypatch: pytest.MonkeyPatch
) -> None:
    original = loaded.model.generate

    def generate(pixel_values=None, input_ids=None, attention_mask=None, **kwargs):
        assert "visual_features" not in kwargs
        return original(pixel_values=pixel_values, input_ids=input_ids, attention_mask=attention_mask, **kwargs)

    monkeypatch.setattr(loaded.model, "generate", generate)
    engine = LocalEngine(loaded, vision_cache_mb=64)
    assert not engine.vision_cache.enabled
    conversation = about(photos[0])
    answer(engine, conversation)
    conversation.ask("And then?")
    assert answer(engine, conversation).text()
    assert len(encoder_calls) == 2


# -- exactness in bf16 -----------------------------------------------------------------------


@pytest.fixture(scope="module")
def loaded_bf16():
    from model_backend.checkpoints.loading import load_model

    return load_model(LoadSpec("demo", dtype="bfloat16", device="cpu"))


def chat(loaded, pixel_values, question, history=None, num_patches_list=None):
    config = {"max_new_tokens": MAX_NEW_TOKENS, "do_sample": False}
    with torch.no_grad():
        return loaded.model.chat(
            loaded.tokenizer,
            pixel_values.to(loaded.model.dtype),
            question,
            config,
            history=history,
            return_history=True,
            num_patches_list=num_patches_list,
        )


@pytest.mark.parametrize("cache_mb", [64, 0], ids=["vision-cache-on", "vision-cache-off"])
def test_bf16_turns_with_kept_features_equal_chat(loaded_bf16, photos, cache_mb) -> None:
    """Turn 1 one image, turn 2 a new image (kept + fresh features vs `chat`'s one batch), turn 3."""
    loaded = loaded_bf16
    first_tiles, second_tiles = (seed_reference.load_image(p, input_size=448, max_num=6) for p in photos)
    both, patches = torch.cat([first_tiles, second_tiles]), [len(first_tiles), len(second_tiles)]
    first, _ = chat(loaded, first_tiles, "What is this?")
    history = [("Image-1: <image>\nWhat is this?", first)]
    second, history = chat(loaded, both, "Image-2: <image>\nAnd this one?", history, patches)
    third, _ = chat(loaded, both, "Compare them.", history, patches)
    assert first and second and third

    engine = LocalEngine(loaded, vision_cache_mb=cache_mb)
    conversation = about(photos[0], "What is this?")
    answer(engine, conversation)
    conversation.ask("And this one?", images=(ImageAttachment(photos[1].read_bytes()),))
    answer(engine, conversation)
    conversation.ask("Compare them.")
    last = answer(engine, conversation)
    assert [turn.answer for turn in conversation.turns] == [first, second, third]
    assert last.stats.stages["vision_cache_hits"] == (2 if cache_mb else 0)
