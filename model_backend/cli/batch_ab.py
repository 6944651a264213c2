"""`python -m model_backend batch --model A --model-b B INPUT`: the A/B form of the batch command.

The same questions and generation settings go to A (`--model`, or `--server`) and to B
(`--model-b`, a checkpoint). OUT gets one joint line per question (both predictions, scores and
errors, and `agree`) once both sides have answered it; `--resume` skips the questions OUT holds.
Both local checkpoints are leased from one model pool: when B does not fit next to A, A answers
every row first (its results wait in memory: a run killed then keeps nothing of A), then B.
stdout gets both summaries and the number of questions where the two disagree.

    python -m model_backend batch --model demo --model-b demo-qwen2_5 data.jsonl --out ab.jsonl
"""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from model_backend.batch.ab import SIDES, Mode, Side, joint_row, run_ab, summarize_ab
from model_backend.batch.datasets import Row
from model_backend.batch.run import BatchOptions, end_last_line, result_key
from model_backend.cli.report import format_summary, progress_bar
from model_backend.settings import GenerationSettings, LoadSpec

_MODES = {
    "together": "both models fit in memory together: each question goes to A, then to B",
    "one_after_other": "the two models do not fit in memory together: A answers every question, then B",
}


def run(
    args: argparse.Namespace,
    make_engine: Callable[[argparse.Namespace], Any],
    planned: list[tuple[Row, int]],
    out: Path,
    settings: GenerationSettings,
    options: BatchOptions,
) -> int:
    """Answer `planned` on both sides, append the joint lines to `out`, print the summaries."""
    if planned:
        out.parent.mkdir(parents=True, exist_ok=True)
        with out.open("a+", encoding="utf-8") as file:
            end_last_line(file)
            _answer(args, make_engine, planned, file, settings, options)
    else:
        out.touch()
    print(format_ab_summary(summarize_ab(read_joint(out))), flush=True)
    print(f"results: {out}", file=sys.stderr)
    return 0


def _answer(
    args: argparse.Namespace,
    make_engine: Callable[[argparse.Namespace], Any],
    planned: list[tuple[Row, int]],
    file: Any,
    settings: GenerationSettings,
    options: BatchOptions,
) -> None:
    from model_backend.serving.factory import EngineFactory

    factory = EngineFactory()  # one pool for both: it says whether they fit together
    checkpoints: dict[Side, str] = {"a": args.model or args.server, "b": args.model_b}

    @contextmanager
    def lease(side: Side) -> Iterator[Any]:
        if side == "a" and args.server:
            engine = make_engine(args)
            checkpoints["a"] = f"{args.server_model or engine.label} @ {args.server}"
            yield engine
            return
        spec = LoadSpec(
            checkpoint=args.model if side == "a" else args.model_b,
            dtype=args.dtype,
            quantization=args.quantization,
            device=args.device,
            allow_remote_code=args.allow_remote_code,
        )
        with factory.lease(spec) as engine:
            if engine.loaded.is_demo:
                print(f"note ({side.upper()}): the demo checkpoint has random weights", file=sys.stderr)
            yield engine

    pending: dict[str, dict] = {}
    draw, total, counts = progress_bar(), 2 * len(planned), {"done": 0, "errors": 0}

    def keep(side: Side, result: dict) -> None:
        result["side"] = side
        other = pending.pop(result_key(result), None)
        if other is None:
            pending[result_key(result)] = result
        else:
            pair = (result, other) if side == "a" else (other, result)
            row = joint_row(*pair)
            file.write(json.dumps({k: v for k, v in row.items() if not k.startswith("done_")}, ensure_ascii=False))
            file.write("\n")
            file.flush()
        counts["done"] += 1
        counts["errors"] += result.get("error") is not None
        draw(counts["done"], total, counts["errors"])

    def said(mode: Mode) -> None:
        print(f"note: {_MODES[mode]}", file=sys.stderr)

    run_ab(lease, {side: planned for side in SIDES}, settings, options, checkpoints, keep, on_mode=said)
    factory.pool.close()


def read_joint(out: Path) -> list[dict]:
    """The joint lines of OUT (a half-written last line skipped), with `done_a`/`done_b` set again."""
    rows = []
    for line in out.read_text(encoding="utf-8", errors="replace").splitlines():
        try:
            row = json.loads(line)
        except json.JSONDecodeError:
            continue
        if isinstance(row, dict):
            rows.append({**row, "done_a": True, "done_b": True})
    return rows


def format_ab_summary(summary: dict) -> str:
    """Both sides' summaries, then how many questions the two answered differently."""
    lines = []
    for side in SIDES:
        lines.append(f"model {side.upper()}:")
        lines += ["  " + line for line in format_summary(summary[side]).splitlines()]
    lines.append(f"disagree: {summary['disagree']} of {summary['compared']} questions compared")
    return "\n".join(lines)
