"""``biogans features``: the feature network of the standard metrics (KID, FID, precision/recall)."""

from __future__ import annotations

import argparse

from biogans.options import add_options, add_threads, from_args
from biogans.stages.arguments import Paths
from biogans.train.options import FeatureOptions


def register(commands: argparse._SubParsersAction) -> None:
    parser = commands.add_parser(
        "features", help="train the metrics' feature network on the training cells (KID, FID, precision/recall)",
        description="Train a small convolutional network to tell the proteins of CELLS.h5 apart, on their "
        "training cells only (role train; the test cells the metrics score against never shape it), seeded and "
        "deterministic on the CPU (for a given --threads). Its penultimate layer is the feature space of "
        "`biogans evaluate-samples`. Writes OUT.pt (spec, weights and the held-out protein accuracy on the test "
        "cells) and logs that accuracy.",
    )
    parser.add_argument("cells", metavar="CELLS.h5", help="cell store")
    parser.add_argument("out", metavar="OUT.pt", help="feature network file to write")
    add_options(parser, FeatureOptions)
    add_threads(parser)
    parser.set_defaults(run=run, paths=Paths(inputs=("cells",), outputs=("out",)))


def run(args: argparse.Namespace) -> None:
    from biogans.device import set_threads
    from biogans.train.features import train_features

    set_threads(args.threads)
    train_features(args.cells, args.out, from_args(FeatureOptions, args))
