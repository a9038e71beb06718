"""``biogans <stage>``: one sub-command per workflow stage; the Snakemake rules call these.

Every sub-command exits 0 on success and 1 with a one-line ``error: ...`` on bad input; its
outputs appear only when complete. Heavy modules are imported inside each command so that
``biogans --help`` stays instant.
"""

from __future__ import annotations

import argparse
import logging
import sys
from collections.abc import Sequence

from biogans import __version__
from biogans.errors import BiogansError
from biogans.proteins import ALL_PROTEINS

log = logging.getLogger("biogans")


# --------------------------------------------------------------------------- data stages

def _simulate(args: argparse.Namespace) -> None:
    from biogans.data.simulate import simulate

    simulate(
        args.out_dir,
        proteins=args.proteins,
        cells_per_protein=args.cells_per_protein,
        seed=args.seed,
        all_proteins=args.all_proteins,
        field_size=args.field_size,
        workers=args.threads,
    )


def _preprocess(args: argparse.Namespace) -> None:
    from biogans.data.preprocess import PreprocessOptions, preprocess

    options = PreprocessOptions(
        channels=tuple(args.channels),
        pixel_size=args.pixel_size,
        cell_pixel_size=args.cell_pixel_size,
        percentiles=tuple(args.percentiles),
        test_fraction=args.test_fraction,
        seed=args.seed,
    )
    preprocess(
        args.fields_dir,
        args.out,
        proteins=args.proteins,
        masks_dir=args.masks,
        options=options,
        all_proteins=args.all_proteins,
        reference=args.reference,
        workers=args.threads,
    )


def _import_lin(args: argparse.Namespace) -> None:
    from biogans.data.lin import import_lin

    import_lin(args.lin_root, args.out, proteins=args.proteins, test_fraction=args.test_fraction,
               seed=args.seed)


def _splits(args: argparse.Namespace) -> None:
    from biogans.data.splits import make_splits

    make_splits(args.cells, args.out, n_splits=args.n_splits, seed=args.seed)


def _neighbours(args: argparse.Namespace) -> None:
    from biogans.data.neighbours import find_neighbours

    find_neighbours(args.cells, args.out, k=args.k, block_size=args.block_size, threads=args.threads)


# --------------------------------------------------------------------------- models

def _set_threads(threads: int) -> None:
    import torch

    torch.set_num_threads(max(1, threads))


def _train(args: argparse.Namespace) -> None:
    from biogans.train.loop import PAPER_CHECKPOINTS, TrainOptions, train

    _set_threads(args.threads)
    options = TrainOptions(
        model=args.model,
        proteins=args.proteins,
        iterations=args.iterations,
        checkpoints=args.checkpoints or [c for c in PAPER_CHECKPOINTS if c <= args.iterations],
        batch_size=args.batch_size,
        nz=args.nz,
        ngf=args.ngf,
        ndf=args.ndf,
        red_portion=args.red_portion,
        critic_steps=args.critic_steps,
        seed=args.seed,
        device=args.device,
        bf16=args.bf16,
        channels_last=args.channels_last,
        resume_every=args.resume_every,
        log_every=args.log_every,
    )
    train(args.cells, args.out_dir, options, neighbours_path=args.neighbours)


def _assemble(args: argparse.Namespace) -> None:
    from biogans.train.checkpoints import assemble_generators

    assemble_generators(args.parts, args.out)


def _sample(args: argparse.Namespace) -> None:
    from biogans.sample import sample

    _set_threads(args.threads)
    sample(args.generator, args.out, n=args.n, seed=args.seed, protein=args.protein,
           all_proteins=args.all_proteins, device=args.device)


# --------------------------------------------------------------------------- parser

