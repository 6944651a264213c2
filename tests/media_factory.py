"""Make realistic test media on the fly: photos (JPEG/PNG) and short videos in every container.

Generic helpers for any test or benchmark (the app's tests use them too). Nothing big is
committed: everything is generated into a temporary folder. Photos mix smooth gradients with
noise so JPEG decode cost and resize behaviour resemble a camera picture; videos use ffmpeg's
`testsrc` pattern, which burns a frame counter into every frame.
"""

from __future__ import annotations

import io
import shutil
import subprocess
from pathlib import Path

import numpy as np
from PIL import Image

# Container suffix -> (video codec, extra ffmpeg args). Chosen from encoders every ffmpeg build has.
_CODECS: dict[str, tuple[str, list[str]]] = {
    ".mp4": ("libx264", ["-pix_fmt", "yuv420p"]),
    ".mov": ("libx264", ["-pix_fmt", "yuv420p"]),
    ".mkv": ("libx264", ["-pix_fmt", "yuv420p"]),
    ".avi": ("mpeg4", ["-q:v", "5"]),
    ".webm": ("libvpx", ["-b:v", "200k", "-deadline", "realtime", "-cpu-used", "8"]),
}
VIDEO_SUFFIXES: tuple[str, ...] = tuple(_CODECS)


def photo_array(width: int, height: int, seed: int = 0) -> np.ndarray:
    """An HxWx3 uint8 array that looks like a photo to a codec: gradients, blobs and grain."""
    rng = np.random.default_rng(seed)
    ys = np.linspace(0.0, 1.0, height, dtype=np.float32)[:, None]
    xs = np.linspace(0.0, 1.0, width, dtype=np.float32)[None, :]
    channels = []
    for c in range(3):
        fx, fy, phase = rng.uniform(1, 6), rng.uniform(1, 6), rng.uniform(0, 6.3)
        smooth = 0.5 + 0.35 * np.sin(fx * 6.28 * xs + phase) * np.cos(fy * 6.28 * ys + c)
        channels.append(smooth + 0.15 * (xs * (c - 1) + ys))
    img = np.stack(channels, axis=-1) * 255.0
    img += rng.normal(0.0, 12.0, size=(height, width, 1)).astype(np.float32)  # luminance grain
    return np.clip(img, 0, 255).astype(np.uint8)


def make_photo(width: int, height: int, seed: int = 0, quality: int = 90) -> bytes:
    """JPEG bytes of a synthetic photo of the given size."""
    buf = io.BytesIO()
    Image.fromarray(photo_array(width, height, seed)).save(buf, format="JPEG", quality=quality)
    return buf.getvalue()


def make_png(width: int, height: int, seed: int = 0, mode: str = "RGB") -> bytes:
    """PNG bytes of a synthetic photo converted to `mode` (RGB, RGBA, L, LA, P, I;16, ...)."""
    img = Image.fromarray(photo_array(width, height, seed))
    if mode == "RGBA" or mode == "LA":
        alpha = Image.fromarray(
            np.linspace(0, 255, width * height, dtype=np.float32).reshape(height, width).astype(np.uint8)
        )
        img = img.convert(mode[:-1])
        img.putalpha(alpha)
    elif mode == "I;16":
        arr = np.asarray(img.convert("L"), dtype=np.uint16) * 257
        img = Image.fromarray(arr)  # uint16 -> "I;16"
    elif mode != "RGB":
        img = img.convert(mode)
    buf = io.BytesIO()
    img.save(buf, format="PNG")
    return buf.getvalue()


def encode_image(image: Image.Image, fmt: str = "PNG") -> bytes:
    """Bytes of any PIL image in a given format (e.g. CMYK JPEG, palette GIF)."""
    buf = io.BytesIO()
    image.save(buf, format=fmt)
    return buf.getvalue()


def has_ffmpeg() -> bool:
    return shutil.which("ffmpeg") is not None


def make_video(
    path: str | Path,
    seconds: float = 2.0,
    fps: float = 10,
    size: tuple[int, int] = (160, 120),
    gop: int | None = None,
) -> Path:
    """Write a `testsrc` video (a counter in every frame) to `path`; the suffix picks container and codec.

    `gop` sets the keyframe interval (`-g`), to compare seeking on rare vs frequent keyframes.
    """
    path = Path(path)
    codec, extra = _CODECS[path.suffix.lower()]
    width, height = size
    cmd = ["ffmpeg", "-loglevel", "error", "-y", "-f", "lavfi"]
    cmd += ["-i", f"testsrc=duration={seconds}:size={width}x{height}:rate={fps}"]
    cmd += ["-c:v", codec, *extra]
    if gop is not None:
        cmd += ["-g", str(gop), "-keyint_min", str(gop)]
        if codec == "libx264":
            cmd += ["-sc_threshold", "0"]
    cmd.append(str(path))
    subprocess.run(cmd, check=True, capture_output=True, timeout=120)
    return path


def make_all_videos(folder: str | Path, **kwargs: object) -> dict[str, Path]:
    """One video per supported container in `folder`, keyed by suffix."""
    folder = Path(folder)
    return {suffix: make_video(folder / f"clip{suffix}", **kwargs) for suffix in VIDEO_SUFFIXES}  # type: ignore[arg-type]
