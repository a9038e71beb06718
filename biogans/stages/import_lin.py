"""``biogans import-lin``: the published LIN dataset (folders of RGB PNGs) into the HDF5 cell store."""

from __future__ import annotations

import argparse
from pathlib import Path

from biogans.data.options import ImportLinOptions
from biogans.options import add_options, from_args
from biogans.stages.arguments import Paths


def register(commands: argparse._SubParsersAction) -> None:
    parser = commands.add_parser(
        "import-lin", help="import the published LIN dataset (folders of RGB PNGs) into HDF5",
        description="Import the LIN dataset as published: a folder per protein of 80x48 RGB PNGs "
        "(red Bgs4, green the protein, blue empty). LIN_ROOT is either a folder of protein "
        "folders, or the common prefix of a <name>_train / <name>_test pair, whose roles are kept.",
    )
    parser.add_argument("lin_root", metavar="LIN_ROOT", help="LIN folder, or the prefix of its _train/_test pair")
    parser.add_argument("out", metavar="OUT.h5", help="cell store to write")
    parser.add_argument("--proteins", nargs="+", default=None, metavar="P",
                        help="protein folders to import (default: all)")
    add_options(parser, ImportLinOptions)
    parser.set_defaults(run=run, paths=Paths(inputs=(_lin_files,), outputs=("out",)))


def run(args: argparse.Namespace) -> None:
    from biogans.data.lin import import_lin

    import_lin(args.lin_root, args.out, from_args(ImportLinOptions, args), proteins=args.proteins)


def _lin_files(args: argparse.Namespace) -> list[Path]:
    """The files in the protein folders of LIN_ROOT, or of its _train/_test pair."""
    from biogans.data.lin import ROLE_SUFFIXES

    root = Path(args.lin_root)
    folders = [root, *(root.with_name(root.name + suffix) for suffix in ROLE_SUFFIXES.values())]
    return [path for folder in folders if folder.is_dir() for path in sorted(folder.glob("*/*")) if path.is_file()]


_lin_files.dest = "lin_root"  # type: ignore[attr-defined]  # the argument it reads, as files_in's functions
