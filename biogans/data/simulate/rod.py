"""A cell placed in a field: its outline (the label region), frame coordinates and structure maps.

A cell is a rod (cylinder with hemispherical ends) of the state's length and width, lying in
the focal plane at a pose (centre in pixels, long-axis angle). The maps say, for each pixel of
its outline, how much of a structure lies within the depth of field there (``sharp``) and how
much lies above or below it (out-of-focus haze), from the cell's thickness at that pixel and
the depth of field (``optics.SECTION_SIGMA_UM``). The sizes below (cap decay, septum thickness)
are modelling choices, listed with the others in docs/biology.md.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
from scipy.special import erf

from biogans.data.simulate.cells import CellState
from biogans.data.simulate.localisation import DENSE, LINE_POINTS, POINTS
from biogans.data.simulate.optics import PIXEL_SIZE_UM, SECTION_SIGMA_UM

#: Decay length of a tip cap (Bgs4, Tea1, ...) along the cell from its tip, um.
CAP_DECAY_UM = 0.8
#: The cortex is brightest where the membrane is seen edge-on; its projected density R / h
#: (h: half-thickness) is capped at the value for h = CORTEX_FLOOR_UM.
CORTEX_FLOOR_UM = 0.3
#: Thickness (sigma) of the septum disc and the spacing of points drawn along lines.
SEPTUM_SIGMA_UM = 0.1
LINE_SPACING_UM = 0.1

_SQRT2_S = np.sqrt(2.0) * SECTION_SIGMA_UM
_SQRT2PI_S = np.sqrt(2.0 * np.pi) * SECTION_SIGMA_UM


@dataclass(frozen=True)
class Pose:
    """Where a cell lies in a field: centre (row, column) in pixels and long-axis angle.

    The axis direction is (cos angle, sin angle) in (x = column, y = row) coordinates, i.e. the
    angle is measured from +x towards +y (downwards in the image), in degrees in (-90, 90].
    """

    centre_y: float
    centre_x: float
    angle: float

    def axis(self) -> tuple[float, float]:
        a = np.deg2rad(self.angle)
        return float(np.cos(a)), float(np.sin(a))


def _outline(cell: CellState, u: np.ndarray, v: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Distance of (u, v) from the cell's axis segment, and the outline radius there (which the
    separation furrow narrows at the septum): inside the cell where distance <= radius."""
    r = cell.radius
    beyond = np.maximum(np.abs(u) - (cell.length / 2 - r), 0.0)
    distance = np.sqrt(beyond * beyond + v * v)
    if cell.furrow > 0:
        notch = cell.furrow * np.maximum(0.0, 1.0 - np.abs(u - cell.division_u) / cell.furrow)
        return distance, r - notch
    return distance, np.full_like(distance, r)


def frame_coordinates(pixels: np.ndarray, pose: Pose, width: int) -> tuple[np.ndarray, np.ndarray]:
    """Cell-frame (u, v) in um of flat pixel indices of a field ``width`` pixels wide."""
    y, x = np.divmod(pixels, width)
    dy, dx = y - pose.centre_y, x - pose.centre_x
    c, s = pose.axis()
    return (dx * c + dy * s) * PIXEL_SIZE_UM, (dy * c - dx * s) * PIXEL_SIZE_UM


def footprint(cell: CellState, pose: Pose, shape: tuple[int, int]) -> tuple[np.ndarray, bool]:
    """Flat indices of the field pixels whose centres lie inside the cell's outline.

    Also returns ``cut``: True when the outline reaches the field's edge pixels or beyond (the
    cell is cut by the border, or touches it, so a segmentation must drop it).
    """
    height, width = shape
    c, s = pose.axis()
    reach_x = (cell.length / 2 * abs(c) + cell.radius * abs(s)) / PIXEL_SIZE_UM + 1
    reach_y = (cell.length / 2 * abs(s) + cell.radius * abs(c)) / PIXEL_SIZE_UM + 1
    x0, x1 = int(np.floor(pose.centre_x - reach_x)), int(np.ceil(pose.centre_x + reach_x)) + 1
    y0, y1 = int(np.floor(pose.centre_y - reach_y)), int(np.ceil(pose.centre_y + reach_y)) + 1
    dy = (np.arange(y0, y1) - pose.centre_y)[:, None]
    dx = (np.arange(x0, x1) - pose.centre_x)[None, :]
    u = (dx * c + dy * s) * PIXEL_SIZE_UM
    v = (dy * c - dx * s) * PIXEL_SIZE_UM
    distance, radius = _outline(cell, u, v)
    yy, xx = np.nonzero(distance <= radius)
    yy += y0
    xx += x0
    in_field = (yy >= 0) & (yy < height) & (xx >= 0) & (xx < width)
    clear = (yy >= 1) & (yy < height - 1) & (xx >= 1) & (xx < width - 1)
    return yy[in_field] * width + xx[in_field], not bool(clear.all())


