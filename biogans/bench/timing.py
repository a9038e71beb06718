"""Timing side by side: a fast path and its plain baseline, alternated after warm-up, median of repeats,
so that a shared machine's changing load biases neither."""

from __future__ import annotations

import statistics
from collections.abc import Callable

from biogans.device import timed


def median_seconds(fn: Callable[[], object], repeats: int) -> float:
    """Median seconds of ``repeats`` calls (each waits for the GPU work it queued)."""
    return statistics.median(timed(fn) for _ in range(repeats))


#: Calls of each side before timing: enough for a fast path to have captured its CUDA graph (two eager
#: calls, then the capture) and for the allocator and kernel choices to settle.
WARMUP = 4


def side_by_side(fast: Callable[[], object], baseline: Callable[[], object], repeats: int = 5,
                 warmup: int = WARMUP) -> dict[str, float]:
    """{"seconds", "baseline_seconds", "speedup"} of one call each, measured in turns after warm-up."""
    for _ in range(warmup):
        fast()
        baseline()
    fast_times, baseline_times = [], []
    for _ in range(repeats):
        fast_times.append(median_seconds(fast, 1))
        baseline_times.append(median_seconds(baseline, 1))
    seconds, base = statistics.median(fast_times), statistics.median(baseline_times)
    return {"seconds": seconds, "baseline_seconds": base, "speedup": base / seconds}