def _add_threads(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--threads", type=int, default=1, metavar="N",
                        help="worker processes / torch threads to use (default: 1)")


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="biogans",
        description="GANs for biological image synthesis: the stages of the biogans workflow.",
    )
    parser.add_argument("--version", action="version", version=f"biogans {__version__}")
    parser.add_argument("-v", "--verbose", action="store_true", help="log debugging detail")
    commands = parser.add_subparsers(dest="command", metavar="<stage>", required=True)

    p = commands.add_parser(
        "simulate", help="render synthetic fission-yeast fields (red Bgs4 + one green protein)",
        description="Render two-channel 16-bit TIFF fields of fission-yeast cells, one folder per "
        "protein (OUT_DIR/<protein>/field_XXX.tif), each with its ground truth beside it "
        "(field_XXX_labels.tif: one id per cell; field_XXX_cells.csv: centre, angle, length, "
        "phase). With --all-proteins, render every protein's green channel for the same cells "
        "into OUT_DIR/all_proteins/ (9 channels: Bgs4 then the 8 greens). Deterministic by seed.",
    )
    p.add_argument("out_dir", metavar="OUT_DIR", help="folder to write the fields into")
    p.add_argument("--seed", type=int, default=0, help="random seed (default: 0)")
    p.add_argument("--cells-per-protein", type=int, default=1000, metavar="N",
                   help="cells to render per protein (default: 1000)")
    p.add_argument("--proteins", nargs="+", default=list(ALL_PROTEINS), metavar="P",
                   help=f"green-channel proteins (default: all of {' '.join(ALL_PROTEINS)})")
    p.add_argument("--all-proteins", action="store_true",
                   help="render all proteins' greens for the same cells (joint ground truth)")
    p.add_argument("--field-size", type=int, default=512, metavar="PX",
                   help="width and height of a field of view in pixels (default: 512)")
    _add_threads(p)
    p.set_defaults(func=_simulate)

    p = commands.add_parser(
        "preprocess", help="segment, align, mask and normalise cells from TIFF fields into HDF5",
        description="Turn two-channel TIFF fields (FIELDS_DIR/<protein>/*.tif) into aligned "
        "48x80 cell images: segment cells from the red channel (or read label masks), rotate "
        "each cell's long axis to horizontal, crop at a fixed physical scale, zero everything "
        "outside the cell, normalise each channel by robust percentiles, split train/test, and "
        "write the HDF5 cell store atomically.",
    )
    p.add_argument("fields_dir", metavar="FIELDS_DIR", help="folder of protein folders of TIFF fields")
    p.add_argument("out", metavar="OUT.h5", help="cell store to write")
    p.add_argument("--masks", metavar="DIR", default=None,
                   help="label masks: DIR/<protein>/<field>_labels.tif for FIELDS_DIR/<protein>/<field>.tif "
                   "(default: segment the red channel)")
    p.add_argument("--proteins", nargs="+", default=None, metavar="P",
                   help="protein folders to read (default: every folder in FIELDS_DIR)")
    p.add_argument("--channels", nargs=2, default=["red", "green"], metavar=("FIRST", "SECOND"),
                   help="what the two channels of each field hold, in file order (default: red green)")
    p.add_argument("--pixel-size", type=float, default=None, metavar="UM",
                   help="field pixel size in micrometres (default: read from the TIFF resolution tags)")
    p.add_argument("--cell-pixel-size", type=float, default=0.19, metavar="UM",
                   help="pixel size of the 48x80 cell images in micrometres; 0.19 fits a 14 um "
                   "dividing cell into the 80-pixel width (default: 0.19)")
    p.add_argument("--percentiles", nargs=2, type=float, default=[0.5, 99.5], metavar=("LOW", "HIGH"),
                   help="in-cell intensity percentiles mapped to the 8-bit range (default: 0.5 99.5)")
    p.add_argument("--test-fraction", type=float, default=0.2, metavar="F",
                   help="fraction of each protein's cells held out as the test set (default: 0.2)")
    p.add_argument("--seed", type=int, default=0, help="seed of the train/test split (default: 0)")
    p.add_argument("--all-proteins", action="store_true",
                   help="FIELDS_DIR/all_proteins holds multi-channel fields (red, then one green per "
                   "protein); write one group 'all_proteins' normalised like --reference")
    p.add_argument("--reference", metavar="CELLS.h5", default=None,
                   help="with --all-proteins: the cell store whose per-protein normalisation to apply")
    _add_threads(p)
    p.set_defaults(func=_preprocess)

    p = commands.add_parser(
        "import-lin", help="import the published LIN dataset (folders of RGB PNGs) into HDF5",
        description="Import the LIN dataset as published: a folder per protein of 80x48 RGB PNGs "
        "(red Bgs4, green the protein, blue empty). LIN_ROOT is either a folder of protein "
        "folders, or the common prefix of a <name>_train / <name>_test pair, whose roles are kept.",
    )
    p.add_argument("lin_root", metavar="LIN_ROOT", help="LIN folder, or the prefix of its _train/_test pair")
    p.add_argument("out", metavar="OUT.h5", help="cell store to write")
    p.add_argument("--proteins", nargs="+", default=None, metavar="P",
                   help="protein folders to import (default: all)")
    p.add_argument("--test-fraction", type=float, default=0.2, metavar="F",
                   help="held-out fraction when LIN_ROOT has no _train/_test pair (default: 0.2)")
    p.add_argument("--seed", type=int, default=0, help="seed of that train/test split (default: 0)")
    p.set_defaults(func=_import_lin)

    p = commands.add_parser(
        "splits", help="ten seeded half/half splits per protein and role (for the C2ST)",
        description="For every protein and role (train, test) of the cell store, draw N seeded "
        "random partitions of the cells into two halves, as in the paper's C2ST protocol.",
    )
    p.add_argument("cells", metavar="CELLS.h5", help="cell store")
    p.add_argument("out", metavar="OUT.h5", help="splits file to write")
    p.add_argument("--n-splits", type=int, default=10, metavar="N", help="number of splits (default: 10)")
    p.add_argument("--seed", type=int, default=0, help="random seed (default: 0)")
    p.set_defaults(func=_splits)

    p = commands.add_parser(
        "neighbours", help="k nearest training cells of every other protein by red-channel L2",
        description="For every cell and every other protein of the store, find the k training "
        "cells of that protein whose red channel is nearest in L2 distance (blocked matrix "
        "products, bounded memory). The multi-channel models build composite cells from these.",
    )
    p.add_argument("cells", metavar="CELLS.h5", help="cell store")
    p.add_argument("out", metavar="OUT.h5", help="neighbours file to write")
    p.add_argument("-k", type=int, default=5, help="neighbours per cell and protein (default: 5)")
    p.add_argument("--block-size", type=int, default=1024, metavar="N",
                   help="query cells per block; bounds memory (default: 1024)")
    _add_threads(p)
    p.set_defaults(func=_neighbours)

    p = commands.add_parser(
        "train", help="train one GAN (a paper model by name) with checkpoints and resume",
        description="Train one model of the paper (e.g. wgangp-sep, wgangp-star) on the cell store. "
        "Writes OUT_DIR/generator_<iter>.pt and samples_<iter>.png at each checkpoint iteration, "
        "train_log.csv and train_options.json; keeps OUT_DIR/resume.pt (and snapshots/) so that the "
        "same command continues a killed run. Independent models train one protein per run.",
    )
    p.add_argument("cells", metavar="CELLS.h5", help="cell store")
    p.add_argument("out_dir", metavar="OUT_DIR", help="model folder")
    p.add_argument("--model", required=True, help="paper model name (gan, wgan, wgangp, gan-sep, ..., wgangp-star)")
    p.add_argument("--proteins", nargs="+", required=True, metavar="P",
                   help="proteins to model (joint models merge them; one protein for an independent part)")
    p.add_argument("--neighbours", metavar="NN.h5", default=None,
                   help="red-channel neighbours (multi-channel models only)")
    p.add_argument("--iterations", type=int, required=True, metavar="N", help="generator iterations")
    p.add_argument("--checkpoints", type=int, nargs="+", default=None, metavar="I",
                   help="iterations at which to write generator_<I>.pt (default: the paper's list up to N)")
    p.add_argument("--batch-size", type=int, default=64, metavar="B", help="batch size (default: 64)")
    p.add_argument("--nz", type=int, default=None, help="latent size (default: the model's, 100 or 350)")
    p.add_argument("--ngf", type=int, default=64, help="generator width (default: 64)")
    p.add_argument("--ndf", type=int, default=64, help="critic width (default: 64)")
    p.add_argument("--red-portion", type=float, default=None, metavar="F",
                   help="red share of a separable model's channels (default: the model's, 0.5 or 1/7)")
    p.add_argument("--critic-steps", type=int, default=None, metavar="K",
                   help="critic updates per generator update (default: the objective's, 1 or 5)")
    p.add_argument("--seed", type=int, default=0, help="random seed (default: 0)")
    p.add_argument("--device", default="auto", help="auto (CUDA if available), cpu, cuda, cuda:N (default: auto)")
    p.add_argument("--bf16", action="store_true", help="bfloat16 autocast (off by default)")
    p.add_argument("--channels-last", action="store_true", help="channels-last memory format (off by default)")
    p.add_argument("--resume-every", type=int, default=100, metavar="N",
                   help="write resume.pt every N iterations (default: 100)")
    p.add_argument("--log-every", type=int, default=10, metavar="N",
                   help="append to train_log.csv every N iterations (default: 10)")
    _add_threads(p)
    p.set_defaults(func=_train)

    p = commands.add_parser(
        "assemble", help="bundle per-protein generators into one independent model",
        description="Bundle the per-protein generator files of an independent model (one 2-channel "
        "generator per protein, trained separately) into one generator file for evaluation and sampling.",
    )
    p.add_argument("parts", nargs="+", metavar="PART.pt", help="per-protein generator files, in protein order")
    p.add_argument("--out", required=True, metavar="GENERATOR.pt", help="file to write")
    p.set_defaults(func=_assemble)

    p = commands.add_parser(
        "sample", help="draw cells from a trained generator (PNG sheet or HDF5)",
        description="Draw N cells from a generator file. FILE.png: a picture (conditional models: one "
        "row per protein, same latent per column). FILE.h5: a cell store of the samples, one group per "
        "protein (joint models: group 'generated'); with --all-proteins one group 'all_proteins' of "
        "[N, 1 + P, 48, 80] cells (red, then every protein's green for the same latent).",
    )
    p.add_argument("generator", metavar="GENERATOR.pt", help="generator file")
    p.add_argument("--n", type=int, required=True, help="number of latent vectors")
    p.add_argument("--seed", type=int, required=True, help="seed of the latent vectors")
    p.add_argument("--out", required=True, metavar="FILE", help="output .png or .h5")
    which = p.add_mutually_exclusive_group()
    which.add_argument("--protein", default=None, metavar="P", help="conditional models: only this protein")
    which.add_argument("--all-proteins", action="store_true",
                       help="conditional models: every protein's green for the same red")
    p.add_argument("--device", default="auto", help="auto, cpu, cuda (default: auto)")
    _add_threads(p)
    p.set_defaults(func=_sample)

    return parser


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    logging.basicConfig(
        level=logging.DEBUG if args.verbose else logging.INFO,
        format="%(asctime)s %(levelname)s %(name)s: %(message)s",
        stream=sys.stderr,
    )
    try:
        args.func(args)
    except BiogansError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        print("error: interrupted", file=sys.stderr)
        return 130
    return 0
