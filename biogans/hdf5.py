"""biogans' HDF5 files: the one way they are opened for reading, read into memory, and written.

Reading refuses what a hostile or careless file could make biogans do beyond reading it: data stored in
other files (external storage, external links, virtual datasets: a dataset whose pixels are
``/etc/passwd``) and arrays whose declared size needs more memory than :data:`MAX_ARRAY_BYTES` allows (a
few kilobytes of compressed fill value can declare terabytes). Writing builds the file in memory and puts
it on disk as one plain write, so that a full disk is one OSError rather than a cascade of HDF5 errors.
"""

from __future__ import annotations

import contextlib
import os
from collections.abc import Iterator
from pathlib import Path

import h5py
import numpy as np
from h5py import h5d, h5l

from biogans import __version__
from biogans.errors import BiogansError
from biogans.files import atomic_path
from biogans.validation import MAX_ARRAY_BYTES

#: Bytes counted per element of a variable-length (string) dataset when bounding its size.
_VARIABLE_ITEM_BYTES = 64


class _CheckedFile(h5py.File):
    """An HDF5 file read in a ``with`` block: the errors h5py raises on damaged data (KeyError, OSError,
    ValueError, RuntimeError) leave the block as one-line BiogansErrors naming the file."""

    def __init__(self, path: Path):
        super().__init__(path, "r")
        self.path = path  # for messages: once closed, an h5py.File no longer knows its name

    def __exit__(self, kind, error, trace):
        super().__exit__(kind, error, trace)
        if kind is not None and issubclass(kind, (KeyError, OSError, ValueError, RuntimeError)):
            raise BiogansError(f"{self.path}: damaged HDF5 file ({str(error).splitlines()[0][:200]})") from None


def describe_hdf5(node: h5py.File | h5py.Group, file_format: str, description: str, **attributes) -> None:
    """The attributes a reader needs without biogans (``h5dump -A`` shows them): the format's name and
    version, what the file holds, the biogans version, and ``attributes`` (source, pixel size, ...)."""
    name, _, version = file_format.partition("/")
    node.attrs.update(format=file_format, format_name=name, format_version=int(version),
                      biogans_version=__version__, description=description, **attributes)


def open_hdf5(path: str | os.PathLike, file_format: str, what: str) -> h5py.File:
    """Open one of biogans' HDF5 files read-only: a one-line error for a missing or unreadable file, one
    whose ``format`` attribute is not ``file_format`` (``what`` names the kind of file), or one that reads
    data from outside itself; reading it in a ``with`` block turns h5py's errors on damaged data into
    one-line errors too."""
    path = Path(path)
    if not path.is_file():
        raise BiogansError(f"{path}: no such file")
    try:
        f = _CheckedFile(path)
        found = f.attrs.get("format")
    except (OSError, KeyError, ValueError, RuntimeError) as exc:
        raise BiogansError(f"{path}: not a readable HDF5 file ({str(exc).splitlines()[0]})") from None
    if found != file_format:
        f.close()
        raise BiogansError(f"{path}: not a {what} (format attribute missing or different)")
    try:
        problem = _outside_data(f)
    except (OSError, KeyError, ValueError, RuntimeError) as exc:
        f.close()
        raise BiogansError(f"{path}: damaged HDF5 file ({str(exc).splitlines()[0][:200]})") from None
    if problem:
        f.close()
        raise BiogansError(f"{path}: {problem}; refused (biogans reads only data stored in the file itself)")
    return f


def _outside_data(f: h5py.File) -> str | None:
    """What in ``f`` reads data from another file: an external or user-defined link, a dataset with
    external storage, a virtual dataset; None if nothing does. Soft links stay inside the file."""
    found: list[str] = []

    def visit(name: bytes, info) -> int | None:
        where = "/" + name.decode(errors="replace")
        if info.type == h5l.TYPE_EXTERNAL:
            target, _ = f.id.links.get_val(name)
            found.append(f"{where} is a link to another file ({target.decode(errors='replace')})")
        elif info.type != h5l.TYPE_SOFT and info.type != h5l.TYPE_HARD:
            found.append(f"{where} is a user-defined link")
        elif info.type == h5l.TYPE_HARD and isinstance(node := f.get(name), h5py.Dataset):
            plist = node.id.get_create_plist()
            if plist.get_layout() == h5d.VIRTUAL:
                found.append(f"dataset {where} is virtual (its data lie in other files)")
            elif plist.get_external_count():
                found.append(f"dataset {where} is stored in another file "
                             f"({plist.get_external(0)[0].decode(errors='replace')})")
        return 1 if found else None  # stop at the first one

    f.id.links.visit(visit, info=True)
    return found[0] if found else None


def read_array(dataset: h5py.Dataset, where: str, text: bool = False) -> np.ndarray:
    """All of ``dataset`` in memory (``text``: as str objects), once its declared size is known to fit in
    :data:`MAX_ARRAY_BYTES`; ``where`` names it in the messages. h5py's errors on damaged data pass."""
    variable = h5py.check_string_dtype(dataset.dtype) is not None or dataset.dtype.kind == "O"
    item = _VARIABLE_ITEM_BYTES if variable else dataset.dtype.itemsize
    shape = "x".join(map(str, dataset.shape)) or "scalar"
    MAX_ARRAY_BYTES.check(int(np.prod(dataset.shape, dtype=object)) * item,
                          f"{where}: a {dataset.dtype} array of {shape} needs")
    return dataset.asstr()[()] if text else dataset[()]


@contextlib.contextmanager
def write_hdf5(path: str | os.PathLike, **options) -> Iterator[h5py.File]:
    """A new HDF5 file to fill in the block, written to ``path`` when it ends (atomically: whole or absent).

    The file is built in memory and written as one plain write: HDF5 reports a failed write (a full disk)
    while closing, as a cascade of errors and printed tracebacks, whereas a plain write fails with one
    OSError that becomes the one-line message. It costs memory of the file's (compressed) size."""
    with atomic_path(path) as tmp:
        with h5py.File(str(tmp), "w", driver="core", backing_store=False, **options) as f:
            yield f
            f.flush()
            image = f.id.get_file_image()
        with open(tmp, "wb") as out:
            out.write(image)
