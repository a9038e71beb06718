"""``simulate``: one folder of fields per protein (or one all-proteins folder), deterministic by seed.

Each field's random numbers come from ``default_rng([seed, stable_id(folder), field, stream])``,
so a protein's fields depend only on (seed, protein) and never on the other proteins of the
call or on the number of worker processes. Layouts are planned in the calling process (that
fixes how many fields reach the requested cell count); rendering and writing run per field.
"""

from __future__ import annotations

import json
import logging
import os
from concurrent.futures import Executor, Future, ProcessPoolExecutor
from contextlib import ExitStack
from pathlib import Path

import numpy as np

from biogans import __version__
from biogans.data.options import SimulateOptions
from biogans.data.simulate.layout import FieldLayout, sample_layout, write_field
from biogans.data.simulate.optics import PIXEL_SIZE_UM
from biogans.data.simulate.render import render_field
from biogans.errors import BiogansError
from biogans.files import atomic_dir
from biogans.proteins import ALL_PROTEINS, RED
from biogans.seeds import stable_id

log = logging.getLogger(__name__)

#: Folder (and ``protein`` column value) of all-proteins mode.
ALL_PROTEINS_DIR = "all_proteins"
_LAYOUT_STREAM, _RENDER_STREAM = 0, 1


def field_rng(seed: int, name: str, index: int, stream: int) -> np.random.Generator:
    """The generator of one field of one folder; ``stream`` separates layout and rendering."""
    return np.random.default_rng([seed, stable_id(name), index, stream])


def plan_fields(seed: int, name: str, n_cells: int, shape: tuple[int, int]) -> list[FieldLayout]:
    """Field layouts, in order, until ``n_cells`` cells lie fully inside the fields."""
    layouts: list[FieldLayout] = []
    inside = 0
    while inside < n_cells:
        layout = sample_layout(field_rng(seed, name, len(layouts), _LAYOUT_STREAM), shape)
        layouts.append(layout)
        inside += layout.n_inside
    return layouts


def _render_and_write(folder: Path, seed: int, name: str, index: int, layout: FieldLayout,
                      channels: tuple[str, ...]) -> None:
    rng = field_rng(seed, name, index, _RENDER_STREAM)
    image = render_field(layout.cells, channels, layout.shape, rng)
    write_field(folder, index, image, layout, list(channels), name)


def _record(folder: Path, name: str, channels: tuple[str, ...], layouts: list[FieldLayout],
            options: SimulateOptions) -> dict[str, int]:
    """A folder's counts of fields, cells inside them and cells cut by the border, written with the
    settings to its ``simulation.json`` (which ``biogans preprocess`` reads for provenance) and logged."""
    counts = {
        "fields": len(layouts),
        "cells": sum(layout.n_inside for layout in layouts),
        "cut_cells": sum(len(layout.cells) - layout.n_inside for layout in layouts),
    }
    params = {"generator": f"biogans {__version__} simulate", "seed": options.seed, "group": name,
              "channels": list(channels), "pixel_size_um": PIXEL_SIZE_UM,
              "field_size": options.field_size, "cells_requested": options.cells_per_protein, **counts}
    (folder / "simulation.json").write_text(json.dumps(params, indent=2) + "\n")
    log.info("simulate %s: %d fields, %d cells (+%d cut by the border)", name,
             counts["fields"], counts["cells"], counts["cut_cells"])
    return counts


class _InlineExecutor(Executor):
    """Runs submitted calls at once in this process (workers == 1)."""

    def submit(self, fn, /, *args, **kwargs) -> Future:
        future: Future = Future()
        future.set_result(fn(*args, **kwargs))
        return future


def simulate(out_dir: str | os.PathLike, options: SimulateOptions = SimulateOptions(), *, workers: int = 1) -> dict:
    """Render fission-yeast fields into ``out_dir/<protein>/`` (or ``out_dir/all_proteins/``).

    Per field: ``field_XXX.tif`` (uint16 [C, H, W], ImageJ axes CYX, channel labels, pixel
    size), ``field_XXX_labels.tif`` and ``field_XXX_cells.csv``; fields are added until
    ``options.cells_per_protein`` cells lie fully inside them. ``workers`` > 1 renders fields in
    processes (same output). Each folder appears only when complete; other folders in
    ``out_dir`` are left alone. Returns, per folder written, the number of fields, of cells
    fully inside them, and of cells cut by the border.
    """
    if workers < 1:
        raise BiogansError(f"simulate: workers must be at least 1, got {workers}")
    seed, cells_per_protein, field_size = options.seed, options.cells_per_protein, options.field_size
    out_dir = Path(out_dir)
    if out_dir.exists() and not out_dir.is_dir():
        raise BiogansError(f"{out_dir}: exists and is not a folder")
    shape = (field_size, field_size)
    if options.all_proteins:
        groups = [(ALL_PROTEINS_DIR, (RED, *ALL_PROTEINS))]
    else:
        groups = [(protein, (RED, protein)) for protein in dict.fromkeys(options.proteins)]

    summary: dict[str, dict[str, int]] = {}
    try:
        with ExitStack() as stack:
            folders = [stack.enter_context(atomic_dir(out_dir / name)) for name, _ in groups]
            executor = _InlineExecutor() if workers == 1 else ProcessPoolExecutor(max_workers=workers)
            # Runs before the folders are renamed (or removed, after an error).
            stack.callback(executor.shutdown, wait=True, cancel_futures=True)
            previous: list[Future] = []
            for (name, channels), folder in zip(groups, folders, strict=True):
                layouts = plan_fields(seed, name, cells_per_protein, shape)
                pending = [executor.submit(_render_and_write, folder, seed, name, i, layout, channels)
                           for i, layout in enumerate(layouts)]
                # Plan one folder ahead of the workers, no more: bounds the layouts held in memory.
                for future in previous:
                    future.result()
                previous = pending
                summary[name] = _record(folder, name, channels, layouts, options)
            for future in previous:
                future.result()
    except OSError as exc:
        where = exc.filename or out_dir
        raise BiogansError(f"{where}: cannot write the simulated fields ({exc.strerror or exc})") from exc
    return summary
