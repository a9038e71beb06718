"""Joint models: one two-channel (red, green) generator, DCGAN or separable, trained on merged proteins."""

from __future__ import annotations

from collections.abc import Mapping

import torch

from biogans.errors import BiogansError
from biogans.models.base import CellGenerator
from biogans.models.dcgan import Generator
from biogans.models.separable import SeparableGenerator


class JointGenerator(CellGenerator):
    """A 2-channel generator (spec architecture ``dcgan`` or ``separable``); also a part of an independent model."""

    conditional = False

    def __init__(self, spec: Mapping):
        super().__init__(spec)
        s = self.spec
        if s["architecture"] == "dcgan":
            self.net = Generator(s["nz"], s["ngf"], 2, s["height"], s["width"])
        elif s["architecture"] == "separable":
            self.net = SeparableGenerator(s["nz"], s["ngf"], s["red_portion"], 1, 1, s["height"], s["width"])
        else:
            raise BiogansError(f"a joint generator is dcgan or separable, not {s['architecture']}")

    def forward(self, z: torch.Tensor) -> torch.Tensor:
        """Cells [B, 2, H, W] (red, green) in [-1, 1]."""
        return self.net(z)

    def cells(self, z: torch.Tensor, protein: int | None = None) -> torch.Tensor:
        """[B, 1, 2, H, W]; [B, 2, H, W] for ``protein=0`` (a joint model has one 'protein')."""
        if protein is None:
            return self(z).unsqueeze(1)
        self._check_protein(protein, 1)
        return self(z)
