"""What a batch run comes to: rows, errors, mean scores and latency percentiles over its results.

Shared by the command line (`batch`), the A/B runs and the app's Batch page, so it lives apart from the
command line.

>>> summarize_records([{"score": {"exact": 1.0, "relaxed": 1.0, "anls": 1.0}, "latency_s": 0.5}])["rows"]
1
"""

from __future__ import annotations

from model_backend.batch.scoring import SCORE_NAMES


def percentile(values: list[float], fraction: float) -> float:
    """Linear interpolation between the closest ranks (numpy's default).

    >>> percentile([1.0, 2.0, 3.0, 4.0], 0.5), percentile([1.0, 2.0, 3.0, 4.0], 0.9)
    (2.5, 3.7)
    """
    ordered = sorted(values)
    position = (len(ordered) - 1) * fraction
    low = int(position)
    high = min(low + 1, len(ordered) - 1)
    return round(ordered[low] + (ordered[high] - ordered[low]) * (position - low), 10)


def summarize_records(records: list[dict]) -> dict:
    """`summarize` over results already read (the app's Batch page keeps them in SQLite)."""
    scored = [r["score"] for r in records if isinstance(r.get("score"), dict)]
    latencies = [r["latency_s"] for r in records if r.get("error") is None and r.get("latency_s") is not None]
    summary: dict = {
        "rows": len(records),
        "errors": sum(1 for r in records if r.get("error") is not None),
        "scored": len(scored),
        "mean_score": {name: sum(s[name] for s in scored) / len(scored) for name in SCORE_NAMES} if scored else None,
        "latency_p50_s": percentile(latencies, 0.5) if latencies else None,
        "latency_p90_s": percentile(latencies, 0.9) if latencies else None,
    }
    return summary
