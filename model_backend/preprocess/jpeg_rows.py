"""Decode an RGB JPEG with Pillow into our own buffer, reporting how many rows are final.

This lets the resize start on the top of a photo while libjpeg still decodes the bottom, so
the two cores of a small machine overlap the (serial) JPEG decode with resampling.

How we know a row is final, without touching Pillow's decoder: Pillow keeps an RGB pixel in
4 bytes, and its JPEG decoder writes each finished scanline whole with the unused 4th byte set
to 255 (`ImagingUnpackRGB`). It decodes into `image.im`, which we point at a zero-filled
`PixelBuffer`. Pillow feeds the decoder from the file in blocks; when it calls `read` for the
next block the decoder is idle, and the rows whose 4th byte is 255 are exactly the finished
ones, a prefix of the image. If that ever stops being true (a future Pillow), tracking
switches off and the caller gets all rows once decoding has ended: slower, never wrong.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import BinaryIO

import numpy as np
from PIL import Image, JpegImagePlugin

from model_backend.preprocess.pixel_buffer import PixelBuffer

_FINAL = 255


def can_track_rows(image: Image.Image) -> bool:
    """True for a not yet decoded RGB JPEG that Pillow decodes in one piece."""
    return (
        isinstance(image, JpegImagePlugin.JpegImageFile)
        and image.mode == "RGB"
        and image._im is None
        and len(image.tile) == 1
        and image.tile[0].codec_name == "jpeg"
        and image.tile[0].extents == (0, 0, *image.size)
        and image.tile[0].args[0] == "RGB"
    )


def final_rows(buffer: PixelBuffer, start: int) -> int | None:
    """How many leading rows are final, knowing the first `start` are; None if not a clean prefix."""
    pad = buffer.array[start:, -1, 3]
    unfinished = np.flatnonzero(pad != _FINAL)
    if not unfinished.size:
        return buffer.height
    done = int(unfinished[0])
    return start + done if not pad[done:].any() else None


class _ReadHook:
    """The image's file object, calling `hook` before each read, i.e. while the decoder is idle."""

    def __init__(self, fp: BinaryIO, hook: Callable[[], None]) -> None:
        self._fp, self._hook = fp, hook

    def read(self, size: int = -1) -> bytes:
        self._hook()
        return self._fp.read(size)

    def __getattr__(self, name: str) -> object:
        return getattr(self._fp, name)


def decode_into(image: Image.Image, buffer: PixelBuffer, on_rows: Callable[[int], None]) -> None:
    """Decode `image` (see `can_track_rows`) into a new zero-filled `buffer`, calling `on_rows(n)` as rows get final.

    `on_rows` runs on the calling thread between decoder calls, with n growing; keep it short
    (queue work). Its last call, after decoding, reports every row. Decoding errors propagate.
    """
    reported: int | None = 0

    def report() -> None:
        nonlocal reported
        if reported is None:
            return
        rows = final_rows(buffer, reported)
        if rows is None:
            reported = None  # not the layout we rely on: report only at the end
        elif rows > reported:
            reported = rows
            on_rows(rows)

    image.im = buffer.core  # load() decodes into an existing image memory instead of allocating one
    image.fp = _ReadHook(image.fp, report)
    image.load()
    on_rows(image.height)
