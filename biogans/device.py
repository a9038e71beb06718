"""Torch devices, threads and arithmetic: where every command's ``--device``, ``--threads`` and
``--precision`` take effect, and how a speed choice is measured on the machine at hand."""

from __future__ import annotations

import time
from collections.abc import Callable, Mapping
from typing import TypeVar

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


def autocast(device: torch.device, precision: str) -> torch.autocast:
    """The networks' arithmetic: bfloat16 autocast for ``bfloat16``, plain float32 (disabled) otherwise."""
    return torch.autocast(device.type, dtype=torch.bfloat16, enabled=precision == "bfloat16")


def bfloat16_usable(device: torch.device) -> bool:
    """Whether bfloat16 autocast can run here (any CPU; CUDA devices that support it)."""
    return device.type != "cuda" or torch.cuda.is_bf16_supported()


def precision_candidates(precision: str, device: torch.device) -> list[str]:
    """The precisions to choose among: the one asked for, or for ``auto`` float32 and, where it can run
    here, bfloat16 (the faster of them is measured on the machine at hand, see :func:`fastest`)."""
    if precision != "auto":
        return [precision]
    return ["float32", "bfloat16"] if bfloat16_usable(device) else ["float32"]


Choice = TypeVar("Choice")


def fastest(candidates: Mapping[Choice, Callable[[], object]], repeats: int = 2) -> tuple[Choice, dict]:
    """The candidate whose call runs fastest here, and each one's seconds: one warm-up call each, then the
    best of ``repeats`` timed calls, taken in turns so that a change of machine load hits them alike."""
    for call in candidates.values():
        finished(call)
    seconds = {name: float("inf") for name in candidates}
    for _ in range(repeats):
        for name, call in candidates.items():
            seconds[name] = min(seconds[name], timed(call))
    return min(seconds, key=seconds.get), seconds


def finished(call: Callable[[], object]) -> None:
    """Call, then wait for the GPU work it queued: that work counts to its own call, not the next one."""
    call()
    if torch.cuda.is_available() and torch.cuda.is_initialized():
        torch.cuda.synchronize()


def timed(call: Callable[[], object]) -> float:
    """Seconds of one call, its queued GPU work included."""
    start = time.perf_counter()
    finished(call)
    return time.perf_counter() - start
