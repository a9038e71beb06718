"""Argument types of the table, figure and evaluate-samples commands: a file named by its model (NAME=PATH)."""

from __future__ import annotations

import argparse
from collections.abc import Sequence
from pathlib import Path

from biogans.errors import BiogansError


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
