"""The banded two-thread resize is Pillow's own bicubic `Image.resize`, pixel for pixel."""

from __future__ import annotations

import doctest
import io
import itertools

import numpy as np
import pytest
import seed_reference as seed
import torch
from media_factory import make_photo, photo_array
from PIL import Image

from model_backend.preprocess import band_jobs, banded_resize, load_image, native, pixel_buffer
from model_backend.preprocess.band_jobs import BandJobs
from model_backend.preprocess.banded_resize import BandedResize, RowBands, column_bands, horizontal_first
from model_backend.preprocess.pixel_buffer import PixelBuffer


def banded(image: Image.Image, size: tuple[int, int], rows_in_steps: bool = False) -> np.ndarray:
    jobs = BandJobs()
    source = PixelBuffer.of(image)
    resize = BandedResize(source, size, jobs)
    rows = RowBands(source, [resize], jobs)
    if rows_in_steps:  # as while decoding: rows arrive in uneven steps
        for done in range(37, image.height, 113):
            rows.on_rows(done)
    rows.on_rows(image.height, final=True)
    resize.start_first_pass()
    jobs.finish()
    resize.start_second_pass()
    jobs.finish()
    return resize.result.rgb.copy()


SOURCES = [(4000, 3000), (600, 5000), (5000, 300), (1000, 1000), (333, 777), (97, 2000), (2000, 97), (1, 1)]
TARGETS = [(1792, 1344), (448, 448), (448, 3584), (2688, 448), (896, 896), (4480, 448)]


@pytest.fixture(params=["native", "pillow"])
def resampler(request, monkeypatch) -> str:
    """Run a test with the C passes and again with Pillow's own (the fallback without the build)."""
    if request.param == "pillow":
        monkeypatch.setattr(native, "_LIB", None)
    elif not native.available():
        pytest.skip("the C resample library is not built")
    return request.param


@pytest.mark.parametrize("source", SOURCES, ids=[f"{w}x{h}" for w, h in SOURCES])
def test_banded_resize_equals_pillow_resize(source: tuple[int, int], resampler: str) -> None:
    image = Image.fromarray(photo_array(*source, seed=sum(source)))
    for target in [*TARGETS, (source[0], 448), (448, source[1]), source]:
        expected = np.asarray(image.resize(target, Image.Resampling.BICUBIC))
        assert np.array_equal(banded(image, target), expected), (source, target)
        assert np.array_equal(banded(image, target, rows_in_steps=True), expected), (source, target)


def test_load_image_equals_the_seeds_on_either_resampler(resampler: str) -> None:
    data = make_photo(1500, 1100, seed=4)
    for max_tiles in (1, 12):
        assert torch.equal(load_image(data, max_tiles), seed.load_image(io.BytesIO(data), max_num=max_tiles))


def test_both_pass_orders_are_exercised_and_order_matters() -> None:
    # If the order rule were wrong, the vertical-first case would differ from Pillow somewhere.
    assert horizontal_first((4000, 3000), (1792, 1344)) and not horizontal_first((600, 5000), (448, 448))
    image = Image.fromarray(photo_array(600, 5000, seed=3))
    bicubic = Image.Resampling.BICUBIC
    other_order = np.asarray(image.resize((448, 5000), bicubic).resize((448, 448), bicubic))
    assert not np.array_equal(other_order, np.asarray(image.resize((448, 448), bicubic)))


def test_column_bands_cover_the_width_once() -> None:
    for width in (1, 7, 223, 448, 1000, 1792, 2240, 4480):
        bands = column_bands(width)
        assert bands[0][0] == 0 and bands[-1][1] == width
        assert all(a[1] == b[0] and a[0] < a[1] for a, b in itertools.pairwise(bands))
        assert len(bands) == 1 or min(right - left for left, right in bands[:-1]) >= 224


def test_pixel_buffer_views_share_memory_with_the_array() -> None:
    image = Image.fromarray(photo_array(50, 40, seed=1))
    buffer = PixelBuffer.of(image)
    assert np.array_equal(buffer.rgb, np.asarray(image))
    view = Image.Image()._new(buffer.view(10, 30, 50, 40))  # last rows, right of column 0
    assert np.array_equal(np.asarray(view), np.asarray(image)[30:40, 10:50])
    buffer.array[35, 20, :3] = (1, 2, 3)
    assert view.getpixel((10, 5)) == (1, 2, 3)


def test_module_examples() -> None:
    for module in (band_jobs, banded_resize, pixel_buffer):
        assert doctest.testmod(module).failed == 0, module.__name__
