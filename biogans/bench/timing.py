"""Timing side by side: a fast path and its plain baseline, alternated after warm-up, median of repeats,
so that a shared machine's changing load biases neither."""

from __future__ import annotations

import statistics
import time
from collections.abc import Callable


def median_seconds(fn: Callable[[], object], repeats: int) -> float:
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        fn()
        times.append(time.perf_counter() - start)
    return statistics.median(times)


def side_by_side(fast: Callable[[], object], baseline: Callable[[], object], repeats: int = 5,
                 warmup: int = 1) -> dict[str, float]:
    """{"seconds", "baseline_seconds", "speedup"} of one call each, measured in turns."""
    for _ in range(warmup):
        fast()
        baseline()
    fast_times, baseline_times = [], []
    for _ in range(repeats):
        fast_times.append(median_seconds(fast, 1))
        baseline_times.append(median_seconds(baseline, 1))
    seconds, base = statistics.median(fast_times), statistics.median(baseline_times)
    return {"seconds": seconds, "baseline_seconds": base, "speedup": base / seconds}
