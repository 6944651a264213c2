"""What the batch commands print while they run and when they end: a progress bar and a summary."""

from __future__ import annotations

import sys
from collections.abc import Callable
from typing import IO


def progress_bar(stream: IO[str] = sys.stderr, width: int = 30) -> Callable[[int, int, int], None]:
    """`\\r[#######       ] 12/50  1 error`, redrawn in place on `stream`."""

    def draw(done: int, total: int, errors: int) -> None:
        filled = width * done // max(1, total)
        note = f"  {errors} error{'s' if errors != 1 else ''}" if errors else ""
        stream.write(f"\r[{'#' * filled}{' ' * (width - filled)}] {done}/{total}{note}")
        if done == total:
            stream.write("\n")
        stream.flush()

    return draw


def format_summary(summary: dict) -> str:
    lines = [f"rows: {summary['rows']}  errors: {summary['errors']}  scored: {summary['scored']}"]
    if summary["mean_score"]:
        lines.append("mean score: " + "  ".join(f"{k} {v:.3f}" for k, v in summary["mean_score"].items()))
    if summary["latency_p50_s"] is not None:
        lines.append(f"latency: p50 {summary['latency_p50_s']:.3f} s  p90 {summary['latency_p90_s']:.3f} s")
    return "\n".join(lines)
