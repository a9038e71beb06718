"""OME-TIFF output and metadata: stacks of cells that Fiji/Bio-Formats, napari and OMERO open with
named channels and a physical pixel size.

A stack is written as one OME-TIFF image with axes TCYX (cells along T, channels along C), so
viewers step through cells with the time slider. The OME-XML carries the channel names, the pixel
type, PhysicalSizeX/Y in µm and, as JSON in the Image's Description, what produced the cells.
"""

from __future__ import annotations

import contextlib
import json
import logging
import math
import os
import xml.etree.ElementTree as ET
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import tifffile

from biogans.errors import BiogansError
from biogans.files import atomic_path
from biogans.validation import check_image_pixels

#: Micrometres per OME UnitsLength value (and common spellings of them); the OME default is µm.
_UNIT_UM = {
    "km": 1e9, "hm": 1e8, "dam": 1e7, "m": 1e6, "dm": 1e5, "cm": 1e4, "mm": 1e3,
    "\u00b5m": 1.0, "\u03bcm": 1.0, "um": 1.0, "micron": 1.0, "microns": 1.0, "micrometer": 1.0,
    "micrometre": 1.0, "nm": 1e-3, "\u00c5": 1e-4, "\u212b": 1e-4, "angstrom": 1e-4, "pm": 1e-6,
    "fm": 1e-9, "in": 25400.0, "thou": 25.4,
}
_SUFFIXES = (".ome.tif", ".ome.tiff")


@dataclass(frozen=True)
class OmeMetadata:
    """What the OME-XML says about its first image; every field is None for a TIFF without OME-XML.

    ``axes``/``shape`` are the OME dimensions slowest first (DimensionOrder reversed, e.g. 'TCZYX'),
    ``pixel_type`` is Pixels/@Type ('float', 'uint16', ...).
    """

    channel_names: tuple[str, ...] | None = None
    pixel_size_um: float | None = None
    axes: str | None = None
    shape: tuple[int, ...] | None = None
    pixel_type: str | None = None


def write_ome_tiff(
    path: str | os.PathLike,
    images: np.ndarray,
    channel_names: Sequence[str],
    pixel_size_um: float,
    description: dict | None = None,
) -> None:
    """Write cells [N, C, Y, X] (float32 in [0, 1] or uint16) as one OME-TIFF with axes TCYX.

    ``description`` (generator file, seed, model spec, ...) is stored as a JSON object in the OME
    Image/Description element: a core OME field that Bio-Formats, OMERO and tifffile all keep and
    that every tifffile release this package supports writes, whereas MapAnnotation holds only flat
    strings and needs a newer tifffile. The ImageDescription TIFF tag is taken by the OME-XML itself.
    The file appears under ``path`` only once complete.
    """
    path, images = Path(path), np.asarray(images)
    names, size = _checked_stack(path, images, channel_names, pixel_size_um)
    metadata = {
        "axes": "TCYX",
        "Name": path.name[: path.name.lower().rindex(".ome.tif")],  # the series title in Fiji
        "Channel": {"Name": names},
        "PhysicalSizeX": size,
        "PhysicalSizeXUnit": "µm",
        "PhysicalSizeY": size,
        "PhysicalSizeYUnit": "µm",
    }
    if description is not None:
        if not isinstance(description, dict):
            raise BiogansError(f"{path}: description must be a dict, got {type(description).__name__}")
        try:
            metadata["Description"] = json.dumps(description, ensure_ascii=False, allow_nan=False)
        except (TypeError, ValueError) as exc:
            raise BiogansError(f"{path}: description is not JSON-serialisable ({_one_line(exc)})") from None
    with atomic_path(path) as tmp:
        tifffile.imwrite(
            tmp,
            images,
            ome=True,  # the temporary name does not end in .ome.tif, so say so
            bigtiff=images.nbytes > 2**31,
            photometric="minisblack",
            resolution=(1e4 / size, 1e4 / size),  # the same scale for plain-TIFF readers
            resolutionunit="CENTIMETER",
            metadata=metadata,
        )


