"""``biogans neighbours``: the k nearest training cells of every other protein by red-channel L2."""

from __future__ import annotations

import argparse

from biogans.data.options import NeighbourOptions
from biogans.options import add_options, add_threads, from_args
from biogans.stages.arguments import Paths


def register(commands: argparse._SubParsersAction) -> None:
    parser = commands.add_parser(
        "neighbours", help="k nearest training cells of every other protein by red-channel L2",
        description="For every cell and every other protein of the store, find the k training "
        "cells of that protein whose red channel is nearest in L2 distance (blocked matrix "
        "products, bounded memory). The multi-channel models build composite cells from these.",
    )
    parser.add_argument("cells", metavar="CELLS.h5", help="cell store")
    parser.add_argument("out", metavar="OUT.h5", help="neighbours file to write")
    add_options(parser, NeighbourOptions)
    add_threads(parser)
    parser.set_defaults(run=run, paths=Paths(inputs=("cells",), outputs=("out",)))


def run(args: argparse.Namespace) -> None:
    from biogans.data.neighbours import find_neighbours
    from biogans.device import set_threads

    set_threads(args.threads)
    find_neighbours(args.cells, args.out, from_args(NeighbourOptions, args))
