"""Sample sets to evaluate: the files ``biogans sample`` writes (or any program writing the same layouts),
and cells drawn from a generator file.

Accepted files, checked on open (one-line errors naming the file; sizes checked before any pixel is read):
- OME-TIFF, axes TCYX, float32 in [0, 1], cells 48x80, channels named either
  ``Bgs4, P1, ..., Pk`` (all-protein cells: one red and every protein's green, as star-shaped and
  multi-channel models write; ``biogans sample --protein P`` writes the one-protein case ``Bgs4, P``),
  ``Bgs4 (P1), P1, Bgs4 (P2), P2, ...`` (pairs, as independent models write), or ``Bgs4, P1/P2/...`` (a
  joint model's merged proteins);
- the HDF5 cell store ``biogans sample`` writes: group ``all_proteins`` (``--all-proteins``: channels
  ``Bgs4, P1, ..., Pk``) or one group per protein (channels ``Bgs4, P``).
Every protein must be one of the configured proteins (the cell store's).

A :class:`SampleSet` holds per-protein cells [N, 2, 48, 80] in [-1, 1] (the C2ST bank's scaling: pixel
value v in [0, 1] -> 2v - 1, uint8 u -> u / 127.5 - 1), keyed by protein, or by ``all`` for merged
proteins; all-protein files also keep their joint cells [N, 1 + k, 48, 80] (red, then the greens).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import h5py
import numpy as np
import torch

from biogans.data.loaders import cell_tensor
from biogans.data.store import open_store, read_store
from biogans.device import resolve_device
from biogans.errors import BiogansError
from biogans.evaluate.c2st_modes import ALL_PROTEINS_GROUP
from biogans.models.latent import sample_noise
from biogans.ome import read_ome_metadata, read_ome_tiff
from biogans.proteins import CELL_SHAPE, RED
from biogans.train.checkpoints import load_generator
from biogans.validation import MAX_PROTEINS

#: The key of a joint model's merged proteins (as in Table 2).
MERGED = "all"
#: Pixel values (cells x channels x 48 x 80) a sample file may declare: 2 GiB as float32.
MAX_VALUES = 2**29
OME_SUFFIXES = (".ome.tif", ".ome.tiff")


@dataclass(frozen=True)
class SampleSet:
    """Cells to evaluate: ``cells`` {protein, or ``all`` for merged proteins: [N, 2, H, W] in [-1, 1]};
    ``joint`` [N, 1 + k, H, W] (red, then the greens of ``joint_proteins``) for all-protein files;
    ``merged`` the proteins behind ``all``."""

    source: str
    cells: dict[str, torch.Tensor]
    joint: torch.Tensor | None = None
    joint_proteins: tuple[str, ...] = ()
    merged: tuple[str, ...] = ()

    def proteins_of(self, key: str) -> tuple[str, ...]:
        """The real proteins a set stands for: itself, or the merged ones."""
        return self.merged if key == MERGED else (key,)


def load_samples(path: str | Path, proteins: Sequence[str], min_cells: int = 2, n: int = 1000, seed: int = 0,
                 device: str = "cpu") -> SampleSet:
    """A sample file (OME-TIFF or HDF5), or ``n`` cells per protein drawn from a generator file (.pt) with
    latents seeded by ``seed`` (as ``biogans sample --n n --seed seed`` draws them)."""
    if Path(path).suffix == ".pt":
        samples = generator_samples(path, n, seed, device)
        _check_proteins(path, [p for key in samples.cells for p in samples.proteins_of(key)], proteins,
                        "modelled protein")
    else:
        samples = read_samples(path, proteins)
    for key, cells in samples.cells.items():
        if len(cells) < min_cells:
            raise BiogansError(f"{path}: {len(cells)} cells of {key}; at least {min_cells} are needed")
    return samples


def read_samples(path: str | Path, proteins: Sequence[str]) -> SampleSet:
    """Read and check a sample file (see the module's docstring for the layouts)."""
    path = Path(path)
    if path.name.lower().endswith(OME_SUFFIXES):
        return _read_ome(path, proteins)
    if path.suffix.lower() == ".h5":
        return _read_hdf5(path, proteins)
    raise BiogansError(f"{path}: not a sample file (expected .ome.tif, .ome.tiff, .h5 or a generator .pt)")


def _read_ome(path: Path, proteins: Sequence[str]) -> SampleSet:
    meta = read_ome_metadata(path)
    if meta.axes is None:
        raise BiogansError(f"{path}: no OME-XML metadata; not an OME-TIFF")
    sizes = dict(zip(meta.axes, meta.shape, strict=True))
    if any(sizes.get(ax, 1) != 1 for ax in set(sizes) - set("TCYX")):
        raise BiogansError(f"{path}: image of axes {meta.axes} and shape {meta.shape} is not a TCYX stack of cells")
    n, channels, height, width = (sizes.get(ax, 1) for ax in "TCYX")
    _check_size(path, n, channels, height, width)
    if meta.pixel_type != "float":
        raise BiogansError(f"{path}: pixels are {meta.pixel_type}; expected float32 in [0, 1] (as biogans sample "
                           "writes)")
    if meta.channel_names is None or len(meta.channel_names) != channels:
        raise BiogansError(f"{path}: the {channels} channels are not each named; expected {RED} and protein names")
    data, _, _ = read_ome_tiff(path)
    if data.shape != (n, channels, height, width):
        raise BiogansError(f"{path}: image data of shape {data.shape} differ from the OME-XML's {meta.shape}")
    if not np.isfinite(data).all() or data.min() < 0 or data.max() > 1:
        raise BiogansError(f"{path}: values must be finite and within [0, 1]")
    images = torch.from_numpy(data.astype(np.float32)) * 2 - 1
    return _from_channels(path, images, list(meta.channel_names), proteins)


def _check_size(path: Path, n: int, channels: int, height: int, width: int) -> None:
    """At least one cell, 48x80, a plausible channel count and at most :data:`MAX_VALUES` values, before
    reading."""
    if n < 1:
        raise BiogansError(f"{path}: no cells")
    if (height, width) != CELL_SHAPE:
        raise BiogansError(f"{path}: cells are {height}x{width}; expected {CELL_SHAPE[0]}x{CELL_SHAPE[1]}")
    if not 2 <= channels <= 2 * MAX_PROTEINS:
        raise BiogansError(f"{path}: {channels} channels; expected 2 to {2 * MAX_PROTEINS}")
    if n * channels * height * width > MAX_VALUES:
        raise BiogansError(f"{path}: {n} cells of {channels} channels exceed the limit of {MAX_VALUES} values")


def _read_hdf5(path: Path, proteins: Sequence[str]) -> SampleSet:
    with open_store(path) as f:  # sizes first: read_store reads whole groups
        groups = list(f.keys())
        shapes = [f[g]["images"].shape for g in groups
                  if isinstance(f[g], h5py.Group) and isinstance(f[g].get("images"), h5py.Dataset)]
    if not groups:
        raise BiogansError(f"{path}: no cell groups")
    for shape in shapes:
        if len(shape) == 4:
            _check_size(path, *shape)
    if ALL_PROTEINS_GROUP in groups:
        cells = read_store(path, [ALL_PROTEINS_GROUP])[ALL_PROTEINS_GROUP]
        return _from_channels(path, cell_tensor(cells), cells.channels, proteins)
    _check_proteins(path, groups, proteins, "group")
    sets = {}
    for group, cells in read_store(path, groups).items():
        if cells.channels != [RED, group]:
            raise BiogansError(f"{path}: group {group} has channels {', '.join(cells.channels)}; "
                               f"expected {RED}, {group}")
        sets[group] = cell_tensor(cells)
    return SampleSet(str(path), sets)


def _from_channels(path: Path, images: torch.Tensor, names: list[str], proteins: Sequence[str]) -> SampleSet:
    """Per-protein cells (and joint cells) from [N, C, H, W] cells in [-1, 1] with channel ``names``."""
    if len(names) == 2 and names[0] == RED and "/" in names[1]:
        merged = names[1].split("/")
        _check_proteins(path, merged, proteins)
        return SampleSet(str(path), {MERGED: images}, merged=tuple(merged))
    if names[0] == RED:
        greens = names[1:]
        _check_proteins(path, greens, proteins)
        cells = {p: images[:, [0, 1 + i]] for i, p in enumerate(greens)}
        return SampleSet(str(path), cells, joint=images, joint_proteins=tuple(greens))
    greens = names[1::2]
    if len(names) % 2 or names[::2] != [f"{RED} ({p})" for p in greens]:
        raise BiogansError(f"{path}: channels {', '.join(names)} are neither {RED} then proteins, nor "
                           f"pairs '{RED} (P)', 'P'")
    _check_proteins(path, greens, proteins)
    return SampleSet(str(path), {p: images[:, [2 * i, 2 * i + 1]] for i, p in enumerate(greens)})


def _check_proteins(path: str | Path, found: Sequence[str], proteins: Sequence[str], what: str = "channel") -> None:
    unknown = [p for p in found if p not in proteins]
    if unknown:
        raise BiogansError(f"{path}: {what}(s) {', '.join(unknown)} are not among the proteins "
                           f"{', '.join(proteins)}")
    if len(set(found)) != len(found):
        raise BiogansError(f"{path}: a protein appears twice among {', '.join(found)}")


@torch.no_grad()
def generator_samples(path: str | Path, n: int, seed: int = 0, device: str = "cpu", chunk: int = 256) -> SampleSet:
    """``n`` cells per protein from a generator file (eval mode; latents seeded as ``biogans sample``'s):
    per protein for conditional models, ``all`` for a joint model's merged proteins."""
    model = load_generator(path, resolve_device(device))
    values = n * len(model.proteins) * 2 * model.height * model.width
    if values > MAX_VALUES:
        raise BiogansError(f"{path}: {n} cells of each of {len(model.proteins)} proteins exceed the limit of "
                           f"{MAX_VALUES} values; ask for fewer")
    z = sample_noise(n, model.nz, torch.Generator().manual_seed(seed))
    parts = [model.cells(z[i:i + chunk].to(next(model.parameters()).device)).float().clamp(-1, 1).cpu()
             for i in range(0, n, chunk)]
    cells = torch.cat(parts)  # [n, P, 2, H, W]
    if not model.conditional:
        return SampleSet(str(path), {MERGED: cells[:, 0]}, merged=tuple(model.proteins))
    return SampleSet(str(path), {p: cells[:, i] for i, p in enumerate(model.proteins)})
