"""Cells drawn from a trained generator, as a PNG sheet, an HDF5 cell store or an OME-TIFF stack
(``biogans sample``)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import torch

from biogans import __version__
from biogans.data.store import CellSet, empty_meta, write_store
from biogans.device import resolve_device
from biogans.errors import BiogansError
from biogans.images import cell_sheet, save_png, to_uint8
from biogans.models import CellGenerator
from biogans.models.latent import sample_noise
from biogans.ome import write_ome_tiff
from biogans.proteins import RED
from biogans.train.checkpoints import load_generator
from biogans.train.options import SampleOptions

SUFFIXES = (".png", ".h5", ".ome.tif", ".ome.tiff")


@torch.no_grad()
def sample(generator_path: str | Path, out_path: str | Path, options: SampleOptions) -> None:
    """Draw ``options.n`` latents (seeded) through a generator and write the cells to the file, whose
    name says the format: .png (a picture), .h5 (a cell store) or .ome.tif (an OME-TIFF stack)."""
    out_path = Path(out_path)
    if not out_path.name.lower().endswith(SUFFIXES):
        raise BiogansError(f"{out_path}: output must end in {', '.join(SUFFIXES)}")
    model = load_generator(generator_path, resolve_device(options.device))
    protein, n, seed = options.protein, options.n, options.seed
    if (protein or options.all_proteins) and not model.conditional:
        raise BiogansError(f"{generator_path}: --protein/--all-proteins need a conditional model; "
                           f"this one models the proteins {', '.join(model.proteins)} merged")
    if protein is not None and protein not in model.proteins:
        raise BiogansError(f"{generator_path}: no protein {protein} (the model has {', '.join(model.proteins)})")
    z = sample_noise(n, model.nz, torch.Generator().manual_seed(seed)).to(next(model.parameters()).device)
    if out_path.name.lower().endswith((".ome.tif", ".ome.tiff")):
        images, channels = _stack(model, z, protein)
        description = {"generator": str(generator_path), "seed": seed, "n": n, "iteration": model.iteration,
                       "spec": model.spec, "values": "intensity in [0, 1] (0: background)",
                       "software": f"biogans {__version__}"}
        write_ome_tiff(out_path, images, channels, options.pixel_size, description)
        return
    if protein is not None:
        cells = model.cells(z, model.proteins.index(protein))[:, None]
        names = [protein]
    else:
        cells = model.cells(z)
        names = model.proteins if model.conditional else ["generated"]
    if out_path.suffix == ".png":
        save_png(out_path, cell_sheet(cells, columns=min(n, 16) if model.conditional else 8), scale=2)
        return
    if options.all_proteins:
        groups = {"all_proteins": _cell_set(model(z), [RED, *model.proteins])}
    else:
        groups = {name: _cell_set(cells[:, i], [RED, name]) for i, name in enumerate(names)}
    write_store(out_path, groups, source="generated", params={"n": n, "seed": seed}, pixel_size=options.pixel_size,
                input=str(generator_path), seed=seed)


def _stack(model: CellGenerator, z: torch.Tensor, protein: str | None) -> tuple[np.ndarray, list[str]]:
    """The cells as float32 [N, C, H, W] in [0, 1] with their channel names: the shared red and every
    protein's green (star-shaped, multi-channel), each protein's red and green (independent), or red
    and the merged proteins' green (joint); one protein's red and green with ``protein``."""
    if protein is not None:
        images, channels = model.cells(z, model.proteins.index(protein)), [RED, protein]
    elif not model.conditional:
        images, channels = model(z), [RED, "/".join(model.proteins)]
    elif model.spec["architecture"] == "independent":
        images = model.cells(z).flatten(1, 2)
        channels = [name for p in model.proteins for name in (f"{RED} ({p})", p)]
    else:
        images, channels = model(z), [RED, *model.proteins]
    return ((images.float().clamp(-1, 1) + 1) / 2).cpu().numpy(), channels


def _cell_set(images: torch.Tensor, channels: list[str]) -> CellSet:
    meta = empty_meta(len(images))
    meta["cell_id"] = np.arange(len(images))
    meta["role"] = "test"
    return CellSet(to_uint8(images), meta, channels)
