"""``biogans import-lin``: the published LIN dataset (folders of 80x48 RGB PNGs) into the cell store.

The PNGs are already aligned, masked and normalised (red = Bgs4, green = the protein, blue empty;
``red > 0`` is the cell mask), so red and green are stored exactly as they are. LIN_ROOT is a
folder of protein folders (roles drawn by a seeded split), or the common prefix of a
``<LIN_ROOT>_train`` / ``<LIN_ROOT>_test`` pair (roles kept from the folder).
"""

from __future__ import annotations

import logging
import os
import warnings
from collections.abc import Sequence
from pathlib import Path

import numpy as np
from PIL import Image

from biogans.data.options import ImportLinOptions
from biogans.data.roles import assign_roles
from biogans.data.store import CellSet, empty_meta, write_store
from biogans.errors import BiogansError
from biogans.proteins import CELL_SHAPE, RED, protein_order

log = logging.getLogger(__name__)

ROLE_SUFFIXES = {"train": "_train", "test": "_test"}


def import_lin(
    lin_root: str | os.PathLike,
    out_path: str | os.PathLike,
    options: ImportLinOptions = ImportLinOptions(),
    *,
    proteins: Sequence[str] | None = None,
) -> dict:
    """Import LIN PNGs into the cell store ``out_path``; returns the cell count per protein and role."""
    test_fraction, seed = options.test_fraction, options.seed
    lin_root = Path(lin_root)
    roots = _role_roots(lin_root)
    available = {role: _protein_folders(root) for role, root in roots.items()}
    names = protein_order(proteins if proteins is not None else {p for folders in available.values() for p in folders})
    if not names:
        raise BiogansError(f"{lin_root}: no protein folders")
    groups, summary = {}, {}
    for protein in names:
        parts = []
        for role, root in roots.items():
            folder = root / protein
            if protein not in available[role]:
                if len(roots) == 1:
                    raise BiogansError(f"{folder}: protein folder not found")
                log.warning("%s: not found, so %s has no %s cells", folder, protein, role)
                continue
            parts.append((role, root, _png_paths(folder)))
        if not parts:
            raise BiogansError(f"{lin_root}: no {protein} folder in {' or '.join(map(str, roots.values()))}")
        groups[protein] = _read_protein(protein, parts, test_fraction, seed)
        counts = groups[protein].meta["role"].value_counts()
        summary[protein] = {role: int(counts.get(role, 0)) for role in ("train", "test")}
        log.info("%s: %d train, %d test cells", protein, summary[protein]["train"], summary[protein]["test"])
    params = {"lin_root": str(lin_root), "layout": "pair" if len(roots) == 2 else "folder",
              "test_fraction": test_fraction if len(roots) == 1 else None, "seed": seed, "counts": summary}
    write_store(out_path, groups, source="lin", params=params, input=str(lin_root))  # pixel size: not published
    return {"proteins": summary, "cells": sum(sum(s.values()) for s in summary.values())}


def _role_roots(lin_root: Path) -> dict[str | None, Path]:
    """{None: LIN_ROOT} for a folder of protein folders, or {"train": ..., "test": ...} for a pair."""
    if lin_root.is_dir():
        return {None: lin_root}
    pair = {role: lin_root.with_name(lin_root.name + suffix) for role, suffix in ROLE_SUFFIXES.items()}
    present = {role: path for role, path in pair.items() if path.is_dir()}
    if not present:
        raise BiogansError(f"{lin_root}: not found (neither a folder nor a {lin_root.name}_train/_test pair)")
    if len(present) == 1:
        missing = next(path for role, path in pair.items() if role not in present)
        raise BiogansError(f"{missing}: not found (the other half of the {lin_root.name}_train/_test pair)")
    return present


def _protein_folders(root: Path) -> set[str]:
    return {p.name for p in root.iterdir() if p.is_dir() and not p.name.startswith(".")}


def _png_paths(folder: Path) -> list[Path]:
    paths = sorted(p for p in folder.iterdir() if p.is_file() and p.suffix.lower() == ".png")
    if not paths:
        raise BiogansError(f"{folder}: no .png images")
    return paths


def _read_protein(protein: str, parts: list[tuple[str | None, Path, list[Path]]], test_fraction: float,
                  seed: int) -> CellSet:
    """All PNGs of one protein, in folder then file order, as a two-channel CellSet."""
    images, sources, roles, blue = [], [], [], []
    for role, root, paths in parts:
        for path in paths:
            rgb = read_lin_png(path)
            images.append(rgb[..., :2])
            if rgb[..., 2].any():
                blue.append(path)
            sources.append(path.relative_to(root).as_posix())
            roles.append(role)
    if blue:
        log.warning("%s: %d PNG(s) with a non-empty blue channel (ignored), e.g. %s", protein, len(blue), blue[0])
    n = len(images)
    meta = empty_meta(n)
    meta["source"] = sources
    meta["cell_id"] = np.arange(n)
    meta["role"] = roles if roles[0] is not None else assign_roles(n, test_fraction, seed, protein)
    meta["bbox_y1"], meta["bbox_x1"] = CELL_SHAPE
    meta["angle"] = 0.0
    return CellSet(np.ascontiguousarray(np.moveaxis(np.array(images, dtype=np.uint8), -1, 1)), meta, [RED, protein])


def read_lin_png(path: Path) -> np.ndarray:
    """One LIN cell image as uint8 [48, 80, 3]; refuses unreadable, truncated, mis-sized or non-RGB files, the
    size and mode as the header declares them, before anything is decoded."""
    height, width = CELL_SHAPE
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", Image.DecompressionBombWarning)  # a wrong size is refused below
            image = Image.open(path)
        with image:
            mode, size = image.mode, image.size
            if size != (width, height):
                raise BiogansError(f"{path}: image of {size[0]}x{size[1]} pixels, expected {width}x{height} "
                                   "(width x height)")
            if mode != "RGB":
                raise BiogansError(f"{path}: PNG mode {mode}, expected RGB")
            image.load()
            return np.asarray(image)
    except BiogansError:
        raise
    except Exception as exc:  # PIL raises OSError, SyntaxError, ValueError... for broken files
        raise BiogansError(f"{path}: unreadable or truncated PNG ({' '.join(str(exc).split())})") from None
