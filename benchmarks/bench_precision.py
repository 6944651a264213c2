"""float32 against bfloat16 on the CPU, at real size, side by side in one run: what "auto" picks.

Builds InternVL2-1B's real architecture with random weights (as `bench_turns.py` does), loads it
twice through `load_model` (float32 and bfloat16), and answers the same one-photo question with
each, alternating which goes first, with the engine's caches off so every round pays for the
vision encoder and the whole prefill. It prints, per dtype, the median time to first token and
decode speed, and the bfloat16 / float32 ratios. `model_backend.settings.resolve_dtype` picks the
faster one for "auto" on a CPU; rerun this where the CPU differs (AMX, many cores).

Run:  .venv/bin/python benchmarks/bench_precision.py            # ~6 min on 2 CPU cores
      .venv/bin/python benchmarks/bench_precision.py --rounds 5 --max-tiles 1
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path

import torch

ROOT = Path(__file__).resolve().parents[1]
sys.path[:0] = [str(ROOT), str(ROOT / "tests"), str(ROOT / "benchmarks")]

from bench_turns import FixedLength, build_checkpoint, ttft  # noqa: E402
from media_factory import make_photo  # noqa: E402

from model_backend.checkpoints.loading import load_model  # noqa: E402
from model_backend.conversation import Conversation, ImageAttachment  # noqa: E402
from model_backend.engines.local import LocalEngine  # noqa: E402
from model_backend.settings import LoadSpec  # noqa: E402

DTYPES = ("float32", "bfloat16")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--max-tiles", type=int, default=6)
    parser.add_argument("--new-tokens", type=int, default=16)
    args = parser.parse_args()

    started = time.perf_counter()
    with tempfile.TemporaryDirectory(prefix="bench-precision-") as tmp:
        folder = build_checkpoint(Path(tmp) / "internvl2-1b-random")
        loaded = {dtype: load_model(LoadSpec(str(folder), dtype=dtype, device="cpu")) for dtype in DTYPES}
    engines = {dtype: LocalEngine(model, vision_cache_mb=0, prefix_cache_mb=0) for dtype, model in loaded.items()}
    print(
        f"InternVL2-1B architecture, random weights, CPU; torch {torch.__version__}, threads "
        f"{torch.get_num_threads()}, load average {os.getloadavg()[0]:.2f}"
    )
    photo = ImageAttachment(make_photo(1000, 500, seed=1), "photo.jpg")
    settings = FixedLength(max_new_tokens=args.new_tokens, max_tiles=args.max_tiles)
    warm = FixedLength(max_new_tokens=2, max_tiles=1)
    for engine in engines.values():  # the first pass through a model is slower
        conversation = Conversation()
        conversation.ask("Hello", images=(ImageAttachment(make_photo(500, 500, seed=9)),))
        ttft(engine, conversation, warm)
    first_token: dict[str, list[float]] = {dtype: [] for dtype in DTYPES}
    decode: dict[str, list[float]] = {dtype: [] for dtype in DTYPES}
    for round_index in range(args.rounds):
        order = DTYPES if round_index % 2 == 0 else tuple(reversed(DTYPES))
        for dtype in order:
            conversation = Conversation()
            conversation.ask("Describe this photo.", images=(photo,))
            _, stats = ttft(engines[dtype], conversation, settings)
            first_token[dtype].append(stats.time_to_first_token_s)
            decode[dtype].append(stats.tokens_per_s)
            print(
                f"round {round_index + 1} {dtype:8}: first token {stats.time_to_first_token_s:6.2f} s, "
                f"decode {stats.tokens_per_s:5.1f} tokens/s (tiles {stats.tiles}, {stats.prompt_tokens} prompt tokens)"
            )
    medians = {d: (statistics.median(first_token[d]), statistics.median(decode[d])) for d in DTYPES}
    print("\nmedians:")
    for dtype, (wait, speed) in medians.items():
        print(f"  {dtype:8} first token {wait:6.2f} s, decode {speed:5.1f} tokens/s")
    (f32_wait, f32_speed), (bf_wait, bf_speed) = medians["float32"], medians["bfloat16"]
    print(
        f"bfloat16 / float32: first token {bf_wait / f32_wait:.2f}x the time, "
        f"decode {bf_speed / f32_speed:.2f}x the speed"
    )
    print(f"total {time.perf_counter() - started:.0f} s")
    return 0


if __name__ == "__main__":
    sys.exit(main())
