"""The HDF5 cell store: aligned, masked, normalised cell images plus a metadata table per group.

Layout (``results/data/cells.h5``; ``joint_truth.h5`` uses the same layout with one group):

    /                       attrs: format, version, source, params (JSON)
    /<group>/images         uint8 [N, C, 48, 80]; channel 0 red (Bgs4), then the green(s);
                            0 outside the cell, >= 1 inside (so ``red > 0`` is the cell mask)
    /<group>/meta/<column>  one 1-D dataset per metadata column (see META_COLUMNS)
    /<group>                attrs: channels (names), plus any per-group normalisation ranges

A group is a protein (``/Alp14``) in ``cells.h5``. Images are stored as 8-bit like the published
LIN PNGs; :func:`to_unit_range` maps them to [-1, 1] for the networks.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path

import h5py
import numpy as np
import pandas as pd

from biogans import __version__
from biogans.errors import BiogansError
from biogans.hdf5 import describe_hdf5, open_hdf5, read_array, write_hdf5
from biogans.proteins import CELL_SHAPE

FORMAT = "biogans-cells/1"

#: Metadata columns, in order, with their dtypes; text columns are stored as UTF-8 strings.
META_COLUMNS: dict[str, str] = {
    "source": "str",  # field file (relative path) or PNG the cell came from
    "cell_id": "int64",  # label of the cell in its field (or running number for LIN)
    "role": "str",  # "train" or "test"
    "bbox_y0": "int64",  # bounding box of the cell in its field, pixels
    "bbox_x0": "int64",
    "bbox_y1": "int64",
    "bbox_x1": "int64",
    "angle": "float64",  # orientation of the long axis in the field, degrees
    "length": "float64",  # cell length in micrometres (NaN where unknown)
    "phase": "str",  # cell-cycle phase where known, else ""
}
ROLES = ("train", "test")


@dataclass
class CellSet:
    """The cells of one group: images [N, C, H, W] (uint8) and one metadata row per cell."""

    images: np.ndarray
    meta: pd.DataFrame
    channels: list[str]
    attrs: dict = field(default_factory=dict)

    def __post_init__(self) -> None:
        if self.images.ndim != 4 or self.images.shape[1] != len(self.channels):
            raise ValueError(f"images of shape {self.images.shape} do not match channels {self.channels}")
        if len(self.meta) != len(self.images):
            raise ValueError(f"{len(self.meta)} metadata rows for {len(self.images)} images")

    def __len__(self) -> int:
        return len(self.images)

    def role_indices(self, role: str) -> np.ndarray:
        """Row indices of the cells with the given role (train/test), in store order."""
        return np.flatnonzero(self.meta["role"].to_numpy() == role)


def empty_meta(n: int = 0) -> pd.DataFrame:
    """A metadata table with every column, filled with neutral values."""
    data = {}
    for name, dtype in META_COLUMNS.items():
        if dtype == "str":
            data[name] = [""] * n
        elif dtype == "float64":
            data[name] = np.full(n, np.nan)
        else:
            data[name] = np.zeros(n, dtype=dtype)
    return pd.DataFrame(data)


DESCRIPTION = ("fluorescence images of fission-yeast cells, aligned (long axis horizontal) and masked: per "
               "group /<group>/images uint8 [N, C, 48, 80], channel 0 red (Bgs4), then the green(s) named in the "
               "group's channels attribute; 0 outside the cell, 1-255 inside; /<group>/meta/<column> one value "
               "per cell (source, cell_id, role train/test, bbox, angle, length in µm, phase)")


def write_store(
    path: str | Path,
    groups: Mapping[str, CellSet],
    *,
    source: str,
    params: Mapping | None = None,
    pixel_size: float | None = None,
    **provenance,
) -> None:
    """Write ``groups`` to ``path`` atomically (temporary file, then rename); ``source`` says where the
    cells come from (synthetic, lin, tiff, generated), ``provenance`` more of it (the input folder, the
    simulator's seed), ``pixel_size`` their scale in µm per pixel (None: unknown)."""
    path = Path(path)
    with write_hdf5(path, track_order=True) as f:  # groups keep their order
        describe_hdf5(f, FORMAT, DESCRIPTION, source=source, version=__version__, **provenance,
                      params=json.dumps(params or {}, sort_keys=True, default=str),
                      pixel_size=np.nan if pixel_size is None else float(pixel_size), pixel_size_unit="µm")
        for name, cells in groups.items():
            _write_group(f.create_group(name), cells, name)


def _write_group(group: h5py.Group, cells: CellSet, name: str) -> None:
    images = np.ascontiguousarray(cells.images, dtype=np.uint8)
    n = len(images)
    chunks = (max(1, min(n, 256)), *images.shape[1:]) if n else None
    group.create_dataset(
        "images", data=images, chunks=chunks, compression="gzip" if n else None,
        compression_opts=4 if n else None, shuffle=bool(n),
    )
    group.attrs["channels"] = list(cells.channels)
    group.attrs["protein"] = name
    for key, value in cells.attrs.items():
        group.attrs[key] = value
    meta = group.create_group("meta")
    for name, dtype in META_COLUMNS.items():
        column = cells.meta[name] if name in cells.meta else empty_meta(n)[name]
        if dtype == "str":
            meta.create_dataset(name, data=np.asarray(column.astype(str), dtype=object),
                                dtype=h5py.string_dtype())
        else:
            meta.create_dataset(name, data=column.to_numpy(dtype=dtype))


def read_store(path: str | Path, groups: Iterable[str] | None = None) -> dict[str, CellSet]:
    """Read the named groups (all if None) of a cell store into memory."""
    path = Path(path)
    with open_store(path) as f:
        names = list(f.keys()) if groups is None else list(groups)
        missing = [g for g in names if g not in f]
        if missing:
            raise BiogansError(f"{path}: no group for {', '.join(missing)} (has {', '.join(f.keys())})")
        return {name: _read_group(f[name], f"{path}: group {name}") for name in names}


def _read_group(group: h5py.Group, where: str) -> CellSet:
    """One group, checked: uint8 images [N >= 1, C, 48, 80] matching its channel names, a metadata
    column of every name and length N, roles train or test. One-line errors prefixed by ``where``."""
    if not isinstance(group, h5py.Group) or not isinstance(group.get("images"), h5py.Dataset) \
            or not isinstance(group.get("meta"), h5py.Group):
        raise BiogansError(f"{where}: not a cell group (needs an images dataset and a meta group)")
    images = group["images"]
    channels = group.attrs.get("channels")
    if channels is None or np.ndim(channels) != 1 or len(channels) < 2:
        raise BiogansError(f"{where}: no channel names (attribute channels: red, then the green(s))")
    expected = f"uint8 [N, {len(channels)}, {CELL_SHAPE[0]}, {CELL_SHAPE[1]}]"
    if images.dtype != np.uint8 or images.ndim != 4 or images.shape[1:] != (len(channels), *CELL_SHAPE):
        raise BiogansError(f"{where}: images are {images.dtype} {list(images.shape)}, expected {expected}")
    if images.shape[0] == 0:
        raise BiogansError(f"{where}: no cells")
    missing = [name for name in META_COLUMNS if not isinstance(group["meta"].get(name), h5py.Dataset)]
    if missing:
        raise BiogansError(f"{where}: metadata without column(s) {', '.join(missing)}")
    lengths = {name: group["meta"][name].shape for name in META_COLUMNS}
    wrong = [f"{name} {shape}" for name, shape in lengths.items() if shape != (images.shape[0],)]
    if wrong:
        raise BiogansError(f"{where}: {images.shape[0]} images but metadata column(s) {', '.join(wrong)}")
    try:
        meta = pd.DataFrame({name: read_array(group["meta"][name], f"{where}: meta/{name}", text=dtype == "str")
                             .astype(object if dtype == "str" else dtype) for name, dtype in META_COLUMNS.items()})
        pixels = read_array(images, f"{where}: images")
    except (OSError, TypeError, ValueError) as exc:
        raise BiogansError(f"{where}: unreadable data ({str(exc).splitlines()[0]})") from None
    roles = set(meta["role"]) - set(ROLES)
    if roles:
        raise BiogansError(f"{where}: roles {', '.join(map(repr, sorted(roles)))}; expected train or test")
    attrs = {k: v for k, v in group.attrs.items() if k not in ("channels", "protein")}
    return CellSet(pixels, meta, [str(c) for c in channels], attrs)


def open_store(path: str | Path) -> h5py.File:
    """Open a cell store read-only, with a one-line error for a missing or foreign file."""
    return open_hdf5(path, FORMAT, "biogans cell store")


def store_groups(path: str | Path) -> list[str]:
    """The group names (proteins) of a cell store, in file order."""
    with open_store(path) as f:
        return list(f.keys())


def store_attrs(path: str | Path) -> dict:
    """The file-level attributes of a cell store, with ``params`` decoded."""
    with open_store(path) as f:
        attrs = dict(f.attrs)
    attrs["params"] = json.loads(attrs.get("params", "{}"))
    return attrs


def to_unit_range(images: np.ndarray) -> np.ndarray:
    """uint8 [0, 255] -> float32 [-1, 1] (background 0 -> -1)."""
    return images.astype(np.float32) / 127.5 - 1.0
