"""``biogans c2st <mode>``: the classifier two-sample tests behind Tables 1, 2 and 4 and Figure 8."""

from __future__ import annotations

import argparse

from biogans.data.options import SplitOptions
from biogans.evaluate.options import C2STOptions
from biogans.options import add_options, add_threads, from_args
from biogans.stages.arguments import Paths

#: The input arguments of each mode.
INPUTS = {"real-vs-real": ("cells", "splits"), "train-vs-test": ("cells", "splits"),
          "fake-vs-real": ("generators", "cells", "splits"), "all-proteins": ("generator", "truth"),
          "external-vs-real": ("samples", "cells", "splits"), "external-vs-truth": ("samples", "truth")}


def register(commands: argparse._SubParsersAction) -> None:
    parser = commands.add_parser(
        "c2st", help="classifier two-sample tests: real vs real, generated or sample file vs real, all proteins "
        "vs truth",
        description="Classifier two-sample test (C2ST) as in the paper: for each pair of cell sets and each "
        "split, a fresh DCGAN critic learns to tell the training halves apart and is scored on the held-out "
        "halves (score = minus its loss; ~0 for one distribution, larger = more different), plus the "
        "held-out accuracy of the critic as a classifier and its binomial p-value. All critics of a job "
        "train together as one grouped network. Writes OUT.csv (columns evaluator,iteration,protein,versus,"
        "split,score,accuracy,p_value), one row per comparison and split.",
    )
    modes = parser.add_subparsers(dest="mode", metavar="<mode>", required=True)

    mode = modes.add_parser(
        "real-vs-real", help="protein A's train-set cells vs each protein B's test-set cells (Table 1)",
        description="Protein A's train-set half s against protein B's test-set half s of every split in "
        "SPLITS.h5, scored on the other halves; one comparison per protein B (A itself gives the ~0 diagonal).",
    )
    mode.add_argument("cells", metavar="CELLS.h5", help="cell store")
    mode.add_argument("splits", metavar="SPLITS.h5", help="split file of the cell store")
    mode.add_argument("--protein", required=True, metavar="A", help="protein A")
    mode.add_argument("--versus", nargs="+", default=None, metavar="B",
                      help="proteins B (default: every protein of the store, A included)")

    mode = modes.add_parser(
        "train-vs-test", help="the real test cells vs the real training cells, proteins pooled (Figure 8's baseline)",
        description="The test cells of the proteins, pooled, against their training cells, pooled, on the splits "
        "of SPLITS.h5 (the critic trains on half of each and is scored on the other halves): how far apart two "
        "samples of real cells score, the floor of Figure 8. Rows: protein 'test', versus 'train'.",
    )
    mode.add_argument("cells", metavar="CELLS.h5", help="cell store")
    mode.add_argument("splits", metavar="SPLITS.h5", help="split file of the cell store")
    mode.add_argument("--proteins", nargs="+", default=None, metavar="P",
                      help="proteins to pool (default: every protein of the store)")

    _add_generator_modes(modes)
    _add_external_modes(modes)

    for name, mode in modes.choices.items():
        mode.add_argument("--out", required=True, metavar="OUT.csv", help="result file to write")
        add_options(mode, C2STOptions)
        add_threads(mode)
        mode.set_defaults(run=run, paths=Paths(inputs=INPUTS[name], outputs=("out",)))


def _add_generator_modes(modes: argparse._SubParsersAction) -> None:
    """The modes that score a generator's fresh cells."""
    mode = modes.add_parser(
        "fake-vs-real", help="a generator's cells vs the real test cells (Table 2, Figure 8)",
        description="Each generator file's cells against the real test set, on the test set's splits: per "
        "protein plus 'all' (the per-split mean) for conditional models, the merged proteins ('all') for joint "
        "models. Several files (checkpoint iterations of one model) train together; rows carry their iteration.",
    )
    mode.add_argument("generators", nargs="+", metavar="GENERATOR.pt", help="generator file(s)")
    mode.add_argument("--cells", required=True, metavar="CELLS.h5", help="cell store")
    mode.add_argument("--splits", required=True, metavar="SPLITS.h5", help="split file of the cell store")

    mode = modes.add_parser(
        "all-proteins", help="a conditional generator's all-protein cells vs the simulator's truth (Table 4)",
        description="A conditional generator's cells with every protein's green for one latent (one red) "
        "against the simulator's all-proteins ground truth (group all_proteins: every green imaged in the same "
        "cells), on --n-splits seeded half/half splits of all truth cells.",
    )
    mode.add_argument("generator", metavar="GENERATOR.pt", help="conditional generator file")
    mode.add_argument("--truth", required=True, metavar="JOINT_TRUTH.h5", help="all-proteins ground-truth store")
    add_options(mode, SplitOptions, skip=("seed",))