def _checked_stack(path: Path, images: np.ndarray, channel_names: Sequence[str],
                   pixel_size_um: float) -> tuple[list[str], float]:
    """The channel names and pixel size of a stack to write; one-line errors for what cannot be written."""
    if not path.name.lower().endswith(_SUFFIXES):
        raise BiogansError(f"{path}: an OME-TIFF file name must end in .ome.tif or .ome.tiff")
    if images.ndim != 4 or 0 in images.shape:
        raise BiogansError(f"{path}: cells must be a non-empty [N, C, Y, X] array, got shape {images.shape}")
    if images.dtype not in (np.float32, np.uint16):
        raise BiogansError(f"{path}: cells must be float32 in [0, 1] or uint16, got {images.dtype}")
    if images.dtype == np.float32 and not (np.isfinite(images).all() and 0 <= images.min() <= images.max() <= 1):
        raise BiogansError(f"{path}: float32 cells must be finite and within [0, 1]")
    names = [channel_names] if isinstance(channel_names, str) else list(channel_names)
    if len(names) != images.shape[1]:
        raise BiogansError(f"{path}: {images.shape[1]} channels in the cells but {len(names)} channel names {names!r}")
    if not all(isinstance(name, str) and name.strip() for name in names):
        raise BiogansError(f"{path}: channel names must be non-empty strings, got {names!r}")
    try:
        size = float(pixel_size_um)
    except (TypeError, ValueError):
        size = math.nan
    if not (math.isfinite(size) and size > 0):
        raise BiogansError(f"{path}: pixel size must be a positive number of µm, got {pixel_size_um!r}")
    return names, size


def read_ome_metadata(path: str | os.PathLike) -> OmeMetadata:
    """Channel names, pixel size (µm), axes and pixel type of any TIFF's first OME image.

    A TIFF without OME-XML (plain, ImageJ) gives all None. Unequal X and Y pixel sizes or a
    length unit that is not a length are refused, since cells are measured isotropically.
    """
    path = Path(path)
    return _parse_ome(_ome_xml(path), path)[0]


def read_ome_tiff(path: str | os.PathLike) -> tuple[np.ndarray, OmeMetadata, dict | None]:
    """Read a stack written by :func:`write_ome_tiff`: cells [N, C, Y, X], metadata, description.

    The description is None where the Image has none or it is not a JSON object.
    """
    path = Path(path)
    xml = _ome_xml(path)
    if xml is None:
        raise BiogansError(f"{path}: no OME-XML metadata; not an OME-TIFF")
    meta, text = _parse_ome(xml, path)
    try:
        with _broken_offsets(path), tifffile.TiffFile(path) as tif:
            series = tif.series[0]
            check_image_pixels(series.shape, str(path))
            data = series.asarray()
    except BiogansError:
        raise
    except Exception as exc:  # tifffile, codec and OS errors all mean the same thing here
        raise BiogansError(f"{path}: unreadable OME-TIFF image data ({_one_line(exc)})") from None
    # the axes as the OME-XML declares them (tifffile's own squeezing of length-1 axes differs by version)
    axes = meta.axes
    if data.size != math.prod(meta.shape):
        raise BiogansError(f"{path}: image data of shape {data.shape} does not match the OME dimensions "
                           f"{axes} {meta.shape}")
    data = data.reshape(meta.shape)
    kept = [i for i, ax in enumerate(axes) if ax in "TCYX"]
    if sorted(axes[i] for i in kept) != sorted("TCYX") or data.size != np.prod([data.shape[i] for i in kept]):
        raise BiogansError(f"{path}: image of axes {axes} and shape {data.shape} is not a stack of 2-D cells")
    data = data.reshape([data.shape[i] for i in kept])  # drop the length-1 Z and sample axes
    data = np.transpose(data, ["".join(axes[i] for i in kept).index(ax) for ax in "TCYX"])
    try:
        description = json.loads(text) if text else None
    except ValueError:
        description = None
    return np.ascontiguousarray(data), meta, description if isinstance(description, dict) else None


