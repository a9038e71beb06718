"""The generator interface the rest of biogans sees: spec, latent sizes, proteins, images and cells."""

from __future__ import annotations

import copy
from collections.abc import Mapping

import torch
from torch import nn

from biogans.errors import BiogansError
from biogans.models.specs import check_spec, critic_layout_of, nz_red_of


class CellGenerator(nn.Module):
    """Base of every generator: built from a spec; maps z [B, nz] to cell images in [-1, 1].

    ``forward(z)`` gives [B, C, H, W]: red and green for joint models, red then one green per protein
    for conditional ones. ``cells(z)`` gives per-protein two-channel cells [B, P, 2, H, W].
    """

    #: True for models that generate one green channel per protein.
    conditional: bool = False

    def __init__(self, spec: Mapping):
        super().__init__()
        check_spec(spec)
        self.spec: dict = copy.deepcopy(dict(spec))
        self.nz: int = spec["nz"]
        self.nz_red: int = nz_red_of(spec)
        self.proteins: list[str] = list(spec["proteins"])
        self.height: int = spec["height"]
        self.width: int = spec["width"]

    @property
    def critic_layout(self) -> tuple[int, int]:
        """(groups, channels) of ``to_critic``'s output: the critic that trains this generator."""
        return critic_layout_of(self.spec)

    def cells(self, z: torch.Tensor, protein: int | None = None) -> torch.Tensor:
        """Per-protein cells [B, P, 2, H, W] (red, green_p); [B, 2, H, W] for one ``protein`` index."""
        raise NotImplementedError

    def to_critic(self, x: torch.Tensor) -> torch.Tensor:
        """Lay ``forward``'s output out for the critic: [B, groups * channels, H, W]."""
        return x

    def _check_protein(self, protein: int, count: int) -> None:
        if isinstance(protein, bool) or not isinstance(protein, int) or not 0 <= protein < count:
            raise BiogansError(f"protein index {protein!r} out of range 0..{count - 1}")


def shared_red_cells(images: torch.Tensor) -> torch.Tensor:
    """[B, 1 + P, H, W] (red, green_1..P) -> [B, P, 2, H, W]: each green paired with the shared red."""
    red, greens = images[:, :1], images[:, 1:]
    return torch.stack([red.expand_as(greens), greens], dim=2)
