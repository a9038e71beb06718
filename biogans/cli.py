"""``biogans <stage>``: the registry of sub-commands, one module per stage in :mod:`biogans.stages`.

Exit status: 0 on success; 1 with a one-line ``error: ...`` for bad input (a file, a value the data
cannot support, an output path that cannot be written); 2 with a one-line ``error: ...`` for a bad
command line (unknown option, missing argument, value out of its declared range). Outputs appear
only when complete.
"""

from __future__ import annotations

import importlib
import logging
import sys
from collections.abc import Sequence

from biogans import __version__
from biogans.errors import BiogansError
from biogans.options import ArgumentParser

#: The stages, in workflow order: biogans/stages/<name>.py registers ``biogans <name>`` (``_`` -> ``-``).
STAGES = ("simulate", "preprocess", "import_lin", "splits", "neighbours", "train", "assemble", "sample", "c2st",
          "reconstruct", "table", "figure", "bench")


def build_parser() -> ArgumentParser:
    parser = ArgumentParser(prog="biogans",
                            description="GANs for biological image synthesis: the stages of the biogans workflow.")
    parser.add_argument("--version", action="version", version=f"biogans {__version__}")
    parser.add_argument("-v", "--verbose", action="store_true", help="log debugging detail")
    commands = parser.add_subparsers(dest="command", metavar="<stage>", required=True)
    for stage in STAGES:
        importlib.import_module(f"biogans.stages.{stage}").register(commands)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    logging.basicConfig(level=logging.DEBUG if args.verbose else logging.INFO,
                        format="%(asctime)s %(levelname)s %(name)s: %(message)s", stream=sys.stderr)
    try:
        args.run(args)
    except BiogansError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        print("error: interrupted", file=sys.stderr)
        return 130
    return 0
