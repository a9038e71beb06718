"""Atomic file and folder output: a result appears under its final name only when complete.

Temporary files and folders live beside their target, named ``.<name>.<pid>.<random>.tmp`` (a name too
long for that cut to stay within :data:`NAME_MAX` bytes), and are flushed to disk before the rename: they are
removed when the block ends, whether it succeeds or fails (SIGTERM included: the command line turns
it into an exception). A process killed outright (SIGKILL) cannot clean up, so every later write of
the same target first removes the temporary files of processes that no longer run.
"""

from __future__ import annotations

import contextlib
import hashlib
import os
import re
import shutil
import tempfile
from collections.abc import Iterable, Iterator
from pathlib import Path

import pandas as pd

from biogans.errors import BiogansError

_TEMPORARY = re.compile(r"^\.(?P<name>.+)\.(?P<pid>\d+)\.[^.]+\.tmp$")
#: The longest file name (bytes) of the usual file systems (ext4, XFS, APFS, NTFS): a temporary name stays within it
#: for any output name that does.
NAME_MAX = 255
#: What a temporary name adds to the output's name: '.', '.<pid>.' (10 digits at most), 8 random characters, '.tmp'.
_TEMPORARY_OVERHEAD = 1 + 12 + 8 + 4


@contextlib.contextmanager
def atomic_path(path: str | os.PathLike) -> Iterator[Path]:
    """Yield a temporary path beside ``path``; rename it to ``path`` only if the block succeeds.

    The temporary file lives in the same folder, so the final rename is atomic on POSIX.
    On any exception the temporary file is removed and ``path`` is left untouched.
    """
    path = _output(path)
    with write_errors(path):
        fd, tmp = tempfile.mkstemp(prefix=_temporary_prefix(path.name), suffix=".tmp", dir=path.parent)
        try:
            os.fchmod(fd, 0o666 & ~_umask())  # mkstemp makes the file private; give it the usual permissions
        finally:
            os.close(fd)
        tmp = Path(tmp)
    try:
        with write_errors(path):
            yield tmp
            _sync(tmp)
            os.replace(tmp, path)
    finally:
        tmp.unlink(missing_ok=True)


@contextlib.contextmanager
def atomic_dir(path: str | os.PathLike) -> Iterator[Path]:
    """Yield a temporary folder beside ``path``; it replaces ``path`` only if the block succeeds."""
    path = _output(path, folder=True)
    with write_errors(path):
        tmp = Path(tempfile.mkdtemp(prefix=_temporary_prefix(path.name), suffix=".tmp", dir=path.parent))
        tmp.chmod(0o777 & ~_umask())
    try:
        with write_errors(path):
            yield tmp
            for file in sorted(p for p in tmp.rglob("*") if p.is_file() and not p.is_symlink()):
                _sync(file)
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
    with write_errors(path):
        path.mkdir(parents=True, exist_ok=True)
    return path, created


def check_outputs(inputs: Iterable[str | os.PathLike], outputs: Iterable[str | os.PathLike]) -> None:
    """Refuse, before anything is written, an output file that is one of the input files: under the same
    name or another (a hard or symbolic link, ``./x`` for ``x``), so that writing it cannot replace what the
    command reads. A folder given as an output file is refused too."""
    sources = {}
    for source in map(Path, inputs):
        with contextlib.suppress(OSError):
            sources.setdefault(_identity(source), source)
    for output in map(Path, outputs):
        if output.is_dir():
            raise BiogansError(f"{output}: is a folder; give a file name")
        try:
            source = sources.get(_identity(output))
        except OSError:  # not there yet (or not reachable): not one of the inputs
            continue
        if source is not None:
            which = "also an input" if str(source) == str(output) else f"the input {source} under another name"
            raise BiogansError(f"{output}: is {which}; give another output name")


