"""Separable generators: a red part that sees only red features and green tower(s) that see everything.

At every layer the channels split into a red part and a green part. With ``towers=T`` the green part
is T independent towers computed together (grouped transposed convs), all reading the same red
features: T=1 is the paper's separable generator, T=P the star-shaped one (one green tower per
protein), and ``green_out=P`` with one tower the separable multi-channel generator.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

from biogans.errors import BiogansError
from biogans.models.dcgan import DEPTH, base_map, paper_init_
from biogans.validation import check_positive_int


def red_channels(channels: int, red_portion: float) -> int:
    """Size of the red part of a layer of ``channels`` channels: int(red_portion * channels), as the paper's
    code computes it (so 32 channels at 1/7 give 4), refused unless in 1..C-1."""
    if isinstance(red_portion, bool) or not isinstance(red_portion, (int, float)) or not 0 < red_portion < 1:
        raise BiogansError(f"red_portion must be a number strictly between 0 and 1, got {red_portion!r}")
    red = int(red_portion * channels)
    if not 1 <= red <= channels - 1:
        raise BiogansError(f"red_portion {red_portion} leaves no red or no green channel "
                           f"in a layer of {channels} channel(s)")
    return red


class SeparableLayer(nn.Module):
    """One transposed-conv layer: red' = red->red(red); green'[t] = red->green(red)[t] + green->green(green[t]).

    Batch norm (when on) is applied per part; activations are left to the generator. With
    ``shared_green=True`` (the first layer) every tower reads the same green input, z_green.
    """

    def __init__(self, red_in: int, green_in: int, red_out: int, green_out: int, towers: int,
                 kernel_size: int | tuple[int, int], stride: int, padding: int,
                 shared_green: bool = False, batchnorm: bool = True):
        super().__init__()
        self.red_out, self.green_out, self.towers = red_out, green_out, towers
        self.shared_green, self.stride, self.padding = shared_green, stride, padding
        green_groups = 1 if shared_green else towers
        self.red = nn.ConvTranspose2d(red_in, red_out, kernel_size, stride, padding, bias=False)
        self.red_to_green = nn.ConvTranspose2d(red_in, towers * green_out, kernel_size, stride, padding,
                                               bias=False)
        self.green = nn.ConvTranspose2d(green_groups * green_in, towers * green_out, kernel_size, stride,
                                        padding, groups=green_groups, bias=False)
        self.norm_red = nn.BatchNorm2d(red_out) if batchnorm else None
        self.norm_green = nn.BatchNorm2d(towers * green_out) if batchnorm else None

    def forward(self, red: torch.Tensor, green: torch.Tensor,
                tower: int | None = None) -> tuple[torch.Tensor, torch.Tensor]:
        """(red, green) features -> next (red, green); ``tower=t`` computes only tower t's green part."""
        red_next = self.red(red)
        if self.norm_red is not None:
            red_next = self.norm_red(red_next)
        if tower is None:
            green_next = self.red_to_green(red) + self.green(green)
            if self.norm_green is not None:
                green_next = self.norm_green(green_next)
            return red_next, green_next

        index = self.tower_index(tower)
        red_to_green = self.red_to_green.weight.narrow(*index["red_to_green.weight"])
        green_to_green = self.green.weight.narrow(*index["green.weight"])
        green_next = (F.conv_transpose2d(red, red_to_green, None, self.stride, self.padding)
                      + F.conv_transpose2d(green, green_to_green, None, self.stride, self.padding))
        if self.norm_green is not None:
            green_next = self._tower_norm(green_next, tower)
        return red_next, green_next

    def _tower_norm(self, x: torch.Tensor, tower: int) -> torch.Tensor:
        """Batch norm of one tower's channels through views of the shared parameters and statistics."""
        norm, start, size = self.norm_green, tower * self.green_out, self.green_out
        if norm.training:
            norm.num_batches_tracked.add_(1)
        return F.batch_norm(x, norm.running_mean.narrow(0, start, size), norm.running_var.narrow(0, start, size),
                            norm.weight.narrow(0, start, size), norm.bias.narrow(0, start, size),
                            norm.training, norm.momentum, norm.eps)

    def tower_index(self, tower: int) -> dict[str, tuple[int, int, int]]:
        """Tower ``tower``'s block (dim, start, length) of every state entry that holds per-tower values."""
        out = self.green_out
        index = {"red_to_green.weight": (1, tower * out, out)}
        if self.shared_green:
            index["green.weight"] = (1, tower * out, out)
        else:
            green_in = self.green.weight.shape[0] // self.towers
            index["green.weight"] = (0, tower * green_in, green_in)
        if self.norm_green is not None:
            for name in ("weight", "bias", "running_mean", "running_var"):
                index[f"norm_green.{name}"] = (0, tower * out, out)
        return index


