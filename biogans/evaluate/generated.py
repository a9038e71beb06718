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

import numpy as np
import torch

from biogans.models.latent import sample_noise
from biogans.seeds import stable_id

#: z [B, nz] -> cells [B, V, C, H, W]: V views (one per protein of a conditional model, else one).
Render = Callable[[torch.Tensor], torch.Tensor]
#: The random streams of a source: critic training, held-out scoring, the classifier's midpoint.
STREAMS = ("train", "score", "midpoint")


@dataclass(frozen=True)
class Generator:
    """One generator as a source of cells: its latent size, how to draw its cells, and a key that names
    it in the seeds (e.g. its iteration)."""

    render: Render
    nz: int
    key: str


@dataclass(frozen=True)
class GeneratedSide:
    """Where a comparison's generated cells come from: generator ``model`` (an index into the job's
    generators), the split's stream ``split``, and view ``view`` of the generator's output."""

    model: int
    split: int
    view: int = 0


class GeneratedCells:
    """Batches of fresh generated cells for a list of comparisons' generated sides."""

    def __init__(self, generators: Sequence[Generator], sides: Sequence[GeneratedSide], seed: int, stream: str,
                 device: torch.device):
        self.generators, self.sides, self.device = list(generators), list(sides), device
        sources = list(dict.fromkeys((side.model, side.split) for side in self.sides))
        self.rngs = {(m, s): torch.Generator().manual_seed(self._seed(seed, self.generators[m].key, s, stream))
                     for m, s in sources}

    @staticmethod
    def _seed(seed: int, key: str, split: int, stream: str) -> int:
        entropy = [seed, stable_id(f"generated {key}"), split, STREAMS.index(stream)]
        return int(np.random.SeedSequence(entropy).generate_state(1, np.uint64)[0] >> 1)

    @torch.no_grad()
    def batch(self, size: int) -> torch.Tensor:
        """``size`` fresh cells for every side: [size, G, C, H, W] (G sides, in their order)."""
        cells = {}
        for m, generator in enumerate(self.generators):
            splits = [s for (model, s) in self.rngs if model == m]
            if not splits:
                continue
            z = torch.cat([sample_noise(size, generator.nz, self.rngs[m, s]) for s in splits])
            rendered = generator.render(z.to(self.device)).float()
            for s, part in zip(splits, rendered.split(size)):
                cells[m, s] = part
        return torch.stack([cells[side.model, side.split][:, side.view] for side in self.sides], 1)
