"""Open an uploaded image safely and turn it into InternVL's pixel tiles, exactly as the seeds do.

`load_image` gives the very tensor the seeds' `load_image` gives (`torch.equal`, checked by the
tests for many sizes, modes and tile budgets), with the seeds' own Pillow calls, less waste:

- the image is decoded once, and an RGB image is not copied by a needless `convert("RGB")`;
- the grid resize and the thumbnail resize run at the same time, on two threads;
- the tiles are slices of the resized grid, normalised together in one batched operation
  (`normalize.py`) instead of tile by tile.

`dynamic=False` is InternVL-Chat-V1-2's path: one fixed 448x448 image, as its model card does
(`Image.resize((448, 448))` then `CLIPImageProcessor`), normalised with ImageNet mean/std
(0.485, 0.456, 0.406) / (0.229, 0.224, 0.225) (that processor's `image_mean`/`image_std`).
"""

from __future__ import annotations

import io
import os
import warnings
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from pathlib import Path
from typing import BinaryIO

import numpy as np
import torch
from PIL import Image, UnidentifiedImageError

from model_backend.preprocess.errors import MediaError
from model_backend.preprocess.normalize import normalize_clip, normalize_tiles
from model_backend.preprocess.tiling import TilePlan, plan_tiles

ImageSource = str | os.PathLike | bytes | bytearray | BinaryIO | Image.Image
MAX_IMAGE_PIXELS = 50_000_000
_BICUBIC = Image.Resampling.BICUBIC  # what the seeds' `image.resize(size)` uses for RGB
# Thumbnail resizes, alongside the caller's grid resize. A thread starts only when none is idle (up
# to one per core), so a session's thumbnail does not queue behind another session's image.
_THREADS = ThreadPoolExecutor(max_workers=os.cpu_count() or 2, thread_name_prefix="thumbnail")


def _not_an_image(source: ImageSource, exc: Exception) -> MediaError:
    """A path is named in the message; bytes and file objects (uploads) have no name to give."""
    if isinstance(source, (str, os.PathLike)):
        return MediaError("media.image.not_an_image", detail=str(exc), name=f"'{Path(source).name}'")
    return MediaError("media.image.upload_not_an_image", detail=str(exc))


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
                raise MediaError("media.image.empty")
            source = io.BytesIO(source)
        elif isinstance(source, (str, os.PathLike)) and Path(source).is_file() and Path(source).stat().st_size == 0:
            raise MediaError("media.image.empty")
        try:
            with warnings.catch_warnings():
                warnings.simplefilter("ignore", Image.DecompressionBombWarning)
                image = Image.open(source)
        except FileNotFoundError as exc:
            raise MediaError("media.image.missing", name=f"'{Path(source).name}'") from exc
        except Image.DecompressionBombError as exc:
            raise MediaError(
                "media.image.too_big_to_open", detail=str(exc), limit_mp=f"{max_pixels / 1e6:.0f}"
            ) from exc
        except UnidentifiedImageError as exc:
            raise _not_an_image(source, exc) from exc
        except (OSError, SyntaxError, ValueError) as exc:
            raise _not_an_image(source, exc) from exc
    width, height = image.size
    if width * height > max_pixels:
        raise MediaError(
            "media.image.too_many_pixels",
            width=width,
            height=height,
            megapixels=f"{width * height / 1e6:.0f}",
            limit_mp=f"{max_pixels / 1e6:.0f}",
        )
    if width < 1 or height < 1:
        raise MediaError("media.image.no_pixels", width=width, height=height)
    return image


@contextmanager
def _damaged_data() -> Iterator[None]:
    try:
        yield
    except (OSError, SyntaxError, ValueError, MemoryError) as exc:
        raise MediaError("media.image.damaged", detail=str(exc)) from exc


def tiles_uint8(image: Image.Image, plan: TilePlan) -> np.ndarray:
    """The plan's tiles of a loaded RGB image as one (N, S, S, 3) uint8 array, in the model's order.

    Pixel-identical to the seeds' `dynamic_preprocess`: the same two `Image.resize` calls (the
    thumbnail's on a worker thread, Pillow releases the GIL while it resamples), and the grid's
    tiles cut by slicing it row by row, as `crop` does.

    >>> tiles_uint8(Image.new("RGB", (900, 300)), plan_tiles(900, 300, max_tiles=6)).shape
    (4, 448, 448, 3)
    """
    s, columns, rows = plan.image_size, plan.columns, plan.rows
    thumbnail = _THREADS.submit(image.resize, (s, s), _BICUBIC) if plan.thumbnail else None
    grid = np.asarray(image.resize(plan.resized_size, _BICUBIC))  # (rows * s, columns * s, 3)
    tiles = np.empty((plan.tile_count, s, s, 3), dtype=np.uint8)
    # Tile (r, c) is grid[r*s:(r+1)*s, c*s:(c+1)*s]: one strided copy puts them all in place.
    tiles[: plan.grid_tiles].reshape(rows, columns, s, s, 3)[...] = grid.reshape(rows, s, columns, s, 3).swapaxes(1, 2)
    if thumbnail is not None:
        tiles[-1] = np.asarray(thumbnail.result())
    return tiles


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
    image = open_image(source)
    if not dynamic:
        fixed = image.resize((image_size, image_size), _BICUBIC) if image.size != (image_size,) * 2 else image
        return normalize_clip(np.asarray(fixed)[None]), TilePlan(1, 1, thumbnail=False, image_size=image_size)
    plan = plan_tiles(*image.size, max_tiles=max_tiles, min_tiles=min_tiles, image_size=image_size,
                      use_thumbnail=use_thumbnail)  # fmt: skip
    return normalize_tiles(tiles_uint8(image, plan)), plan


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
