"""The Video QA frame strip: decoding each request (the old page) vs the page's cached path, in one run.

"Before" is what the page did for every strip it drew: open the upload, probe it and decode the
frames (`model_backend.preprocess.sample_frames`), then make the JPEG thumbnails. "After" is the
page's own path (`components.video_input`): the video opened once per content, its thumbnails kept
per frame, the strip decoded frame by frame. Three ways a user asks for 8 strips:

1. 8 reruns with the same settings (another widget, a chat message): before decodes 8 times.
2. 8 key presses on the time-range slider (the end moves back 0.1 s each), every strip drawn to
   its end: the open video and the frames the strips share are reused.
3. The same 8 key presses, `--interval` seconds apart, replayed with Streamlit's rule for a
   rerun: it stops the run in progress at its next element. Before, the whole strip was one call,
   so a started strip always finished (pending presses merge into one rerun); after, each frame
   drawn is such a point, so a stale strip stops after at most one frame. Reported: the wait from
   the last press until its strip is complete, and the CPU seconds of the whole replay (both sides
   keep decoding while the presses come; after, the work on a value already left stops sooner).

The settled strip's thumbnails are checked to be byte-identical on both paths (same frames).

Run: .venv/bin/python benchmarks/bench_frame_strip.py [--seconds 60 --size 960x540 --interval 0.25 --rounds 3]
"""

from __future__ import annotations

import argparse
import io
import logging
import os
import statistics
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path[:0] = [str(ROOT), str(ROOT / "tests")]

from media_factory import has_ffmpeg, make_video  # noqa: E402

from components import video_input  # noqa: E402
from model_backend.preprocess.video import sample_frames  # noqa: E402

FRAMES = 8
PRESSES = 8
Strip = list[tuple[float, bytes]]


def old_strip(data: bytes, start_s: float | None, end_s: float | None) -> Strip:
    """The old page's `_frames` without its cache: open, probe, decode, thumbnail, every time."""
    strip = []
    for frame in sample_frames(data, FRAMES, start_s, end_s):
        image = frame.image.copy()
        image.thumbnail((video_input.THUMB_SIDE, video_input.THUMB_SIDE))
        buffer = io.BytesIO()
        image.save(buffer, format="JPEG", quality=85)
        strip.append((frame.timestamp_s, buffer.getvalue()))
    return strip


def new_strip_frames(data: bytes, start_s: float | None, end_s: float | None) -> Iterator[tuple[float, bytes]]:
    """The page's path: the shared open video (found by the content's digest), one frame at a time."""
    yield from video_input.open_video(data).strip(FRAMES, start_s, end_s)


def old_strip_frames(data: bytes, start_s: float | None, end_s: float | None) -> Iterator[tuple[float, bytes]]:
    yield from old_strip(data, start_s, end_s)  # one call: nothing to stop at until the strip is done


def _time(fn: Callable[[], object]) -> float:
    started = time.perf_counter()
    fn()
    return time.perf_counter() - started


def settle(
    data: bytes, ranges: list[tuple[float | None, float | None]], interval: float, frames: Callable
) -> tuple[float, float, int, Strip]:
    """Replay key presses: press k arrives at k * interval, and a run that sees a newer press at
    one of its stopping points (each item `frames` yields) ends there, as a Streamlit run does.

    Returns the seconds from the last press until its strip is complete (what the user waits),
    the CPU seconds spent on all of it, how many strips were started, and the settled strip.
    """
    started_at, cpu_at = time.perf_counter(), time.process_time()

    def newest() -> int:
        return min(len(ranges) - 1, int((time.perf_counter() - started_at) / interval))

    current, started = 0, 0
    while True:
        started += 1
        strip: Strip = []
        for item in frames(data, *ranges[current]):
            strip.append(item)
            if newest() != current:
                break
        else:
            if current == len(ranges) - 1:
                waited = time.perf_counter() - started_at - current * interval
                return waited, time.process_time() - cpu_at, started, strip
            # Done before the next press: idle until it comes.
            time.sleep(max(0.0, (current + 1) * interval - (time.perf_counter() - started_at)))
        current = newest()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--seconds", type=float, default=60.0)
    parser.add_argument("--size", default="960x540")
    parser.add_argument("--fps", type=float, default=30.0)
    parser.add_argument("--interval", type=float, default=0.25, help="seconds between key presses")
    parser.add_argument("--rounds", type=int, default=3)
    args = parser.parse_args()
    if not has_ffmpeg():
        sys.exit("ffmpeg (which makes the test video) is not installed")
    for name in [n for n in logging.root.manager.loggerDict if n.startswith("streamlit")]:
        logging.getLogger(name).setLevel(logging.ERROR)  # "no runtime" notes: the caches work without one
    width, height = (int(n) for n in args.size.split("x"))
    with tempfile.TemporaryDirectory() as tmp:
        made = time.perf_counter()
        path = make_video(Path(tmp) / "clip.mp4", seconds=args.seconds, fps=args.fps, size=(width, height))
        data = path.read_bytes()
        made = time.perf_counter() - made
    print(
        f"{args.seconds:.0f} s clip, {width}×{height}, {args.fps:.0f} fps, x264 keyframe every 250 frames, "
        f"{len(data) / 1e6:.1f} MB (made in {made:.0f} s); {FRAMES} frames a strip; "
        f"CPU cores {os.cpu_count()}, load average {os.getloadavg()[0]:.1f}"
    )
    end = round(args.seconds, 1)
    same = [(None, None)] * PRESSES
    presses = [(0.0, round(end - 0.1 * k, 1)) for k in range(1, PRESSES + 1)]
    rerun_label = f"{PRESSES} reruns, same settings (another widget, a chat message)"
    press_label = f"{PRESSES} key presses on the range (end -0.1 s each), every strip in full"
    wait_label = f"{PRESSES} key presses {args.interval} s apart: wait from the last press to its strip"
    cpu_label = f"{PRESSES} key presses {args.interval} s apart: CPU seconds spent"
    times: dict[str, dict[str, list[float]]] = {}
    started: dict[str, int] = {}

    def record(label: str, side: str, seconds: float) -> None:
        times.setdefault(label, {"before": [], "after": []})[side].append(seconds)

    def run(side: str) -> None:
        """One round of every scenario on one side; the after side starts each from a cold cache."""
        frames = old_strip_frames if side == "before" else new_strip_frames

        def cold() -> None:
            if side == "after":
                video_input._opened.clear()

        cold()
        record(rerun_label, side, _time(lambda: [list(frames(data, *r)) for r in same]))
        cold()
        record(press_label, side, _time(lambda: [list(frames(data, *r)) for r in presses]))
        cold()
        waited, cpu, count, settled = settle(data, presses, args.interval, frames)
        record(wait_label, side, waited)
        record(cpu_label, side, cpu)
        started[side] = count
        assert settled == old_strip(data, *presses[-1]), f"{side}: the settled strip is not the engine's frames"

    for number in range(args.rounds):  # alternating which side goes first: drifts of a shared machine hit both
        for side in ("before", "after") if number % 2 == 0 else ("after", "before"):
            run(side)

    print(f"median of {args.rounds} rounds{'':57} {'before':>8} {'after':>8} {'ratio':>7}")
    for label, sides in times.items():
        before, after = statistics.median(sides["before"]), statistics.median(sides["after"])
        print(f"{label:78} {before:7.2f}s {after:7.2f}s {before / after:6.1f}×")
    print(
        f"strips started in the key-press replay: {started['before']} before, {started['after']} after "
        "(a stale strip stops at its next frame); the settled strip is byte-identical on both paths"
    )


if __name__ == "__main__":
    main()