def _identity(path: Path) -> tuple[int, int]:
    """The file a path names, whatever the name: (device, inode), links followed."""
    status = path.stat()
    return status.st_dev, status.st_ino


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
        if not match or (name is not None and match["name"] != _temporary_stem(name)) or _running(int(match["pid"])):
            continue
        if entry.is_dir() and not entry.is_symlink():
            shutil.rmtree(entry, ignore_errors=True)
        else:
            entry.unlink(missing_ok=True)
        removed.append(entry)
    return removed


def read_lines(path: str | os.PathLike) -> list[str]:
    """The complete lines of a file appended to line by line (a log), without their newlines: what follows
    the last newline (a line cut short by a crash) is left out. A missing file has none."""
    path = Path(path)
    try:
        data = path.read_bytes()
    except FileNotFoundError:
        return []
    except OSError as exc:
        raise BiogansError(f"{path}: cannot read ({exc.strerror or exc})") from None
    return data.decode("utf-8", errors="replace").split("\n")[:-1]


def read_csv(path: str | os.PathLike, what: str, numbers: tuple[str, ...] = (), integers: tuple[str, ...] = (),
             texts: tuple[str, ...] = (), allow_empty: bool = False) -> pd.DataFrame:
    """Read a CSV that biogans wrote (a C2ST result, a reconstruction's cells): one-line errors naming the
    file for a missing or unreadable file, a missing column, a column that is not numeric (``numbers``,
    NaN allowed), integral (``integers``, empty allowed) or text, and no rows (unless ``allow_empty``)."""
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
    if table.empty and not allow_empty:
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
    with write_errors(path):
        path.parent.mkdir(parents=True, exist_ok=True)
    remove_stale_temporaries(path.parent, path.name)
    return path


def _temporary_prefix(name: str) -> str:
    """The start of a temporary name beside the output ``name``: ``.<name>.<pid>.``."""
    return f".{_temporary_stem(name)}.{os.getpid()}."


def _temporary_stem(name: str) -> str:
    """``name`` as its temporary names carry it: whole, or where a temporary name would pass :data:`NAME_MAX`
    bytes, cut and marked with a digest of the whole name (so the outputs of one folder keep distinct ones)."""
    budget = NAME_MAX - _TEMPORARY_OVERHEAD
    if len(os.fsencode(name)) <= budget:
        return name
    digest = hashlib.sha1(os.fsencode(name)).hexdigest()[:8]
    cut = name
    while len(os.fsencode(cut)) > budget - len(digest) - 1:
        cut = cut[:-1]
    return f"{cut}~{digest}"


def _sync(path: Path) -> None:
    """Flush a finished temporary file to the disk before its rename, so that after a power loss the output
    is whole or absent (never a name over zeros), and a write the disk refuses late fails here."""
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


@contextlib.contextmanager
def write_errors(path: Path) -> Iterator[None]:
    """OS errors while writing ``path`` as one-line BiogansErrors (a file as a folder, no permission, a
    read-only or full disk), and so are the RuntimeErrors that writers (torch.save, h5py on closing) raise
    on a failed write: those that arise from an OSError. Other RuntimeErrors are bugs, and pass. For a file
    written in place (a log appended to); atomic_path and atomic_dir apply it themselves."""
    try:
        yield
    except (OSError, RuntimeError) as exc:
        error = _os_error_of(exc)
        if error is None:
            raise
        name = error.filename if isinstance(error.filename, str) else ""
        where = name if name and not _TEMPORARY.match(Path(name).name) else path
        reason = os.strerror(error.errno) if error.errno else _first_line(error)
        raise BiogansError(f"{where}: cannot write {path} ({reason})") from None


def _os_error_of(error: BaseException) -> OSError | None:
    """``error`` if it is an OSError, else the OSError it arose from (its cause or context), if any."""
    seen: set[int] = set()
    while error is not None and id(error) not in seen:
        if isinstance(error, OSError):
            return error
        seen.add(id(error))
        error = error.__cause__ or error.__context__
    return None


def _first_line(error: BaseException) -> str:
    return " ".join(str(error).split("\n", 1)[0].split())[:200] or type(error).__name__


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
