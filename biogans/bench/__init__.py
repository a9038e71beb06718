"""``biogans bench``: speed cases, each measured beside a plain baseline of the same math.

All benchmark code lives in this package (the baselines in :mod:`biogans.bench.baselines`); nothing
else imports it. Numbers are printed (and written as JSON), never asserted: the machines this runs on
are shared and noisy, so read the ratios of one run.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path

from biogans.bench import cases
from biogans.files import atomic_path

W64, BATCH = 64, 64

#: case -> (full-size call, quick call); each returns {"seconds", "baseline_seconds", "speedup", ...}.
CASES: dict[str, tuple[Callable[[], dict], Callable[[], dict]]] = {
    "wgangp_iter_w64": (lambda: cases.wgangp_iteration(W64, BATCH, 3), lambda: cases.wgangp_iteration(8, 8, 1)),
    "wgangp_iter_demo": (lambda: cases.wgangp_iteration(cases.DEMO_WIDTH, cases.DEMO_BATCH, 9),
                         lambda: cases.wgangp_iteration(4, 4, 1)),
    "star_step": (lambda: cases.star_step(W64, BATCH, 3), lambda: cases.star_step(8, 4, 1)),
    "c2st_ten_splits": (lambda: cases.c2st_ten_splits(100, 3), lambda: cases.c2st_ten_splits(2, 1)),
    "reconstruct": (lambda: cases.reconstruct(64, 3), lambda: cases.reconstruct(4, 1)),
    "neighbours": (lambda: cases.neighbours(2000, 3), lambda: cases.neighbours(100, 1)),
    "peak_gflops": (lambda: cases.peak_gflops(2048, 5), lambda: cases.peak_gflops(256, 1)),
    "train_gflops": (lambda: cases.train_gflops(W64, BATCH, 3), lambda: cases.train_gflops(8, 8, 1)),
    "train_gflops_demo": (lambda: cases.train_gflops(cases.DEMO_WIDTH, cases.DEMO_BATCH, 9),
                          lambda: cases.train_gflops(4, 4, 1)),
}


def run(names: list[str], quick: bool = False, json_path: str | Path | None = None) -> dict[str, dict]:
    """Run the named cases (all if empty), print a line each, and write them to ``json_path`` if given."""
    results = {}
    for name in names or list(CASES):
        result = CASES[name][1 if quick else 0]()
        results[name] = result
        extras = ", ".join(f"{k} {v:.3g}" if isinstance(v, float) else f"{k} {v}"
                           for k, v in result.items() if k not in ("seconds", "baseline_seconds", "speedup"))
        print(f"{name:>18}: {result['seconds'] * 1e3:10.1f} ms   baseline {result['baseline_seconds'] * 1e3:10.1f} ms"
              f"   speedup {result['speedup']:5.2f}x   ({extras})", flush=True)
    if json_path is not None:
        with atomic_path(json_path) as tmp:
            tmp.write_text(json.dumps(results, indent=2) + "\n")
    return results
