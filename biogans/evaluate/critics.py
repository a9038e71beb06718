"""Training C2ST critics: many fresh DCGAN critics at once, as one grouped network.

All comparisons (critic groups) of a C2ST job train together as one grouped
:class:`biogans.models.Critic`; the loss is summed over groups, so each group's gradients are its own.
Each group draws its batch rows, flips and penalty interpolates from its own ``torch.Generator`` (its
rng), so what a group learns does not depend on which groups train beside it. Cells are gathered from
one bank of every real cell, kept as [N, H, W, C] on the device, with flips folded into the gather.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from functools import partial
from typing import TYPE_CHECKING

import torch
from torch import nn

from biogans.device import GraphedStep, autocast
from biogans.evaluate.generated import GeneratedCells
from biogans.evaluate.options import C2STOptions
from biogans.models import Critic, check_parameters
from biogans.train.objectives import Objective, get_objective

if TYPE_CHECKING:
    from biogans.evaluate.c2st import Comparison

#: Training steps whose random draws each group makes at once (fixed: independent of the group count).
DRAW_CHUNK = 32
#: Eager calls before a CUDA graph of the critic update is captured.
GRAPH_WARMUP = 2


def evaluator_objective(options: C2STOptions) -> Objective:
    """The evaluator: its critic loss, optimiser (with ``options.lr`` if given) and post-step hook."""
    return get_objective(options.evaluator, **({} if options.lr is None else {"lr": options.lr}))


def new_critics(channels: int, height: int, width: int, rngs: Sequence[torch.Generator],
                ndf: int, batchnorm: bool) -> Critic:
    """A grouped critic whose group g has the paper's initialisation drawn from ``rngs[g]``."""
    make = partial(Critic, channels, ndf, len(rngs), batchnorm, height, width)
    check_parameters(make, f"a C2ST critic of width {ndf} has", networks=len(rngs))
    with torch.random.fork_rng(devices=[]):  # the constructor's own draws leave torch's global RNG as it was
        critic = make()
    with torch.no_grad():
        for layer in critic.modules():
            if isinstance(layer, nn.Conv2d):
                for block, rng in zip(layer.weight.chunk(len(rngs)), rngs, strict=True):
                    nn.init.normal_(block, 0.0, 0.02, generator=rng)
            elif isinstance(layer, nn.BatchNorm2d):
                for block, rng in zip(layer.weight.chunk(len(rngs)), rngs, strict=True):
                    nn.init.normal_(block, 1.0, 0.02, generator=rng)
    return critic


class CriticTraining:
    """The grouped critic of a list of comparisons, its optimiser, and its update step: eager, or replayed
    as a CUDA graph (``graphs``; the same computation, without the launch cost of many small kernels)."""

    def __init__(self, pixels: torch.Tensor, comparisons: Sequence[Comparison], rngs: Sequence[torch.Generator],
                 objective: Objective, options: C2STOptions, fakes: GeneratedCells | None = None,
                 graphs: bool = False):
        _, height, width, channels = pixels.shape
        critic = new_critics(channels, height, width, rngs, options.ndf, objective.critic_batchnorm)
        self.critic = critic.to(pixels.device, pixels.dtype, memory_format=torch.channels_last).train()
        # optimiser state on the GPU, graphed or not: the same arithmetic either way
        self.optimizer = objective.critic_optimizer(self.critic.parameters(), capturable=pixels.device.type == "cuda")
        self.pixels, self.objective, self.options, self.fakes = pixels, objective, options, fakes
        self.graphs = graphs
        self._update = GraphedStep(self.update, GRAPH_WARMUP) if graphs else self.update

    def step(self, rows_a: torch.Tensor, rows_b: torch.Tensor, flips: torch.Tensor, alpha: torch.Tensor) -> None:
        """One update on one step's draws (:func:`training_draws`), with fresh latents for generated sets."""
        latents = self.fakes.latents(len(rows_b)) if self.fakes is not None else []
        self._update(rows_a, rows_b, flips, alpha, *latents)

    def update(self, rows_a: torch.Tensor, rows_b: torch.Tensor, flips: torch.Tensor, alpha: torch.Tensor,
               *latents: torch.Tensor) -> None:
        """Gather (or generate) the batches, and one optimiser step on the summed critic loss."""
        a = gather_cells(self.pixels, rows_a, flips[:2])
        with autocast(self.pixels.device, self.options.precision, cache=not self.graphs):
            b = gather_cells(self.pixels, rows_b, flips[2:]) if self.fakes is None \
                else critic_input(self.fakes.render(latents))
            loss = self.objective.critic_loss(self.critic, a, b, alpha=alpha).sum()
        self.optimizer.zero_grad(set_to_none=True)
        loss.backward()
        self.optimizer.step()
        self.objective.after_critic_step(self.critic)


