"""``biogans preprocess``: TIFF fields -> aligned, masked, normalised 48x80 cells in the HDF5 store.

Per field (in worker processes, :mod:`biogans.data.field_cells`): read and validate it, find cells
(segment the red channel or read label masks), align each cell (rotate, rescale, crop, mask). Then,
over all fields: normalise by robust in-cell percentiles (red pooled over all proteins, green per
protein) to [1, 255] inside the cell and 0 outside, draw seeded train/test roles, and write the
store atomically.
"""

from __future__ import annotations

import contextlib
import json
import logging
import os
import sys
from collections import Counter
from collections.abc import Iterator, Sequence
from concurrent.futures import ProcessPoolExecutor
from dataclasses import asdict, dataclass
from pathlib import Path

import numpy as np
import pandas as pd
from tqdm import tqdm

from biogans.data.field_cells import FieldCells, FieldTask, concat_cells, process_field
from biogans.data.fields import labels_path, list_fields
from biogans.data.options import PreprocessOptions
from biogans.data.roles import assign_roles
from biogans.data.segment import SegmentationParams
from biogans.data.store import META_COLUMNS, CellSet, open_store, write_store
from biogans.errors import BiogansError
from biogans.proteins import ALL_PROTEINS, CELL_SHAPE, RED, protein_order

log = logging.getLogger(__name__)

#: The folder (and store group) of the multi-channel fields: red, then every protein's green.
ALL_PROTEINS_GROUP = "all_proteins"
ALL_PROTEINS_CHANNELS = (RED, *ALL_PROTEINS)


def preprocess(
    fields_dir: str | os.PathLike,
    out_path: str | os.PathLike,
    *,
    proteins: Sequence[str] | None = None,
    masks_dir: str | os.PathLike | None = None,
    options: PreprocessOptions = PreprocessOptions(),
    segmentation: SegmentationParams = SegmentationParams(),
    all_proteins: bool = False,
    reference: str | os.PathLike | None = None,
    workers: int = 1,
) -> dict:
    """Preprocess ``fields_dir/<protein>/*.tif`` into the cell store ``out_path``; returns counts.

    With ``all_proteins``, read the 9-channel fields of ``fields_dir/all_proteins`` instead and
    normalise them with the ranges of the ``reference`` store (one group ``all_proteins``).
    Nothing is written unless every field could be read and every group has cells.
    """
    fields_dir, masks_root = _input_folders(fields_dir, masks_dir, workers)

    if all_proteins:
        if reference is None:
            raise BiogansError("all-proteins mode needs --reference CELLS.h5 (the store whose normalisation to apply)")
        if options.channels not in (None, ("red", "green")):
            raise BiogansError("--channels applies to two-channel fields; all-proteins fields are red then "
                               + " ".join(ALL_PROTEINS))
        ranges = reference_ranges(reference)  # checked before the work, not after
        fields = {ALL_PROTEINS_GROUP: _field_paths(fields_dir / ALL_PROTEINS_GROUP)}
    else:
        fields = {p: _field_paths(fields_dir / p) for p in _protein_names(fields_dir, proteins)}
    tasks = _field_tasks(fields, fields_dir, masks_root, options, segmentation, all_proteins)
    groups = _collect(fields, tasks, workers)
    if not all_proteins:
        ranges = _percentile_ranges(groups, options.percentiles)

    cell_sets, summary = _cell_sets(groups, ranges, options, all_proteins)
    params = asdict(options) | {
        "segmentation": asdict(segmentation),
        "fields_dir": str(fields_dir),
        "masks_dir": None if masks_root is None else str(masks_root),
        "all_proteins": all_proteins,
        "reference": None if reference is None else str(reference),
        "counts": summary,
    }
    write_store(out_path, cell_sets, params=params, pixel_size=options.cell_pixel_size,
                **_provenance(fields_dir, fields))
    return {"groups": summary, "cells": sum(s["cells"] for s in summary.values())}


