"""Finding single, whole fission-yeast cells in a field: from the red (Bgs4) channel or label masks.

Segmentation: Gaussian smoothing; a detection threshold a few noise standard deviations above
the background (Otsu separates background from cells to estimate both), so that dim cells are
found too; then, per detected blob, an edge threshold most of the way from the background to the
blob's own level, so that bright and dim cells alike are outlined at their edge rather than in
their blur halo. Each outline is hole-filled (Bgs4 is brighter at the periphery, tips and
septum than inside), closed where gaps in that bright rim leave it hollow or notched, and kept
only if shaped like one rod-shaped cell at the field's pixel size. Objects touching the field
border are dropped, and so are touching cells (a merged outline fails the width, waist or
solidity test; a neighbour closer than ``min_gap_um`` or a dim one inside the same blob marks
both as touching), so a crop never mixes two cells.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass

import numpy as np
from scipy import ndimage

from biogans.data.geometry import CellGeometry, cell_geometry, solidity


@dataclass(frozen=True)
class SegmentationParams:
    """Segmentation settings in physical units (µm, µm²), so they hold at any pixel size."""

    smooth_um: float = 0.13  # Gaussian sigma before thresholding
    detect_sigma: float = 4.0  # detection threshold: background + this many noise standard deviations
    edge_fraction: float = 0.7  # per-object edge: this fraction of the way from background to its level
    halo_um: float = 0.6  # how far the blur extends a cell's detected blob beyond its outline
    min_gap_um: float = 0.1  # cells outlined closer than this to another cell count as touching it
    closing_um: float = 0.3  # radius of the per-cell closing that bridges gaps in the Bgs4 signal
    min_area_um2: float = 8.0  # a newborn cell is ~7 x 3.5 µm (~22 µm²)
    max_area_um2: float = 75.0  # a dividing cell is ~14 x 4 µm (~52 µm²) plus blur
    min_length_um: float = 4.0
    max_length_um: float = 20.0
    min_width_um: float = 2.0  # cell diameter ~3.5-3.7 µm
    max_width_um: float = 5.5  # two cells side by side are wider than this
    min_elongation: float = 1.3  # length / width: rods, not debris or round blobs
    min_waist: float = 0.6  # two cells touching end to end pinch in between
    min_solidity: float = 0.88  # cells touching at an angle make a concave blob


@dataclass
class CellRegion:
    """One cell of a field: its id, its mask (a crop of the field at offset y0, x0) and geometry.

    The id is the cell's label in a user's label mask, else its number in the field (1, 2, ...).
    The geometry's centre is in field coordinates.
    """

    label: int
    y0: int
    x0: int
    mask: np.ndarray
    geometry: CellGeometry

    @property
    def bbox(self) -> tuple[int, int, int, int]:
        """(y0, x0, y1, x1) of the mask in the field, end exclusive."""
        return self.y0, self.x0, self.y0 + self.mask.shape[0], self.x0 + self.mask.shape[1]


def segment_red(
    red: np.ndarray, pixel_size: float, params: SegmentationParams = SegmentationParams()
) -> tuple[list[CellRegion], Counter]:
    """Single whole cells of a field's red channel, and the counts of objects dropped, by reason."""
    field = _Field.of(red, pixel_size, params)
    blobs, _ = ndimage.label(field.smoothed > field.detect)
    cells: list[CellRegion] = []
    dropped: Counter = Counter()
    for index, box in enumerate(ndimage.find_objects(blobs)):
        if box is not None and _box_area(box) >= field.noise_area:
            _cells_in_blob(blobs[box] == index + 1, box, field, cells, dropped)
    return cells, dropped


def cells_from_labels(labels: np.ndarray) -> tuple[list[CellRegion], Counter]:
    """The objects of a label image (user masks: 0 = background) not touching the field border."""
    dropped: Counter = Counter()
    on_border = np.zeros(int(labels.max()) + 1, dtype=bool)
    on_border[_edge_values(labels)] = True
    cells = []
    for index, box in enumerate(ndimage.find_objects(labels)):
        label = index + 1
        if box is None:
            continue
        if on_border[label]:
            dropped["border"] += 1
            continue
        y0, x0 = box[0].start, box[1].start
        mask = labels[box] == label
        cells.append(CellRegion(label, y0, x0, mask, _in_field(cell_geometry(mask), y0, x0)))
    return cells, dropped


