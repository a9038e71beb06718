"""``biogans assemble``: bundle an independent model's per-protein generators into one file."""

from __future__ import annotations

import argparse

from biogans.stages.arguments import Paths


def register(commands: argparse._SubParsersAction) -> None:
    parser = commands.add_parser(
        "assemble", help="bundle per-protein generators into one independent model",
        description="Bundle the per-protein generator files of an independent model (one 2-channel "
        "generator per protein, trained separately) into one generator file for evaluation and sampling.",
    )
    parser.add_argument("parts", nargs="+", metavar="PART.pt", help="per-protein generator files, in protein order")
    parser.add_argument("--out", required=True, metavar="GENERATOR.pt", help="file to write")
    parser.set_defaults(run=run, paths=Paths(inputs=("parts",), outputs=("out",)))


def run(args: argparse.Namespace) -> None:
    from biogans.train.checkpoints import assemble_generators

    assemble_generators(args.parts, args.out)
