"""Scoring trained C2ST critics on the held-out halves: the paper's score (minus the evaluator's loss,
averaged over passes) and the classic C2ST's correct classifications against the training midpoint."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np
import torch

from biogans.evaluate.critics import critic_input, gather_cells
from biogans.evaluate.generated import GeneratedCells
from biogans.evaluate.options import C2STOptions
from biogans.models import Critic
from biogans.train.objectives import WGANGP, Objective, penalty_terms

if TYPE_CHECKING:
    from biogans.evaluate.c2st import Comparison


def _padded(row_sets: Sequence[np.ndarray]) -> tuple[torch.Tensor, torch.Tensor]:
    """Row arrays of different lengths -> rows [N, G] (padded with each set's first row) and mask [N, G]."""
    length = max(len(rows) for rows in row_sets)
    rows = np.stack([np.resize(r, length) for r in row_sets], 1)
    mask = np.arange(length)[:, None] < np.array([len(r) for r in row_sets])[None]
    return torch.from_numpy(rows), torch.from_numpy(mask)


@torch.no_grad()
def training_midpoints(critic: Critic, pixels: torch.Tensor, comparisons: Sequence[Comparison],
                        chunk: int, fakes: GeneratedCells | None = None) -> torch.Tensor:
    """Per group, the midpoint of the critic's mean scores on the A and B training halves (no flips; as
    many fresh generated cells as B's half for a generated B)."""
    means = []
    for half, halves in enumerate(([c.a_train for c in comparisons], [c.b_train for c in comparisons])):
        rows, mask = (t.to(pixels.device) for t in _padded(halves))
        no_flips = torch.zeros(2, *rows.shape, dtype=torch.bool, device=pixels.device)
        total = torch.zeros(len(comparisons), device=pixels.device, dtype=pixels.dtype)
        for i in range(0, len(rows), chunk):
            part = slice(i, i + chunk)
            cells = gather_cells(pixels, rows[part], no_flips[:, part]) if half == 0 or fakes is None \
                else critic_input(fakes.batch(len(rows[part])))
            total += (critic(cells).to(pixels.dtype) * mask[part]).sum(0)
        means.append(total / mask.sum(0))
    return (means[0] + means[1]) / 2


@dataclass
class _Pass:
    """One held-out pass: every held-out cell once in a random order, A and B cycled to a common
    length per group and padded across groups; the first min(n_a, n_b) positions of a group are its
    penalty's pairs (each cell in at most one pair, and the penalty, which needs a backward pass, is
    computed on those only). Tensors are [N, G]."""

    rows_a: torch.Tensor
    rows_b: torch.Tensor
    cell_a: torch.Tensor  # index of the cell within its held-out half
    cell_b: torch.Tensor
    first_a: torch.Tensor  # position scores A's cell for the first time in the pass
    first_b: torch.Tensor
    pair: torch.Tensor  # position holds a penalty pair of this group (a prefix of the positions)
    flips: torch.Tensor  # [4, N, G]
    alpha: torch.Tensor


def _draw_pass(comparisons: Sequence[Comparison], rngs: Sequence[torch.Generator],
               device: torch.device) -> _Pass:
    sizes = [(len(c.a_held), len(c.b_held)) for c in comparisons]
    pairs = [max(n_a, n_b) for n_a, n_b in sizes]
    length = max(pairs)
    cell_a = torch.zeros(length, len(comparisons), dtype=torch.long)
    cell_b = torch.zeros_like(cell_a)
    uniforms = torch.full((5, length, len(comparisons)), 0.5)
    for g, ((n_a, n_b), n_pairs, rng) in enumerate(zip(sizes, pairs, rngs, strict=True)):
        position = torch.arange(n_pairs)
        cell_a[:n_pairs, g] = torch.randperm(n_a, generator=rng)[position % n_a]
        cell_b[:n_pairs, g] = torch.randperm(n_b, generator=rng)[position % n_b]
        uniforms[:, :n_pairs, g] = torch.rand(5, n_pairs, generator=rng)
        if not comparisons[g].flip_b:
            uniforms[2:4, :, g] = 1.0  # no flip of B
    position = torch.arange(length)[:, None]
    n_a, n_b = (torch.tensor(n) for n in zip(*sizes, strict=True))
    held_a = [torch.from_numpy(c.a_held) for c in comparisons]
    held_b = [torch.from_numpy(c.b_held) for c in comparisons]
    rows_a = torch.stack([held_a[g][cell_a[:, g]] for g in range(len(comparisons))], 1)
    rows_b = torch.stack([held_b[g][cell_b[:, g]] for g in range(len(comparisons))], 1)
    tensors = dict(rows_a=rows_a, rows_b=rows_b, cell_a=cell_a, cell_b=cell_b, first_a=position < n_a,
                   first_b=position < n_b, pair=position < torch.minimum(n_a, n_b), flips=uniforms[:4] < 0.5,
                   alpha=uniforms[4])
    return _Pass(**{name: t.to(device) for name, t in tensors.items()})


def held_out(critic: Critic, objective: Objective, pixels: torch.Tensor, comparisons: Sequence[Comparison],
              rngs: Sequence[torch.Generator], thresholds: torch.Tensor, options: C2STOptions,
              fakes: GeneratedCells | None = None) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Score (minus the held-out critic loss, mean over passes) and correct classifications per group;
    a generated B scores fresh cells at every position of every pass."""
    device, groups, like = pixels.device, len(comparisons), dict(device=pixels.device, dtype=pixels.dtype)
    n_a = torch.tensor([len(c.a_held) for c in comparisons], device=device)
    n_b = torch.tensor([len(c.b_held) for c in comparisons], device=device)
    cell_scores_a = torch.zeros(int(n_a.max()), groups, **like)
    cell_scores_b = torch.zeros(int(n_b.max()), groups, **like)
    score = torch.zeros(groups, **like)
    penalty = objective.penalty if isinstance(objective, WGANGP) else 0.0
    for _ in range(options.passes):
        p = _draw_pass(comparisons, rngs, device)
        loss_a, loss_b, penalties = (torch.zeros(groups, **like) for _ in range(3))
        for i in range(0, len(p.rows_a), options.batch_size):
            rows = slice(i, i + options.batch_size)
            a = gather_cells(pixels, p.rows_a[rows], p.flips[:2, rows])
            b = gather_cells(pixels, p.rows_b[rows], p.flips[2:, rows]) if fakes is None \
                else critic_input(fakes.batch(len(a)))
            with torch.no_grad():
                scores_a, scores_b = critic(a).to(pixels.dtype), critic(b).to(pixels.dtype)
                cell_loss_a, cell_loss_b = objective.cell_losses(scores_a, scores_b)
                loss_a += (cell_loss_a * p.first_a[rows]).sum(0)
                loss_b += (cell_loss_b * p.first_b[rows]).sum(0)
                cell_scores_a.scatter_add_(0, p.cell_a[rows], scores_a * p.first_a[rows])
                cell_scores_b.scatter_add_(0, p.cell_b[rows], scores_b * p.first_b[rows])
            paired = int(p.pair[rows].any(1).sum())  # the pairs are a prefix of the positions
            if penalty and paired:
                with torch.enable_grad():
                    terms = penalty_terms(critic, a[:paired], b[:paired], p.alpha[rows][:paired],
                                          create_graph=False).detach().to(pixels.dtype)
                penalties += (terms * p.pair[rows][:paired]).sum(0)
        score -= loss_a / n_a + loss_b / n_b + penalty * penalties / p.pair.sum(0)
    score /= options.passes
    correct = ((cell_scores_a / options.passes > thresholds) & _valid(n_a, len(cell_scores_a))).sum(0) \
        + ((cell_scores_b / options.passes <= thresholds) & _valid(n_b, len(cell_scores_b))).sum(0)
    return score.cpu().numpy(), correct.cpu().numpy(), (n_a + n_b).cpu().numpy()


def _valid(sizes: torch.Tensor, length: int) -> torch.Tensor:
    return torch.arange(length, device=sizes.device)[:, None] < sizes[None]