def background_level(smoothed: np.ndarray) -> tuple[float, float]:
    """Background level and noise standard deviation of a field (median and MAD below Otsu's threshold)."""
    sample = smoothed[::4, ::4].ravel()
    below = sample[sample <= otsu_threshold(sample)]
    background = float(np.median(below))
    return background, float(1.4826 * np.median(np.abs(below - background)))


def otsu_threshold(values: np.ndarray, bins: int = 512) -> float:
    """Otsu's threshold (maximal between-class variance) of ``values``; foreground is ``> threshold``."""
    values = np.ravel(values)
    low, high = float(values.min()), float(values.max())
    if high <= low:
        return low
    index = np.minimum(((values - low) * (bins / (high - low))).astype(np.int64), bins - 1)
    hist = np.bincount(index, minlength=bins).astype(np.float64)
    centres = low + (np.arange(bins) + 0.5) * (high - low) / bins
    weight_low = np.cumsum(hist)
    weight_high = weight_low[-1] - weight_low
    sum_low = np.cumsum(hist * centres)
    with np.errstate(divide="ignore", invalid="ignore"):
        mean_low = sum_low / weight_low
        mean_high = (sum_low[-1] - sum_low) / weight_high
        between = weight_low * weight_high * (mean_low - mean_high) ** 2
    between = np.nan_to_num(between[:-1])
    return float(centres[int(np.argmax(between))])


def fill_holes(mask: np.ndarray) -> np.ndarray:
    """``mask`` plus every background region not connected to the array's edge (one labelling pass)."""
    background, n = ndimage.label(~mask)
    outside = np.zeros(n + 1, dtype=bool)
    outside[_edge_values(background)] = True
    return mask | ((background > 0) & ~outside[background])


@dataclass
class _Field:
    """What the per-blob step needs to know about its field: image, levels, scale, settings."""

    smoothed: np.ndarray
    background: float
    detect: float
    pixel_size: float
    params: SegmentationParams
    min_area: float  # pixels
    noise_area: float  # pixels; smaller objects are noise, not worth counting

    @classmethod
    def of(cls, red: np.ndarray, pixel_size: float, params: SegmentationParams) -> _Field:
        """Smooth a field's red channel and measure its background and noise."""
        smoothed = ndimage.gaussian_filter(np.asarray(red, dtype=np.float32), params.smooth_um / pixel_size)
        background, noise = background_level(smoothed)
        min_area = params.min_area_um2 / pixel_size**2
        return cls(smoothed, background, background + params.detect_sigma * noise, pixel_size, params,
                   min_area, 0.25 * min_area)


def _cells_in_blob(blob: np.ndarray, box: tuple[slice, slice], field: _Field, cells: list[CellRegion],
                   dropped: Counter) -> None:
    """Outline the cells of one blob above the detection threshold; append the whole, single ones.

    A blob may hold several cells, outlined separately at the edge threshold (a fraction of the way
    from the background to the blob's median level); they are kept only if no other cell lies
    within ``min_gap_um`` and the blob holds nothing else (a dim cell touching a bright one is
    in the blob, beyond the bright cell's halo, but not outlined).
    """
    p = field.params
    area = np.count_nonzero(blob)
    if area < field.noise_area:
        return
    if area < field.min_area:
        dropped["small"] += 1
        return
    smoothed = field.smoothed[box]
    level = float(np.median(smoothed[blob]))
    edge = max(field.detect, field.background + p.edge_fraction * (level - field.background))
    parts, _ = ndimage.label(blob & (smoothed > edge))
    is_piece = np.bincount(parts.ravel()) >= field.noise_area
    is_piece[0] = False
    pieces = np.flatnonzero(is_piece)
    if len(pieces) == 0:
        dropped["small"] += 1
        return
    outlined = is_piece[parts]
    y0, x0 = box[0].start, box[1].start
    masks = [parts == piece for piece in pieces]
    inside = [mask for mask in masks if not _on_edge(mask, y0, x0, field.smoothed.shape)]
    dropped["border"] += len(masks) - len(inside)
    halo = 2 * int(np.ceil(p.halo_um / field.pixel_size)) + 1
    if inside and _has_remnant(blob & ~ndimage.maximum_filter(outlined, size=halo), field.noise_area):
        dropped["touching"] += len(inside)
        return
    gap = 2 * max(int(round(p.min_gap_um / field.pixel_size)), 1) + 1
    for mask in inside:
        if len(masks) > 1 and (ndimage.maximum_filter(mask, size=gap) & outlined & ~mask).any():
            dropped["touching"] += 1
            continue
        cell, reason = _outline_cell(mask, y0, x0, len(cells) + 1, field.pixel_size, p)
        if reason:
            dropped[reason] += 1
        else:
            cells.append(cell)


