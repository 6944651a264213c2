"""The vectorised C resample passes give Pillow's bytes; the build the Makefile makes is there."""

from __future__ import annotations

import platform
import shutil
import subprocess

import numpy as np
import pytest
from media_factory import photo_array
from PIL import Image

from model_backend.preprocess import native
from model_backend.preprocess.pixel_buffer import PixelBuffer

SOURCES = [(4000, 3000), (600, 500), (97, 31), (1, 1), (5000, 7)]


def _check_against_pillow() -> None:
    for width, height in SOURCES:
        image = Image.fromarray(photo_array(width, height, seed=width))
        source = PixelBuffer.of(image)
        for new_width in (1792, 448, 1, width, 2 * width + 3, 7):
            out = PixelBuffer(new_width, height)
            native.resample_horizontal(source.array, out.array, width, new_width, height)
            expected = np.asarray(image.resize((new_width, height), Image.Resampling.BICUBIC))
            assert np.array_equal(out.rgb, expected), ("horizontal", width, height, new_width)
        for new_height in (1344, 448, 1, height, 2 * height + 1, 5):
            out = PixelBuffer(width, new_height)
            native.resample_vertical(source.array, out.array, height, new_height, width)
            expected = np.asarray(image.resize((width, new_height), Image.Resampling.BICUBIC))
            assert np.array_equal(out.rgb, expected), ("vertical", width, height, new_height)


def test_the_library_is_built() -> None:
    # `make test` / `make run` build it; without it images take the (exact but slower) Pillow path.
    assert native.available(), f"{native.LIBRARY} is missing: `make test` builds it"


def test_native_passes_equal_pillow_resize() -> None:
    _check_against_pillow()


@pytest.mark.skipif(
    platform.machine() not in ("x86_64", "AMD64") or not shutil.which("cc"), reason="needs cc on x86-64"
)
def test_the_portable_build_without_avx2_equals_pillow_too(tmp_path, monkeypatch) -> None:
    library = tmp_path / "portable.so"
    source = native.LIBRARY.with_name("resample.c")
    subprocess.run(["cc", "-O2", "-mno-avx2", "-fPIC", "-shared", "-o", str(library), str(source)], check=True)
    monkeypatch.setattr(native, "_LIB", native._load(library))
    _check_against_pillow()


def test_coefficients_are_pillows_fixed_point_weights() -> None:
    bounds, kk = native.coefficients(4000, 448)
    assert bounds.shape == (448, 2) and kk.shape[0] == 448
    assert (bounds[:, 0] >= 0).all() and (bounds.sum(axis=1) <= 4000).all()
    # Each output's weights sum to one in 22-bit fixed point, give or take rounding of each tap.
    assert np.abs(kk.sum(axis=1) - (1 << 22)).max() <= kk.shape[1]