def _cell_sets(groups: dict[str, GroupCells], ranges: dict[str, tuple[float, float]], options: PreprocessOptions,
               all_proteins: bool) -> tuple[dict[str, CellSet], dict[str, dict]]:
    """Each group's store content (normalised with ``ranges``) and its counts, logged."""
    cell_sets, summary = {}, {}
    for name, group in groups.items():
        channels = list(ALL_PROTEINS_CHANNELS) if all_proteins else [RED, name]
        cell_sets[name] = _cell_set(name, group.cells, channels, ranges, options)
        summary[name] = group.summary()
        log.info("%s: %d fields, %d cells kept; dropped %s; %d fields without cells", name, group.fields,
                 len(group.cells.masks), ", ".join(f"{k} {v}" for k, v in summary[name]["dropped"].items())
                 or "none", group.empty_fields)
    return cell_sets, summary


def _input_folders(fields_dir: str | os.PathLike, masks_dir: str | os.PathLike | None,
                   workers: int) -> tuple[Path, Path | None]:
    if workers < 1:
        raise BiogansError(f"workers {workers}: must be at least 1")
    fields_dir = Path(fields_dir)
    if not fields_dir.is_dir():
        raise BiogansError(f"{fields_dir}: fields folder not found")
    masks_root = Path(masks_dir) if masks_dir is not None else None
    if masks_root is not None and not masks_root.is_dir():
        raise BiogansError(f"{masks_root}: masks folder not found")
    return fields_dir, masks_root


def _provenance(fields_dir: Path, fields: dict[str, list[Path]]) -> dict:
    """Where the fields come from: the simulator (its simulation.json beside them: seed) or a user's TIFFs."""
    record = fields_dir / next(iter(fields)) / "simulation.json"
    try:
        simulated = json.loads(record.read_text()) if record.is_file() else None
    except (OSError, ValueError):
        simulated = None
    if isinstance(simulated, dict) and "seed" in simulated:
        return {"source": "synthetic", "input": str(fields_dir), "simulator_seed": int(simulated["seed"])}
    return {"source": "tiff", "input": str(fields_dir)}


def _field_tasks(fields: dict[str, list[Path]], fields_dir: Path, masks_root: Path | None,
                 options: PreprocessOptions, segmentation: SegmentationParams, all_proteins: bool) -> list[FieldTask]:
    """One task per field, in group then file order."""
    return [
        FieldTask(
            path=path,
            source=path.relative_to(fields_dir).as_posix(),
            labels=labels_path(path, masks_root / group) if masks_root is not None else None,
            n_channels=len(ALL_PROTEINS_CHANNELS) if all_proteins else 2,
            expected_labels=ALL_PROTEINS_CHANNELS if all_proteins else None,
            order=options.channels,
            protein=None if all_proteins else group,
            pixel_size=options.pixel_size,
            cell_pixel_size=options.cell_pixel_size,
            segmentation=segmentation,
        )
        for group, paths in fields.items()
        for path in paths
    ]


def _cell_set(name: str, cells: FieldCells, channels: list[str], ranges: dict[str, tuple[float, float]],
              options: PreprocessOptions) -> CellSet:
    """One store group: normalised uint8 images, metadata with seeded roles, the ranges used."""
    images = _to_uint8(cells, [ranges[channel] for channel in channels])
    roles = assign_roles(len(images), options.test_fraction, options.seed, name)
    meta = pd.DataFrame(cells.meta | {"role": roles})[list(META_COLUMNS)]
    greens = np.asarray([ranges[channel] for channel in channels[1:]], dtype=np.float64)
    attrs = {"red_range": np.asarray(ranges[RED], dtype=np.float64),
             "green_range": greens[0] if len(greens) == 1 else greens}  # [2], or [n_greens, 2]
    return CellSet(images, meta, channels, attrs)


def reference_ranges(reference: str | os.PathLike) -> dict[str, tuple[float, float]]:
    """The red range and every protein's green range recorded in a preprocessed cell store."""
    reference = Path(reference)
    with open_store(reference) as f:
        ranges = {}
        for protein in ALL_PROTEINS:
            if protein not in f:
                raise BiogansError(f"{reference}: no {protein} group, needed to normalise the all-proteins fields")
            attrs = f[protein].attrs
            if "red_range" not in attrs or "green_range" not in attrs:
                raise BiogansError(f"{reference}: group {protein} has no red_range/green_range "
                                   "(not written by biogans preprocess)")
            ranges.setdefault(RED, tuple(float(v) for v in attrs["red_range"]))
            ranges[protein] = tuple(float(v) for v in attrs["green_range"])
    return ranges


