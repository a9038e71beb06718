"""Generator files, resume state and the metrics' feature network on disk.

All three are plain dicts of tensors and JSON-like metadata written with ``torch.save`` through a
temporary file and an atomic rename, and read back with ``torch.load(..., weights_only=True)``:
a file holding anything else (arbitrary pickled objects) is refused, never unpickled.

- ``generator_<iter>.pt``: {"format", "version", "spec", "iteration", "state_dict"}; the model is
  rebuilt from ``spec`` with :func:`biogans.models.build`, without the config.
- ``resume.pt``: everything to continue a killed run: generator, critic, both optimisers, the
  iteration and every random-number generator state.
- ``features.pt``: the metrics' feature network (:mod:`biogans.train.features`).
"""

from __future__ import annotations

import pickle
import warnings
import zipfile
from pathlib import Path
from typing import Any

import torch
from torch import nn

from biogans import __version__
from biogans.errors import BiogansError
from biogans.files import atomic_path

GENERATOR_FORMAT = "biogans-generator/1"
RESUME_FORMAT = "biogans-resume/1"
FEATURES_FORMAT = "biogans-features/1"
#: The entries of each file format and their types, checked before anything is built from a file.
STRUCTURE: dict[str, dict[str, type | tuple[type, ...]]] = {
    GENERATOR_FORMAT: {"version": str, "spec": dict, "iteration": int, "state_dict": dict},
    RESUME_FORMAT: {"version": str, "identity": str, "iteration": int, "seconds": (int, float), "generator": dict,
                    "critic": dict, "opt_generator": dict, "opt_critic": dict, "rng": dict},
    FEATURES_FORMAT: {"version": str, "spec": dict, "state_dict": dict, "accuracy": float, "protein_accuracy": dict,
                      "n_train": int, "n_test": int, "epochs": int},
}


def save_file(path: str | Path, payload: dict[str, Any]) -> None:
    """``torch.save`` to a temporary file, then rename: the file is whole or absent. torch writes through a
    Python file object, so that a failed write (a full disk) keeps its OSError for the one-line message."""
    with atomic_path(path) as tmp, open(tmp, "wb") as f:
        torch.save(payload, f)


def load_file(path: str | Path, expected_format: str) -> dict[str, Any]:
    """Load a biogans .pt file safely (``weights_only=True``), checked against its format's
    :data:`STRUCTURE`, with one-line errors for bad files."""
    path = Path(path)
    if not path.is_file():
        raise BiogansError(f"{path}: no such file")
    try:
        with warnings.catch_warnings():  # torch warns of some foreign files before refusing them: one line only
            warnings.simplefilter("ignore")
            payload = torch.load(path, map_location="cpu", weights_only=True)
    except pickle.UnpicklingError:
        if _whole_archive(path):  # the safe loader refused what the intact pickle holds (a class, a function)
            raise BiogansError(f"{path}: holds objects other than tensors and plain metadata; refused "
                               "(only files written by biogans are loaded)") from None
        raise BiogansError(f"{path}: corrupted or truncated checkpoint (not a torch file)") from None
    except Exception as exc:  # noqa: BLE001 - torch's loader raises many kinds of error on garbage input
        raise BiogansError(f"{path}: corrupted or truncated checkpoint ({_first_line(exc)})") from None
    if not isinstance(payload, dict) or payload.get("format") != expected_format:
        found = payload.get("format") if isinstance(payload, dict) else type(payload).__name__
        raise BiogansError(f"{path}: not a {expected_format} file (found {found!r})")
    for key, kind in STRUCTURE[expected_format].items():
        if not isinstance(payload.get(key), kind) or isinstance(payload.get(key), bool):
            raise BiogansError(f"{path}: damaged {expected_format} file (entry {key!r} missing or of the wrong type)")
    weights = payload.get("state_dict", payload.get("generator"))
    if not all(isinstance(k, str) and isinstance(v, torch.Tensor) for k, v in weights.items()):
        raise BiogansError(f"{path}: damaged {expected_format} file (weights that are not named tensors)")
    return payload


def _whole_archive(path: Path) -> bool:
    """Whether ``path`` is a torch file as torch.save writes it, undamaged: a zip archive holding a pickle
    (``data.pkl``) whose every record matches its checksum. Decided from the file's structure, not from the
    wording of torch's errors, which changes between releases."""
    try:
        with zipfile.ZipFile(path) as archive:
            pickled = any(name.rsplit("/", 1)[-1] == "data.pkl" for name in archive.namelist())
            return pickled and archive.testzip() is None
    except Exception:  # noqa: BLE001 - zipfile raises many kinds of error on damaged archives
        return False


def _first_line(error: BaseException) -> str:
    return str(error).splitlines()[0] if str(error).strip() else type(error).__name__


def save_generator(path: str | Path, model: nn.Module, iteration: int) -> None:
    """Write a generator file: its spec, the iteration and a CPU copy of its weights."""
    _save_generator_state(path, model.spec, model.state_dict(), iteration)


def _save_generator_state(path: str | Path, spec: dict, state_dict: dict, iteration: int) -> None:
    save_file(path, {
        "format": GENERATOR_FORMAT,
        "version": __version__,
        "spec": spec,
        "iteration": int(iteration),
        "state_dict": {k: v.detach().cpu() for k, v in state_dict.items()},
    })


def assemble_generators(part_paths: list[str | Path], out_path: str | Path) -> None:
    """Bundle per-protein generator files (one 2-channel model each, same iteration) into one
    independent-model generator file."""
    from biogans.models import assemble_independent

    parts, iterations = [], set()
    for path in part_paths:
        payload = load_file(path, GENERATOR_FORMAT)
        spec = payload["spec"]
        if spec.get("architecture") not in ("dcgan", "separable") or len(spec.get("proteins", [])) != 1:
            raise BiogansError(f"{path}: not a one-protein two-channel generator (an independent model's part)")
        parts.append((spec, payload["state_dict"]))
        iterations.add(payload["iteration"])
    if len(iterations) > 1:
        raise BiogansError(f"parts come from different iterations {sorted(iterations)}: "
                           f"{', '.join(map(str, part_paths))}")
    spec, state = assemble_independent(parts, source=", ".join(map(str, part_paths)))
    _save_generator_state(out_path, spec, state, iterations.pop())


def load_generator(path: str | Path, device: str | torch.device = "cpu") -> nn.Module:
    """Rebuild a generator from its file (spec + weights), in eval mode on ``device``."""
    from biogans.models import build

    payload = load_file(path, GENERATOR_FORMAT)
    model = build(payload["spec"], source=str(path))
    try:
        model.load_state_dict(payload["state_dict"])
    except RuntimeError as exc:
        detail = " ".join(str(exc).split())[:200]
        raise BiogansError(f"{path}: weights do not match the stored spec ({detail})") from None
    if payload["iteration"] < 0:
        raise BiogansError(f"{path}: damaged generator file (iteration {payload['iteration']})")
    model.iteration = payload["iteration"]
    return model.to(device).eval()


def rng_state(rng: torch.Generator) -> dict[str, Any]:
    """Every random state a training run draws from: its own rng (key "generator"), torch's CPU and CUDA RNGs."""
    state = {"generator": rng.get_state(), "torch": torch.get_rng_state()}
    if torch.cuda.is_available():
        state["cuda"] = torch.cuda.get_rng_state_all()
    return state


def restore_rng_state(rng: torch.Generator, state: dict[str, Any]) -> None:
    rng.set_state(state["generator"])
    torch.set_rng_state(state["torch"])
    if "cuda" in state and torch.cuda.is_available():
        torch.cuda.set_rng_state_all(state["cuda"])
