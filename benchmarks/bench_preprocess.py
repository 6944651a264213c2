"""Seeds' preprocessing vs ours, side by side in one process: speed-up and exact equality.

Images: a generated 12 MP and 2 MP JPEG, seeds' `load_image` vs `model_backend.preprocess.load_image`,
interleaved, several repeats, medians; asserts `torch.equal`. Video: frame reads by index vs one
`get_batch`, on a video with rare keyframes (-g 250) and one with all keyframes (-g 1).

Run: .venv/bin/python benchmarks/bench_preprocess.py
"""

from __future__ import annotations

import io
import statistics
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

import numpy as np
import torch

ROOT = Path(__file__).resolve().parents[1]
sys.path[:0] = [str(ROOT), str(ROOT / "tests")]

import seed_reference as seed  # noqa: E402
from media_factory import make_photo, make_video  # noqa: E402

from model_backend.preprocess import load_image  # noqa: E402


def _time(fn: Callable[[], object]) -> tuple[float, object]:
    t0 = time.perf_counter()
    result = fn()
    return time.perf_counter() - t0, result


def bench_image(label: str, width: int, height: int, repeats: int) -> None:
    data = make_photo(width, height, seed=1)
    ours_t, seed_t = [], []
    for _ in range(repeats):
        ts, ref = _time(lambda: seed.load_image(io.BytesIO(data), max_num=12))
        to, out = _time(lambda: load_image(data, 12))
        assert torch.equal(ref, out), "tensors differ"
        seed_t.append(ts)
        ours_t.append(to)
    s, o = statistics.median(seed_t), statistics.median(ours_t)
    print(
        f"{label} photo ({width}x{height} JPEG, {len(data) / 1e6:.1f} MB, {out.shape[0]} tiles): "
        f"seeds {s:.3f} s, ours {o:.3f} s, speed-up {s / o:.2f}x (tensors identical, median of {repeats})"
    )


def bench_video_reads(folder: Path, repeats: int) -> None:
    from decord import VideoReader, cpu

    for gop in (250, 1):
        path = make_video(folder / f"g{gop}.mp4", seconds=20.0, fps=25, size=(640, 360), gop=gop)
        vr = VideoReader(str(path), ctx=cpu(0), num_threads=1)
        idx = seed.get_index(None, float(vr.get_avg_fps()), len(vr) - 1, num_segments=16).tolist()
        per, batch = [], []
        for _ in range(repeats):
            tp, a = _time(lambda: np.stack([vr[i].asnumpy() for i in idx]))  # noqa: B023
            tb, b = _time(lambda: vr.get_batch(idx).asnumpy())  # noqa: B023
            assert np.array_equal(a, b)
            per.append(tp)
            batch.append(tb)
        print(
            f"video 20 s 640x360 25 fps, keyframe every {gop} frame(s), 16 frames: per-index "
            f"{statistics.median(per):.3f} s, get_batch {statistics.median(batch):.3f} s (frames identical)"
        )


def main() -> None:
    torch.set_num_threads(1)  # the seeds' per-tile ops and ours both single-threaded in torch
    print(f"torch threads: {torch.get_num_threads()}")
    bench_image("12MP", 4000, 3000, repeats=7)
    bench_image("2MP", 1600, 1200, repeats=9)
    with tempfile.TemporaryDirectory() as tmp:
        bench_video_reads(Path(tmp), repeats=3)


if __name__ == "__main__":
    main()
