"""Atomic file and folder output: a result appears under its final name only when complete.

Temporary files and folders live beside their target, named ``.<name>.<pid>.<random>.tmp``: they are
removed when the block ends, whether it succeeds or fails (SIGTERM included: the command line turns
it into an exception). A process killed outright (SIGKILL) cannot clean up, so every later write of
the same target first removes the temporary files of processes that no longer run.
"""

from __future__ import annotations

import contextlib
import os
import re
import shutil
import tempfile
from collections.abc import Iterator
from pathlib import Path

import h5py
import pandas as pd

from biogans import __version__
from biogans.errors import BiogansError

_TEMPORARY = re.compile(r"^\.(?P<name>.+)\.(?P<pid>\d+)\.[^.]+\.tmp$")


@contextlib.contextmanager
def atomic_path(path: str | os.PathLike) -> Iterator[Path]:
    """Yield a temporary path beside ``path``; rename it to ``path`` only if the block succeeds.

    The temporary file lives in the same folder, so the final rename is atomic on POSIX.
    On any exception the temporary file is removed and ``path`` is left untouched.
    """
    path = _output(path)
    with _os_errors(path):
        fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.{os.getpid()}.", suffix=".tmp", dir=path.parent)
        os.close(fd)
        tmp = Path(tmp)
        tmp.chmod(0o666 & ~_umask())  # mkstemp makes the file private; give it the usual permissions
    try:
        with _os_errors(path):
            yield tmp
            os.replace(tmp, path)
    finally:
        tmp.unlink(missing_ok=True)


@contextlib.contextmanager
def atomic_dir(path: str | os.PathLike) -> Iterator[Path]:
    """Yield a temporary folder beside ``path``; it replaces ``path`` only if the block succeeds."""
    path = _output(path, folder=True)
    with _os_errors(path):
        tmp = Path(tempfile.mkdtemp(prefix=f".{path.name}.{os.getpid()}.", suffix=".tmp", dir=path.parent))
        tmp.chmod(0o777 & ~_umask())
    try:
        with _os_errors(path):
            yield tmp
            if path.exists():
                shutil.rmtree(path)
            os.replace(tmp, path)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


def output_dir(path: str | os.PathLike) -> tuple[Path, bool]:
    """Create the output folder ``path`` (and its parents); returns it and whether it was created.
    A one-line BiogansError when it is a file or cannot be created."""
    path = Path(path)
    if path.exists() and not path.is_dir():
        raise BiogansError(f"{path}: exists and is not a folder")
    created = not path.exists()
    with _os_errors(path):
        path.mkdir(parents=True, exist_ok=True)
    return path, created


def remove_stale_temporaries(folder: Path, name: str | None = None) -> list[Path]:
    """Remove the temporary files and folders (of ``name``, or of any target) left in ``folder`` by
    processes that no longer run; returns what was removed."""
    removed = []
    try:
        entries = list(folder.iterdir())
    except OSError:
        return removed
    for entry in entries:
        match = _TEMPORARY.match(entry.name)
        if not match or (name is not None and match["name"] != name) or _running(int(match["pid"])):
            continue
        if entry.is_dir() and not entry.is_symlink():
            shutil.rmtree(entry, ignore_errors=True)
        else:
            entry.unlink(missing_ok=True)
        removed.append(entry)
    return removed


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
    """Open one of biogans' HDF5 files read-only: a one-line error for a missing or unreadable file,
    or one whose ``format`` attribute is not ``file_format`` (``what`` names the kind of file); reading
    it in a ``with`` block turns h5py's errors on damaged data into one-line errors too."""
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
    return f


def read_csv(path: str | os.PathLike, what: str, numbers: tuple[str, ...] = (), integers: tuple[str, ...] = (),
             texts: tuple[str, ...] = ()) -> pd.DataFrame:
    """Read a CSV that biogans wrote (a C2ST result, a reconstruction's cells): one-line errors naming the
    file for a missing or unreadable file, a missing column, a column that is not numeric (``numbers``,
    NaN allowed), integral (``integers``, empty allowed) or text, and no rows."""
    path = Path(path)
    if not path.is_file():
        raise BiogansError(f"{path}: no such file")
    try:
        table = pd.read_csv(path, dtype={name: str for name in texts})
    except (OSError, ValueError, pd.errors.ParserError, pd.errors.EmptyDataError, UnicodeDecodeError) as exc:
        raise BiogansError(f"{path}: not a {what} ({str(exc).splitlines()[0]})") from None
    missing = [c for c in (*numbers, *integers, *texts) if c not in table.columns]
    if missing:
        raise BiogansError(f"{path}: not a {what} (no column {', '.join(missing)})")
    for name in (*numbers, *integers):
        if not pd.api.types.is_numeric_dtype(table[name]) and not table[name].isna().all():
            raise BiogansError(f"{path}: column {name} holds text, expected numbers")
    for name in integers:
        values = table[name].dropna()
        if not (values == values.round()).all():
            raise BiogansError(f"{path}: column {name} holds fractions, expected integers")
        table[name] = table[name].astype("Int64")
    if table.empty:
        raise BiogansError(f"{path}: no rows")
    return table


def _output(path: str | os.PathLike, folder: bool = False) -> Path:
    """An output path checked and its folder made: one-line errors for what cannot be written there."""
    path = Path(path)
    if not path.name or path.name in (".", ".."):
        raise BiogansError(f"{path}: not a file name")
    if not folder and path.is_dir():
        raise BiogansError(f"{path}: is a folder; give a file name")
    if folder and path.exists() and not path.is_dir():
        raise BiogansError(f"{path}: exists and is not a folder")
    with _os_errors(path):
        path.parent.mkdir(parents=True, exist_ok=True)
    remove_stale_temporaries(path.parent, path.name)
    return path


@contextlib.contextmanager
def _os_errors(path: Path) -> Iterator[None]:
    """OS errors on a path the user gave as one-line BiogansErrors (a file as a folder, no permission,
    a read-only or full disk)."""
    try:
        yield
    except OSError as exc:
        where = exc.filename if isinstance(exc.filename, str) and exc.filename else path
        raise BiogansError(f"{where}: cannot write {path} ({exc.strerror or exc})") from None


def _running(pid: int) -> bool:
    """Whether a process with this id runs (on this machine)."""
    if pid == os.getpid():
        return True
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def _umask() -> int:
    """The process umask (read by setting it and putting it back)."""
    mask = os.umask(0)
    os.umask(mask)
    return mask
