"""What the stages' arguments are: the input and output paths of each command (checked against each
other before it runs), and the argument types of the table, figure and evaluate-samples commands (NAME=PATH)."""

from __future__ import annotations

import argparse
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from biogans.errors import BiogansError
from biogans.files import check_outputs

#: An argument holding paths (its dest), or a function of the parsed arguments giving paths.
PathSource = str | Callable[[argparse.Namespace], Sequence[Path]]


@dataclass(frozen=True)
class Paths:
    """A command's input and output files: every command declares them (``parser.set_defaults(paths=...)``)
    so that the command line refuses an output that is one of the inputs before the stage runs. Folders
    are declared by the files the command reads or writes in them (:func:`files_in`)."""

    inputs: tuple[PathSource, ...] = ()
    outputs: tuple[PathSource, ...] = ()

    def check(self, args: argparse.Namespace) -> None:
        """Raise BiogansError for an output that is one of the inputs, under any name."""
        check_outputs(_resolve(self.inputs, args), _resolve(self.outputs, args))


def files_in(dest: str, *patterns: str) -> Callable[[argparse.Namespace], list[Path]]:
    """The files matching ``patterns`` in the folder held by the argument ``dest``: those a command reads
    in an input folder, or writes in an output folder."""
    def files(args: argparse.Namespace) -> list[Path]:
        folder = getattr(args, dest)
        if folder is None or not Path(folder).is_dir():
            return []
        return [path for pattern in patterns for path in sorted(Path(folder).glob(pattern)) if path.is_file()]
    files.dest = dest  # type: ignore[attr-defined]  # the argument it reads, for tests/test_bad_input.py
    return files


def markdown_beside(dest: str) -> Callable[[argparse.Namespace], list[Path]]:
    """The Markdown rendering written beside the table file held by the argument ``dest``."""
    def markdown(args: argparse.Namespace) -> list[Path]:
        from biogans.report.tables import markdown_path

        return [] if getattr(args, dest) is None else [markdown_path(getattr(args, dest))]
    markdown.dest = dest  # type: ignore[attr-defined]
    return markdown


def _resolve(sources: Sequence[PathSource], args: argparse.Namespace) -> list[Path]:
    found: list[Path] = []
    for source in sources:
        found += _flat(getattr(args, source) if isinstance(source, str) else source(args))
    return found


def _flat(value: Any) -> list[Path]:
    """Paths in an argument's value: a path, a list of them, NAME=PATH pairs (the path), None (none)."""
    if value is None:
        return []
    if isinstance(value, (str, Path)):
        return [Path(value)]
    if isinstance(value, tuple):
        return _flat(value[-1])
    return [path for item in value for path in _flat(item)]


def named_path(text: str) -> tuple[str, str]:
    """argparse type of NAME=PATH (a model's file)."""
    name, sep, path = text.partition("=")
    if not sep or not name or not path:
        raise argparse.ArgumentTypeError(f"expected NAME=PATH, got {text!r}")
    return name, path


def named_or_stem_path(text: str) -> tuple[str, str]:
    """argparse type of PATH or NAME=PATH: a file named NAME, else by its file name less its suffixes
    (.ome.tif, .h5, ...)."""
    if "=" in text:
        return named_path(text)
    stem = Path(text).name
    while Path(stem).suffix and Path(stem).suffix != stem:
        stem = stem.removesuffix(Path(stem).suffix)
    return stem or text, text


def mode_model_path(text: str) -> tuple[tuple[str, str], str]:
    """argparse type of MODE/MODEL=PATH (a reconstruction's file)."""
    name, path = named_path(text)
    mode, sep, model = name.partition("/")
    if not sep or not mode or not model:
        raise argparse.ArgumentTypeError(f"expected MODE/MODEL=PATH, got {text!r}")
    return (mode, model), path


def unique(pairs: Sequence[tuple], option: str) -> dict:
    """NAME=PATH pairs as a dict, refusing a name given twice."""
    named: dict = {}
    for name, path in pairs:
        if name in named:
            label = "/".join(name) if isinstance(name, tuple) else name
            raise BiogansError(f"{option} {label} given twice ({named[name]} and {path})")
        named[name] = path
    return named


def grouped(pairs: Sequence[tuple[str, str]]) -> dict[str, list[str]]:
    """NAME=PATH pairs as {name: [paths]}, in the order given."""
    groups: dict[str, list[str]] = {}
    for name, path in pairs:
        groups.setdefault(name, []).append(path)
    return groups
