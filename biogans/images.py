"""Cells as pictures and bytes: [-1, 1] tensors to uint8 and RGB, cell grids, PNG and GIF output.

Cells are shown as in the paper: the red channel (Bgs4) in red, the green channel (the protein) in
green, on black.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import torch
from PIL import Image

from biogans.files import atomic_path


def to_uint8(images: torch.Tensor) -> np.ndarray:
    """[-1, 1] -> uint8 [0, 255], the cell store's encoding (background -1 -> 0)."""
    return ((images.float().clamp(-1, 1) + 1) * 127.5).round().to(torch.uint8).cpu().numpy()


def to_rgb(cells: torch.Tensor | np.ndarray) -> np.ndarray:
    """[..., 2, H, W] in [-1, 1] -> [..., H, W, 3] in [0, 1] (red, green, blue = 0)."""
    x = cells.detach().float().cpu().numpy() if isinstance(cells, torch.Tensor) else np.asarray(cells, np.float32)
    x = np.clip((x + 1) / 2, 0, 1)
    rgb = np.zeros((*x.shape[:-3], *x.shape[-2:], 3), np.float32)
    rgb[..., 0] = x[..., 0, :, :]
    rgb[..., 1] = x[..., 1, :, :]
    return rgb


def grid(rgb: np.ndarray, columns: int, pad: int = 2, background: float = 1.0) -> np.ndarray:
    """Tile [N, H, W, 3] images into rows of ``columns``, separated by ``pad`` pixels."""
    n, h, w, _ = rgb.shape
    rows = -(-n // columns)
    sheet = np.full((rows * (h + pad) + pad, columns * (w + pad) + pad, 3), background, np.float32)
    for i, image in enumerate(rgb):
        r, c = divmod(i, columns)
        sheet[pad + r * (h + pad):pad + r * (h + pad) + h, pad + c * (w + pad):pad + c * (w + pad) + w] = image
    return sheet


def cell_sheet(cells: torch.Tensor, columns: int = 8) -> np.ndarray:
    """A picture of generated cells [N, P, 2, H, W]: with one protein an N-cell grid of
    ``columns`` columns; with several, one row per protein and one column per latent vector."""
    if cells.shape[1] == 1:
        return grid(to_rgb(cells[:, 0]), columns)
    per_protein = cells.transpose(0, 1)  # [P, N, 2, H, W]
    return grid(to_rgb(per_protein.flatten(0, 1)), columns=cells.shape[0])


def save_png(path: str | Path, rgb: np.ndarray, scale: int = 1) -> None:
    """Write an RGB array in [0, 1] as an 8-bit PNG (nearest-neighbour upscaled by ``scale``)."""
    image = Image.fromarray((np.clip(rgb, 0, 1) * 255).round().astype(np.uint8))
    if scale > 1:
        image = image.resize((image.width * scale, image.height * scale), Image.NEAREST)
    with atomic_path(path) as tmp:
        image.save(tmp, format="PNG")


def cell_rows(cells: torch.Tensor | np.ndarray, pad: int = 2, background: float = 1.0) -> np.ndarray:
    """A picture of cells laid out [R, C, 2, H, W] (in [-1, 1]): R rows of C cells each."""
    rows, columns = cells.shape[:2]
    return grid(to_rgb(cells.reshape(rows * columns, *cells.shape[2:])), columns, pad, background)


def grid_centres(count: int, size: int, pad: int = 2) -> np.ndarray:
    """Pixel centres of ``count`` rows (or columns) of ``size`` pixels in a :func:`grid` with ``pad``."""
    return pad + np.arange(count) * (size + pad) + (size - 1) / 2


def save_gif(path: str | Path, frames: list[np.ndarray], duration_ms: int = 120, scale: int = 1) -> None:
    """Write RGB frames in [0, 1] as an animated GIF that loops forever (nearest-neighbour upscaled)."""
    images = [Image.fromarray((np.clip(frame, 0, 1) * 255).round().astype(np.uint8)) for frame in frames]
    if scale > 1:
        images = [image.resize((image.width * scale, image.height * scale), Image.NEAREST) for image in images]
    with atomic_path(path) as tmp:
        images[0].save(tmp, format="GIF", save_all=True, append_images=images[1:], duration=duration_ms,
                       loop=0, disposal=1)
