"""One field -> its aligned cells: the per-field job of ``biogans preprocess``, run in worker processes.

Read and validate the field, find its cells (segment the red channel or read a label mask), align each
cell (rotate, rescale, crop, mask) and record its metadata, with the ground-truth phase where the
simulator's cell table and labels sit beside the field.
"""

from __future__ import annotations

from collections import Counter
from csv import DictReader
from csv import Error as CsvError
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from biogans.data.align import AlignedCell, align_cell
from biogans.data.fields import labels_path, read_field, read_labels
from biogans.data.segment import CellRegion, SegmentationParams, cells_from_labels, segment_red
from biogans.errors import BiogansError
from biogans.proteins import CELL_SHAPE


@dataclass(frozen=True)
class FieldTask:
    """Everything a worker needs to turn one field into cells."""

    path: Path
    source: str  # path relative to FIELDS_DIR, recorded per cell
    labels: Path | None  # label mask, or None to segment the red channel
    n_channels: int
    expected_labels: tuple[str, ...] | None  # ImageJ channel labels the field must have, if any
    order: tuple[str, str] | None  # what the two channels hold, if the user said so
    protein: str | None  # the green channel's protein (names the OME channel to read)
    pixel_size: float | None
    cell_pixel_size: float
    segmentation: SegmentationParams


@dataclass
class FieldCells:
    """The aligned cells of one field, compactly: masks plus the in-cell values of each channel."""

    masks: np.ndarray  # bool [n, 48, 80]
    values: np.ndarray  # float32 [C, total in-cell pixels], in the order of masks.nonzero()
    meta: dict[str, np.ndarray]  # store metadata columns (all but role), one entry per cell
    dropped: Counter


def process_field(task: FieldTask) -> FieldCells:
    """Read one field, find its cells and align each one; cells that do not fit are counted."""
    fld = read_field(task.path, n_channels=task.n_channels, order=task.order, protein=task.protein,
                     pixel_size=task.pixel_size, expected_labels=task.expected_labels)
    if task.labels is not None:
        cells, dropped = cells_from_labels(read_labels(task.labels, fld.shape))
    else:
        cells, dropped = segment_red(fld.channels[0], fld.pixel_size, task.segmentation)
    phases = _truth_phases(task.path, fld.shape)
    scale = task.cell_pixel_size / fld.pixel_size
    kept: list[CellRegion] = []
    aligned: list[AlignedCell] = []
    for cell in cells:
        result = align_cell(fld.channels, cell, scale)
        if result is None:
            dropped["fit"] += 1
        else:
            kept.append(cell)
            aligned.append(result)
    masks = np.array([a.mask for a in aligned], dtype=bool).reshape(len(aligned), *CELL_SHAPE)
    values = np.concatenate([a.values for a in aligned] or [np.empty((task.n_channels, 0), np.float32)], axis=1)
    return FieldCells(masks, values, _cell_meta(task.source, kept, fld.pixel_size, phases), dropped)


def _cell_meta(source: str, cells: list[CellRegion], pixel_size: float, phases) -> dict[str, np.ndarray]:
    """Metadata columns (all store columns but role) for the kept cells of one field."""
    bbox = np.array([c.bbox for c in cells], dtype=np.int64).reshape(-1, 4)
    centres = np.array([(c.geometry.centre_y, c.geometry.centre_x) for c in cells]).reshape(-1, 2)
    if phases is None:
        phase = [""] * len(cells)
    else:
        truth, phase_of = phases
        under = truth[tuple(np.rint(centres).astype(np.int64).T)]
        phase = [phase_of.get(int(label), "") for label in under]
    return {
        "source": np.array([source] * len(cells), dtype=object),
        "cell_id": np.array([c.label for c in cells], dtype=np.int64),
        "bbox_y0": bbox[:, 0], "bbox_x0": bbox[:, 1], "bbox_y1": bbox[:, 2], "bbox_x1": bbox[:, 3],
        "angle": np.array([c.geometry.angle for c in cells], dtype=np.float64),
        "length": np.array([c.geometry.length * pixel_size for c in cells], dtype=np.float64),
        "phase": np.array(phase, dtype=object),
    }


def _truth_phases(field_path: Path, shape: tuple[int, int]) -> tuple[np.ndarray, dict[int, str]] | None:
    """Ground-truth labels and phase per label, if ``<stem>_cells.csv`` and ``<stem>_labels.tif`` sit beside."""
    csv = field_path.with_name(f"{field_path.stem}_cells.csv")
    truth_path = labels_path(field_path, field_path.parent)
    if not (csv.is_file() and truth_path.is_file()):
        return None
    try:
        with open(csv, newline="") as f:
            rows = list(DictReader(f))
        if not rows or not {"cell_id", "phase"} <= set(rows[0]):
            return None
        phase_of = {int(row["cell_id"]): row["phase"] for row in rows}
    except (OSError, ValueError, CsvError) as exc:
        raise BiogansError(f"{csv}: unreadable cell table ({exc})") from None
    return read_labels(truth_path, shape), phase_of


def concat_cells(parts: list[FieldCells]) -> FieldCells:
    """The cells of several fields as one, in order."""
    return FieldCells(
        np.concatenate([p.masks for p in parts]),
        np.concatenate([p.values for p in parts], axis=1),
        {name: np.concatenate([p.meta[name] for p in parts]) for name in parts[0].meta},
        sum((p.dropped for p in parts), Counter()),
    )
