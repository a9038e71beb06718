"""Training batches from the cell store, held in memory as tensors in [-1, 1].

One sampler per way a model sees real cells, each returning a batch in its critic's input layout:
- :class:`JointSampler`: the cells of several proteins merged into one 2-channel set, [B, 2, H, W]
  (joint models, and each part of an independent model);
- :class:`PerProteinSampler`: one equal batch per protein, laid out for one critic per protein,
  [B, P * 2, H, W] (star-shaped models);
- :class:`CompositeSampler`: composite cells (red, then every protein's green), [B, 1 + P, H, W]
  (multi-channel models).
Batches are drawn with replacement from a seeded ``torch.Generator`` (``rng``; a resumed run only
needs its state), with random horizontal and vertical flips of each cell.
"""

from __future__ import annotations

import numpy as np
import torch

from biogans.data.neighbours import composite
from biogans.data.store import CellSet, to_unit_range
from biogans.errors import BiogansError


def cell_tensor(cells: CellSet, rows: np.ndarray | None = None) -> torch.Tensor:
    """Cells as a float tensor in [-1, 1], [N, C, H, W] (all rows, or the given store rows)."""
    images = cells.images if rows is None else cells.images[rows]
    return torch.from_numpy(to_unit_range(images))


def random_flips(x: torch.Tensor, rng: torch.Generator) -> torch.Tensor:
    """Flip each cell horizontally and vertically, each with probability 1/2."""
    flips = torch.rand(2, len(x), 1, 1, 1, generator=rng) < 0.5
    x = torch.where(flips[0], x.flip(-1), x)
    return torch.where(flips[1], x.flip(-2), x)


def _training_cells(store: dict[str, CellSet], protein: str, source: str) -> tuple[torch.Tensor, np.ndarray]:
    if protein not in store:
        raise BiogansError(f"{source}: no cells of protein {protein} (the store has {', '.join(store)})")
    rows = store[protein].role_indices("train")
    if len(rows) == 0:
        raise BiogansError(f"{source}: protein {protein} has no training cells")
    return cell_tensor(store[protein]), rows


class FixedBatch:
    """A sampler that serves one batch again and again: for timing a training step, not for training."""

    def __init__(self, batch: torch.Tensor, rng: torch.Generator):
        self.batch, self.rng = batch, rng

    def sample(self) -> torch.Tensor:
        return self.batch


class JointSampler:
    """2-channel cells of ``proteins`` merged into one set (the paper's joint models; one protein for
    an independent model's part)."""

    def __init__(self, store: dict[str, CellSet], proteins: list[str], batch_size: int,
                 rng: torch.Generator, source: str = "cell store"):
        parts = [_training_cells(store, p, source) for p in proteins]
        self.images = torch.cat([images[rows] for images, rows in parts])
        self.batch_size = batch_size
        self.rng = rng

    def sample(self) -> torch.Tensor:
        rows = torch.randint(len(self.images), (self.batch_size,), generator=self.rng)
        return random_flips(self.images[rows], self.rng)


class PerProteinSampler:
    """One batch per protein, laid out [B, P * 2, H, W] (group p = protein p's cells) for the
    star-shaped model's per-protein critics."""

    def __init__(self, store: dict[str, CellSet], proteins: list[str], batch_size: int,
                 rng: torch.Generator, source: str = "cell store"):
        parts = [_training_cells(store, p, source) for p in proteins]
        self.images = [images[rows] for images, rows in parts]
        self.batch_size = batch_size
        self.rng = rng

    def sample(self) -> torch.Tensor:
        batches = [images[torch.randint(len(images), (self.batch_size,), generator=self.rng)]
                   for images in self.images]
        x = random_flips(torch.stack(batches, 1).flatten(1, 2), self.rng)
        return x


class CompositeSampler:
    """Composite cells [B, 1 + P, H, W]: each from a training cell drawn from the pooled training cells
    of all proteins (so each protein in proportion to its training cells, as the paper's code draws
    from one image folder), the other proteins' greens taken from its red-channel neighbours."""

    def __init__(self, store: dict[str, CellSet], proteins: list[str], neighbours: dict,
                 batch_size: int, rng: torch.Generator, source: str = "cell store"):
        parts = {p: _training_cells(store, p, source) for p in proteins}
        self.images = {p: images for p, (images, _) in parts.items()}
        self.rows = {p: torch.from_numpy(rows) for p, (_, rows) in parts.items()}
        self.proteins = list(proteins)
        self.neighbours = {key: torch.as_tensor(value) for key, value in neighbours.items()
                           if key[0] in parts and key[1] in parts}
        self.batch_size = batch_size
        self.rng = rng
        #: where each protein's training cells start in the pooled order
        self.offsets = torch.tensor([0, *np.cumsum([len(self.rows[p]) for p in self.proteins])])

    def sample(self) -> torch.Tensor:
        pooled = torch.randint(int(self.offsets[-1]), (self.batch_size,), generator=self.rng)
        owner = torch.searchsorted(self.offsets, pooled, right=True) - 1
        x = torch.empty(self.batch_size, 1 + len(self.proteins), *next(iter(self.images.values())).shape[2:])
        for j, protein in enumerate(self.proteins):
            where = (owner == j).nonzero().squeeze(1)
            if len(where):
                rows = self.rows[protein][pooled[where] - self.offsets[j]]
                x[where] = composite(self.images, self.neighbours, protein, rows, self.proteins, self.rng)
        return random_flips(x, self.rng)
