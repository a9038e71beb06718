"""Torch devices and threads: where every command's ``--device`` and ``--threads`` take effect."""

from __future__ import annotations

import torch

from biogans.errors import BiogansError


def resolve_device(name: str) -> torch.device:
    """``auto`` = CUDA if available, else CPU; a CUDA device asked for on a machine without CUDA is refused."""
    if name == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    if name.startswith("cuda") and not torch.cuda.is_available():
        raise BiogansError(f"device {name} asked for, but CUDA is not available")
    device = torch.device(name)
    if device.type == "cuda" and device.index is not None and device.index >= torch.cuda.device_count():
        raise BiogansError(f"device {name} asked for, but this machine has {torch.cuda.device_count()} CUDA device(s)")
    return device


def set_threads(threads: int) -> None:
    """Torch's intra-op threads for this process."""
    torch.set_num_threads(threads)
