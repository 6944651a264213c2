"""One image configuration, read from the loaded checkpoint: what the preview, the token cost,
the engine and the CLI all tile with.

A checkpoint's `config.json` says how it sees images (`force_image_size`, `dynamic_image_size`,
`use_thumbnail`, `min_dynamic_patch`, `max_dynamic_patch`) and its model says how many LLM
tokens one tile becomes (`num_image_token`). InternVL-Chat-V1-2, for one, has no dynamic tiling:
every image is one 448x448 tile, whatever the max-tiles setting says. `ImageConfig()` holds the
InternVL2 defaults, for when no local model is loaded (a preview before loading, a server).

>>> ImageConfig().plan(4000, 3000, max_tiles=12).tile_count
13
>>> ImageConfig(dynamic=False, use_thumbnail=False).plan(4000, 3000, max_tiles=12).tile_count
1
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:  # the preprocess package imports torch; the UI imports this module before any model
    import torch

    from model_backend.preprocess.tiling import TilePlan

TOKENS_PER_TILE = 256  # 1024 ViT patches per 448px tile, pixel shuffle 0.5 -> 256 LLM tokens


@dataclass(frozen=True)
class ImageConfig:
    """How one checkpoint tiles images. `max_tiles` is the checkpoint's own default budget;
    the user's max-tiles setting overrides it per question."""

    image_size: int = 448
    use_thumbnail: bool = True
    dynamic: bool = True
    tokens_per_tile: int = TOKENS_PER_TILE
    min_tiles: int = 1
    max_tiles: int = 12

    @classmethod
    def from_checkpoint(cls, config: dict[str, Any], tokens_per_tile: int) -> ImageConfig:
        """From a checkpoint's config.json dict and its model's `num_image_token`.

        Missing keys take the defaults of InternVL's own `InternVLChatConfig` (no dynamic tiling,
        no thumbnail), which is what the checkpoint's code would use too.
        """
        vision = config.get("vision_config") or {}
        return cls(
            image_size=int(config.get("force_image_size") or vision.get("image_size") or 448),
            use_thumbnail=bool(config.get("use_thumbnail", False)),
            dynamic=bool(config.get("dynamic_image_size", False)),
            tokens_per_tile=int(tokens_per_tile),
            min_tiles=max(1, int(config.get("min_dynamic_patch", 1))),
            max_tiles=int(config.get("max_dynamic_patch", 6)),
        )

    def plan(self, width: int, height: int, max_tiles: int) -> TilePlan:
        """The tiles of a `width` x `height` image under a budget of `max_tiles`."""
        from model_backend.preprocess.tiling import TilePlan, plan_tiles

        if not self.dynamic:
            return TilePlan(1, 1, thumbnail=False, image_size=self.image_size)
        return plan_tiles(
            width,
            height,
            max_tiles=max_tiles,
            min_tiles=min(self.min_tiles, max_tiles),
            image_size=self.image_size,
            use_thumbnail=self.use_thumbnail,
        )

    def visual_tokens(self, tile_count: int) -> int:
        """LLM tokens that `tile_count` tiles take (not counting `<img>` and `</img>`)."""
        return tile_count * self.tokens_per_tile

    def cache_key(self, max_tiles: int) -> tuple:
        """Everything besides the bytes that decides an image's tiles (for caches)."""
        return ("image", self.image_size, self.use_thumbnail, self.dynamic, min(self.min_tiles, max_tiles), max_tiles)

    def load_image(self, source: Any, max_tiles: int) -> torch.Tensor:
        """The image's pixel tiles under this configuration (see `preprocess.images.load_image`)."""
        from model_backend.preprocess.images import load_image

        return load_image(
            source,
            max_tiles=max_tiles,
            image_size=self.image_size,
            use_thumbnail=self.use_thumbnail,
            min_tiles=min(self.min_tiles, max_tiles),
            dynamic=self.dynamic,
        )


#: The InternVL2 defaults (448 px tiles, thumbnail, dynamic tiling, 256 tokens a tile).
DEFAULT_IMAGE_CONFIG = ImageConfig()
