"""Small hand-drawn two-channel fields of rod-shaped cells (capsules) with exact ground truth.

Used by the preprocessing tests for cases the simulator does not cover (chosen angles, touching
cells, odd file layouts); red mimics Bgs4 (bright periphery and tips over a dim interior).
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import tifffile
from scipy import ndimage

PIXEL_SIZE = 0.13


def capsule_distance(shape, centre_y, centre_x, angle, length):
    """Distance of every pixel to the axis segment of a capsule of total ``length`` (px, tips included)."""
    yy, xx = np.mgrid[: shape[0], : shape[1]].astype(np.float64)
    cos, sin = np.cos(np.radians(angle)), np.sin(np.radians(angle))
    along = (xx - centre_x) * cos + (yy - centre_y) * sin
    across = -(xx - centre_x) * sin + (yy - centre_y) * cos
    return along, across


def draw_field(cells, shape=(256, 256), seed=0, radius=14.0):
    """Render cells (dicts: centre_y, centre_x, angle, length in px) -> (red, green, labels) uint16/int."""
    rng = np.random.default_rng(seed)
    red = np.zeros(shape)
    green = np.zeros(shape)
    labels = np.zeros(shape, dtype=np.uint16)
    for i, c in enumerate(cells, start=1):
        along, across = capsule_distance(shape, c["centre_y"], c["centre_x"], c["angle"], c["length"])
        half = c["length"] / 2 - radius
        dist = np.hypot(np.clip(np.abs(along) - half, 0, None), across)
        inside = dist <= radius
        labels[inside & (labels == 0)] = i
        rim = np.exp(-((dist - radius + 2) ** 2) / 4.0)
        tip = np.exp(-((along - half - radius / 2) ** 2 + across**2) / 60.0)
        red += inside * (0.35 + 0.9 * rim) + 2.0 * tip * inside
        dot = np.exp(-((along + 0.25 * half) ** 2 + across**2) / 8.0)
        green += inside * (0.2 + c.get("green", 1.0) * 3.0 * dot)
    red = ndimage.gaussian_filter(red, 1.5) * 800 + 100
    green = ndimage.gaussian_filter(green, 1.5) * 500 + 100
    red = rng.poisson(red) + rng.normal(0, 5, shape)
    green = rng.poisson(green) + rng.normal(0, 5, shape)
    return (np.clip(red, 0, 65535).astype(np.uint16), np.clip(green, 0, 65535).astype(np.uint16), labels)


def random_cells(rng, n, shape=(256, 256), min_gap=12.0, radius=14.0):
    """Up to ``n`` non-touching cells at random places, angles and lengths (7-13 µm)."""
    cells = []
    for _ in range(50 * n):
        if len(cells) == n:
            break
        length = rng.uniform(7.0, 13.0) / PIXEL_SIZE
        c = {"centre_y": rng.uniform(40, shape[0] - 40), "centre_x": rng.uniform(40, shape[1] - 40),
             "angle": rng.uniform(-90, 90), "length": length}
        if all(_apart(c, d, radius, min_gap) for d in cells):
            cells.append(c)
    return cells


def _apart(a, b, radius, gap):
    """Conservative: axis segments farther apart than 2 radii + gap (sampled points)."""
    pa, pb = _axis_points(a, radius), _axis_points(b, radius)
    return np.min(np.linalg.norm(pa[:, None] - pb[None], axis=-1)) > 2 * radius + gap


def _axis_points(c, radius):
    half = c["length"] / 2 - radius
    t = np.linspace(-half, half, 20)
    return np.stack([c["centre_y"] + t * np.sin(np.radians(c["angle"])),
                     c["centre_x"] + t * np.cos(np.radians(c["angle"]))], axis=1)


def write_field(path: Path, red, green, *, imagej=True, pixel_size=PIXEL_SIZE, labels=None,
                channels_last=False, protein="Alp14", channel_labels=None):
    """Write a two-channel field TIFF (ImageJ CYX with resolution by default)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    data = np.stack([red, green])
    if imagej:
        tifffile.imwrite(path, data, imagej=True, resolution=(1 / pixel_size, 1 / pixel_size),
                         metadata={"axes": "CYX", "unit": "um", "Labels": channel_labels or ["Bgs4", protein]})
    elif channels_last:
        tifffile.imwrite(path, np.moveaxis(data, 0, -1))
    else:
        tifffile.imwrite(path, data)
    if labels is not None:
        tifffile.imwrite(path.with_name(f"{path.stem}_labels.tif"), labels)


def write_screen(root: Path, proteins=("Alp14", "Tea1"), fields=2, cells=6, seed=0, shape=(256, 256),
                 phases=False):
    """A small screen ``root/<protein>/field_XXX.tif`` (+ labels, + cells.csv with phases if asked)."""
    rng = np.random.default_rng(seed)
    truth = {}
    for p_index, protein in enumerate(proteins):
        for f in range(fields):
            placed = random_cells(rng, cells, shape)
            for c in placed:
                c["green"] = 1.0 + p_index
            red, green, labels = draw_field(placed, shape, seed=int(rng.integers(1 << 30)))
            path = root / protein / f"field_{f:03d}.tif"
            write_field(path, red, green, labels=labels, protein=protein)
            if phases:
                table = pd.DataFrame({"cell_id": np.arange(1, len(placed) + 1),
                                      "angle": [c["angle"] for c in placed],
                                      "phase": [("G2", "M")[i % 2] for i in range(len(placed))]})
                table.to_csv(path.with_name(f"{path.stem}_cells.csv"), index=False)
            truth[path] = (placed, labels)
    return truth
