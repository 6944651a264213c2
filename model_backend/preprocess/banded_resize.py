"""Pillow's bicubic `Image.resize`, cut into bands that several threads compute, bit for bit the same.

Pillow resizes in two separable passes with a uint8 image between them (`ImagingResampleInner`
in Pillow 13's src/libImaging/Resample.c): a horizontal pass, in which every row is computed on
its own, and a vertical pass, in which every column is. It runs the vertical pass first only
when `(H - h) > 0 and (H - h) > 2 * (W - w)`. So the horizontal pass can be split into row
bands and the vertical pass into column bands of a `PixelBuffer`, each computed alone with the
same filter coefficients (they depend only on the source and target length along the axis
being resampled): by the C passes in `native/` when built, else by a one-pass Pillow `resize`
on a zero-copy view. Together, the bands are the image Pillow would make. The tests compare
against `Image.resize` for many sizes, both orders, on both paths.

A horizontal first pass can even start while the image is still decoding: `RowBands` takes
source rows as soon as they are final (see `jpeg_rows.py`).
"""

from __future__ import annotations

from collections.abc import Callable

import PIL
from PIL import Image

from model_backend.preprocess import native
from model_backend.preprocess.band_jobs import BandJobs
from model_backend.preprocess.pixel_buffer import PixelBuffer

_BICUBIC = Image.Resampling.BICUBIC
_PILLOW_MAJOR = int(PIL.__version__.split(".")[0])
ROWS_PER_BAND = 96  # a few ms of resampling per band on a 4000 px wide photo: fine enough to balance
COLUMN_BANDS = 8
MIN_COLUMNS = 224  # narrower bands cost more in per-call overhead than they gain in balance


def horizontal_first(source: tuple[int, int], target: tuple[int, int]) -> bool:
    """Pillow's pass order. Pillow 13: vertical first only when the height shrinks more than twice
    the width; Pillow 12 and older: always horizontal first. (requirements.txt pins Pillow 13.)

    >>> horizontal_first((4000, 3000), (1792, 1344)), horizontal_first((500, 6000), (448, 448))
    (True, False)
    """
    (width, height), (new_width, new_height) = source, target
    if _PILLOW_MAJOR < 13:
        return True
    return not (height - new_height > 0 and height - new_height > 2 * (width - new_width))


