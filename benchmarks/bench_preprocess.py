"""Seeds' preprocessing vs ours, side by side in one process: speed ratio and exact equality.

Images: a generated 12 MP and 2 MP JPEG, seeds' `load_image` vs `model_backend.preprocess.load_image`
(the same Pillow calls; grid and thumbnail resized on two threads, one batched normalise), in
alternating blocks, the median ratio of 10 rounds and its range, and the CPU time each side used
(all threads); asserts `torch.equal`. Video: frame reads by index vs one `get_batch`,
on a video with rare keyframes (-g 250) and one with all keyframes (-g 1).

Run: .venv/bin/python benchmarks/bench_preprocess.py
"""

from __future__ import annotations

import io
import os
import shutil
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


def _cpu(fn: Callable[[], object]) -> tuple[float, float, object]:
    """Wall time and CPU time of the whole process (all threads) for one call."""
    c0 = time.process_time()
    wall, result = _time(fn)
    return wall, time.process_time() - c0, result


def _block(fn: Callable[[], torch.Tensor], calls: int) -> tuple[float, float, torch.Tensor]:
    """Median wall and CPU time of `calls` back-to-back calls, and the first call's tensor."""
    runs = [_cpu(fn) for _ in range(calls)]
    return statistics.median(r[0] for r in runs), statistics.median(r[1] for r in runs), runs[0][2]


def bench_image(label: str, width: int, height: int, rounds: int, calls: int = 3) -> None:
    """Rounds of `calls` seeds calls and `calls` of ours, alternating which block goes first.

    Blocks rather than single alternating calls: each pipeline runs in its own steady state
    (allocator and caches), and slow drifts of this shared machine hit both sides of a round.
    """
    data = make_photo(width, height, seed=1)
    seeds = lambda: seed.load_image(io.BytesIO(data), max_num=12)  # noqa: E731
    ours = lambda: load_image(data, 12)  # noqa: E731
    seed_t, ours_t, seed_cpu, ours_cpu, ratios = [], [], [], [], []
    for round_ in range(rounds):
        if round_ % 2:
            to, co, out = _block(ours, calls)
            ts, cs, ref = _block(seeds, calls)
        else:
            ts, cs, ref = _block(seeds, calls)
            to, co, out = _block(ours, calls)
        assert torch.equal(ref, out), "tensors differ"
        seed_t.append(ts)
        ours_t.append(to)
        seed_cpu.append(cs)
        ours_cpu.append(co)
        ratios.append(ts / to)
    med = statistics.median
    print(
        f"{label} photo ({width}x{height} JPEG, {len(data) / 1e6:.1f} MB, {out.shape[0]} tiles): "
        f"seeds {med(seed_t):.3f} s, ours {med(ours_t):.3f} s, seeds/ours {med(ratios):.2f}x "
        f"(median of {rounds} rounds, range {min(ratios):.2f}-{max(ratios):.2f}x; tensors identical); "
        f"CPU time seeds {med(seed_cpu):.3f} s, ours {med(ours_cpu):.3f} s"
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
    load = os.getloadavg()[0]
    print(f"torch threads: {torch.get_num_threads()}, CPU cores: {os.cpu_count()}, load average: {load:.2f}")
    bench_image("12MP", 4000, 3000, rounds=10)
    bench_image("2MP", 1600, 1200, rounds=10)
    if shutil.which("ffmpeg") is None:
        print("video: skipped, ffmpeg (which makes the test videos) is not installed")
        return
    with tempfile.TemporaryDirectory() as tmp:
        bench_video_reads(Path(tmp), repeats=3)


if __name__ == "__main__":
    main()