def _add_external_modes(modes: argparse._SubParsersAction) -> None:
    """The modes that score a sample file (cells drawn once, or made elsewhere) instead of a generator."""
    mode = modes.add_parser(
        "external-vs-real", help="a sample file's cells vs the real test cells (Table 2 for external samples)",
        description="The cells of a sample file (as biogans sample writes: OME-TIFF of all-protein cells, of "
        "'Bgs4 (P)', 'P' pairs, or of merged proteins; or its HDF5) against the real test set, on the test set's "
        "splits, as fake-vs-real scores a generator: per protein plus 'all' (the per-split mean), or 'all' for "
        "merged proteins. Per split the samples are cut into disjoint halves of the real halves' sizes (critic "
        "training, scoring), never flipped: the file needs at least as many cells per protein as the test set.",
    )
    mode.add_argument("samples", metavar="SAMPLES", help="sample file (.ome.tif, .ome.tiff or .h5)")
    mode.add_argument("--cells", required=True, metavar="CELLS.h5", help="cell store")
    mode.add_argument("--splits", required=True, metavar="SPLITS.h5", help="split file of the cell store")

    mode = modes.add_parser(
        "external-vs-truth", help="a sample file's all-protein cells vs the simulator's truth (Table 4)",
        description="An all-protein sample file's cells (channels Bgs4, then proteins; or the HDF5 of "
        "biogans sample --all-proteins) against the simulator's all-proteins ground truth, on --n-splits seeded "
        "half/half splits of all truth cells, the samples cut per split into disjoint halves of the truth "
        "halves' sizes (the file needs at least as many cells as the truth).",
    )
    mode.add_argument("samples", metavar="SAMPLES", help="all-protein sample file (.ome.tif, .ome.tiff or .h5)")
    mode.add_argument("--truth", required=True, metavar="JOINT_TRUTH.h5", help="all-proteins ground-truth store")
    mode.add_argument("--if-all-proteins", action="store_true",
                      help="a file of other cells writes OUT.csv without rows (no Table 4 row) instead of failing")
    add_options(mode, SplitOptions, skip=("seed",))


def run(args: argparse.Namespace) -> None:
    from biogans.device import set_threads
    from biogans.evaluate import c2st_external, c2st_modes
    from biogans.evaluate.c2st_results import write_results

    set_threads(args.threads)
    options = from_args(C2STOptions, args)
    if args.mode == "real-vs-real":
        rows = c2st_modes.real_vs_real(args.cells, args.splits, args.protein, args.versus, options)
    elif args.mode == "train-vs-test":
        rows = c2st_modes.train_vs_test(args.cells, args.splits, args.proteins, options)
    elif args.mode == "fake-vs-real":
        rows = c2st_modes.fake_vs_real(args.generators, args.cells, args.splits, options)
    elif args.mode == "all-proteins":
        rows = c2st_modes.all_proteins_vs_truth(args.generator, args.truth, options,
                                                n_splits=from_args(SplitOptions, args).n_splits)
    elif args.mode == "external-vs-real":
        rows = c2st_external.external_vs_real(args.samples, args.cells, args.splits, options)
    else:
        rows = c2st_external.external_vs_truth(args.samples, args.truth, options,
                                               n_splits=from_args(SplitOptions, args).n_splits,
                                               if_all_proteins=args.if_all_proteins)
    write_results(rows, args.out)
