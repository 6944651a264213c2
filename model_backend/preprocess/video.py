"""Video frames for InternVL: which frames to sample, decoding them, and their pixel tiles.

Sampling follows the seeds' `get_index` exactly (N segment midpoints inside an optional
[start, end] second range); `load_video` returns the seeds' `load_video` tensors (`torch.equal`,
checked in the tests). Frames are read with one `get_batch` call, which decord answers with the
same pixels as per-index reads (tested) and which seeks less. Sources may be a path or the
bytes of an upload (decord reads a `BytesIO` directly, no temporary file).
"""

from __future__ import annotations

import io
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import torch
from PIL import Image

from model_backend.preprocess.errors import MediaError
from model_backend.preprocess.images import tiles_uint8
from model_backend.preprocess.normalize import normalize_tiles
from model_backend.preprocess.tiling import plan_tiles

VideoSource = str | os.PathLike | bytes | bytearray
SUPPORTED_VIDEO_EXTENSIONS: tuple[str, ...] = (".mp4", ".mov", ".avi", ".mkv", ".webm")
MAX_FRAMES = 64
_OPEN_RANGE = 100000  # the seeds' stand-in for "no bound" (seconds)
_FORMATS = ", ".join(ext.lstrip(".").upper() for ext in SUPPORTED_VIDEO_EXTENSIONS)
#: What decord's demuxer says when a file has no video stream at all (an audio-only mp4, say).
_NO_VIDEO_STREAM = "st_nb >= 0"


@dataclass(frozen=True)
class VideoInfo:
    frame_count: int
    fps: float
    duration_s: float
    width: int
    height: int


@dataclass(frozen=True)
class SampledFrame:
    """One decoded frame: its index in the video, its time, and the RGB picture."""

    index: int
    timestamp_s: float
    image: Image.Image


def frame_indices(
    num_frames: int, fps: float, max_frame: int, start_s: float | None = None, end_s: float | None = None
) -> list[int]:
    """Indices of `num_frames` segment midpoints between start_s and end_s (seconds), as the seeds' get_index.

    `max_frame` is the last valid index (frame_count - 1); a missing bound means the video's edge.

    >>> frame_indices(4, 10.0, 99)
    [12, 37, 62, 86]
    """
    start = -_OPEN_RANGE if start_s is None else start_s
    end = _OPEN_RANGE if end_s is None else end_s
    start_idx = max(0, round(start * fps))
    end_idx = min(round(end * fps), max_frame)
    seg_size = float(end_idx - start_idx) / num_frames
    return [int(start_idx + (seg_size / 2) + np.round(seg_size * k)) for k in range(num_frames)]


def open_reader(source: VideoSource) -> Any:
    """A decord VideoReader for a path or bytes; every failure becomes a MediaError."""
    from decord import VideoReader, cpu  # imported late: decord is heavy and prints on import errors

    if isinstance(source, (bytes, bytearray)):
        if not source:
            raise MediaError("media.video.empty")
        uri: Any = io.BytesIO(bytes(source))
    else:
        path = Path(source)
        if not path.is_file():
            raise MediaError("media.video.missing", name=path.name)
        if path.stat().st_size == 0:
            raise MediaError("media.video.empty")
        uri = str(path)
    try:
        reader = VideoReader(uri, ctx=cpu(0), num_threads=1)
    except Exception as exc:  # decord raises RuntimeError / DECORDError with C++ log text
        detail = str(exc).strip()
        if _NO_VIDEO_STREAM in detail:
            raise MediaError("media.video.no_picture", detail=detail) from exc
        raise MediaError("media.video.unreadable", detail=detail, formats=_FORMATS) from exc
    if len(reader) == 0:
        raise MediaError("media.video.no_frames")
    return reader


def reader_info(reader: Any) -> VideoInfo:
    fps = float(reader.get_avg_fps())
    if not fps > 0:
        raise MediaError("media.video.no_frame_rate")
    height, width = reader[0].shape[:2]
    count = len(reader)
    return VideoInfo(frame_count=count, fps=fps, duration_s=count / fps, width=int(width), height=int(height))


def _seconds(value: float) -> str:
    return f"{value:.1f} s"


def probe_video(source: VideoSource) -> VideoInfo:
    """Frame count, frame rate, duration and size of a video (decodes only its first frame)."""
    return reader_info(open_reader(source))


def check_request(info: VideoInfo, num_frames: int, start_s: float | None, end_s: float | None) -> None:
    if not 1 <= num_frames <= MAX_FRAMES:
        raise MediaError("media.video.frame_count", max_frames=MAX_FRAMES, count=num_frames)
    lo = 0.0 if start_s is None else start_s
    hi = info.duration_s if end_s is None else end_s
    if lo < 0 or (end_s is not None and end_s < 0):
        raise MediaError("media.video.negative_time")
    if hi <= lo:
        raise MediaError("media.video.empty_range", start=_seconds(lo), end=_seconds(hi))
    if lo >= info.duration_s:
        raise MediaError("media.video.range_outside", start=_seconds(lo), duration=_seconds(info.duration_s))


def _sample(reader: Any, num_frames: int, start_s: float | None, end_s: float | None) -> list[SampledFrame]:
    info = reader_info(reader)
    check_request(info, num_frames, start_s, end_s)
    indices = frame_indices(num_frames, info.fps, info.frame_count - 1, start_s, end_s)
    try:
        batch = reader.get_batch(indices).asnumpy()
    except Exception as exc:
        raise MediaError("media.video.damaged", detail=str(exc).strip()) from exc
    return [
        SampledFrame(index=i, timestamp_s=i / info.fps, image=Image.fromarray(frame))
        for i, frame in zip(indices, batch, strict=True)
    ]


def sample_frames(
    source: VideoSource, num_frames: int = 8, start_s: float | None = None, end_s: float | None = None
) -> list[SampledFrame]:
    """Decode `num_frames` evenly spaced frames (segment midpoints) of the video or of [start_s, end_s]."""
    return _sample(open_reader(source), num_frames, start_s, end_s)


def load_video(
    source: VideoSource,
    num_frames: int = 8,
    start_s: float | None = None,
    end_s: float | None = None,
    max_tiles_per_frame: int = 1,
    image_size: int = 448,
) -> tuple[torch.Tensor, list[int]]:
    """(pixel_values, num_patches_list) for a video, equal to the seeds' `load_video`.

    Equivalent seed call: `load_video(path, bound=(start_s, end_s), input_size=image_size,
    max_num=max_tiles_per_frame, num_segments=num_frames)`.
    """
    frames = sample_frames(source, num_frames, start_s, end_s)
    tiles, counts = [], []
    for frame in frames:
        plan = plan_tiles(*frame.image.size, max_tiles=max_tiles_per_frame, image_size=image_size)
        frame_tiles = tiles_uint8(frame.image, plan)
        tiles.append(frame_tiles)
        counts.append(len(frame_tiles))
    return normalize_tiles(np.concatenate(tiles)), counts
