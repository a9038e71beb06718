"""Speed of the C2ST's critic training: G critics trained together as one grouped network, beside the
plain baseline of the same math (each critic trained alone, one after another), and chunk sizes between.

For ``biogans bench``; the numbers depend on the machine, so nothing here is asserted by the tests.
"""

from __future__ import annotations

import time

import numpy as np
import torch

from biogans.device import resolve_device
from biogans.evaluate.c2st import (
    Comparison,
    channels_last_cells,
    evaluator_objective,
    train_critics,
)
from biogans.evaluate.options import C2STOptions


def synthetic_job(groups: int, cells: int = 256, half: int = 64, seed: int = 0) -> tuple[torch.Tensor, list[Comparison]]:
    """A bank of random 48x80 two-channel cells and ``groups`` comparisons of random halves."""
    bank = torch.rand(cells, 2, 48, 80, generator=torch.Generator().manual_seed(seed)) * 2 - 1
    rng = np.random.default_rng(seed)
    comparisons = [Comparison("A", "B", g, *np.split(rng.permutation(cells)[:4 * half], 4)) for g in range(groups)]
    return bank, comparisons


def _seconds(pixels: torch.Tensor, comparisons: list[Comparison], options: C2STOptions) -> float:
    rngs = [torch.Generator().manual_seed(c.seed(options.seed)) for c in comparisons]
    start = time.perf_counter()
    train_critics(pixels, comparisons, rngs, evaluator_objective(options), options)
    return time.perf_counter() - start


def time_critic_steps(evaluator: str, groups: int, ndf: int, batch_size: int, chunks: tuple[int, ...] = (0, 1),
                      steps: int = 2, repeats: int = 2, sample: int = 0, device: str = "cpu") -> dict[int, float]:
    """ms per critic step of ``groups`` critics trained in grouped networks of ``chunk`` critics each
    (0: all together; 1: one by one, the plain baseline), random draws and batch gathering included.

    Each chunk size is timed on ``sample`` chunks (0: all) and scaled to ``groups`` (every chunk does
    the same work); sizes are timed in turn, ``repeats`` times, keeping the fastest, so that a shared
    machine's changing load biases none of them.
    """
    bank, comparisons = synthetic_job(groups)
    options = C2STOptions(evaluator=evaluator, batch_size=batch_size, ndf=ndf, device=device, steps=steps)
    pixels = channels_last_cells(bank.to(resolve_device(options.device)))
    _seconds(pixels, comparisons[:1], C2STOptions(**{**options.__dict__, "steps": 1}))  # lazy imports, allocator
    best = {chunk: float("inf") for chunk in chunks}
    for _ in range(repeats):
        for chunk in chunks:
            size = chunk or groups
            parts = [comparisons[i:i + size] for i in range(0, groups, size)]
            timed = parts[:sample] if sample else parts
            seconds = sum(_seconds(pixels, part, options) for part in timed) * len(parts) / len(timed)
            best[chunk] = min(best[chunk], seconds * 1000 / steps)
    return best
