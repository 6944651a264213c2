"""One image's tiles, resized and normalised by the calling thread and a background worker.

The steps, each cut into band jobs (see `band_jobs.py`, `banded_resize.py`):
1. rows of the source -> horizontal pass of the grid and thumbnail resizes (for a JPEG this
   starts while the rest of the photo is still decoding, see `jpeg_rows.py`);
2. the second pass of each resize, in column bands;
3. each tile is normalised as soon as the last band that writes it is done.
The result equals the seeds' resize + crop + ToTensor + Normalize bit for bit.
"""

from __future__ import annotations

import threading

import numpy as np
import torch

from model_backend.preprocess.band_jobs import BandJobs
from model_backend.preprocess.banded_resize import BandedResize, Box, RowBands
from model_backend.preprocess.normalize import normalize_tile_into
from model_backend.preprocess.pixel_buffer import PixelBuffer
from model_backend.preprocess.tiling import TilePlan


class TilePipeline:
    """The grid and thumbnail of `plan` cut from `source`.

    Feed final source rows to `rows.on_rows` while `source` is being filled (optional), then
    call `pixels()` (normalised float tensor) or `tiles()` (uint8 views) once it is complete.
    """

    def __init__(self, source: PixelBuffer, plan: TilePlan, jobs: BandJobs | None = None) -> None:
        self.plan, self.jobs = plan, jobs or BandJobs()
        s = plan.image_size
        self.grid = BandedResize(source, plan.resized_size, self.jobs, on_band=self._grid_band_done)
        self.thumbnail = (
            BandedResize(source, (s, s), self.jobs, on_band=self._thumbnail_band_done) if plan.thumbnail else None
        )
        self.resizes = [self.grid] + ([self.thumbnail] if self.thumbnail else [])
        self.rows = RowBands(source, self.resizes, self.jobs)
        self._pixels: torch.Tensor | None = None
        self._missing = [s * s] * plan.tile_count  # pixels of each tile not final yet
        self._lock = threading.Lock()

    def tiles(self) -> list[np.ndarray]:
        """(S, S, 3) uint8 views of the tiles, in the model's order (grid rows, then thumbnail)."""
        self._resize()
        return [self._tile(index) for index in range(self.plan.tile_count)]

    def pixels(self) -> torch.Tensor:
        """(tiles, 3, S, S) float32, normalised like torchvision's ToTensor + Normalize."""
        s = self.plan.image_size
        self._pixels = torch.empty((self.plan.tile_count, 3, s, s), dtype=torch.float32)
        self._resize()
        # Tiles no second-pass band reported (a resize that needed one pass, or none).
        for index, missing in enumerate(self._missing):
            if missing:
                self.jobs.submit(lambda i=index: self._normalize(i))
        self.jobs.finish()
        return self._pixels

    def _resize(self) -> None:
        self.rows.on_rows(self.rows.source.height, final=True)
        for resize in self.resizes:
            resize.start_first_pass()
        self.jobs.finish()
        for resize in self.resizes:
            resize.start_second_pass()
        self.jobs.finish()

    def _tile(self, index: int) -> np.ndarray:
        if index == self.plan.grid_tiles:
            return self.thumbnail.result.rgb
        left, top, right, bottom = self.plan.boxes[index]
        return self.grid.result.rgb[top:bottom, left:right]

    def _normalize(self, index: int) -> None:
        normalize_tile_into(self._pixels[index], self._tile(index))

    def _grid_band_done(self, box: Box) -> None:
        self._band_done([(index, tile) for index, tile in enumerate(self.plan.boxes)], box)

    def _thumbnail_band_done(self, box: Box) -> None:
        s = self.plan.image_size
        self._band_done([(self.plan.grid_tiles, (0, 0, s, s))], box)

    def _band_done(self, tiles: list[tuple[int, Box]], box: Box) -> None:
        if self._pixels is None:
            return
        left, top, right, bottom = box
        ready = []
        with self._lock:
            for index, (tile_left, tile_top, tile_right, tile_bottom) in tiles:
                width = min(right, tile_right) - max(left, tile_left)
                height = min(bottom, tile_bottom) - max(top, tile_top)
                if width > 0 and height > 0:
                    self._missing[index] -= width * height
                    if not self._missing[index]:
                        ready.append(index)
        for index in ready:
            self.jobs.submit(lambda i=index: self._normalize(i))
