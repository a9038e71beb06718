"""Fields of view: placing cells without overlap, and writing a field with its ground truth.

A 512 x 512 field holds 15-40 cells at random positions and orientations, MIN_GAP_UM apart,
except newly separated sister cells, which lie end to end and touch (a few % of cells).
Cells whose centre falls near the edge are cut by the field border. These numbers are modelling
choices (docs/biology.md, section 6).
"""

from __future__ import annotations

import csv
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import tifffile

from biogans.data.simulate import rod as cell_rod
from biogans.data.simulate.cells import CellState, sample_cell, sample_sisters
from biogans.data.simulate.optics import PIXEL_SIZE_UM
from biogans.data.simulate.rod import Pose

#: Cells per 512 x 512 field (66.6 um square); other field sizes scale this by their area.
CELLS_PER_FIELD = (15, 40)
REFERENCE_FIELD_AREA = 512 * 512
#: Minimum distance between the outlines of unrelated cells (about 4 pixels).
MIN_GAP_UM = 0.5
#: Chance that a placement is a pair of just-separated sisters touching end to end; with
#: 0.02, about 4% of cells touch another one.
SISTER_PROBABILITY = 0.02
#: Poses tried for one cell (or sister pair) before it is given up, and give-ups per field.
POSE_ATTEMPTS = 50
MAX_GIVE_UPS = 20

CSV_COLUMNS = ("cell_id", "centre_y", "centre_x", "angle", "length", "width", "age", "phase",
               "protein", "isolated")
#: Noisy 16-bit images barely compress (zlib level 1: to ~45%) yet that costs ~10x the write
#: time and ~15x the read time, so fields are stored raw; the label images compress ~50x.
IMAGE_COMPRESSION: dict = {}
LABEL_COMPRESSION = {"compression": "zlib", "compressionargs": {"level": 1}}


@dataclass
class PlacedCell:
    """A cell in a field: its state, pose and label region (flat pixel indices)."""

    cell: CellState
    pose: Pose
    pixels: np.ndarray
    cut: bool               # its outline reaches the field edge (cut by the border)
    touching: bool = False  # it touches another cell (a sister)

    @property
    def isolated(self) -> bool:
        return not (self.cut or self.touching)


@dataclass
class FieldLayout:
    """The cells of one field, in label order (cell i has label i + 1)."""

    shape: tuple[int, int]
    cells: list[PlacedCell]

    @property
    def n_inside(self) -> int:
        """Cells fully inside the field (what a segmentation can find)."""
        return sum(not placed.cut for placed in self.cells)

    def labels(self) -> np.ndarray:
        """The label image: 0 background, i + 1 on the outline pixels of cell i."""
        labels = np.zeros(self.shape[0] * self.shape[1], np.uint16)
        for i, placed in enumerate(self.cells):
            labels[placed.pixels] = i + 1
        return labels.reshape(self.shape)


def _random_angle(rng: np.random.Generator) -> float:
    """Uniform long-axis angle in degrees, in (-90, 90]."""
    return float(90.0 - rng.uniform(0.0, 180.0))


def _poses(rng: np.random.Generator, group: tuple[CellState, ...], shape: tuple[int, int]) -> list[Pose]:
    """A random pose for a cell, or for a sister pair touching end to end at the pair centre."""
    centre_y, centre_x = rng.uniform(0, shape[0]), rng.uniform(0, shape[1])
    angle = _random_angle(rng)
    if len(group) == 1:
        return [Pose(centre_y, centre_x, angle)]
    c, s = Pose(0, 0, angle).axis()
    poses = []
    for cell, side in zip(group, (1.0, -1.0), strict=True):
        offset = side * cell.length / 2 / PIXEL_SIZE_UM
        poses.append(Pose(centre_y + offset * s, centre_x + offset * c, angle))
    return poses


