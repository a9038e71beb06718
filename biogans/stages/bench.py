"""``biogans bench``: speed measurements, each beside a plain baseline of the same math."""

from __future__ import annotations

import argparse

from biogans.options import add_threads

CASES = ("data", "train", "star", "c2st")


def register(commands: argparse._SubParsersAction) -> None:
    parser = commands.add_parser(
        "bench", help="speed measurements, each beside a plain baseline of the same math",
        description="Print timings: 'data' (simulate, preprocess, splits and neighbours for 8 proteins x "
        "2,000 cells; neighbour-search memory beside an unblocked search), 'train' (seconds per iteration "
        "of each architecture at paper width), 'star' (the star-shaped step batched vs a per-protein loop), "
        "'c2st' (ten splits' critics trained together vs one at a time). Numbers vary with the machine's "
        "load: compare the ratios of one run.",
    )
    parser.add_argument("cases", nargs="*", choices=CASES, metavar="CASE",
                        help=f"cases to run: {', '.join(CASES)} (default: all)")
    parser.add_argument("--quick", action="store_true", help="tiny sizes: a smoke check of the cases")
    add_threads(parser, default=2)
    parser.set_defaults(run=run)


def run(args: argparse.Namespace) -> None:
    from biogans.bench import run as run_cases
    from biogans.device import set_threads

    set_threads(args.threads)
    run_cases(args.cases, quick=args.quick)