def _outline_cell(
    mask: np.ndarray, y0: int, x0: int, cell_id: int, pixel_size: float, params: SegmentationParams
) -> tuple[CellRegion | None, str]:
    """Fill one outlined cell (closing it first where gaps in a bright rim leave it hollow or
    notched), then check its size and shape; the reason is "" if it is kept."""
    filled, top, left = _trim(fill_holes(mask), y0, x0)
    solid = solidity(filled)
    if solid < params.min_solidity:
        filled, top, left = _close(mask, y0, x0, params.closing_um / pixel_size)
        solid = solidity(filled)
    geometry = cell_geometry(filled)
    reason = _rejection(geometry, solid, pixel_size, params)
    return (None if reason else CellRegion(cell_id, top, left, filled, _in_field(geometry, top, left))), reason


def _rejection(g: CellGeometry, solid: float, pixel_size: float, p: SegmentationParams) -> str:
    """Why this object is not one whole cell ("" if it is): size, shape or touching cells."""
    area = g.area * pixel_size**2
    if area < p.min_area_um2:
        return "small"
    if area > p.max_area_um2:
        return "large"
    length, width = g.length * pixel_size, g.width * pixel_size
    if not (p.min_length_um <= length <= p.max_length_um and p.min_width_um <= width <= p.max_width_um):
        return "shape"
    if g.elongation < p.min_elongation:
        return "shape"
    if g.waist < p.min_waist or solid < p.min_solidity:
        return "touching"
    return ""


def _has_remnant(remnant: np.ndarray, min_size: float) -> bool:
    """Whether ``remnant`` holds a connected piece of at least ``min_size`` pixels."""
    if remnant.sum() < min_size:
        return False
    pieces, _ = ndimage.label(remnant)
    return bool(np.bincount(pieces.ravel())[1:].max() >= min_size)


def _close(mask: np.ndarray, y0: int, x0: int, radius: float) -> tuple[np.ndarray, int, int]:
    """Close and fill one object's mask (padded so the closing can grow it), trimmed to its extent."""
    r = max(int(round(radius)), 0)
    if r:
        yy, xx = np.mgrid[-r:r + 1, -r:r + 1]
        mask = ndimage.binary_closing(np.pad(mask, r + 1), structure=yy * yy + xx * xx <= r * r)
        y0, x0 = y0 - r - 1, x0 - r - 1
    return _trim(fill_holes(mask), y0, x0)


def _trim(mask: np.ndarray, y0: int, x0: int) -> tuple[np.ndarray, int, int]:
    """Cut a mask placed at (y0, x0) down to its bounding box, with the new offset."""
    rows, cols = np.flatnonzero(mask.any(axis=1)), np.flatnonzero(mask.any(axis=0))
    return mask[rows[0]:rows[-1] + 1, cols[0]:cols[-1] + 1], y0 + int(rows[0]), x0 + int(cols[0])


def _box_area(box: tuple[slice, slice]) -> int:
    return (box[0].stop - box[0].start) * (box[1].stop - box[1].start)


def _edge_values(image: np.ndarray) -> np.ndarray:
    return np.concatenate([image[0], image[-1], image[:, 0], image[:, -1]])


def _on_edge(mask: np.ndarray, y0: int, x0: int, shape: tuple[int, int]) -> bool:
    """Whether a mask placed at (y0, x0) touches the border of a field of ``shape``."""
    height, width = mask.shape
    return bool(
        (y0 == 0 and mask[0].any()) or (x0 == 0 and mask[:, 0].any())
        or (y0 + height == shape[0] and mask[-1].any()) or (x0 + width == shape[1] and mask[:, -1].any())
    )


def _in_field(g: CellGeometry, y0: int, x0: int) -> CellGeometry:
    """The geometry of a crop's mask with its centre moved to field coordinates."""
    return CellGeometry(g.centre_y + y0, g.centre_x + x0, g.angle, g.length, g.width, g.area, g.waist)
