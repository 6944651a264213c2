"""Image and video preprocessing for InternVL: tile planning, loading, frame sampling.

`tiling` is pure arithmetic (no torch) for previews; `images` and `video` produce the model's
pixel tensors, bit-identical to the seeds' reference code; `MediaError` explains bad files.
"""

from model_backend.preprocess.errors import MediaError
from model_backend.preprocess.images import MAX_IMAGE_PIXELS, load_image, load_image_with_plan, open_image
from model_backend.preprocess.tiling import TOKENS_PER_TILE, TilePlan, plan_tiles, visual_tokens
from model_backend.preprocess.video import (
    SUPPORTED_VIDEO_EXTENSIONS,
    SampledFrame,
    VideoInfo,
    frame_indices,
    load_video,
    probe_video,
    sample_frames,
)

__all__ = [
    "MAX_IMAGE_PIXELS",
    "SUPPORTED_VIDEO_EXTENSIONS",
    "TOKENS_PER_TILE",
    "MediaError",
    "SampledFrame",
    "TilePlan",
    "VideoInfo",
    "frame_indices",
    "load_image",
    "load_image_with_plan",
    "load_video",
    "open_image",
    "plan_tiles",
    "probe_video",
    "sample_frames",
    "visual_tokens",
]