class _Occupancy:
    """The cells placed so far, as rods (axis segment + radius), for fast distance checks."""

    def __init__(self, gap_px: float) -> None:
        self.gap = gap_px
        self.centres = np.zeros((0, 2))   # (x, y), pixels
        self.reaches = np.zeros(0)        # half-lengths, pixels
        self.segments = np.zeros((0, 2, 2))
        self.radii = np.zeros(0)

    def has_room(self, centre: np.ndarray, reach: float, segment: np.ndarray, radius: float) -> bool:
        """Whether a rod keeps the gap from every placed one (bounding circles first)."""
        near = np.flatnonzero(np.hypot(*(self.centres - centre).T) < self.reaches + reach + self.gap)
        return all(cell_rod.segment_distance(segment, self.segments[i]) >= self.radii[i] + radius + self.gap
                   for i in near)

    def add(self, centre: np.ndarray, reach: float, segment: np.ndarray, radius: float) -> None:
        self.centres = np.concatenate([self.centres, centre[None]])
        self.reaches = np.append(self.reaches, reach)
        self.segments = np.concatenate([self.segments, segment[None]])
        self.radii = np.append(self.radii, radius)


def _rods(group: tuple[CellState, ...], poses: list[Pose]) -> list[tuple]:
    """(centre, half-length, axis segment, radius) of each cell, in pixels."""
    return [(np.array([pose.centre_x, pose.centre_y]), cell.length / 2 / PIXEL_SIZE_UM,
             cell_rod.axis_segment(cell, pose), cell.radius / PIXEL_SIZE_UM)
            for cell, pose in zip(group, poses, strict=True)]


def sample_layout(rng: np.random.Generator, shape: tuple[int, int]) -> FieldLayout:
    """Place 15-40 cells (per 512 x 512 pixels) at random, unrelated ones MIN_GAP_UM apart.

    Cells are rods, so two cells keep their distance when their axis segments are at least
    the sum of their radii plus the gap apart. A cell that finds no room is dropped.
    """
    area = shape[0] * shape[1] / REFERENCE_FIELD_AREA
    n_target = max(1, round(int(rng.integers(CELLS_PER_FIELD[0], CELLS_PER_FIELD[1] + 1)) * area))
    occupancy = _Occupancy(MIN_GAP_UM / PIXEL_SIZE_UM)
    placed: list[PlacedCell] = []
    give_ups = 0
    while len(placed) < n_target and give_ups < MAX_GIVE_UPS:
        if rng.random() < SISTER_PROBABILITY and len(placed) + 2 <= n_target:
            group = sample_sisters(rng)
        else:
            group = (sample_cell(rng),)
        for _ in range(POSE_ATTEMPTS):
            poses = _poses(rng, group, shape)
            rods = _rods(group, poses)
            in_field = all(0 <= x < shape[1] and 0 <= y < shape[0] for (x, y), *_ in rods)
            if in_field and all(occupancy.has_room(*extent) for extent in rods):
                break
        else:
            give_ups += 1
            continue
        new: list[PlacedCell] = []
        for cell, pose, extent in zip(group, poses, rods, strict=True):
            pixels, cut = cell_rod.footprint(cell, pose, shape)
            if new:  # a sister: a pixel where the two tips meet belongs to the first one
                pixels = np.setdiff1d(pixels, new[0].pixels, assume_unique=True)
            new.append(PlacedCell(cell, pose, pixels.astype(np.intp), cut, touching=len(group) == 2))
            occupancy.add(*extent)
        placed.extend(new)
    return FieldLayout(shape, placed)


def write_field(folder: Path, index: int, image: np.ndarray, layout: FieldLayout,
                channel_labels: list[str], protein: str) -> None:
    """Write field_XXX.tif (ImageJ CYX), field_XXX_labels.tif and field_XXX_cells.csv.

    ``folder`` is the temporary folder of an atomic protein folder, so files are written in place.
    """
    stem = folder / f"field_{index:03d}"
    resolution = (1 / PIXEL_SIZE_UM, 1 / PIXEL_SIZE_UM)
    tifffile.imwrite(f"{stem}.tif", image, imagej=True, resolution=resolution,
                     metadata={"axes": "CYX", "unit": "um", "Labels": channel_labels}, **IMAGE_COMPRESSION)
    tifffile.imwrite(f"{stem}_labels.tif", layout.labels(), resolution=resolution, **LABEL_COMPRESSION)
    with open(f"{stem}_cells.csv", "w", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(CSV_COLUMNS)
        for i, placed in enumerate(layout.cells):
            cell, pose = placed.cell, placed.pose
            writer.writerow([i + 1, f"{pose.centre_y:.3f}", f"{pose.centre_x:.3f}", f"{pose.angle:.3f}",
                             f"{cell.length:.4f}", f"{cell.width:.4f}", f"{cell.age:.5f}", cell.phase,
                             protein, placed.isolated])
