"""``biogans splits``: seeded half/half splits of every protein's train and test cells, for the C2ST."""

from __future__ import annotations

import argparse

from biogans.data.options import SplitOptions
from biogans.options import add_options, from_args
from biogans.stages.arguments import Paths


def register(commands: argparse._SubParsersAction) -> None:
    parser = commands.add_parser(
        "splits", help="ten seeded half/half splits per protein and role (for the C2ST)",
        description="For every protein and role (train, test) of the cell store, draw N seeded "
        "random partitions of the cells into two halves, as in the paper's C2ST protocol.",
    )
    parser.add_argument("cells", metavar="CELLS.h5", help="cell store")
    parser.add_argument("out", metavar="OUT.h5", help="splits file to write")
    add_options(parser, SplitOptions)
    parser.set_defaults(run=run, paths=Paths(inputs=("cells",), outputs=("out",)))


def run(args: argparse.Namespace) -> None:
    from biogans.data.splits import make_splits

    make_splits(args.cells, args.out, from_args(SplitOptions, args))
