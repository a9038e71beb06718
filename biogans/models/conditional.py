"""Conditional models: one green channel per protein for a red channel (star, multi-channel, independent)."""

from __future__ import annotations

from collections.abc import Mapping

import torch
from torch import nn

from biogans.errors import BiogansError
from biogans.models.base import CellGenerator, shared_red_cells
from biogans.models.dcgan import Generator
from biogans.models.joint import JointGenerator
from biogans.models.separable import SeparableGenerator


class StarGenerator(CellGenerator):
    """Star-shaped generator: one shared red tower and one green tower per protein, computed together."""

    conditional = True

    def __init__(self, spec: Mapping):
        super().__init__(spec)
        s = self.spec
        self.net = SeparableGenerator(s["nz"], s["ngf"], s["red_portion"], towers=len(self.proteins),
                                      green_out=1, height=s["height"], width=s["width"])

    def forward(self, z: torch.Tensor) -> torch.Tensor:
        """Images [B, 1 + P, H, W]: red, then one green per protein."""
        return self.net(z)

    def cells(self, z: torch.Tensor, protein: int | None = None) -> torch.Tensor:
        """[B, P, 2, H, W]; for one ``protein`` only the red and that protein's tower are computed."""
        if protein is None:
            return shared_red_cells(self(z))
        self._check_protein(protein, len(self.proteins))
        return self.net(z, tower=protein)

    def to_critic(self, x: torch.Tensor) -> torch.Tensor:
        """[B, 1 + P, H, W] -> [B, 2P, H, W] as (red, green_1, red, green_2, ...): one critic per protein."""
        return shared_red_cells(x).flatten(1, 2)


class MultichannelGenerator(CellGenerator):
    """One generator of 1 + P channels trained on composite images (DCGAN, or separable with P green outputs)."""

    conditional = True

    def __init__(self, spec: Mapping):
        super().__init__(spec)
        s, n_proteins = self.spec, len(self.proteins)
        if s["separable"]:
            self.net = SeparableGenerator(s["nz"], s["ngf"], s["red_portion"], towers=1, green_out=n_proteins,
                                          height=s["height"], width=s["width"])
        else:
            self.net = Generator(s["nz"], s["ngf"], 1 + n_proteins, s["height"], s["width"])

    def forward(self, z: torch.Tensor) -> torch.Tensor:
        """Images [B, 1 + P, H, W]: red, then one green per protein."""
        return self.net(z)

    def cells(self, z: torch.Tensor, protein: int | None = None) -> torch.Tensor:
        """[B, P, 2, H, W] viewed as star-shaped (the shared red with each green); [B, 2, H, W] for one protein."""
        images = self(z)
        if protein is None:
            return shared_red_cells(images)
        self._check_protein(protein, len(self.proteins))
        return images[:, [0, 1 + protein]]


class IndependentGenerator(CellGenerator):
    """One 2-channel generator per protein, trained separately and bundled for evaluation."""

    conditional = True

    def __init__(self, spec: Mapping):
        super().__init__(spec)
        self.parts = nn.ModuleList(JointGenerator(part) for part in self.spec["parts"])

    def forward(self, z: torch.Tensor) -> torch.Tensor:
        """Images [B, 1 + P, H, W]: the first protein's red, then every protein's green for the same z."""
        images = [part(z) for part in self.parts]
        return torch.cat([images[0][:, :1]] + [x[:, 1:] for x in images], 1)

    def cells(self, z: torch.Tensor, protein: int | None = None) -> torch.Tensor:
        """[B, P, 2, H, W], each protein's cell from its own generator (its own red)."""
        if protein is None:
            return torch.stack([part(z) for part in self.parts], 1)
        self._check_protein(protein, len(self.parts))
        return self.parts[protein](z)

    def to_critic(self, x: torch.Tensor) -> torch.Tensor:
        """Not available: the parts are trained one by one as joint models (critic_layout describes cells)."""
        raise BiogansError("an independent model is trained part by part; train each part as a joint model")
