"""Batch throughput: rows/s of `python -m model_backend batch` against a plain `model.chat` loop, in one run.

A generated dataset (a few photos of different shapes, fixed questions about each, as a flat
JSONL with the photos beside it) goes through three sides that share one loaded model:

- loop: what a user writes by hand. Per row the seeds' `load_image` (tests/seed_reference.py,
  the InternVL2 quick start's code) and `model.chat(tokenizer, pixel_values, question,
  generation_config)`, one row after the other;
- batch 1: the CLI's batch path (`read_rows`, `plan_jobs`, `run_batch` on a fresh `LocalEngine`,
  as `python -m model_backend batch` builds them), which reads and tiles the next rows on a
  background thread while the current one generates, and keeps vision features and KV prefixes
  (a row about a photo an earlier row asked about reuses them);
- batch N: the same with `--batch-size N`, up to N history-free rows in one `generate` call.

Every side answers the whole dataset once per round; the order of the sides rotates from round
to round (the machine is shared and its speed drifts), and each round prints the ratios of rows/s
to the loop's. Greedy, and exactly `--new-tokens` new tokens per row (min_new_tokens), so every
side decodes the same amount. The predictions of each side are checked against the loop's.
`--model internvl2-1b` builds InternVL2-1B's real architecture with random weights
(`bench_turns.build_checkpoint`).

Run:  .venv/bin/python benchmarks/bench_batch.py --dtype float32 bfloat16          # demo, ~1 min
      .venv/bin/python benchmarks/bench_batch.py --model internvl2-1b --dtype bfloat16 --max-tiles 1
      .venv/bin/python benchmarks/bench_batch.py --model internvl2-1b --device cuda --dtype bfloat16 \
          --photos 16 --questions 2
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import sys
import tempfile
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from functools import partial
from pathlib import Path
from typing import TypeVar

import torch

ROOT = Path(__file__).resolve().parents[1]
sys.path[:0] = [str(ROOT), str(ROOT / "tests"), str(ROOT / "benchmarks")]

from bench_turns import FixedLength, build_checkpoint  # noqa: E402
from media_factory import make_photo  # noqa: E402
from seed_reference import load_image  # noqa: E402

from model_backend.batch.datasets import read_rows  # noqa: E402
from model_backend.batch.run import BatchOptions, plan_jobs, run_batch  # noqa: E402
from model_backend.checkpoints.loading import LoadedModel, load_model  # noqa: E402
from model_backend.engines.local import LocalEngine  # noqa: E402
from model_backend.settings import LoadSpec  # noqa: E402

#: Photo shapes: with max tiles 2 these give 3, 1, 3 and 1 tiles (2:1, 4:3, 5:8, 1:1).
SHAPES = ((1000, 500), (640, 480), (500, 800), (800, 800))
QUESTIONS = ("Describe this photo.", "What colours stand out in this picture, and where are they?")
LOOP = "loop"
T = TypeVar("T")


def make_dataset(folder: Path, photos: int, questions: int) -> Path:
    """`photos` JPEGs and a flat JSONL asking each of them `questions` questions (photo by photo)."""
    folder.mkdir(parents=True, exist_ok=True)
    records = []
    for index in range(photos):
        width, height = SHAPES[index % len(SHAPES)]
        (folder / f"photo{index}.jpg").write_bytes(make_photo(width, height, seed=10 + index))
        for number in range(questions):
            question = QUESTIONS[number % len(QUESTIONS)]
            records.append({"id": f"{index}-{number}", "image": f"photo{index}.jpg", "question": question})
    data = folder / "set.jsonl"
    data.write_text("".join(json.dumps(record) + "\n" for record in records), encoding="utf-8")
    return data


def loop_side(loaded: LoadedModel, data: Path, max_tiles: int, new_tokens: int) -> tuple[list[str], dict]:
    """The hand-written loop: the seeds' preprocessing, then `model.chat`, row after row."""
    model, tokenizer = loaded.model, loaded.tokenizer
    device, dtype = next(model.parameters()).device, next(model.parameters()).dtype
    predictions, preprocess_s = [], 0.0
    for line in data.read_text(encoding="utf-8").splitlines():
        record = json.loads(line)
        started = time.perf_counter()
        pixel_values = load_image(str(data.parent / record["image"]), max_num=max_tiles).to(dtype).to(device)
        preprocess_s += time.perf_counter() - started
        config = {"max_new_tokens": new_tokens, "min_new_tokens": new_tokens, "do_sample": False}
        with torch.no_grad():
            predictions.append(model.chat(tokenizer, pixel_values, record["question"], config))
    return predictions, {"preprocess_s": preprocess_s}


