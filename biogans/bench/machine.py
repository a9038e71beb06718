"""The machine a benchmark ran on, recorded beside its numbers so that figures from different machines
are never compared by mistake."""

from __future__ import annotations

import os
import platform
from pathlib import Path

import torch

#: CPU flags that decide which arithmetic is fast: bfloat16 instructions and AMX matrix tiles.
FLAGS = ("avx2", "avx512f", "avx512_bf16", "amx_tile", "amx_bf16")


def cpu_model_and_flags(cpuinfo: Path = Path("/proc/cpuinfo")) -> tuple[str, list[str]]:
    """The processor's model name and which of :data:`FLAGS` it has (Linux; elsewhere the platform's name)."""
    try:
        text = cpuinfo.read_text()
    except OSError:
        return platform.processor() or platform.machine(), []
    fields = dict(line.split(":", 1) for line in text.splitlines() if ":" in line)
    fields = {key.strip(): value.strip() for key, value in fields.items()}
    have = set(fields.get("flags", "").split())
    return fields.get("model name", platform.machine()), [flag for flag in FLAGS if flag in have]


def machine_info(device: torch.device) -> dict:
    """CPU model, cores, the flags that matter, torch version and, on a GPU, its name and memory."""
    model, flags = cpu_model_and_flags()
    info = {
        "cpu": model,
        "cores": len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count(),
        "cpu_flags": flags,
        "threads": torch.get_num_threads(),
        "torch": torch.__version__,
        "python": platform.python_version(),
        "device": str(device),
    }
    if device.type == "cuda":
        props = torch.cuda.get_device_properties(device)
        info.update(gpu=props.name, gpu_memory_gib=round(props.total_memory / 2**30, 1),
                    gpu_multiprocessors=props.multi_processor_count, cuda=torch.version.cuda)
    return info
