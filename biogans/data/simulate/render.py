"""Rendering a field: every cell's protein pattern in photons, then the microscope and camera.

Dense components are evaluated only on each cell's own outline pixels; point structures
(SPBs, patches, rings, ...) of all cells are splatted at once (bilinear) into the field. One
PSF blur and one haze blur per channel follow (``optics``), then the noisy exposure.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from functools import lru_cache

import numpy as np

from biogans.data.simulate import optics, rod
from biogans.data.simulate.localisation import (
    BASE_PHOTONS,
    GREEN_EXPRESSION_SIGMA,
    POINTS,
    pattern,
)
from biogans.proteins import RED


def _splat(images: np.ndarray, values: np.ndarray, rows: np.ndarray, cols: np.ndarray) -> None:
    """Add point values [C, n] at (rows, cols), bilinearly, into images [C, H, W] (in place)."""
    _, height, width = images.shape
    flat = images.reshape(len(images), -1)
    r0, c0 = np.floor(rows).astype(np.intp), np.floor(cols).astype(np.intp)
    fr, fc = rows - r0, cols - c0
    for dr, dc, w in ((0, 0, (1 - fr) * (1 - fc)), (0, 1, (1 - fr) * fc),
                      (1, 0, fr * (1 - fc)), (1, 1, fr * fc)):
        r, c = r0 + dr, c0 + dc
        ok = (r >= 0) & (r < height) & (c >= 0) & (c < width)
        index = r[ok] * width + c[ok]
        for k in range(len(flat)):
            np.add.at(flat[k], index, (values[k, ok] * w[ok]).astype(flat.dtype))


def _haze_bins(rows: np.ndarray, cols: np.ndarray, shape: tuple[int, int]) -> np.ndarray:
    """Flat index in the haze grid of field positions (rows, cols); -1 outside the field."""
    r, c = np.floor(rows).astype(np.intp), np.floor(cols).astype(np.intp)
    inside = (r >= 0) & (r < shape[0]) & (c >= 0) & (c < shape[1])
    bins = (r // optics.HAZE_BIN) * optics.haze_grid(shape)[1] + c // optics.HAZE_BIN
    return np.where(inside, bins, -1)


@lru_cache(maxsize=4)
def _pixel_bins(shape: tuple[int, int]) -> np.ndarray:
    """Haze-grid flat index of every field pixel (flat order)."""
    rows, cols = np.indices(shape)
    bins = _haze_bins(rows.ravel(), cols.ravel(), shape)
    bins.flags.writeable = False
    return bins


def specimen_light(cells: Sequence, channels: Sequence[str], shape: tuple[int, int],
                   green_expression: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Photons of the placed cells per channel: in focus [C, H, W], and out of focus summed
    per haze bin [C, *optics.haze_grid(shape)].

    ``cells`` are placed cells (``.cell`` state, ``.pose``, ``.pixels``); ``green_expression``
    [n_cells, C] multiplies the green channels (the red uses the state's own expression).
    """
    n_channels = len(channels)
    sharp = np.zeros((n_channels, shape[0] * shape[1]), np.float32)
    grid = optics.haze_grid(shape)
    haze = np.zeros((n_channels, grid[0] * grid[1]), np.float32)
    if not cells:
        return sharp.reshape(n_channels, *shape), haze.reshape(n_channels, *grid)
    light = _cell_light(cells, channels, shape, green_expression)

    # Dense light: each pixel belongs to one cell, so it is set, not added.
    haze_bins, haze_light = [], []
    if light.pixels:
        index = np.concatenate(light.pixels)
        dense = np.maximum(np.concatenate(light.pixel_light, axis=2), 0.0)
        for k in range(n_channels):
            sharp[k][index] = dense[0, k]
        haze_bins.append(_pixel_bins(shape)[index])
        haze_light.append(dense[1])

    # Point structures: integrated photons of a dot / per pixel of a line whose blurred peak is
    # the pattern weight; the in-focus part is splatted, the rest joins the haze.
    points = np.concatenate(light.points)
    kinds = np.concatenate(light.point_kinds)
    if len(kinds):
        psf = np.array([optics.psf_sigma_px(ch) for ch in channels])
        dot_area, line_width = 2 * np.pi * psf[:, None] ** 2, np.sqrt(2 * np.pi) * psf[:, None]
        unit = np.where(rod.IS_LINE[kinds], line_width, dot_area)
        amplitude = (light.point_scale[np.concatenate(light.point_cell), :, kinds].T
                     * np.concatenate(light.point_weights) * unit)
        focused = rod.in_focus_weight(points[:, 2])
        _splat(sharp.reshape(n_channels, *shape), amplitude * focused, points[:, 0], points[:, 1])
        haze_bins.append(_haze_bins(points[:, 0], points[:, 1], shape))
        haze_light.append(amplitude * (1 - focused))

    if haze_bins:
        bins, values = np.concatenate(haze_bins), np.concatenate(haze_light, axis=1)
        keep = bins >= 0
        for k in range(n_channels):
            haze[k] = np.bincount(bins[keep], weights=values[k, keep], minlength=haze.shape[1])
    return sharp.reshape(n_channels, *shape), haze.reshape(n_channels, *grid)