def axis_segment(cell: CellState, pose: Pose) -> np.ndarray:
    """End points (x, y) in pixels [2, 2] of the segment whose radius-R neighbourhood is the cell."""
    c, s = pose.axis()
    half = (cell.length / 2 - cell.radius) / PIXEL_SIZE_UM
    centre = np.array([pose.centre_x, pose.centre_y])
    return np.stack([centre - half * np.array([c, s]), centre + half * np.array([c, s])])


def _point_segment_distance(px: float, py: float, ax: float, ay: float, bx: float, by: float) -> float:
    dx, dy = bx - ax, by - ay
    t = ((px - ax) * dx + (py - ay) * dy) / max(dx * dx + dy * dy, 1e-12)
    t = min(max(t, 0.0), 1.0)
    return math.hypot(px - ax - t * dx, py - ay - t * dy)


def segment_distance(first: np.ndarray, second: np.ndarray) -> float:
    """Distance between two 2-D segments, each [2, 2] (0 when they cross).

    In 2-D, non-crossing segments are closest at an end point of one of them. Plain Python
    floats: far faster than numpy for the one or two neighbours a placement checks.
    """
    (ax, ay), (bx, by) = first.tolist()
    (cx, cy), (dx, dy) = second.tolist()

    def side(px, py, qx, qy, rx, ry):
        return (qx - px) * (ry - py) - (qy - py) * (rx - px)

    if (side(ax, ay, bx, by, cx, cy) * side(ax, ay, bx, by, dx, dy) < 0
            and side(cx, cy, dx, dy, ax, ay) * side(cx, cy, dx, dy, bx, by) < 0):
        return 0.0
    return min(_point_segment_distance(ax, ay, cx, cy, dx, dy),
               _point_segment_distance(bx, by, cx, cy, dx, dy),
               _point_segment_distance(cx, cy, ax, ay, bx, by),
               _point_segment_distance(dx, dy, ax, ay, bx, by))


def _in_focus(half_thickness: np.ndarray) -> np.ndarray:
    """In-focus content of a column of half-thickness h through the mid-plane (1 when thick)."""
    return erf(half_thickness / _SQRT2_S)


def dense_maps(cell: CellState, u: np.ndarray, v: np.ndarray,
               needed: np.ndarray | None = None) -> np.ndarray:
    """The DENSE component maps at cell-frame points (u, v): [2, n_dense, n] in-focus and haze.

    Units: the in-focus cytoplasm of a thick region is 1. Row 0 is the light within the depth
    of field, row 1 the rest of the cell's depth (out-of-focus haze). Components not ``needed``
    (a boolean per DENSE component) are left at zero.
    """
    need = np.ones(len(DENSE), bool) if needed is None else needed
    distance, radius = _outline(cell, u, v)
    h = np.sqrt(np.maximum(radius * radius - distance * distance, 0.0))
    maps = np.zeros((2, len(DENSE), len(u)))
    sharp, haze = maps

    if need[0]:
        sharp[0] = _in_focus(h)
        haze[0] = 2 * h / _SQRT2PI_S - sharp[0]

    if need[1]:
        nucleus_h = np.zeros_like(h)
        for nu, nv, nr in cell.nuclei:
            d2 = (u - nu) ** 2 + (v - nv) ** 2
            nucleus_h = np.maximum(nucleus_h, np.sqrt(np.maximum(nr * nr - d2, 0.0)))
        inside = nucleus_h > 0
        sharp[1, inside] = _in_focus(nucleus_h[inside])
        haze[1] = 2 * nucleus_h / _SQRT2PI_S - sharp[1]

    if need[2:5].any():
        # The membrane at +-h: projected density ~ R / h per surface, in focus when h is small.
        edge_on = CORTEX_FLOOR_UM / np.maximum(h, CORTEX_FLOOR_UM)
        sharp[2] = edge_on * np.exp(-0.5 * (h / SECTION_SIGMA_UM) ** 2)
        haze[2] = edge_on - sharp[2]
        for row, end in ((3, cell.old_end), (4, -cell.old_end)):
            if need[row]:
                # exp(-distance from the tip / decay); u never exceeds the tip at length / 2.
                cap = np.exp((end * u - cell.length / 2) / CAP_DECAY_UM)
                sharp[row] = sharp[2] * cap
                haze[row] = haze[2] * cap

    if need[5] and np.isfinite(cell.septum_inner):
        near = np.flatnonzero(np.abs(u - cell.division_u) < 4 * SEPTUM_SIGMA_UM)
        band = np.exp(-0.5 * ((u[near] - cell.division_u) / SEPTUM_SIGMA_UM) ** 2)
        outer = np.sqrt(np.maximum(radius[near] ** 2 - v[near] ** 2, 0.0))
        inner = np.sqrt(np.maximum(cell.septum_inner ** 2 - v[near] ** 2, 0.0))
        sharp[5, near] = band * np.maximum(_in_focus(outer) - _in_focus(inner), 0.0)
        haze[5, near] = band * 2 * (outer - inner) / _SQRT2PI_S - sharp[5, near]
    return maps