def batch_side(loaded: LoadedModel, data: Path, settings: FixedLength, batch_size: int) -> tuple[list[str], dict]:
    """The CLI's batch path on a fresh engine (as each `python -m model_backend batch` run starts)."""
    engine = LocalEngine(loaded)
    planned = plan_jobs(read_rows(data), set())
    results: list[dict] = []
    inside = {"generate_s": 0.0, "calls": 0}

    @contextmanager
    def timed() -> Iterator[None]:  # run_batch enters the gate around each generate call
        started = time.perf_counter()
        try:
            yield
        finally:
            inside["generate_s"] += time.perf_counter() - started
            inside["calls"] += 1

    options = BatchOptions(batch_size=batch_size)
    run_batch(engine, planned, None, settings, options, "bench", on_result=results.append, gate=timed)
    errors = [r["error"] for r in results if r["error"] is not None]
    if errors:
        raise RuntimeError(f"batch rows failed: {errors}")
    return [r["prediction"] for r in results], inside


def in_thread(work: Callable[[], T]) -> T:
    """`work()` on a thread of its own (the engine generates on one; see `--main-thread`)."""
    done: list[T] = []
    failed: list[BaseException] = []

    def run() -> None:
        try:
            done.append(work())
        except BaseException as error:  # re-raised on the caller's thread
            failed.append(error)

    thread = threading.Thread(target=run, name="bench-side")
    thread.start()
    thread.join()
    if failed:
        raise failed[0]
    return done[0]


def describe(side: str, rows: int, seconds: float, cpu_s: float, extra: dict) -> str:
    if side == LOOP:
        detail = f"seeds' preprocessing {extra['preprocess_s']:.2f} s"
    else:
        detail = f"{extra['calls']} generate calls {extra['generate_s']:.2f} s"
    return f"{rows / seconds:6.3f} rows/s ({seconds:6.2f} s, CPU {cpu_s:6.2f} s; {detail})"


