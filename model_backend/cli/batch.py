"""`python -m model_backend batch`: the command around `model_backend.batch.run`.

It reads the dataset (every bad row kept, with its error), works out OUT (refusing to replace
an existing one unless told: `--resume` appends to it, `--overwrite` starts afresh), loads the
engine as `ask` does, draws a progress bar on stderr and prints a summary to stdout: rows,
errors, mean scores and latency percentiles over everything in OUT (resumed rows included).

    python -m model_backend batch --model demo data.jsonl --out predictions.jsonl --max-new-tokens 32

With `--model-b B` it is an A/B run (`model_backend.cli.batch_ab`): one joint line per question.
"""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

from model_backend.batch.datasets import read_rows
from model_backend.batch.run import BatchOptions, done_keys, plan_jobs, run_batch
from model_backend.batch.summary import summarize_records
from model_backend.cli.batch_ab import run as run_ab
from model_backend.cli.report import format_summary, progress_bar
from model_backend.settings import GenerationSettings, SettingsError

PREDICTIONS_SUFFIX = ".predictions.jsonl"


def run(
    args: argparse.Namespace, settings: GenerationSettings, make_engine: Callable[[argparse.Namespace], Any]
) -> int:
    if args.batch_size < 1:
        raise SettingsError(f"--batch-size must be 1 or more, got {args.batch_size}")
    out = args.out or args.input.with_name(args.input.stem + PREDICTIONS_SUFFIX)
    if out.resolve() == args.input.resolve():
        raise SettingsError("--out must not be the input file")
    rows = list(read_rows(args.input, args.media_root))  # DatasetError for a file that cannot be read at all
    if out.exists() and not (args.resume or args.overwrite):
        raise FileExistsError(f"{out} exists: pass --resume to continue it or --overwrite to replace it")
    if args.overwrite and not args.resume:
        out.unlink(missing_ok=True)
    skip = done_keys(out) if args.resume else set()
    planned = plan_jobs(rows, skip)
    if skip:
        print(f"resuming: {len(skip)} results already in {out}", file=sys.stderr)
    options = BatchOptions(
        batch_size=args.batch_size,
        frames=args.frames,
        start_s=args.start,
        end_s=args.end,
        tiles_per_frame=args.tiles_per_frame,
    )
    if getattr(args, "model_b", None):
        return run_ab(args, make_engine, planned, out, settings, options)
    if planned:
        engine = make_engine(args)
        if args.batch_size > 1 and not engine.capabilities.batches:
            print("note: --batch-size applies to local models only; a server batches on its own", file=sys.stderr)
        checkpoint = args.model or f"{args.server_model or engine.label} @ {args.server}"
        out.parent.mkdir(parents=True, exist_ok=True)
        run_batch(engine, planned, out, settings, options, checkpoint, progress_bar())
    else:
        out.touch()
    print(format_summary(summarize(out)), flush=True)
    print(f"results: {out}", file=sys.stderr)
    return 0


def summarize(out: Path) -> dict:
    """Rows, errors, mean scores and latency percentiles over every result in `out`."""
    records = []
    for line in out.read_text(encoding="utf-8", errors="replace").splitlines():
        try:
            records.append(json.loads(line))
        except json.JSONDecodeError:
            continue
    return summarize_records(records)