class SeparableGenerator(nn.Module):
    """Separable DCGAN generator: z [B, nz] -> [B, 1 + towers*green_out, H, W] (red, then each tower's greens)."""

    def __init__(self, nz: int, ngf: int, red_portion: float = 0.5, towers: int = 1, green_out: int = 1,
                 height: int = 48, width: int = 80):
        super().__init__()
        for name, value in (("nz", nz), ("ngf", ngf), ("towers", towers), ("green_out", green_out)):
            check_positive_int(name, value)
        kernel = base_map(height, width)
        self.nz, self.ngf, self.red_portion = nz, ngf, red_portion
        self.towers, self.green_out, self.height, self.width = towers, green_out, height, width
        self.nz_red = red_channels(nz, red_portion)

        widths = [ngf * 2 ** (DEPTH - 1 - i) for i in range(DEPTH)]  # 8ngf, 4ngf, 2ngf, ngf
        reds = [red_channels(c, red_portion) for c in widths]
        greens = [c - r for c, r in zip(widths, reds, strict=True)]
        layers = [SeparableLayer(self.nz_red, nz - self.nz_red, reds[0], greens[0], towers, kernel, 1, 0,
                                 shared_green=True)]
        for i in range(DEPTH - 1):
            layers.append(SeparableLayer(reds[i], greens[i], reds[i + 1], greens[i + 1], towers, 4, 2, 1))
        layers.append(SeparableLayer(reds[-1], greens[-1], 1, green_out, towers, 4, 2, 1, batchnorm=False))
        self.layers = nn.ModuleList(layers)
        paper_init_(self)

    def forward(self, z: torch.Tensor, tower: int | None = None) -> torch.Tensor:
        """Images [B, 1 + towers*green_out, H, W]; with ``tower=t`` only tower t: [B, 1 + green_out, H, W]."""
        if tower is not None and not 0 <= tower < self.towers:
            raise BiogansError(f"tower {tower} out of range 0..{self.towers - 1}")
        z = z.reshape(z.shape[0], self.nz, 1, 1)
        red, green = z[:, :self.nz_red], z[:, self.nz_red:]
        for layer in self.layers[:-1]:
            red, green = layer(red, green, tower)
            red, green = F.relu(red, inplace=True), F.relu(green, inplace=True)
        red, green = self.layers[-1](red, green, tower)
        return torch.tanh(torch.cat([red, green], 1)).contiguous()

    def tower_index(self, tower: int) -> dict[str, tuple[int, int, int]]:
        """Tower ``tower``'s block (dim, start, length) of each per-tower state entry; other entries are shared."""
        return {f"layers.{i}.{name}": block
                for i, layer in enumerate(self.layers)
                for name, block in layer.tower_index(tower).items()}

    def tower(self, tower: int) -> SeparableGenerator:
        """A standalone single-tower generator holding a copy of the shared red part and tower ``tower``."""
        if not 0 <= tower < self.towers:
            raise BiogansError(f"tower {tower} out of range 0..{self.towers - 1}")
        single = SeparableGenerator(self.nz, self.ngf, self.red_portion, 1, self.green_out,
                                    self.height, self.width)
        index = self.tower_index(tower)
        state = {key: value.narrow(*index[key]).clone() if key in index else value.clone()
                 for key, value in self.state_dict().items()}
        single.load_state_dict(state)
        return single.train(self.training)
