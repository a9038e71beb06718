"""Latent vectors: Gaussian noise, the paper's fixed sample noise, and interpolation for the cell-cycle figure."""

from __future__ import annotations

from collections.abc import Mapping

import torch
from torch import nn

from biogans.errors import BiogansError
from biogans.models.specs import check_spec, nz_red_of


def sample_noise(n: int, nz: int, rng: torch.Generator | None = None) -> torch.Tensor:
    """z ~ N(0, I): [n, nz], drawn from ``rng`` for reproducibility."""
    return torch.randn(n, nz, generator=rng)


def fixed_noise(model_or_spec: nn.Module | Mapping, n: int = 64, group: int = 8, seed: int = 0) -> torch.Tensor:
    """The fixed noise for sample sheets: [n, nz]; for separable models (nz_red > 0) each run of
    ``group`` consecutive vectors shares the red part of z, so a sheet shows greens for one red."""
    if isinstance(model_or_spec, Mapping):
        spec = check_spec(model_or_spec)
        nz, nz_red = spec["nz"], nz_red_of(spec)
    else:
        nz, nz_red = model_or_spec.nz, model_or_spec.nz_red
    if group < 1:
        raise BiogansError(f"fixed noise group size must be positive, got {group}")
    z = sample_noise(n, nz, torch.Generator().manual_seed(seed))
    if nz_red:
        leaders = torch.arange(n) // group * group
        z[:, :nz_red] = z[leaders, :nz_red]
    return z


def interpolate(z0: torch.Tensor, z1: torch.Tensor, steps: int, mode: str = "slerp") -> torch.Tensor:
    """``steps`` latents from z0 to z1 (both ends included): [steps, nz].

    ``slerp`` follows the great circle (keeps the norm typical of Gaussian latents); ``linear`` the chord.
    """
    z0, z1 = z0.reshape(-1), z1.reshape(-1)
    if z0.shape != z1.shape:
        raise BiogansError(f"cannot interpolate between latents of sizes {z0.numel()} and {z1.numel()}")
    if mode not in ("slerp", "linear"):
        raise BiogansError(f"unknown interpolation mode {mode!r} (slerp or linear)")
    if steps < 1:
        raise BiogansError(f"interpolation needs at least one step, got {steps}")
    t = torch.linspace(0, 1, steps, dtype=z0.dtype, device=z0.device)[:, None]
    if mode == "slerp":
        cosine = torch.dot(z0, z1) / (z0.norm() * z1.norm()).clamp_min(1e-12)
        omega = torch.arccos(cosine.clamp(-1, 1))
        if torch.sin(omega) > 1e-6:
            return (torch.sin((1 - t) * omega) * z0 + torch.sin(t * omega) * z1) / torch.sin(omega)
    return (1 - t) * z0 + t * z1
