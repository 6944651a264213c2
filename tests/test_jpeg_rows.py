"""Decoding a JPEG into our buffer: the same pixels as Pillow, and rows reported only once final."""

from __future__ import annotations

import io

import numpy as np
import pytest
from media_factory import encode_image, make_photo, photo_array
from PIL import Image

from model_backend.preprocess.jpeg_rows import can_track_rows, decode_into
from model_backend.preprocess.pixel_buffer import PixelBuffer


def _jpeg(width: int, height: int, **save: object) -> bytes:
    buf = io.BytesIO()
    Image.fromarray(photo_array(width, height, seed=5)).save(buf, format="JPEG", **save)
    return buf.getvalue()


@pytest.mark.parametrize(
    "data",
    [make_photo(1600, 1200, seed=2), _jpeg(1201, 803, progressive=True), _jpeg(999, 1501, subsampling=0)],
    ids=["baseline", "progressive", "4:4:4"],
)
def test_reported_rows_are_final_and_pixels_equal_pillow(data: bytes) -> None:
    expected = np.asarray(Image.open(io.BytesIO(data)).convert("RGB"))
    image = Image.open(io.BytesIO(data))
    assert can_track_rows(image)
    buffer = PixelBuffer(*image.size)
    reports: list[int] = []

    def on_rows(rows: int) -> None:
        # Whatever is reported final must already hold its final pixels.
        assert np.array_equal(buffer.rgb[:rows], expected[:rows])
        reports.append(rows)

    decode_into(image, buffer, on_rows)
    assert np.array_equal(buffer.rgb, expected)
    assert reports[-1] == image.height
    assert reports == sorted(reports)
    if not image.info.get("progressive"):
        assert len(reports) > 3, "a baseline JPEG should report rows while decoding"


def test_only_single_tile_rgb_jpegs_are_tracked() -> None:
    base = Image.fromarray(photo_array(64, 48))
    assert not can_track_rows(Image.open(io.BytesIO(encode_image(base.convert("L"), "JPEG"))))
    assert not can_track_rows(Image.open(io.BytesIO(encode_image(base.convert("CMYK"), "JPEG"))))
    assert not can_track_rows(Image.open(io.BytesIO(encode_image(base, "PNG"))))
    loaded = Image.open(io.BytesIO(encode_image(base, "JPEG")))
    loaded.load()
    assert not can_track_rows(loaded)


def test_a_truncated_jpeg_still_raises() -> None:
    data = make_photo(800, 600)
    image = Image.open(io.BytesIO(data[: len(data) // 2]))
    with pytest.raises(OSError, match="truncated"):
        decode_into(image, PixelBuffer(*image.size), lambda rows: None)
