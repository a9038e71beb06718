"""``biogans bench``: speed measurements, each beside a plain baseline of the same math."""

from __future__ import annotations

import argparse
import re

from biogans.options import add_threads
from biogans.stages.arguments import Paths

CASES = ("wgangp_iter_w64", "wgangp_iter_demo", "star_step", "c2st_ten_splits", "c2st_ten_splits_w64",
         "reconstruct", "reconstruct_w64", "neighbours", "peak_gflops", "train_gflops", "train_gflops_demo",
         "paper_models")


def register(commands: argparse._SubParsersAction) -> None:
    parser = commands.add_parser(
        "bench", help="speed measurements, each beside a plain baseline of the same math",
        description="Time biogans' fast paths beside plain baselines of the same mathematics (float32, eager, one "
        "network per call, one split or problem at a time), in turns after warm-up, median of repeats: "
        "wgangp_iter_w64 and wgangp_iter_demo (one WGAN-GP iteration of the separable DCGAN at width 64, batch 64 "
        "and at the demo's settings), star_step (the star-shaped step against a per-protein loop), c2st_ten_splits "
        "(ten critics grouped against one split at a time, the demo's critic) and c2st_ten_splits_w64 (the paper's: "
        "width 64, batch 64), reconstruct and reconstruct_w64 (all restarts' L-BFGS problems together against one at "
        "a time, demo and paper width), neighbours (blocked against one distance matrix), peak_gflops (bfloat16 "
        "against float32 matrix products), train_gflops and train_gflops_demo (the rate the training step reaches at "
        "width 64 and at the demo's width), paper_models (one training iteration of each kind of paper model at its "
        "own width and batch 64: the units of the paper's GPU-hours). Compare the ratios of one run: the machines "
        "are shared. The JSON records the machine (CPU model, cores, bf16/AMX flags, torch, GPU).",
    )
    parser.add_argument("cases", nargs="*", type=_case, metavar="CASE",
                        help=f"cases to run: {', '.join(CASES)} (default: all; on a CPU all but paper_models)")
    parser.add_argument("--quick", action="store_true", help="tiny sizes: a smoke check of the cases")
    parser.add_argument("--json", default=None, metavar="FILE",
                        help="also write the results as JSON: {machine: {cpu, cores, cpu_flags, torch, gpu, ...}, "
                        "cases: {case: {seconds, baseline_seconds, speedup, ...}}}")
    parser.add_argument("--device", default="cpu", type=_device, metavar="DEVICE",
                        help="cpu (default), cuda or cuda:N: where the cases run; a GPU that is absent is an error")
    add_threads(parser, default=2)
    parser.set_defaults(run=run, paths=Paths(outputs=("json",)))


def _case(name: str) -> str:
    if name not in CASES:
        raise argparse.ArgumentTypeError(f"unknown case {name!r} (known: {', '.join(CASES)})")
    return name


def _device(name: str) -> str:
    if not re.fullmatch(r"cpu|cuda(:[0-9]+)?", name):
        raise argparse.ArgumentTypeError(f"expected cpu, cuda or cuda:N, got {name!r}")
    return name


def run(args: argparse.Namespace) -> None:
    from biogans.bench import run as run_cases
    from biogans.device import resolve_device, set_threads

    device = resolve_device(args.device)
    set_threads(args.threads)
    run_cases(args.cases, device, quick=args.quick, json_path=args.json)
