"""``biogans figure <figureN>``: one figure of the paper as a PNG (200 dpi)."""

from __future__ import annotations

import argparse
from dataclasses import asdict
from pathlib import Path

from biogans.options import add_options, add_threads, from_args
from biogans.report.options import (
    Figure1Options,
    Figure3Options,
    Figure4Options,
    Figure6Options,
    Figure7Options,
)
from biogans.stages.arguments import (
    Paths,
    grouped,
    markdown_beside,
    mode_model_path,
    named_path,
    unique,
)

OPTIONS = {"figure1": Figure1Options, "figure3": Figure3Options, "figure4": Figure4Options,
           "figure6": Figure6Options, "figure7": Figure7Options}
#: The input arguments of each figure.
INPUTS = {"figure1": ("generator", "cells"), "figure3": ("generator", "cells"), "figure4": ("generator",),
          "figure6": ("reconstruction",), "figure7": ("generator",), "figure8": ("c2st", "baseline")}
STAR_HELP = ("a star-shaped (or multi-channel) generator file, e.g. "
             "wgangp-star=results/models/wgangp-star/generator_50000.pt")


def register(commands: argparse._SubParsersAction) -> None:
    parser = commands.add_parser(
        "figure", help="one figure of the paper as a PNG (200 dpi)",
        description="Draw one figure of the paper as a PNG at 200 dpi: cells in red (Bgs4) and green (the "
        "protein) on black, or C2ST curves. The file appears only when complete.",
    )
    figures = parser.add_subparsers(dest="figure", metavar="<figure>", required=True)
    _add_cell_figures(figures)
    figure = figures.add_parser(
        "figure8", help="C2ST score against generator iterations for the joint models",
        description="Figure 8: for each evaluator (one panel) and joint model, the median C2ST score over "
        "splits with its 10-90 percentile band against the generator iteration (log axis), over the real "
        "baseline (the test cells against the training cells). With --table also the long table "
        "model,evaluator,iteration,split,score (+ Markdown).",
    )
    figure.add_argument("--c2st", nargs="+", action="extend", type=named_path, required=True, metavar="MODEL=PATH",
                        help="fake-vs-real files, e.g. gan-sep=results/c2st/fake/gan-sep/wgan.csv "
                        "(repeat MODEL for each evaluator's file)")
    figure.add_argument("--baseline", nargs="+", action="extend", default=[], metavar="PATH",
                        help="train-vs-test C2ST files (the real baseline), e.g. "
                        "results/c2st/real/train-vs-test/wgangp.csv, one per evaluator")
    figure.add_argument("--table", default=None, metavar="OUT.csv",
                        help="also write the scores, e.g. results/tables/figure8_c2st_vs_iterations.csv")
    for name, figure in figures.choices.items():
        figure.add_argument("--out", required=True, metavar="OUT.png", help="figure file to write")
        if name in OPTIONS:
            add_options(figure, OPTIONS[name])
        add_threads(figure)
        more = {"figure7": ("gif", _animation), "figure8": ("table", markdown_beside("table"))}.get(name, ())
        figure.set_defaults(run=run, paths=Paths(inputs=INPUTS[name], outputs=("out", *more)))


def _add_cell_figures(figures: argparse._SubParsersAction) -> None:
    figure = figures.add_parser(
        "figure1", help="star-shaped samples (one red, every green) beside real cells",
        description="Figure 1: real test cells of each protein (left) beside a star-shaped model's samples "
        "(right): each column one latent, hence one red, each row one protein's green on it.",
    )
    figure.add_argument("--generator", nargs=1, type=named_path, required=True, metavar="MODEL=PATH", help=STAR_HELP)
    figure.add_argument("--cells", required=True, metavar="CELLS.h5", help="cell store (real test cells)")

    figure = figures.add_parser(
        "figure3", help="joint models' samples at early, middle and final checkpoints",
        description="Figure 3: samples of joint models (e.g. wgangp-sep, gan-sep) at each given checkpoint, "
        "the same latents in every row of a model, below a row of real cells.",
    )
    figure.add_argument("--generator", nargs="+", action="extend", type=named_path, required=True,
                        metavar="MODEL=PATH", help="generator files, one per checkpoint, e.g. "
                        "gan-sep=results/models/gan-sep/generator_1000.pt (repeat MODEL for each checkpoint)")
    figure.add_argument("--cells", required=True, metavar="CELLS.h5", help="cell store (real test cells)")

    figure = figures.add_parser(
        "figure4", help="separable models: groups of samples sharing the red part of z",
        description="Figure 4: for separable joint models (e.g. wgangp-sep, gan-sep), rows of samples that "
        "share the red part of z: the red cell is fixed along a row, the greens should vary (identical "
        "greens are mode collapse).",
    )
    figure.add_argument("--generator", nargs="+", action="extend", type=named_path, required=True,
                        metavar="MODEL=PATH", help="separable joint generator files, one per model")

    figure = figures.add_parser(
        "figure6", help="held-out cells, their nearest training cells and reconstructions",
        description="Figure 6: per protein, a few held-out cells: the target, its nearest training cell and "
        "each model's reconstruction, from the reconstructions' examples.h5 files.",
    )
    figure.add_argument("--reconstruction", nargs="+", action="extend", type=mode_model_path, required=True,
                        metavar="MODE/MODEL=PATH", help="a reconstruction's examples file, e.g. "
                        "regular/wgangp-star=results/reconstruction/regular/wgangp-star/examples.h5")

    figure = figures.add_parser(
        "figure7", help="latent interpolation from a short to a dividing cell (PNG strip + GIF)",
        description="Figure 7: a slerp path through a star-shaped model's latent space from a short cell to "
        "a long (dividing) one, found by measuring the red length of many seeded samples; every protein's "
        "green on the shared red. Writes the PNG strip and a looping GIF.",
    )
    figure.add_argument("--generator", nargs=1, type=named_path, required=True, metavar="MODEL=PATH", help=STAR_HELP)
    figure.add_argument("--gif", default=None, metavar="OUT.gif", help="animation to write (default: OUT with .gif)")


def run(args: argparse.Namespace) -> None:
    from biogans.device import set_threads
    from biogans.report import figure8, figures

    set_threads(args.threads)
    settings = asdict(from_args(OPTIONS[args.figure], args)) if args.figure in OPTIONS else {}
    if args.figure == "figure1":
        (model, generator), = args.generator
        figures.figure1_teaser(generator, args.cells, args.out, model=model, **settings)
    elif args.figure == "figure3":
        figures.figure3_training_progress(grouped(args.generator), args.cells, args.out, **settings)
    elif args.figure == "figure4":
        figures.figure4_separable_samples(unique(args.generator, "--generator"), args.out, **settings)
    elif args.figure == "figure6":
        figures.figure6_reconstructions(unique(args.reconstruction, "--reconstruction"), args.out, **settings)
    elif args.figure == "figure7":
        (model, generator), = args.generator
        figures.figure7_cell_cycle(generator, args.out, args.gif, model=model, **settings)
    else:
        figure8.figure8_c2st_vs_iterations(args.c2st, args.out, table=args.table, baseline=args.baseline)


def _animation(args: argparse.Namespace) -> list[Path]:
    """Figure 7's GIF: --gif, or by default OUT with .gif."""
    from biogans.report.figures import animation_path

    return [animation_path(args.out, args.gif)]
