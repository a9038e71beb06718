"""Torch devices, threads and arithmetic: where every command's ``--device``, ``--threads``,
``--precision`` and ``--cuda-graphs`` take effect, and how a speed choice is measured on the machine at hand."""

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


def autocast(device: torch.device, precision: str, cache: bool = True) -> torch.autocast:
    """The networks' arithmetic: bfloat16 autocast for ``bfloat16``, plain float32 (disabled) otherwise.
    ``cache=False`` inside a captured CUDA graph (autocast's weight cache does not survive a capture)."""
    return torch.autocast(device.type, dtype=torch.bfloat16, enabled=precision == "bfloat16", cache_enabled=cache)


def bfloat16_usable(device: torch.device) -> bool:
    """Whether bfloat16 autocast can run here (any CPU; CUDA devices that support it)."""
    return device.type != "cuda" or torch.cuda.is_bf16_supported()


def precision_candidates(precision: str, device: torch.device) -> list[str]:
    """The precisions to choose among: the one asked for, or for ``auto`` float32 and, where it can run
    here, bfloat16 (the faster of them is measured on the machine at hand, see :func:`fastest`)."""
    if precision != "auto":
        return [precision]
    return ["float32", "bfloat16"] if bfloat16_usable(device) else ["float32"]


def graph_candidates(setting: str, device: torch.device) -> list[bool]:
    """Whether to replay training steps as CUDA graphs: never on the CPU or with ``off``, always with ``on``,
    and with ``auto`` both, the faster measured on the machine at hand (small networks on a GPU spend
    their time launching kernels, which a graph replays at once)."""
    if device.type != "cuda" or setting == "off":
        return [False]
    return [True] if setting == "on" else [False, True]


class GraphedStep:
    """A training step (forward, backward, optimiser step; no host synchronisation inside) replayed as a
    CUDA graph: the first ``warmup`` calls run eagerly on a side stream, as capture requires, the next
    one captures the step, and every call from then on copies its tensors into the captured inputs and
    replays it. The step computes the same kernels either way; its outputs are the captured tensors,
    overwritten by the next call. Optimisers must be made with ``capturable=True``."""

    def __init__(self, step: Callable[..., object], warmup: int = 2):
        self.step, self.warmup, self.calls = step, warmup, 0
        self.graph: torch.cuda.CUDAGraph | None = None
        self.inputs: list[torch.Tensor] = []
        self.outputs: object = None

    def __call__(self, *inputs: torch.Tensor) -> object:
        if self.graph is None and self.calls < self.warmup:
            self.calls += 1
            side = torch.cuda.Stream()
            side.wait_stream(torch.cuda.current_stream())
            with torch.cuda.stream(side):
                outputs = self.step(*inputs)
            torch.cuda.current_stream().wait_stream(side)
            return outputs
        if self.graph is None:
            self.inputs = [x.clone() for x in inputs]
            self.graph = torch.cuda.CUDAGraph()
            with torch.cuda.graph(self.graph):
                self.outputs = self.step(*self.inputs)
        for static, x in zip(self.inputs, inputs, strict=True):
            static.copy_(x, non_blocking=True)
        self.graph.replay()
        return self.outputs


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
