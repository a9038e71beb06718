"""Aligning one cell: rotate its long axis to horizontal, rescale, crop 48x80 around it, mask it.

One bilinear resampling does rotation, rescaling (field pixel size -> cell pixel size) and
cropping at once, so each cell costs a few thousand interpolated pixels whatever the field size;
the channels are sampled only inside the cell's rotated mask, since everything outside is 0.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from scipy import ndimage

from biogans.data.segment import CellRegion
from biogans.proteins import CELL_SHAPE


@dataclass
class AlignedCell:
    """One aligned cell: its mask [H, W] and each channel's values inside it [C, mask.sum()].

    Values are in the order of ``mask.nonzero()`` (row-major), so ``images()`` rebuilds the crop.
    """

    mask: np.ndarray
    values: np.ndarray

    def images(self) -> np.ndarray:
        """The cell as float32 [C, H, W], 0 outside its mask."""
        images = np.zeros((len(self.values), *self.mask.shape), dtype=np.float32)
        images[:, self.mask] = self.values
        return images


def sampling_grid(
    centre_y: float, centre_x: float, angle: float, scale: float, shape: tuple[int, int] = CELL_SHAPE
) -> np.ndarray:
    """Field coordinates (2, H, W) (rows, columns) of each output pixel.

    The output is centred on (centre_y, centre_x); its columns run along the direction ``angle``
    (degrees, (cos a, sin a) in (x, y)); one output pixel spans ``scale`` field pixels.
    """
    height, width = shape
    u = (np.arange(height, dtype=np.float64) - (height - 1) / 2) * scale  # across the cell
    v = (np.arange(width, dtype=np.float64) - (width - 1) / 2) * scale  # along the cell
    cos, sin = np.cos(np.radians(angle)), np.sin(np.radians(angle))
    rows = centre_y + v[None, :] * sin + u[:, None] * cos
    cols = centre_x + v[None, :] * cos - u[:, None] * sin
    return np.stack([rows, cols])


def align_cell(
    channels: np.ndarray, cell: CellRegion, scale: float, shape: tuple[int, int] = CELL_SHAPE
) -> AlignedCell | None:
    """Rotate, rescale and crop one cell of a field ``channels`` [C, Y, X] (float32).

    ``scale`` is cell pixel size / field pixel size. Returns None when the rotated cell does not
    fit in ``shape`` (its mask reaches the frame's edge) or vanishes at this scale.
    """
    g = cell.geometry
    grid = sampling_grid(g.centre_y, g.centre_x, g.angle, scale, shape)
    local = grid - np.array([cell.y0, cell.x0], dtype=np.float64)[:, None, None]
    mask = ndimage.map_coordinates(cell.mask.astype(np.float32), local, order=1, cval=0.0) >= 0.5
    if not mask.any() or mask[0].any() or mask[-1].any() or mask[:, 0].any() or mask[:, -1].any():
        return None
    inside = grid[:, mask]
    values = np.empty((len(channels), inside.shape[1]), dtype=np.float32)
    for c, channel in enumerate(channels):
        ndimage.map_coordinates(channel, inside, output=values[c], order=1, cval=0.0)
    return AlignedCell(mask, values)
