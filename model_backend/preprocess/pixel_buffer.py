"""An RGB image in a numpy array that Pillow reads and writes in place, with zero-copy views.

Pillow stores an RGB pixel in 4 bytes (R, G, B, unused). `Image.core.map_buffer` (the call
behind `Image.frombuffer`) wraps any buffer with that layout and a row stride as a Pillow
image without copying, so a band of rows or of columns of the array is a Pillow image too.
That lets the JPEG decoder write straight into our array, and the banded resize read bands
of it, with no crops or conversions in between.
"""

from __future__ import annotations

import numpy as np
from PIL import Image

ImagingCore = type(Image.core.new("L", (1, 1)))


class PixelBuffer:
    """A width x height RGB image backed by `array` (height, width, 4) uint8.

    >>> buffer = PixelBuffer(3, 2)
    >>> buffer.paste(Image.new("RGB", (2, 1), (1, 2, 3)).im, left=1, top=1)
    >>> buffer.rgb[1].tolist()
    [[0, 0, 0], [1, 2, 3], [1, 2, 3]]
    >>> Image.Image()._new(buffer.view(1, 1, 3, 2)).getpixel((0, 0))
    (1, 2, 3)
    """

    def __init__(self, width: int, height: int) -> None:
        self.width, self.height = width, height
        # Zero-filled (calloc: free until touched); one spare row so that a view of the last
        # rows that starts right of column 0 passes map_buffer's "buffer large enough" check.
        self._storage = np.zeros((height + 1, width, 4), dtype=np.uint8)
        self.array = self._storage[:height]
        self.core = self.view(0, 0, width, height)

    @classmethod
    def of(cls, image: Image.Image) -> PixelBuffer:
        """A copy of a loaded RGB image."""
        buffer = cls(*image.size)
        buffer.paste(image.im, 0, 0)
        return buffer

    @property
    def rgb(self) -> np.ndarray:
        """(height, width, 3) view of the pixels."""
        return self.array[..., :3]

    @property
    def size(self) -> tuple[int, int]:
        return self.width, self.height

    def view(self, left: int, top: int, right: int, bottom: int) -> ImagingCore:
        """The box (left, top, right, bottom) as a Pillow core image sharing our memory."""
        offset = (top * self.width + left) * 4
        return Image.core.map_buffer(
            self._storage, (right - left, bottom - top), "raw", offset, ("RGB", self.width * 4, 1)
        )

    def paste(self, core: ImagingCore, left: int, top: int) -> None:
        """Copy a Pillow core image into the box whose top-left corner is (left, top)."""
        width, height = core.size
        self.core.paste(core, (left, top, left + width, top + height))
