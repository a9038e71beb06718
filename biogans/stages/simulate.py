"""``biogans simulate``: synthetic fission-yeast fields, one folder per protein, deterministic by seed."""

from __future__ import annotations

import argparse

from biogans.data.options import SimulateOptions
from biogans.options import add_options, add_threads, from_args
from biogans.stages.arguments import Paths, files_in


def register(commands: argparse._SubParsersAction) -> None:
    parser = commands.add_parser(
        "simulate", help="render synthetic fission-yeast fields (red Bgs4 + one green protein)",
        description="Render two-channel 16-bit TIFF fields of fission-yeast cells, one folder per "
        "protein (OUT_DIR/<protein>/field_XXX.tif), each with its ground truth beside it "
        "(field_XXX_labels.tif: one id per cell; field_XXX_cells.csv: centre, angle, length, "
        "phase). With --all-proteins, render every protein's green channel for the same cells "
        "into OUT_DIR/all_proteins/ (9 channels: Bgs4 then the 8 greens). Deterministic by seed.",
    )
    parser.add_argument("out_dir", metavar="OUT_DIR", help="folder to write the fields into")
    add_options(parser, SimulateOptions)
    add_threads(parser)
    parser.set_defaults(run=run, paths=Paths(outputs=(files_in("out_dir", "*/*"),)))


def run(args: argparse.Namespace) -> None:
    from biogans.data.simulate import simulate

    simulate(args.out_dir, from_args(SimulateOptions, args), workers=args.threads)
