"""Fresh generated cells for the C2ST's generated side, as the paper's code draws them.

The paper's critic sees new generator samples at every training step and every scoring batch, made
by the generator in eval mode, never flipped (only real cells are). A *source* is one generator and
one split; its latents come from its own random streams, seeded by (seed, source key, split), so what
a comparison sees depends on neither the other comparisons of the job nor how they are grouped. All
the splits of one generator go through it in one call.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass

import torch

from biogans.models.latent import sample_noise
from biogans.seeds import derived_seed

#: z [B, nz] -> cells [B, V, C, H, W]: V views (one per protein of a conditional model, else one).
Render = Callable[[torch.Tensor], torch.Tensor]
#: The random streams of a source: critic training, held-out scoring, the classifier's midpoint.
STREAMS = ("train", "score", "midpoint")


@dataclass(frozen=True)
class GeneratorSource:
    """One generator network as a source of cells: its latent size, how to draw its cells, and a key that
    names it in the seeds (e.g. its iteration)."""

    render: Render
    nz: int
    key: str


@dataclass(frozen=True)
class GeneratedSide:
    """Where a comparison's generated cells come from: ``source`` (an index into the job's generator
    sources), the split's stream ``split``, and view ``view`` of the generator's output."""

    source: int
    split: int
    view: int = 0


class GeneratedCells:
    """Batches of fresh generated cells for a list of comparisons' generated sides."""

    def __init__(self, generators: Sequence[GeneratorSource], sides: Sequence[GeneratedSide], seed: int, stream: str,
                 device: torch.device):
        self.generators, self.sides, self.device = list(generators), list(sides), device
        streams = dict.fromkeys((side.source, side.split) for side in self.sides)
        self.rngs = {(m, s): torch.Generator().manual_seed(
            derived_seed(seed, f"generated {self.generators[m].key}", s, STREAMS.index(stream))) for m, s in streams}

    def latents(self, size: int) -> list[torch.Tensor]:
        """``size`` fresh latents for each stream, drawn on the CPU from its rng: one tensor per generator
        that has streams, [streams * size, nz], on the device."""
        return [torch.cat([sample_noise(size, generator.nz, self.rngs[m, s]) for s in self._splits(m)]).to(self.device)
                for m, generator in enumerate(self.generators) if self._splits(m)]

    @torch.no_grad()
    def render(self, latents: Sequence[torch.Tensor]) -> torch.Tensor:
        """The cells of :meth:`latents`' output for every side: [size, G, C, H, W] (G sides, in their order)."""
        cells = {}
        used = [m for m in range(len(self.generators)) if self._splits(m)]
        for m, z in zip(used, latents, strict=True):
            splits = self._splits(m)
            rendered = self.generators[m].render(z).float()
            for s, part in zip(splits, rendered.split(len(z) // len(splits)), strict=True):
                cells[m, s] = part
        return torch.stack([cells[side.source, side.split][:, side.view] for side in self.sides], 1)

    def batch(self, size: int) -> torch.Tensor:
        """``size`` fresh cells for every side: [size, G, C, H, W] (G sides, in their order)."""
        return self.render(self.latents(size))

    def _splits(self, source: int) -> list[int]:
        return [s for (m, s) in self.rngs if m == source]
