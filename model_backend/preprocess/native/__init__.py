"""Pillow's bicubic resample passes as a small C library (`resample.c`), for speed.

`make run`, `make test` and `make bench` compile it with the machine's own compiler. When it
is missing or fails to load, everything still works through Pillow itself (same pixels).
"""

from __future__ import annotations

import ctypes
import math
from functools import lru_cache
from pathlib import Path

import numpy as np

LIBRARY = Path(__file__).with_name("_resample.so")
PRECISION_BITS = 22  # Pillow's fixed point for 8-bit images


def _load(path: Path = LIBRARY) -> ctypes.CDLL | None:
    try:
        lib = ctypes.CDLL(str(path))
    except OSError:
        return None
    pointer, stride, count = ctypes.c_void_p, ctypes.c_ssize_t, ctypes.c_int
    for name in ("resample_horizontal", "resample_vertical"):
        function = getattr(lib, name)
        function.argtypes = [pointer, stride, pointer, stride, count, count, pointer, pointer, count]
        function.restype = None
    return lib


_LIB = _load()


def available() -> bool:
    return _LIB is not None


def _bicubic(x: np.ndarray) -> np.ndarray:
    """Pillow's bicubic_filter (a = -0.5), with its exact operation order."""
    x = np.abs(x)
    near = ((1.5 * x - 2.5) * x) * x + 1.0
    far = ((((x - 5.0) * x) + 8.0) * x - 4.0) * -0.5
    return np.where(x < 1.0, near, np.where(x < 2.0, far, 0.0))


@lru_cache(maxsize=64)
def coefficients(in_size: int, out_size: int) -> tuple[np.ndarray, np.ndarray]:
    """(bounds, kk) for resampling `in_size` samples to `out_size`, as Pillow 13 computes them.

    bounds: (out_size, 2) int32 first input index and tap count; kk: (out_size, ksize) int32
    fixed-point weights. Mirrors `precompute_coeffs` + `normalize_coeffs_8bpc` in double
    precision, operation by operation, so the weights are Pillow's to the last bit.
    """
    scale = float(in_size) / out_size
    filterscale = max(scale, 1.0)
    support = 2.0 * filterscale
    ksize = math.ceil(support) * 2 + 1
    center = (np.arange(out_size, dtype=np.float64) + 0.5) * scale
    first = np.maximum(np.trunc(center - support + 0.5), 0).astype(np.int64)
    count = np.minimum(np.trunc(center + support + 0.5).astype(np.int64), in_size) - first
    taps = np.arange(ksize)
    inv_filterscale = 1.0 / filterscale
    weights = _bicubic(((taps[None, :] + first[:, None]).astype(np.float64) - center[:, None] + 0.5) * inv_filterscale)
    weights[taps[None, :] >= count[:, None]] = 0.0
    total = np.zeros(out_size)
    for tap in range(ksize):  # left to right, like the C loop (np.sum would pair terms differently)
        total += weights[:, tap]
    weights = np.divide(weights, total[:, None], out=weights, where=total[:, None] != 0.0)
    scaled = weights * float(1 << PRECISION_BITS)
    kk = np.trunc(np.where(weights < 0, -0.5 + scaled, 0.5 + scaled)).astype(np.int32)
    bounds = np.stack([first, count], axis=1).astype(np.int32)
    bounds.flags.writeable = kk.flags.writeable = False  # cached and shared by every caller
    return bounds, kk


@lru_cache(maxsize=64)
def _horizontal_coefficients(in_size: int, out_size: int) -> tuple[np.ndarray, np.ndarray]:
    bounds, kk = coefficients(in_size, out_size)
    kk4 = np.ascontiguousarray(np.repeat(kk, 4, axis=1))  # one weight per byte of a pixel
    kk4.flags.writeable = False
    return bounds, kk4


def resample_horizontal(source: np.ndarray, out: np.ndarray, in_width: int, out_width: int, rows: int) -> None:
    """Horizontal pass: `rows` rows of `source` ((rows, >=in_width, 4) uint8 view) into `out`."""
    bounds, kk4 = _horizontal_coefficients(in_width, out_width)
    _LIB.resample_horizontal(
        source.ctypes.data, source.strides[0], out.ctypes.data, out.strides[0], rows, out_width,
        bounds.ctypes.data, kk4.ctypes.data, kk4.shape[1] // 4,
    )  # fmt: skip


def resample_vertical(source: np.ndarray, out: np.ndarray, in_height: int, out_height: int, width: int) -> None:
    """Vertical pass: all `in_height` rows of `source` -> `out_height` rows of `out`, `width` pixels wide."""
    bounds, kk = coefficients(in_height, out_height)
    _LIB.resample_vertical(
        source.ctypes.data, source.strides[0], out.ctypes.data, out.strides[0], out_height, width,
        bounds.ctypes.data, kk.ctypes.data, kk.shape[1],
    )  # fmt: skip