def _protein_names(fields_dir: Path, proteins: Sequence[str] | None) -> list[str]:
    """The protein folders to read: the requested ones, or every folder, in ALL_PROTEINS order."""
    if proteins is None:
        proteins = [p.name for p in fields_dir.iterdir()
                    if p.is_dir() and not p.name.startswith(".") and p.name != ALL_PROTEINS_GROUP]
    if not proteins:
        raise BiogansError(f"{fields_dir}: no protein folders (expected {fields_dir}/<protein>/*.tif)")
    for protein in proteins:
        if not (fields_dir / protein).is_dir():
            raise BiogansError(f"{fields_dir / protein}: protein folder not found")
    return protein_order(proteins)


def _field_paths(folder: Path) -> list[Path]:
    if not folder.is_dir():
        raise BiogansError(f"{folder}: folder not found")
    paths = list_fields(folder)
    if not paths:
        raise BiogansError(f"{folder}: no .tif fields")
    return paths


@dataclass
class GroupCells:
    """The cells of one group (protein) over all its fields, with what was dropped."""

    cells: FieldCells
    fields: int
    empty_fields: int
    dropped: Counter

    def summary(self) -> dict:
        return {"fields": self.fields, "cells": len(self.cells.masks), "fields_without_cells": self.empty_fields,
                "dropped": dict(sorted(self.dropped.items()))}


def _collect(fields: dict[str, list[Path]], tasks: list[FieldTask], workers: int) -> dict[str, GroupCells]:
    """Run every field task (in order, in ``workers`` processes) and gather the cells per group."""
    groups = {}
    with contextlib.closing(_run(tasks, workers)) as results:
        for name, paths in fields.items():
            parts = [next(results) for _ in paths]
            for path, part in zip(paths, parts, strict=True):
                if len(part.masks) == 0:
                    log.warning("%s: no cell found", path)
            group = GroupCells(concat_cells(parts), len(paths), sum(len(p.masks) == 0 for p in parts),
                               sum((p.dropped for p in parts), Counter()))
            if len(group.cells.masks) == 0:
                raise BiogansError(f"{paths[0].parent}: no cell found in any of its {len(paths)} fields")
            groups[name] = group
    return groups


def _run(tasks: list[FieldTask], workers: int) -> Iterator[FieldCells]:
    """Process the fields in task order, with a progress bar; the result does not depend on workers."""
    progress = tqdm(total=len(tasks), desc="preprocess", unit="field", file=sys.stderr, disable=None)
    workers = min(workers, len(tasks))
    with progress:
        if workers <= 1:
            for task in tasks:
                yield process_field(task)
                progress.update()
        else:
            chunksize = max(1, min(8, len(tasks) // (4 * workers)))
            pool = ProcessPoolExecutor(workers)
            try:
                for result in pool.map(process_field, tasks, chunksize=chunksize):
                    yield result
                    progress.update()
            finally:  # on an error, do not wait for the remaining fields
                pool.shutdown(wait=True, cancel_futures=True)


def _percentile_ranges(
    groups: dict[str, GroupCells], percentiles: tuple[float, float]
) -> dict[str, tuple[float, float]]:
    """Red range pooled over every group (Bgs4 is the same marker everywhere); a green range per group."""
    ranges = {RED: _range(np.concatenate([g.cells.values[0] for g in groups.values()]), percentiles)}
    for name, group in groups.items():
        ranges[name] = _range(group.cells.values[1], percentiles)
    return ranges


def _range(values: np.ndarray, percentiles: tuple[float, float]) -> tuple[float, float]:
    low, high = np.percentile(values, percentiles)
    return float(low), float(high)


def _to_uint8(cells: FieldCells, ranges: list[tuple[float, float]]) -> np.ndarray:
    """Map each channel's [low, high] to [1, 255] inside the cell (clipped); 0 outside."""
    n = len(cells.masks)
    images = np.zeros((n, len(ranges), *CELL_SHAPE), dtype=np.uint8)
    for c, (low, high) in enumerate(ranges):
        span = max(high - low, 1e-12 * max(abs(low), 1.0))
        scaled = np.clip((cells.values[c] - low) / span, 0.0, 1.0)
        images[:, c][cells.masks] = np.rint(1.0 + 254.0 * scaled).astype(np.uint8)
    return images