def train_critics(pixels: torch.Tensor, comparisons: Sequence[Comparison], rngs: Sequence[torch.Generator],
                  objective: Objective, options: C2STOptions, fakes: GeneratedCells | None = None,
                  graphs: bool = False) -> Critic:
    """``options.steps`` critic updates on batches of the training halves (with replacement, random flips)
    or, for generated sets, of fresh generated cells (``fakes``, never flipped); ``pixels``: the bank as
    :func:`channels_last_cells`; ``graphs``: replay the update as a CUDA graph."""
    training = CriticTraining(pixels, comparisons, rngs, objective, options, fakes, graphs)
    for draws in training_draws(comparisons, rngs, options, pixels.device):
        training.step(*draws)
    return training.critic


def training_draws(comparisons: Sequence[Comparison], rngs: Sequence[torch.Generator],
                    options: C2STOptions, device: torch.device) -> Iterator[tuple[torch.Tensor, ...]]:
    """Per step: bank rows of A and B [B, G], flips [4, B, G] (A horizontal, A vertical, B h, B v) and
    penalty weights [B, G]; each group draws ``DRAW_CHUNK`` steps at a time from its own rng."""
    batch = options.batch_size
    halves = [(torch.from_numpy(c.a_train), torch.from_numpy(c.b_train)) for c in comparisons]
    for start in range(0, options.steps, DRAW_CHUNK):
        k = min(DRAW_CHUNK, options.steps - start)
        rows_a, rows_b, uniforms = [], [], []
        for comparison, (a_rows, b_rows), rng in zip(comparisons, halves, rngs, strict=True):
            rows_a.append(a_rows[torch.randint(len(a_rows), (k, batch), generator=rng)])
            rows_b.append(b_rows[torch.randint(len(b_rows), (k, batch), generator=rng)])
            uniforms.append(torch.rand(k, 5, batch, generator=rng))
            if not comparison.flip_b:
                uniforms[-1][:, 2:4] = 1.0  # no flip of B
        rows_a = torch.stack(rows_a, -1).to(device)
        rows_b = torch.stack(rows_b, -1).to(device)
        uniforms = torch.stack(uniforms, -1).to(device)
        flips = uniforms[:, :4] < 0.5
        for i in range(k):
            yield rows_a[i], rows_b[i], flips[i], uniforms[i, 4]


def channels_last_cells(bank: torch.Tensor) -> torch.Tensor:
    """Cells [N, C, H, W] -> [N, H, W, C]: each pixel's channels contiguous, for :func:`gather_cells`."""
    return bank.permute(0, 2, 3, 1).contiguous()


def gather_cells(pixels: torch.Tensor, rows: torch.Tensor, flips: torch.Tensor) -> torch.Tensor:
    """Critic input [B, G*C, H, W] in channels-last memory from cells ``rows`` [B, G] of ``pixels``
    [N, H, W, C], each flipped horizontally where ``flips[0]`` and vertically where ``flips[1]``
    ([2, B, G] booleans): one gather of pixels, flips folded into the pixel indices."""
    _, height, width, channels = pixels.shape
    y = torch.arange(height, device=rows.device)[None, :, None]
    x = torch.arange(width, device=rows.device)[None, :, None]
    y = torch.where(flips[1][:, None], height - 1 - y, y) * width  # [B, H, G]
    x = torch.where(flips[0][:, None], width - 1 - x, x)  # [B, W, G]
    pixel = (rows * (height * width))[:, None, None] + y[:, :, None] + x[:, None]  # [B, H, W, G]
    gathered = pixels.view(-1, channels).index_select(0, pixel.view(-1))
    return gathered.view(*pixel.shape[:3], -1).permute(0, 3, 1, 2)


def critic_input(cells: torch.Tensor) -> torch.Tensor:
    """Cells [B, G, C, H, W] -> the grouped critic's input [B, G*C, H, W] in channels-last memory."""
    return cells.flatten(1, 2).contiguous(memory_format=torch.channels_last)

