"""``biogans reconstruct``: latent reconstruction of held-out cells (Table 3, Figure 6)."""

from __future__ import annotations

import argparse

from biogans.evaluate.options import ReconstructOptions
from biogans.options import add_options, add_threads, from_args
from biogans.stages.arguments import Paths, files_in


def register(commands: argparse._SubParsersAction) -> None:
    parser = commands.add_parser(
        "reconstruct", help="optimise latents to reproduce held-out cells (Table 3, Figure 6)",
        description="For held-out (test) cells of each protein of a generator, optimise the latent z with "
        "L-BFGS (random restarts, best kept) so the generator reproduces the cell: 'regular' fits all of z on "
        "both channels, 'separable' fits the red part of z on the red channel first, then the green part on "
        "the green channel. Conditional models use each protein's own generator or green tower. Writes "
        "OUT_DIR/cells.csv (protein,row,rmse,nll,nn_rmse,nn_row: reconstruction RMSE in [0, 1] units, "
        "negative log-likelihood of z, RMSE to the nearest training cell) and OUT_DIR/examples.h5.",
    )
    parser.add_argument("generator", metavar="GENERATOR.pt", help="generator file")
    parser.add_argument("cells", metavar="CELLS.h5", help="cell store")
    parser.add_argument("out_dir", metavar="OUT_DIR", help="folder for cells.csv and examples.h5")
    add_options(parser, ReconstructOptions)
    add_threads(parser)
    written = files_in("out_dir", "cells.csv", "examples.h5")
    parser.set_defaults(run=run, paths=Paths(inputs=("generator", "cells"), outputs=(written,)))


def run(args: argparse.Namespace) -> None:
    from biogans.device import set_threads
    from biogans.evaluate.reconstruct import reconstruct

    set_threads(args.threads)
    reconstruct(args.generator, args.cells, args.out_dir, from_args(ReconstructOptions, args))
