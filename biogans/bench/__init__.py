"""``biogans bench``: speed cases, each measured beside a plain baseline of the same math.

All benchmark code lives in this package (the baselines in :mod:`biogans.bench.baselines`); nothing
else imports it. Numbers are printed (and written as JSON with the machine they ran on), never
asserted: the machines this runs on are shared and noisy, so read the ratios of one run.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path

import torch

from biogans.bench import cases
from biogans.bench.machine import machine_info
from biogans.files import atomic_path

W64, BATCH = 64, 64

#: case -> (full-size call, quick call), each taking the device; each returns {"seconds",
#: "baseline_seconds", "speedup", ...}. The *_w64 cases run at the paper's width and batch (64).
CASES: dict[str, tuple[Callable[[torch.device], dict], Callable[[torch.device], dict]]] = {
    "wgangp_iter_w64": (lambda d: cases.wgangp_iteration(W64, BATCH, 3, d),
                        lambda d: cases.wgangp_iteration(8, 8, 1, d)),
    "wgangp_iter_demo": (lambda d: cases.wgangp_iteration(cases.DEMO_WIDTH, cases.DEMO_BATCH, 9, d),
                         lambda d: cases.wgangp_iteration(4, 4, 1, d)),
    "star_step": (lambda d: cases.star_step(W64, BATCH, 3, d), lambda d: cases.star_step(8, 4, 1, d)),
    "c2st_ten_splits": (lambda d: cases.c2st_ten_splits(100, 3, d), lambda d: cases.c2st_ten_splits(2, 1, d)),
    "c2st_ten_splits_w64": (lambda d: cases.c2st_ten_splits(20 if d.type == "cpu" else 50, 3, d, W64, BATCH),
                            lambda d: cases.c2st_ten_splits(1, 1, d, 8, 8)),
    "reconstruct": (lambda d: cases.reconstruct(64, 3, d), lambda d: cases.reconstruct(4, 1, d)),
    "reconstruct_w64": (lambda d: cases.reconstruct(64, 3, d, W64), lambda d: cases.reconstruct(4, 1, d, 8)),
    "neighbours": (lambda d: cases.neighbours(2000, 3, d), lambda d: cases.neighbours(100, 1, d)),
    "peak_gflops": (lambda d: cases.peak_gflops(2048 if d.type == "cpu" else 8192, 5, d),
                    lambda d: cases.peak_gflops(256, 1, d)),
    "train_gflops": (lambda d: cases.train_gflops(W64, BATCH, 3, d), lambda d: cases.train_gflops(8, 8, 1, d)),
    "train_gflops_demo": (lambda d: cases.train_gflops(cases.DEMO_WIDTH, cases.DEMO_BATCH, 9, d),
                          lambda d: cases.train_gflops(4, 4, 1, d)),
    "paper_models": (lambda d: cases.paper_models(BATCH, 3, d), lambda d: cases.paper_models(4, 1, d, 8)),
}


#: Cases left out of a full CPU run unless named: paper_models trains the paper's widths (224 for the
#: multi-channel model) at batch 64, minutes per iteration on a laptop's CPU.
GPU_SIZED = ("paper_models",)


def run(names: list[str], device: torch.device, quick: bool = False,
        json_path: str | Path | None = None) -> dict[str, dict]:
    """Run the named cases (all if empty; on a CPU at full size, all but :data:`GPU_SIZED`) on ``device``,
    print a line each, and write them with the machine (``{"machine": ..., "cases": {case: result}}``) to
    ``json_path`` if given."""
    results = {}
    machine = machine_info(device)
    print(f"{machine['cpu']}, {machine['cores']} cores ({' '.join(machine['cpu_flags']) or 'no bf16/AMX flags'}), "
          f"{machine['threads']} threads, torch {machine['torch']}, {machine.get('gpu', 'no GPU')}", flush=True)
    if not names:
        names = [n for n in CASES if quick or device.type == "cuda" or n not in GPU_SIZED]
    for name in names:
        result = CASES[name][1 if quick else 0](device)
        results[name] = result
        extras = ", ".join(f"{k} {v:.3g}" if isinstance(v, float) else f"{k} {v}"
                           for k, v in result.items() if k not in ("seconds", "baseline_seconds", "speedup"))
        print(f"{name:>20}: {result['seconds'] * 1e3:10.1f} ms   baseline {result['baseline_seconds'] * 1e3:10.1f} ms"
              f"   speedup {result['speedup']:5.2f}x   ({extras})", flush=True)
    if json_path is not None:
        with atomic_path(json_path) as tmp:
            tmp.write_text(json.dumps({"machine": machine, "cases": results}, indent=2) + "\n")
    return results