def _line(start: np.ndarray, end: np.ndarray) -> tuple[np.ndarray, float]:
    """Points every ~LINE_SPACING_UM along a segment (3-D), and their spacing in um."""
    length = float(np.linalg.norm(end - start))
    n = max(2, int(np.ceil(length / LINE_SPACING_UM)) + 1)
    t = np.linspace(0.0, 1.0, n)[:, None]
    return start + t * (end - start), length / (n - 1)


def structure_points(cell: CellState) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """The POINTS structures as 3-D points: (u, v, z) [n, 3], kind index [n], weight [n].

    A dot's weight is its relative brightness; a line point's weight is the line spacing in
    pixels, so that a line drawn with weight w per unit peak has a uniform linear density.
    """
    xyz, kinds, weights = [], [], []

    def add(points: np.ndarray, kind: str, weight: np.ndarray | float) -> None:
        if len(points):
            xyz.append(points[:, :3])
            kinds.append(np.full(len(points), POINTS.index(kind)))
            weights.append(np.broadcast_to(np.asarray(weight, float), (len(points),)))

    add(cell.spbs, "spb", 1.0)
    if cell.spindle:
        points, spacing = _line(cell.spbs[0], cell.spbs[1])
        add(points, "spindle", spacing / PIXEL_SIZE_UM)
    add(cell.mt_ends, "mt_end", 1.0)
    add(cell.patches, "patch", cell.patches[:, 3])
    add(cell.tip_clusters, "tip_cluster", cell.tip_clusters[:, 3])
    if np.isfinite(cell.ring_radius) and cell.ring_radius > 0.05:
        n = max(8, int(np.ceil(2 * np.pi * cell.ring_radius / LINE_SPACING_UM)))
        theta = 2 * np.pi * np.arange(n) / n
        ring = np.column_stack([np.full(n, cell.division_u), cell.ring_radius * np.sin(theta),
                                cell.ring_radius * np.cos(theta)])
        add(ring, "ring", 2 * np.pi * cell.ring_radius / n / PIXEL_SIZE_UM)
    if not xyz:
        return np.zeros((0, 3)), np.zeros(0, int), np.zeros(0)
    return np.concatenate(xyz), np.concatenate(kinds), np.concatenate(weights)


def to_field(points: np.ndarray, pose: Pose) -> tuple[np.ndarray, np.ndarray]:
    """Field (row, column) in pixels of cell-frame points (u, v, ...)."""
    c, s = pose.axis()
    u, v = points[:, 0] / PIXEL_SIZE_UM, points[:, 1] / PIXEL_SIZE_UM
    return pose.centre_y + u * s + v * c, pose.centre_x + u * c - v * s


def in_focus_weight(z: np.ndarray) -> np.ndarray:
    """Fraction of a point's light that is in focus at depth z (the rest becomes haze)."""
    return np.exp(-0.5 * (z / SECTION_SIGMA_UM) ** 2)


#: Which POINTS kinds are drawn as lines.
IS_LINE = np.array([name in LINE_POINTS for name in POINTS])