def _ome_xml(path: Path) -> str | None:
    """The OME-XML of a TIFF, or None if it has none; a one-line error if it cannot be read."""
    if not path.is_file():
        raise BiogansError(f"{path}: no such file")
    try:
        with _broken_offsets(path), tifffile.TiffFile(path) as tif:
            if len(tif.pages) == 0:
                raise BiogansError(f"{path}: unreadable TIFF (no images)")
            return tif.ome_metadata if tif.is_ome else None
    except BiogansError:
        raise
    except Exception as exc:
        raise BiogansError(f"{path}: unreadable or truncated TIFF ({_one_line(exc)})") from None


@contextlib.contextmanager
def _broken_offsets(path: Path) -> Iterator[None]:
    """Refuse a TIFF whose pages or tag values lie beyond its end: tifffile only logs these and
    drops the tag, so a truncated OME-TIFF (OME-XML written last) would pass for a plain TIFF."""
    collected = _Messages()
    log = logging.getLogger("tifffile")
    log.addHandler(collected)
    try:
        yield
    finally:
        log.removeHandler(collected)
    broken = [message for message in collected.messages if "offset" in message]
    if broken:
        raise BiogansError(f"{path}: unreadable or truncated TIFF ({_one_line(broken[0])})")


class _Messages(logging.Handler):
    """Collects the warnings and errors tifffile logs."""

    def __init__(self) -> None:
        super().__init__(logging.WARNING)
        self.messages: list[str] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.messages.append(record.getMessage())


def _parse_ome(xml: str | None, path: Path) -> tuple[OmeMetadata, str | None]:
    """Metadata of the first OME Image and its Description text, whatever the schema version."""
    if xml is None:
        return OmeMetadata(), None
    try:
        root = ET.fromstring(xml)
    except ET.ParseError as exc:
        raise BiogansError(f"{path}: malformed OME-XML ({_one_line(exc)})") from None
    image = _child(root, "Image")
    pixels = _child(image, "Pixels") if image is not None else None
    if pixels is None:
        raise BiogansError(f"{path}: OME-XML without an Image/Pixels element")
    names = tuple(ch.get("Name", "") for ch in pixels if _local(ch.tag) == "Channel")
    order = pixels.get("DimensionOrder", "XYZCT")[::-1]
    try:
        shape = tuple(int(pixels.get(f"Size{ax}", "1")) for ax in order)
    except ValueError:
        shape = ()
    if not shape or min(shape) < 1:
        raise BiogansError(f"{path}: OME Pixels sizes are not positive integers")
    check_image_pixels(shape, str(path), "the OME-XML's image")
    described = _child(image, "Description")
    meta = OmeMetadata(
        channel_names=names if names and all(names) else None,
        pixel_size_um=_pixel_size(pixels, path),
        axes=order,
        shape=shape,
        pixel_type=pixels.get("Type"),
    )
    return meta, described.text if described is not None else None


def _pixel_size(pixels: ET.Element, path: Path) -> float | None:
    """PhysicalSizeX/Y in µm (one of them if only one is given); None if neither is."""
    sizes = []
    for ax in "XY":
        value = pixels.get(f"PhysicalSize{ax}")
        if value is None:
            continue
        unit = pixels.get(f"PhysicalSize{ax}Unit", "µm").strip()
        factor = _UNIT_UM.get(unit)
        if factor is None:
            raise BiogansError(f"{path}: unknown OME length unit {unit!r} for PhysicalSize{ax}")
        try:
            size = float(value) * factor
        except ValueError:
            size = math.nan
        if not (math.isfinite(size) and size > 0):
            raise BiogansError(f"{path}: invalid OME PhysicalSize{ax} {value!r}")
        sizes.append(size)
    if not sizes:
        return None
    if max(sizes) - min(sizes) > 0.01 * max(sizes):
        raise BiogansError(f"{path}: pixel size X {sizes[0]:.4g} µm differs from Y {sizes[1]:.4g} µm; "
                           "cells need square pixels")
    return sizes[0]


def _child(element: ET.Element, name: str) -> ET.Element | None:
    """The first child called ``name`` in any XML namespace."""
    return next((child for child in element if _local(child.tag) == name), None)


def _local(tag: str) -> str:
    return tag.rsplit("}", 1)[-1]


def _one_line(problem: BaseException | str) -> str:
    text = " ".join(str(problem).split()) or type(problem).__name__
    return text[:200]
