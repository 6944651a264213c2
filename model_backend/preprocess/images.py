"""Open an uploaded image safely and turn it into InternVL's pixel tiles, fast and exactly.

`load_image` gives the very tensor the seeds' `load_image` gives (`torch.equal`, checked by the
tests for many sizes, modes and tile budgets), using every core (`tile_pipeline.py`):

- an RGB JPEG is decoded straight into a numpy-backed buffer, and the resize starts on the rows
  that are final while libjpeg still decodes the rest (`jpeg_rows.py`);
- both resizes (grid and thumbnail) run as row and column bands, bit-identical to Pillow's
  `Image.resize` (`banded_resize.py`), on the caller's thread and shared workers (`band_jobs.py`);
- each tile is normalised as soon as its pixels are final, into one preallocated tensor;
- an RGB image is never copied by a needless `convert("RGB")`.

`dynamic=False` is InternVL-Chat-V1-2's path: one fixed 448x448 image, as its model card does
(`Image.resize((448, 448))` then `CLIPImageProcessor`), normalised with ImageNet mean/std
(0.485, 0.456, 0.406) / (0.229, 0.224, 0.225) (that processor's `image_mean`/`image_std`).
"""

from __future__ import annotations

import io
import os
import warnings
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import BinaryIO

import numpy as np
import torch
from PIL import Image, UnidentifiedImageError

from model_backend.preprocess.band_jobs import BandJobs
from model_backend.preprocess.errors import MediaError
from model_backend.preprocess.jpeg_rows import can_track_rows, decode_into
from model_backend.preprocess.normalize import normalize_clip
from model_backend.preprocess.pixel_buffer import PixelBuffer
from model_backend.preprocess.tile_pipeline import TilePipeline
from model_backend.preprocess.tiling import TilePlan, plan_tiles

ImageSource = str | os.PathLike | bytes | bytearray | BinaryIO | Image.Image
MAX_IMAGE_PIXELS = 50_000_000
_BICUBIC = Image.Resampling.BICUBIC


def _describe(source: ImageSource) -> str:
    if isinstance(source, (str, os.PathLike)):
        return f"'{Path(source).name}'"
    return "This file"


def open_image(source: ImageSource, max_pixels: int = MAX_IMAGE_PIXELS) -> Image.Image:
    """Open `source` (path, bytes, binary file or PIL image) as a fully loaded RGB image.

    Raises `MediaError` for anything PIL cannot read, truncated files, and images over
    `max_pixels`; the size is checked from the header, before any pixel is decoded.
    EXIF orientation is deliberately NOT applied: the seeds (and the checkpoints' training data
    pipeline) use `Image.open(...).convert('RGB')` without `ImageOps.exif_transpose`.

    >>> open_image(Image.new("L", (4, 2))).mode
    'RGB'
    """
    image = _open_header(source, max_pixels)
    with _damaged_data():
        image.load()
        # Same call as the seeds, so every mode (P, L, LA, RGBA, CMYK, I;16...) maps identically.
        return image if image.mode == "RGB" else image.convert("RGB")


def _open_header(source: ImageSource, max_pixels: int) -> Image.Image:
    """The image with only its header read, after the size checks."""
    if isinstance(source, Image.Image):
        image = source
    else:
        if isinstance(source, (bytes, bytearray)):
            if not source:
                raise MediaError("This file is empty.")
            source = io.BytesIO(source)
        try:
            with warnings.catch_warnings():
                warnings.simplefilter("ignore", Image.DecompressionBombWarning)
                image = Image.open(source)
        except FileNotFoundError as exc:
            raise MediaError(f"The image file {_describe(source)} does not exist.") from exc
        except Image.DecompressionBombError as exc:
            raise MediaError(
                f"The image is too large to open safely ({exc}); the limit is {max_pixels / 1e6:.0f} megapixels."
            ) from exc
        except UnidentifiedImageError as exc:
            raise MediaError(f"{_describe(source)} is not an image PIL can read (unknown or damaged format).") from exc
        except (OSError, SyntaxError, ValueError) as exc:
            raise MediaError(f"{_describe(source)} is not an image PIL can read ({exc}).") from exc
    width, height = image.size
    if width * height > max_pixels:
        raise MediaError(
            f"The image is {width}x{height} = {width * height / 1e6:.0f} megapixels; "
            f"the limit is {max_pixels / 1e6:.0f} megapixels."
        )
    if width < 1 or height < 1:
        raise MediaError(f"The image has no pixels ({width}x{height}).")
    return image


@contextmanager
def _damaged_data() -> Iterator[None]:
    try:
        yield
    except (OSError, SyntaxError, ValueError, MemoryError) as exc:
        raise MediaError(f"The image data is damaged or incomplete ({exc}).") from exc


def tiles_uint8(image: Image.Image, plan: TilePlan) -> np.ndarray:
    """The plan's tiles of a loaded RGB image as one (N, S, S, 3) uint8 array, in the model's order.

    Pixel-identical to the seeds' `dynamic_preprocess` (see `banded_resize.py`).
    """
    return np.stack(TilePipeline(PixelBuffer.of(image), plan).tiles())


def _pixels(image: Image.Image, plan: TilePlan) -> torch.Tensor:
    """Decode (if needed), resize and normalise `image`, overlapping the steps on two threads."""
    jobs = BandJobs()
    try:
        with _damaged_data():
            if can_track_rows(image):
                source = PixelBuffer(*image.size)
                pipeline = TilePipeline(source, plan, jobs)
                decode_into(image, source, pipeline.rows.on_rows)
            else:
                image.load()
                rgb = image if image.mode == "RGB" else image.convert("RGB")
                pipeline = TilePipeline(PixelBuffer.of(rgb), plan, jobs)
        return pipeline.pixels()
    finally:
        jobs.cancel()


def load_image_with_plan(
    source: ImageSource,
    max_tiles: int = 12,
    *,
    image_size: int = 448,
    use_thumbnail: bool = True,
    min_tiles: int = 1,
    dynamic: bool = True,
) -> tuple[torch.Tensor, TilePlan]:
    """`load_image`, also returning the tile plan (for stats and previews)."""
    if not dynamic:
        image = open_image(source)
        fixed = image.resize((image_size, image_size), _BICUBIC) if image.size != (image_size,) * 2 else image
        return normalize_clip(np.asarray(fixed)[None]), TilePlan(1, 1, thumbnail=False, image_size=image_size)
    image = _open_header(source, MAX_IMAGE_PIXELS)
    plan = plan_tiles(*image.size, max_tiles=max_tiles, min_tiles=min_tiles, image_size=image_size,
                      use_thumbnail=use_thumbnail)  # fmt: skip
    return _pixels(image, plan), plan


def load_image(
    source: ImageSource,
    max_tiles: int = 12,
    *,
    image_size: int = 448,
    use_thumbnail: bool = True,
    min_tiles: int = 1,
    dynamic: bool = True,
) -> torch.Tensor:
    """Pixel tiles of an image for InternVL: float32 (tiles, 3, image_size, image_size).

    Equal (`torch.equal`) to the seeds' `load_image(path, max_num=max_tiles)`. With
    `dynamic=False`, one fixed image_size square for InternVL-Chat-V1-2 (see module docstring).

    >>> load_image(Image.new("RGB", (900, 300)), max_tiles=6).shape
    torch.Size([4, 3, 448, 448])
    """
    pixels, _ = load_image_with_plan(
        source, max_tiles, image_size=image_size, use_thumbnail=use_thumbnail, min_tiles=min_tiles, dynamic=dynamic
    )
    return pixels
