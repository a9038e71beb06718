"""``biogans train``: train one paper model with checkpoints, resumable after a kill."""

from __future__ import annotations

import argparse

from biogans.options import add_options, add_threads, from_args
from biogans.stages.arguments import Paths, files_in
from biogans.train.options import TrainOptions


def register(commands: argparse._SubParsersAction) -> None:
    parser = commands.add_parser(
        "train", help="train one GAN (a paper model by name) with checkpoints and resume",
        description="Train one model of the paper (e.g. wgangp-sep, wgangp-star) on the cell store. "
        "Writes OUT_DIR/generator_<iter>.pt and samples_<iter>.png at each checkpoint iteration (always "
        "at the last), train_log.csv and train_options.json; keeps OUT_DIR/resume.pt (and snapshots/) so "
        "that the same command continues a killed run. Independent models train one protein per run.",
    )
    parser.add_argument("cells", metavar="CELLS.h5", help="cell store")
    parser.add_argument("out_dir", metavar="OUT_DIR", help="model folder")
    parser.add_argument("--neighbours", metavar="NN.h5", default=None,
                        help="red-channel neighbours (multi-channel models only)")
    add_options(parser, TrainOptions)
    add_threads(parser)
    written = files_in("out_dir", "generator_*.pt", "samples_*.png", "train_log.csv", "train_options.json",
                       "resume.pt", "snapshots/*")
    parser.set_defaults(run=run, paths=Paths(inputs=("cells", "neighbours"), outputs=(written,)))


def run(args: argparse.Namespace) -> None:
    from biogans.device import set_threads
    from biogans.train.loop import train

    set_threads(args.threads)
    train(args.cells, args.out_dir, from_args(TrainOptions, args), neighbours_path=args.neighbours)
