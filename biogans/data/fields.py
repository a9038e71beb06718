"""Reading microscopy fields (multi-channel TIFF) and their label masks, with one-line errors.

A field is one field of view: a red channel (Bgs4) and one or more green channels, plus the pixel
size in micrometres. Files come from users' screens, so every way a file can be unusable
(unreadable, truncated, wrong channel count, no pixel size, mismatched mask) raises
:class:`~biogans.errors.BiogansError` naming the file.
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import tifffile

from biogans.errors import BiogansError
from biogans.ome import read_ome_metadata
from biogans.proteins import RED
from biogans.validation import check_image_pixels

LABELS_SUFFIX = "_labels.tif"

#: Plausible field pixel sizes (µm): outside this the resolution tags are not a microscope's.
PIXEL_SIZE_RANGE = (0.005, 2.0)

#: Micrometres per unit, for ImageJ 'unit' metadata and TIFF ResolutionUnit values.
_UNIT_UM = {
    "um": 1.0, "µm": 1.0, "μm": 1.0, "\\u00b5m": 1.0, "micron": 1.0, "microns": 1.0,
    "micrometer": 1.0, "micrometre": 1.0, "nm": 1e-3, "nanometer": 1e-3, "nanometre": 1e-3,
    "mm": 1e3, "millimeter": 1e3, "millimetre": 1e3, "cm": 1e4, "centimeter": 1e4,
    "centimetre": 1e4, "inch": 25400.0, "in": 25400.0,
}
_RESOLUTION_UNIT_UM = {2: 25400.0, 3: 1e4, 4: 1e3, 5: 1.0}  # INCH, CENTIMETER, MILLIMETER, MICROMETER


@dataclass
class Field:
    """One field of view: channels [C, Y, X] float32 (red first, then the greens) and pixel size (µm)."""

    path: Path
    channels: np.ndarray
    pixel_size: float

    @property
    def shape(self) -> tuple[int, int]:
        return self.channels.shape[1], self.channels.shape[2]


def list_fields(folder: Path) -> list[Path]:
    """The field TIFFs of one folder (``*.tif``, not recursive, label masks excluded), sorted."""
    return sorted(p for p in folder.glob("*.tif") if p.is_file() and not p.name.endswith(LABELS_SUFFIX))


def labels_path(field_path: Path, masks_folder: Path) -> Path:
    """Where the label mask of ``field_path`` lives in ``masks_folder``: ``<stem>_labels.tif``."""
    return masks_folder / f"{field_path.stem}{LABELS_SUFFIX}"


def read_field(
    path: str | os.PathLike,
    *,
    n_channels: int = 2,
    order: Sequence[str] | None = None,
    protein: str | None = None,
    pixel_size: float | None = None,
    expected_labels: Sequence[str] | None = None,
) -> Field:
    """Read a field TIFF as float32 [C, Y, X], red first.

    Two-channel fields: ``order`` (what the file's channels hold, e.g. ("green", "red")) when given;
    else the OME channel names, where one is Bgs4 (red) and one the ``protein`` (green), a third
    channel (e.g. DAPI) being ignored; else red then green. The pixel size is ``pixel_size`` if given,
    else the OME PhysicalSizeX/Y, else the resolution tags. Where the file has ImageJ channel labels,
    they must equal ``expected_labels`` (if given) and put Bgs4 where the order says.
    """
    path = Path(path)
    ome = read_ome_metadata(path)
    picks = _channel_picks(ome.channel_names, order, protein, path) if n_channels == 2 else None
    try:
        with tifffile.TiffFile(path) as tif:
            series = tif.series[0]
            check_image_pixels(series.shape, str(path))
            data = series.asarray()
            axes = series.axes
            ij_meta = tif.imagej_metadata or {}
            size = pixel_size or ome.pixel_size_um or _pixel_size_from_tags(tif.pages[0], ij_meta, path)
    except BiogansError:
        raise
    except Exception as exc:  # tifffile, zlib and OS errors all mean the same thing to the user
        raise BiogansError(f"{path}: unreadable or truncated TIFF ({_one_line(exc)})") from None
    if size is None:
        raise BiogansError(f"{path}: no pixel size in the OME metadata or the TIFF resolution tags; "
                           "pass --pixel-size (µm)")
    if not np.isfinite(size) or size <= 0:
        raise BiogansError(f"{path}: invalid pixel size {size}")
    channels = _channels_first(data, axes, len(ome.channel_names) if picks and ome.channel_names else n_channels,
                               path)
    if channels.dtype.kind == "f" and not np.isfinite(channels).all():
        raise BiogansError(f"{path}: pixel values include NaN or infinity")
    if picks is not None:
        channels = channels[list(picks)]
    labels = ij_meta.get("Labels")
    if isinstance(labels, (list, tuple)) and len(labels) == n_channels:
        _check_labels([str(x) for x in labels], expected_labels, picks is None or picks[0] == 0, path)
    return Field(path, np.ascontiguousarray(channels, dtype=np.float32), float(size))


def _channel_picks(names: Sequence[str] | None, order: Sequence[str] | None, protein: str | None,
                   path: Path) -> tuple[int, int]:
    """(red, green): the file's channels that hold Bgs4 and the protein."""
    if order is not None:
        return order.index("red"), order.index("green")
    if not names:
        return 0, 1
    lowered = [name.strip().lower() for name in names]
    red = [i for i, name in enumerate(lowered) if name == RED.lower()]
    green = [i for i, name in enumerate(lowered) if protein and name == protein.lower()]
    if red and not green and len(names) == 2:
        green = [1 - red[0]]
    if len(red) != 1 or len(green) != 1:
        raise BiogansError(f"{path}: OME channels {list(names)}: expected one named {RED} (red) and one named "
                           f"{protein or 'after the protein'} (green); name them so, or set the channel order "
                           "(dataset.channels, --channels)")
    return red[0], green[0]


def _check_labels(labels: list[str], expected: Sequence[str] | None, red_first: bool, path: Path) -> None:
    """Refuse ImageJ channel labels that contradict the expected channels or the red/green order."""
    if expected is not None and labels != list(expected):
        raise BiogansError(f"{path}: channel labels {labels} differ from the expected {list(expected)}")
    if len(labels) == 2 and RED in labels and labels.index(RED) != (0 if red_first else 1):
        order = "green red" if red_first else "red green"
        raise BiogansError(f"{path}: channel labels {labels} put {RED} {'second' if red_first else 'first'}; "
                           f"pass --channels {order}")


def read_labels(path: str | os.PathLike, shape: tuple[int, int]) -> np.ndarray:
    """Read an integer label image (0 = background) and check it matches a field's (Y, X) shape."""
    path = Path(path)
    if not path.is_file():
        raise BiogansError(f"{path}: label mask not found")
    try:
        with tifffile.TiffFile(path) as tif:
            check_image_pixels(tif.series[0].shape, str(path))
            labels = tif.series[0].asarray()
    except BiogansError:
        raise
    except Exception as exc:
        raise BiogansError(f"{path}: unreadable or truncated TIFF ({_one_line(exc)})") from None
    labels = np.squeeze(labels)
    if labels.shape != tuple(shape):
        raise BiogansError(f"{path}: label mask of shape {labels.shape}, the field is {tuple(shape)}")
    if labels.dtype.kind not in "iu" or (labels.dtype.kind == "i" and labels.min() < 0):
        raise BiogansError(f"{path}: label mask must hold non-negative integers (got {labels.dtype})")
    return labels.astype(np.int32, copy=False)


def _channels_first(data: np.ndarray, axes: str, n_channels: int, path: Path) -> np.ndarray:
    """Reorder (C, Y, X) or (Y, X, C) data to (C, Y, X), dropping singleton axes."""
    keep = [i for i, n in enumerate(data.shape) if n != 1]
    if len(keep) == 3:
        axes = "".join(axes[i] for i in keep) if len(axes) == data.ndim else ""
        data = data.reshape([data.shape[i] for i in keep])
    if data.ndim != 3:
        raise BiogansError(
            f"{path}: image of shape {data.shape}, expected {n_channels} channels of a 2-D field"
        )
    if data.dtype.kind not in "uif":
        raise BiogansError(f"{path}: unsupported pixel type {data.dtype}")
    # Explicit channel axes (ImageJ C, RGB-style samples S) are trusted; otherwise infer from the shape.
    channel_axis = next((axes.index(a) for a in "CS" if a in axes), None) if set(axes) >= {"Y", "X"} else None
    if channel_axis is None:
        if data.shape[0] == n_channels:
            channel_axis = 0
        elif data.shape[-1] == n_channels:
            channel_axis = 2
    if channel_axis is None or data.shape[channel_axis] != n_channels:
        raise BiogansError(
            f"{path}: {_describe_channels(data.shape, channel_axis)}, expected {n_channels} "
            f"(a (C, Y, X) or (Y, X, C) image)"
        )
    return np.moveaxis(data, channel_axis, 0)


def _describe_channels(shape: tuple[int, ...], channel_axis: int | None) -> str:
    if channel_axis is None:
        return f"image of shape {shape} has no channel axis of the right size"
    return f"{shape[channel_axis]} channels (shape {shape})"


def _pixel_size_from_tags(page: tifffile.TiffPage, ij_meta: dict, path: Path) -> float | None:
    """Pixel size in µm from XResolution plus ImageJ 'unit' or ResolutionUnit; None if absent."""
    tag = page.tags.get("XResolution")
    if tag is None:
        return None
    num, den = tag.value if isinstance(tag.value, tuple) else (tag.value, 1)
    if not num or not den:
        return None
    per_pixel = den / num  # units per pixel
    unit = str(ij_meta.get("unit", "")).strip().lower()
    if unit and unit not in ("pixel", "pixels", "px"):
        if unit not in _UNIT_UM:
            raise BiogansError(f"{path}: unknown ImageJ unit {unit!r}; pass --pixel-size (µm)")
        size = per_pixel * _UNIT_UM[unit]
    else:
        res_unit = page.tags.get("ResolutionUnit")
        factor = _RESOLUTION_UNIT_UM.get(int(res_unit.value) if res_unit is not None else 2)
        if factor is None or (num, den) == (1, 1) or (factor == 25400.0 and per_pixel * factor > 100):
            return None  # unit NONE, the default 1/1, or a screen dpi (e.g. 72 per inch): no physical size
        size = per_pixel * factor
    low, high = PIXEL_SIZE_RANGE
    if not low <= size <= high:
        raise BiogansError(
            f"{path}: resolution tags give {size:.4g} µm per pixel, not a microscope's; pass --pixel-size (µm)"
        )
    return size


def _one_line(exc: BaseException) -> str:
    text = " ".join(str(exc).split()) or type(exc).__name__
    return text[:200]