def run_dtype(args: argparse.Namespace, folder: Path, data: Path, dtype: str) -> tuple[dict, dict]:
    """All rounds in one dtype: median ratio of rows/s to the loop's per side, and prediction checks."""
    loaded = load_model(LoadSpec(str(folder) if args.model != "demo" else "demo", dtype=dtype, device=args.device))
    settings = FixedLength(max_new_tokens=args.new_tokens, max_tiles=args.max_tiles)
    rows = len(data.read_text(encoding="utf-8").splitlines())
    sides = [LOOP, "batch 1", f"batch {args.batch_size}"]
    # The first pass through a model, and the first of each shape, is slower: warm every path up.
    warm = make_dataset(data.parent / "warm", len(SHAPES), 1)
    loop_side(loaded, warm, args.max_tiles, 2)
    batch_side(loaded, warm, FixedLength(max_new_tokens=2, max_tiles=args.max_tiles), args.batch_size)
    print(
        f"\n{args.model} {dtype} on {args.device}: {rows} rows ({args.photos} photos x {args.questions} questions), "
        f"max tiles {args.max_tiles}, {args.new_tokens} new tokens each; torch threads {torch.get_num_threads()}, "
        f"load average {os.getloadavg()[0]:.2f}"
    )
    ratios: dict[str, list[float]] = {side: [] for side in sides[1:]}
    cpu_ratios: dict[str, list[float]] = {side: [] for side in sides[1:]}
    predictions: dict[str, list[str]] = {}
    for round_index in range(args.rounds):
        shift = round_index % len(sides)
        speed, cpu = {}, {}
        for side in sides[shift:] + sides[:shift]:
            started, cpu_started = time.perf_counter(), time.process_time()
            if side == LOOP:
                work = partial(loop_side, loaded, data, args.max_tiles, args.new_tokens)
            else:
                work = partial(batch_side, loaded, data, settings, int(side.split()[1]))
            answers, extra = work() if args.main_thread else in_thread(work)
            seconds, cpu_s = time.perf_counter() - started, time.process_time() - cpu_started
            speed[side], cpu[side] = rows / seconds, cpu_s
            if predictions.setdefault(side, answers) != answers:
                print(f"  note: {side} gave other predictions than in its first round")
            print(f"round {round_index + 1} {side:8}: {describe(side, rows, seconds, cpu_s, extra)}")
        line = ", ".join(
            f"{side} / loop {speed[side] / speed[LOOP]:.2f}x (per CPU second {cpu[LOOP] / cpu[side]:.2f}x)"
            for side in sides[1:]
        )
        print(f"round {round_index + 1} ratios: {line}")
        for side in sides[1:]:
            ratios[side].append(speed[side] / speed[LOOP])
            cpu_ratios[side].append(cpu[LOOP] / cpu[side])
    medians = {side: statistics.median(values) for side, values in ratios.items()}
    equal = {}
    for side in sides[1:]:
        same = [a == b for a, b in zip(predictions[LOOP], predictions[side], strict=True)]
        differ = "" if all(same) else f" (rows {_differ(same)} differ)"
        equal[side] = f"{sum(same)}/{rows} equal to the loop's{differ}"
    for side in sides[1:]:
        values = ratios[side]
        print(
            f"{dtype} {side} / loop: median {medians[side]:.2f}x rows/s (range {min(values):.2f}-{max(values):.2f}x, "
            f"{args.rounds} rounds; per CPU second {statistics.median(cpu_ratios[side]):.2f}x); "
            f"predictions {equal[side]}"
        )
    differing = [
        (index, predictions[LOOP][index], predictions[sides[-1]][index])
        for index in range(rows)
        if predictions[LOOP][index] != predictions[sides[-1]][index]
    ][:2]
    for index, alone, batched in differing:
        print(f"  row {index}: loop {alone!r}\n  {'':{len(str(index)) + 5}}{sides[-1]} {batched!r}")
    return medians, equal


def _differ(same: list[bool]) -> str:
    return ", ".join(str(index) for index, ok in enumerate(same) if not ok)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--model", choices=["demo", "internvl2-1b"], default="demo")
    parser.add_argument("--dtype", nargs="+", choices=["float32", "bfloat16", "float16"], default=["float32"])
    parser.add_argument("--device", choices=["cpu", "cuda"], default="cpu")
    parser.add_argument("--photos", type=int, default=4)
    parser.add_argument("--questions", type=int, default=2, help="questions per photo (rows = photos x questions)")
    parser.add_argument("--max-tiles", type=int, default=2)
    parser.add_argument("--new-tokens", type=int, default=8)
    parser.add_argument("--batch-size", type=int, default=4)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument(
        "--main-thread",
        action="store_true",
        help="run every side on the main thread (by default each runs on a thread of its own: on a busy "
        "machine a 2-thread torch loop on the main thread was measured 8-25x slower than on a worker thread)",
    )
    args = parser.parse_args()

    started = time.perf_counter()
    with tempfile.TemporaryDirectory(prefix="bench-batch-") as tmp:
        folder = Path(tmp) / "internvl2-1b-random"
        if args.model != "demo":
            build_checkpoint(folder)
            print(f"built InternVL2-1B's architecture with random weights in {time.perf_counter() - started:.0f} s")
        data = make_dataset(Path(tmp) / "data", args.photos, args.questions)
        summary = {dtype: run_dtype(args, folder, data, dtype) for dtype in args.dtype}
    print("\nsummary (rows/s against the model.chat loop, median of rounds):")
    for dtype, (medians, equal) in summary.items():
        for side, ratio in medians.items():
            print(f"  {args.model} {dtype:8} {side:8} {ratio:.2f}x   predictions {equal[side]}")
    print(f"total {time.perf_counter() - started:.0f} s")
    return 0


if __name__ == "__main__":
    sys.exit(main())
