"""Shape of one cell mask: centroid, orientation (second moments), length, width, waist, solidity.

Segmentation uses these to keep plausible single cells; alignment uses the centroid and angle.
Angles follow the simulator's convention: degrees in (-90, 90], the long axis pointing along
(cos a, sin a) in (x = column, y = row) coordinates.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from scipy.spatial import ConvexHull, QhullError


@dataclass(frozen=True)
class CellGeometry:
    """Geometry of one mask, in pixels of the array it was measured in."""

    centre_y: float
    centre_x: float
    angle: float  # degrees in (-90, 90]
    length: float  # extent along the long axis
    width: float  # extent across the long axis
    area: int
    waist: float  # deepest pinch of the width profile (1 for a rod, well below 1 where two cells meet)

    @property
    def elongation(self) -> float:
        return self.length / max(self.width, 1e-9)


def cell_geometry(mask: np.ndarray) -> CellGeometry:
    """Measure a non-empty boolean mask by PCA of its pixel coordinates."""
    points = np.argwhere(mask).astype(np.float64)  # (row, column) per pixel
    centre = points.sum(axis=0) / len(points)
    dy, dx = (points - centre).T
    syy, sxx, sxy = np.dot(dy, dy), np.dot(dx, dx), np.dot(dx, dy)  # second moments (times the area)
    theta = 0.5 * np.arctan2(2 * sxy, sxx - syy)
    cos, sin = np.cos(theta), np.sin(theta)
    along, across = dx * cos + dy * sin, dy * cos - dx * sin
    angle = float(np.degrees(theta))
    if angle <= -90.0:
        angle += 180.0
    return CellGeometry(float(centre[0]), float(centre[1]), angle, float(np.ptp(along) + 1),
                        float(np.ptp(across) + 1), len(points), _waist(along))


def _waist(along: np.ndarray) -> float:
    """Deepest pinch of the width profile along the long axis: the width at a position over the
    smaller of the widest points on either side (1 for a rod; well below 1 where two cells meet)."""
    position = (along - along.min()) / 2  # in bins of 2 px; pixels split between the two nearest
    index = position.astype(np.int64)
    share = position - index
    bins = int(index.max()) + 2
    profile = np.bincount(index, 1 - share, bins) + np.bincount(index + 1, share, bins)  # 2 x local width
    shoulders = np.minimum(np.maximum.accumulate(profile), np.maximum.accumulate(profile[::-1])[::-1])
    counted = shoulders >= 0.3 * profile.max()  # ignore the ragged first pixels of each tip
    return float((profile[counted] / shoulders[counted]).min())


def solidity(mask: np.ndarray) -> float:
    """Mask area over the area of its convex hull (pixel corners): ~1 for a rod, lower for merged cells."""
    rows = np.flatnonzero(mask.any(axis=1))
    first = np.argmax(mask[rows], axis=1)  # the hull of the pixels is the hull of each row's end pixels
    last = mask.shape[1] - 1 - np.argmax(mask[rows, ::-1], axis=1)
    ys = np.concatenate([rows - 0.5, rows + 0.5, rows - 0.5, rows + 0.5])
    xs = np.concatenate([first - 0.5, first - 0.5, last + 0.5, last + 0.5])
    try:
        hull_area = ConvexHull(np.stack([ys, xs], axis=1)).volume
    except (QhullError, ValueError):
        return 1.0  # degenerate (a line of pixels): nothing concave about it
    return float(mask.sum() / hull_area)
