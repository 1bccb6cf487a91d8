"""Percentiles of recent samples for status (trailer lateness, event-loop lag)."""

from __future__ import annotations

from typing import Iterable


def percentiles_ms(samples_s: Iterable[float]) -> dict:
    """p50, p99 and the maximum (p100) of samples in seconds, in milliseconds; {} if none."""
    ordered = sorted(samples_s)
    if not ordered:
        return {}
    return {f"p{q}": round(ordered[int(q / 100 * (len(ordered) - 1))] * 1e3, 2)
            for q in (50, 99, 100)}
