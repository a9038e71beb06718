"""The DCGAN generator and the (grouped) DCGAN critic for two-channel cell images.

A critic with ``groups=G`` holds G independent critics in one set of grouped convolutions: its input
is [B, G*C, H, W] (group g's channels contiguous) and its output [B, G]. The star-shaped model's
per-protein critics and the C2ST's per-split critics run this way without a Python loop.
"""

from __future__ import annotations

from itertools import pairwise

import torch
from torch import nn

from biogans.errors import BiogansError
from biogans.validation import check_positive_int

#: Number of stride-2 layers: a 48x80 image becomes a 3x5 map.
DEPTH = 4


def paper_init_(module: nn.Module) -> nn.Module:
    """The paper's initialisation, in place: conv weights N(0, 0.02), BatchNorm N(1, 0.02), biases 0."""
    for layer in module.modules():
        if isinstance(layer, (nn.Conv2d, nn.ConvTranspose2d)):
            nn.init.normal_(layer.weight, 0.0, 0.02)
            if layer.bias is not None:
                nn.init.zeros_(layer.bias)
        elif isinstance(layer, nn.BatchNorm2d):
            nn.init.normal_(layer.weight, 1.0, 0.02)
            nn.init.zeros_(layer.bias)
    return module


def base_map(height: int, width: int) -> tuple[int, int]:
    """The smallest feature map (H/16, W/16); the image size must be a positive multiple of 16."""
    scale = 2**DEPTH
    for name, size in (("height", height), ("width", width)):
        if isinstance(size, bool) or not isinstance(size, int) or size < scale or size % scale:
            raise BiogansError(f"image {name} {size!r} is not a positive multiple of {scale}")
    return height // scale, width // scale


class Generator(nn.Module):
    """DCGAN generator: z [B, nz] -> transposed convs from a (H/16, W/16) map -> tanh image [B, C, H, W]."""

    def __init__(self, nz: int, ngf: int, out_channels: int = 2, height: int = 48, width: int = 80):
        super().__init__()
        for name, value in (("nz", nz), ("ngf", ngf), ("out_channels", out_channels)):
            check_positive_int(name, value)
        kernel = base_map(height, width)
        self.nz, self.ngf, self.out_channels = nz, ngf, out_channels
        self.height, self.width = height, width

        widths = [ngf * 2 ** (DEPTH - 1 - i) for i in range(DEPTH)]  # 8ngf, 4ngf, 2ngf, ngf
        layers: list[nn.Module] = [
            nn.ConvTranspose2d(nz, widths[0], kernel, 1, 0, bias=False),
            nn.BatchNorm2d(widths[0]),
            nn.ReLU(inplace=True),
        ]
        for c_in, c_out in pairwise(widths):
            layers += [
                nn.ConvTranspose2d(c_in, c_out, 4, 2, 1, bias=False),
                nn.BatchNorm2d(c_out),
                nn.ReLU(inplace=True),
            ]
        layers += [nn.ConvTranspose2d(widths[-1], out_channels, 4, 2, 1, bias=False), nn.Tanh()]
        self.main = nn.Sequential(*layers)
        paper_init_(self)

    def forward(self, z: torch.Tensor) -> torch.Tensor:
        return self.main(z.reshape(z.shape[0], self.nz, 1, 1)).contiguous()


class Critic(nn.Module):
    """DCGAN critic(s): ``groups`` independent critics as grouped convs; [B, G*C, H, W] -> scores [B, G]."""

    def __init__(self, in_channels: int, ndf: int, groups: int = 1, batchnorm: bool = True,
                 height: int = 48, width: int = 80):
        super().__init__()
        for name, value in (("in_channels", in_channels), ("ndf", ndf), ("groups", groups)):
            check_positive_int(name, value)
        kernel = base_map(height, width)
        self.in_channels, self.ndf, self.groups = in_channels, ndf, groups
        self.batchnorm, self.height, self.width = batchnorm, height, width

        g = groups
        widths = [ndf * 2**i for i in range(DEPTH)]  # ndf, 2ndf, 4ndf, 8ndf
        layers: list[nn.Module] = [
            nn.Conv2d(g * in_channels, g * widths[0], 4, 2, 1, groups=g, bias=False),
            nn.LeakyReLU(0.2, inplace=True),
        ]
        for c_in, c_out in pairwise(widths):
            layers.append(nn.Conv2d(g * c_in, g * c_out, 4, 2, 1, groups=g, bias=False))
            if batchnorm:
                layers.append(nn.BatchNorm2d(g * c_out))
            layers.append(nn.LeakyReLU(0.2, inplace=True))
        layers.append(nn.Conv2d(g * widths[-1], g, kernel, 1, 0, groups=g, bias=False))
        self.main = nn.Sequential(*layers)
        paper_init_(self)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.main(x).reshape(x.shape[0], self.groups)

    def _config(self, groups: int) -> dict:
        return dict(in_channels=self.in_channels, ndf=self.ndf, groups=groups,
                    batchnorm=self.batchnorm, height=self.height, width=self.width)

    @classmethod
    def from_single(cls, critics: list[Critic]) -> Critic:
        """One grouped critic whose group g is a copy of ``critics[g]`` (which may be grouped too)."""
        if not critics:
            raise BiogansError("no critics to stack")
        first = critics[0]
        config = first._config(groups=1)
        for critic in critics:
            if critic._config(groups=1) != config:
                raise BiogansError(f"critics to stack differ: {critic._config(1)} vs {config}")
        stacked = cls(**first._config(groups=sum(c.groups for c in critics)))
        states = [c.state_dict() for c in critics]
        # Every per-group tensor (conv weight, BatchNorm parameter or buffer) is blocked along dim 0.
        merged = {key: torch.cat([s[key] for s in states]) if value.dim() else value.clone()
                  for key, value in states[0].items()}
        stacked.load_state_dict(merged)
        return stacked.train(first.training)

    def group(self, g: int) -> Critic:
        """A standalone single critic holding a copy of group ``g``'s weights."""
        if not 0 <= g < self.groups:
            raise BiogansError(f"critic group {g} out of range 0..{self.groups - 1}")
        single = type(self)(**self._config(groups=1))
        state = {key: value.chunk(self.groups)[g].clone() if value.dim() else value.clone()
                 for key, value in self.state_dict().items()}
        single.load_state_dict(state)
        return single.train(self.training)
