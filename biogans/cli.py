"""``biogans <stage>``: the registry of sub-commands, one module per stage in :mod:`biogans.stages`.

Exit status, with one line on stderr: 0 success; 1 ``error: ...`` for bad input (a file, a value the
data cannot support, an output path that cannot be written, memory for a size the user asked for);
2 ``error: ...`` for a bad command line (unknown option, missing argument, a value out of its declared
range); 130 / 143 when interrupted (Ctrl-C / SIGTERM). An unexpected exception is a bug: its traceback
is printed with a request to report it, and the status is 3. Outputs appear only when complete, and
temporary files are removed on every one of these exits.
"""

from __future__ import annotations

import importlib
import logging
import signal
import sys
import traceback
from collections.abc import Sequence

from biogans import __version__
from biogans.errors import BiogansError
from biogans.options import ArgumentParser

#: The stages, in workflow order: biogans/stages/<name>.py registers ``biogans <name>`` (``_`` -> ``-``).
STAGES = ("simulate", "preprocess", "import_lin", "splits", "neighbours", "features", "train", "assemble", "sample",
          "c2st", "evaluate_samples", "reconstruct", "table", "figure", "bench")


def build_parser() -> ArgumentParser:
    parser = ArgumentParser(prog="biogans",
                            description="GANs for biological image synthesis: the stages of the biogans workflow.")
    parser.add_argument("--version", action="version", version=f"biogans {__version__}")
    parser.add_argument("-v", "--verbose", action="store_true", help="log debugging detail")
    commands = parser.add_subparsers(dest="command", metavar="<stage>", required=True)
    for stage in STAGES:
        importlib.import_module(f"biogans.stages.{stage}").register(commands)
    return parser


class Terminated(BaseException):
    """SIGTERM, raised in the main thread so that every ``finally`` (temporary files) runs."""


def _terminate(signum: int, frame) -> None:
    raise Terminated


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    logging.basicConfig(level=logging.DEBUG if args.verbose else logging.INFO,
                        format="%(asctime)s %(levelname)s %(name)s: %(message)s", stream=sys.stderr)
    _quiet_tifffile(args.verbose)
    previous = signal.signal(signal.SIGTERM, _terminate)
    try:
        args.paths.check(args)  # an output that is one of the inputs, refused before anything is written
        args.run(args)
    except BiogansError as exc:
        return _error(str(exc), 1)
    except MemoryError:
        return _error(f"out of memory for biogans {args.command}: ask for fewer cells, a smaller batch or "
                      "narrower networks", 1)
    except KeyboardInterrupt:
        return _error("interrupted", 130)
    except Terminated:
        return _error("terminated", 143)
    except Exception as exc:
        if type(exc).__name__ == "OutOfMemoryError":  # torch's, on a GPU
            return _error(f"out of GPU memory for biogans {args.command}: ask for a smaller batch or "
                          "narrower networks, or fewer critics at once (--max-groups)", 1)
        traceback.print_exc()
        return _error(f"biogans {__version__} failed unexpectedly: this is a bug; please report it with the "
                      "command and the traceback above", 3)
    finally:
        signal.signal(signal.SIGTERM, previous)
    return 0


def _quiet_tifffile(verbose: bool) -> None:
    """tifffile logs what it finds wrong in a damaged file as it parses it: shown with --verbose only, since
    the one error line says what matters."""
    logger = logging.getLogger("tifffile")
    logger.propagate = verbose
    if not any(isinstance(handler, logging.NullHandler) for handler in logger.handlers):
        logger.addHandler(logging.NullHandler())  # else logging's last resort prints warnings anyway


def _error(message: str, status: int) -> int:
    print(f"error: {message}", file=sys.stderr)
    return status
