"""``biogans sample``: cells drawn from a trained generator, as a picture or a cell store."""

from __future__ import annotations

import argparse

from biogans.options import add_options, add_threads, from_args
from biogans.stages.arguments import Paths
from biogans.train.options import SampleOptions


def register(commands: argparse._SubParsersAction) -> None:
    parser = commands.add_parser(
        "sample", help="draw cells from a trained generator (OME-TIFF, PNG sheet or HDF5)",
        description="Draw N cells from a generator file, in the format its name says. FILE.ome.tif: an "
        "OME-TIFF stack for Fiji and napari (cells along T, named channels, the pixel size; values in [0, 1]). "
        "FILE.png: a picture (conditional models: one "
        "row per protein, same latent per column). FILE.h5: a cell store of the samples, one group per "
        "protein (joint models: group 'generated'); with --all-proteins one group 'all_proteins' of "
        "[N, 1 + P, 48, 80] cells (red, then every protein's green for the same latent).",
    )
    parser.add_argument("generator", metavar="GENERATOR.pt", help="generator file")
    parser.add_argument("--out", required=True, metavar="FILE", help="output .ome.tif, .png or .h5")
    add_options(parser, SampleOptions)
    add_threads(parser)
    parser.set_defaults(run=run, paths=Paths(inputs=("generator",), outputs=("out",)))


def run(args: argparse.Namespace) -> None:
    from biogans.device import set_threads
    from biogans.train.sampling import sample

    set_threads(args.threads)
    sample(args.generator, args.out, from_args(SampleOptions, args))