def column_bands(width: int, count: int = COLUMN_BANDS) -> list[tuple[int, int]]:
    """Up to `count` column ranges covering 0..width, none narrower than MIN_COLUMNS unless the image is.

    >>> len(column_bands(1792)), column_bands(448), column_bands(10)
    (8, [(0, 224), (224, 448)], [(0, 10)])
    """
    count = max(1, min(count, width // MIN_COLUMNS))
    step = -(-width // count)
    return [(left, min(left + step, width)) for left in range(0, width, step)]


def row_bands(height: int, rows: int = ROWS_PER_BAND) -> list[tuple[int, int]]:
    return [(top, min(top + rows, height)) for top in range(0, height, rows)]


def resample_rows(source: PixelBuffer, out: PixelBuffer, top: int, bottom: int) -> None:
    """Horizontal pass of source rows top..bottom into the same rows of `out`."""
    rows = bottom - top
    if native.available():
        native.resample_horizontal(source.array[top:bottom], out.array[top:bottom], source.width, out.width, rows)
        return
    band = source.view(0, top, source.width, bottom)
    out.paste(band.resize((out.width, rows), _BICUBIC, (0.0, 0.0, float(source.width), float(rows))), 0, top)


def resample_columns(source: PixelBuffer, out: PixelBuffer, left: int, right: int) -> None:
    """Vertical pass of source columns left..right into the same columns of `out`."""
    columns = right - left
    if native.available():
        band, out_band = source.array[:, left:right], out.array[:, left:right]
        native.resample_vertical(band, out_band, source.height, out.height, columns)
        return
    band = source.view(left, 0, right, source.height)
    out.paste(band.resize((columns, out.height), _BICUBIC, (0.0, 0.0, float(columns), float(source.height))), left, 0)


Box = tuple[int, int, int, int]
Resample = Callable[[PixelBuffer, PixelBuffer, int, int], None]


class BandedResize:
    """`Image.resize(size, BICUBIC)` of a `PixelBuffer` as band jobs; `result` is ready at the end.

    Order of use: `horizontal_rows` on bands of final rows (only when `rows_first`; else
    nothing), then once the source is complete `start_first_pass()`, `jobs.finish()`,
    `start_second_pass()`, `jobs.finish()`.
    `on_band(box)`, if given, runs in each second-pass job once that box of `result` is final,
    so that later work on those pixels need not wait for the whole resize.
    """

    def __init__(
        self,
        source: PixelBuffer,
        size: tuple[int, int],
        jobs: BandJobs,
        on_band: Callable[[Box], None] | None = None,
    ) -> None:
        self.source, self.size, self.jobs = source, size, jobs
        self.on_band = on_band
        self.need_horizontal = size[0] != source.width
        self.need_vertical = size[1] != source.height
        # The first pass works on source rows, so it can start before decoding ends.
        self.rows_first = self.need_horizontal and horizontal_first(source.size, size)
        self.intermediate = PixelBuffer(size[0], source.height) if self.rows_first else None
        self.result: PixelBuffer | None = None

    def horizontal_rows(self, top: int, bottom: int) -> None:
        """First pass over one band of final source rows (runs inside a job)."""
        resample_rows(self.source, self.intermediate, top, bottom)

    def start_first_pass(self) -> None:
        """Queue the first pass if it works on columns of the complete source (vertical first)."""
        if self.need_vertical and self.need_horizontal and not self.rows_first:
            self.intermediate = PixelBuffer(self.source.width, self.size[1])
            self._queue_columns(self.source, self.intermediate)

    def start_second_pass(self) -> None:
        """Queue the pass that makes `result` (the only pass when one side keeps its length)."""
        if not self.need_vertical:
            self.result = self.intermediate if self.need_horizontal else self.source
        elif self.rows_first or not self.need_horizontal:
            self.result = PixelBuffer(*self.size)
            self._queue_columns(self.source if self.intermediate is None else self.intermediate, self.result)
        else:  # vertical first: now the rows of the intermediate
            self.result = PixelBuffer(*self.size)
            for top, bottom in row_bands(self.size[1]):
                self._submit(resample_rows, self.intermediate, self.result, top, bottom, (0, top, self.size[0], bottom))

    def _queue_columns(self, source: PixelBuffer, out: PixelBuffer) -> None:
        for left, right in column_bands(out.width):
            self._submit(resample_columns, source, out, left, right, (left, 0, right, out.height))

    def _submit(
        self, resample: Resample, source: PixelBuffer, out: PixelBuffer, start: int, end: int, box: Box
    ) -> None:
        def job() -> None:
            resample(source, out, start, end)
            if self.on_band is not None and out is self.result:
                self.on_band(box)

        self.jobs.submit(job)


class RowBands:
    """Queues one job per band of final source rows, running the horizontal first pass of several resizes."""

    def __init__(self, source: PixelBuffer, resizes: list[BandedResize], jobs: BandJobs) -> None:
        self.source, self.jobs = source, jobs
        self.resizes = [resize for resize in resizes if resize.rows_first]
        self._queued = 0

    def on_rows(self, rows: int, final: bool = False) -> None:
        """Queue bands for the source rows up to `rows` (the remainder too when `final`)."""
        if not self.resizes:
            return
        while rows - self._queued >= ROWS_PER_BAND or (final and rows > self._queued):
            top, bottom = self._queued, min(rows, self._queued + ROWS_PER_BAND)
            self.jobs.submit(lambda t=top, b=bottom: self._band(t, b))
            self._queued = bottom

    def _band(self, top: int, bottom: int) -> None:
        for resize in self.resizes:
            resize.horizontal_rows(top, bottom)
