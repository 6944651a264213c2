"""The vision side of a local answer: media -> pixel tiles -> vision features, each step cached.

A prompt's images and videos are tiled once (`MediaCache`, on the CPU) and encoded once
(`VisionCache`, on the model's device). Encoding uses the checkpoint's own `extract_feature`,
on every tile whose features are not kept, in one batch (so a turn in which nothing is kept
encodes exactly the batch `model.chat` would), and the features go to the checkpoint's own
`generate(visual_features=...)`. A checkpoint whose `generate` has no `visual_features`
argument gets its pixels instead and encodes them itself, every turn.
"""

from __future__ import annotations

import hashlib
import inspect
import time
from dataclasses import dataclass
from typing import Any

import torch

from model_backend.checkpoints.image_config import ImageConfig
from model_backend.conversation import ImageAttachment, VideoAttachment
from model_backend.engines.media_cache import MediaCache
from model_backend.engines.vision_cache import VisionCache


@dataclass
class PromptMedia:
    """One image or video of a prompt: its cache key, tiles per image, and its pixels or kept features."""

    key: tuple
    tiles: list[int]
    pixel_values: torch.Tensor | None = None  # None when its features were kept
    features: torch.Tensor | None = None

    @property
    def kept(self) -> bool:
        """Its features came from the cache (no preprocessing, no encoder)."""
        return self.pixel_values is None


@dataclass
class VisionTiming:
    """What the vision stage of one answer did: encoder seconds (None: none ran here), tiles, end time."""

    encoder_s: float | None = None
    tiles_encoded: int = 0
    done_at: float | None = None


class VisionStage:
    """Media to `generate`'s image arguments for one loaded model; shared by its sessions (thread-safe)."""

    def __init__(self, model: Any, image_config: ImageConfig, cache_size: int, vision_cache_mb: float) -> None:
        self.model = model
        self.image_config = image_config
        self.media_cache = MediaCache(cache_size)
        self.takes_features = "visual_features" in inspect.signature(model.generate).parameters
        self.vision_cache = VisionCache(vision_cache_mb if self.takes_features else 0)
        self.on_cpu = vision_placement(model)[0].type == "cpu"
        #: The encoder's last measured rate on this machine (None until it has encoded something).
        self.seconds_per_tile: float | None = None

    def prepare(self, media: ImageAttachment | VideoAttachment, budget: int) -> PromptMedia:
        """Kept features if this media was encoded under the same tile plan, else its pixel tiles."""
        digest = hashlib.sha256(media.data).hexdigest()
        config = self.image_config
        if isinstance(media, VideoAttachment):
            params: tuple = ("video", media.num_frames, media.start_s, media.end_s, budget, config.image_size)
        else:
            params = config.cache_key(budget)
        key = (digest, *params)
        kept = self.vision_cache.get(key) if self.vision_cache.enabled else None
        if kept is not None:
            features, tiles = kept
            return PromptMedia(key, list(tiles), features=features)
        if isinstance(media, VideoAttachment):
            pixel_values, per_frame = self.media_cache.get(digest, params, lambda: _video(media, budget, config))
            return PromptMedia(key, list(per_frame), pixel_values=pixel_values)
        pixel_values = self.media_cache.get(digest, params, lambda: config.load_image(media.data, budget))
        return PromptMedia(key, [int(pixel_values.shape[0])], pixel_values=pixel_values)

    def use_kept(self, media: list[PromptMedia]) -> None:
        """Take features kept since `prepare` (encoded meanwhile, ahead of the question) for media that had none."""
        if not self.vision_cache.enabled:
            return
        for item in media:
            kept = None if item.kept else self.vision_cache.get(item.key)
            if kept is not None:
                item.features, item.pixel_values = kept[0], None

    def inputs(self, media: list[PromptMedia], timing: VisionTiming) -> dict[str, Any]:
        """`generate`'s image arguments: kept features plus those of the other media, encoded in one batch."""
        if not media:
            return {"pixel_values": None}
        started = time.perf_counter()
        device, dtype = vision_placement(self.model)
        missing = [m for m in media if not m.kept]
        pixel_values = None
        if missing:
            pixel_values = torch.cat([m.pixel_values for m in missing]).to(device=device, dtype=dtype)  # type: ignore[misc]
            timing.tiles_encoded = int(pixel_values.shape[0])
        if not self.takes_features:
            return {"pixel_values": pixel_values}  # the checkpoint's `generate` encodes them itself
        if pixel_values is not None:
            with torch.no_grad():
                features = self.model.extract_feature(pixel_values)
            for item, chunk in zip(missing, features.split([sum(m.tiles) for m in missing]), strict=True):
                # A clone when the batch holds several media: a view would keep the whole batch alive.
                item.features = chunk.clone() if len(missing) > 1 else chunk
                if self.vision_cache.enabled:
                    self.vision_cache.put(item.key, item.features, tuple(item.tiles))
            timing.encoder_s = time.perf_counter() - started
            self.seconds_per_tile = timing.encoder_s / timing.tiles_encoded
        timing.done_at = time.perf_counter()
        kept = [m.features for m in media]
        visual_features = kept[0] if len(kept) == 1 else torch.cat(kept)  # type: ignore[arg-type]
        # The checkpoints' `generate` only reads `visual_features` when `pixel_values` is not None.
        placeholder = pixel_values if pixel_values is not None else torch.empty(0, device=device, dtype=dtype)
        return {"pixel_values": placeholder, "visual_features": visual_features}


def vision_placement(model: Any) -> tuple[torch.device, torch.dtype]:
    """Where pixel values must go: the vision encoder's device and float dtype (split maps included)."""
    for parameter in model.vision_model.parameters():
        if parameter.is_floating_point():
            return parameter.device, parameter.dtype
    return torch.device("cpu"), torch.float32


def _video(video: VideoAttachment, tiles_per_frame: int, config: ImageConfig) -> tuple[torch.Tensor, list[int]]:
    from model_backend.preprocess.video import load_video

    return load_video(
        video.data,
        num_frames=video.num_frames,
        start_s=video.start_s,
        end_s=video.end_s,
        max_tiles_per_frame=tiles_per_frame,
        image_size=config.image_size,
    )