@dataclass
class _CellLight:
    """The light of every placed cell, gathered per cell: outline pixels with their dense light
    [2 (in focus, haze), C, n], and point structures with their positions, kinds and scales."""

    pixels: list = field(default_factory=list)
    pixel_light: list = field(default_factory=list)
    points: list = field(default_factory=list)
    point_kinds: list = field(default_factory=list)
    point_weights: list = field(default_factory=list)
    point_cell: list = field(default_factory=list)
    point_scale: np.ndarray | None = None  # [n_cells, C, n_point_kinds]


def _cell_light(cells: Sequence, channels: Sequence[str], shape: tuple[int, int],
                green_expression: np.ndarray) -> _CellLight:
    base = np.array([BASE_PHOTONS[ch] for ch in channels])
    is_red = np.array([ch == RED for ch in channels])
    light = _CellLight(point_scale=np.zeros((len(cells), len(channels), len(POINTS))))
    for i, placed in enumerate(cells):
        cell = placed.cell
        scale = base * np.where(is_red, cell.red_expression, green_expression[i])
        weights = [pattern(ch, cell) for ch in channels]
        dense_w = np.array([w[0] for w in weights]) * scale[:, None]    # [C, n_dense]
        light.point_scale[i] = np.array([w[1] for w in weights]) * scale[:, None]
        if len(placed.pixels):
            u, v = rod.frame_coordinates(placed.pixels, placed.pose, shape[1])
            needed = np.any(dense_w != 0, axis=0)
            maps = rod.dense_maps(cell, u, v, needed)                # [2, n_dense, n]
            light.pixels.append(placed.pixels)
            light.pixel_light.append(np.einsum("ck,skn->scn", dense_w[:, needed], maps[:, needed]))
        xyz, kinds, weight = rod.structure_points(cell)
        rows, cols = rod.to_field(xyz, placed.pose)
        light.points.append(np.column_stack([rows, cols, xyz[:, 2]]))
        light.point_kinds.append(kinds)
        light.point_weights.append(weight)
        light.point_cell.append(np.full(len(kinds), i))
    return light


def render_field(cells: Sequence, channels: Sequence[str], shape: tuple[int, int],
                 rng: np.random.Generator) -> np.ndarray:
    """The camera image uint16 [C, H, W] of placed cells, one channel per protein in ``channels``.

    Each channel gets its own per-cell expression (greens) and its own photon and read noise.
    """
    green_expression = rng.lognormal(0.0, GREEN_EXPRESSION_SIGMA, (len(cells), len(channels)))
    sharp, haze = specimen_light(cells, channels, shape, green_expression)
    image = np.empty((len(channels), *shape), np.uint16)
    for k, channel in enumerate(channels):
        specimen = optics.optical_image(sharp[k], haze[k], channel)
        image[k] = optics.expose(specimen, channel, rng)
    return image
