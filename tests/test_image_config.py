"""One image configuration, read from the checkpoint: the engine, the preview and the token cost
all tile the way the loaded model does (InternVL-Chat-V1-2: one 448px tile, whatever max tiles says).
"""

from __future__ import annotations

import dataclasses
import threading

import pytest

from model_backend.checkpoints.image_config import DEFAULT_IMAGE_CONFIG, ImageConfig
from model_backend.conversation import Conversation, ImageAttachment
from model_backend.engines.local import LocalEngine
from model_backend.preprocess.tiling import plan_tiles
from model_backend.settings import GenerationSettings
from tests.media_factory import make_photo

# InternVL-Chat-V1-2's config.json: a fixed 448px image, no dynamic tiling, no thumbnail.
V1_2_CONFIG = {"force_image_size": 448, "downsample_ratio": 0.5, "template": "Hermes-2", "vision_config": {}}


def test_a_checkpoint_without_dynamic_tiling_gets_one_tile_whatever_the_budget() -> None:
    config = ImageConfig.from_checkpoint(V1_2_CONFIG, tokens_per_tile=256)
    assert (config.dynamic, config.use_thumbnail, config.image_size) == (False, False, 448)
    plan = config.plan(4000, 3000, max_tiles=12)
    assert plan.tile_count == 1 and plan.resized_size == (448, 448)
    assert config.visual_tokens(plan.tile_count) == 256
    assert DEFAULT_IMAGE_CONFIG.plan(4000, 3000, max_tiles=12).tile_count == 13  # what the old preview promised


def test_dynamic_plans_are_the_seeds_plans_with_the_checkpoints_fields() -> None:
    config = ImageConfig.from_checkpoint(
        {"force_image_size": 336, "dynamic_image_size": True, "use_thumbnail": False, "min_dynamic_patch": 2,
         "max_dynamic_patch": 6}, tokens_per_tile=144)  # fmt: skip
    assert config == ImageConfig(image_size=336, use_thumbnail=False, dynamic=True, tokens_per_tile=144, min_tiles=2,
                                 max_tiles=6)  # fmt: skip
    for size in [(900, 600), (448, 448), (100, 3000)]:
        assert config.plan(*size, max_tiles=6) == plan_tiles(
            *size, max_tiles=6, min_tiles=2, image_size=336, use_thumbnail=False
        )
    assert config.plan(900, 600, max_tiles=1).tile_count == 1  # a budget below min_tiles still plans


def test_the_loaded_model_carries_its_config(loaded) -> None:
    assert loaded.image_config == ImageConfig(448, True, True, 256, 1, 12)


def test_the_engine_tiles_with_the_loaded_models_config(loaded) -> None:
    fixed = dataclasses.replace(loaded, dynamic_image_size=False, use_thumbnail=False)
    engine = LocalEngine(fixed, vision_cache_mb=0)
    conversation = Conversation()
    conversation.ask("Describe the image.", images=(ImageAttachment(make_photo(900, 600)),))
    answer = engine.stream(conversation, GenerationSettings(max_new_tokens=4, max_tiles=12), threading.Event())
    answer.text()
    assert answer.stats.tiles == [1] and answer.stats.visual_tokens == 256


@pytest.mark.filterwarnings("ignore")  # Streamlit's "no runtime" notes outside `streamlit run`
def test_the_tile_preview_shows_one_tile_for_a_model_that_does_not_tile() -> None:
    from components import media

    data = make_photo(900, 600)
    _, caption = media.tile_preview(data, 12, ImageConfig.from_checkpoint(V1_2_CONFIG, 256))
    assert "One 448px tile" in caption and "256 visual tokens" in caption
    _, caption = media.tile_preview(data, 6, DEFAULT_IMAGE_CONFIG)
    assert "3×2 grid" in caption and "7 tiles" in caption and "1,792 visual tokens" in caption
