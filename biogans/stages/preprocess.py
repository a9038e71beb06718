"""``biogans preprocess``: TIFF fields -> aligned, masked, normalised 48x80 cells in the HDF5 store."""

from __future__ import annotations

import argparse

from biogans.data.options import PreprocessOptions
from biogans.options import add_options, add_threads, from_args
from biogans.stages.arguments import Paths, files_in


def register(commands: argparse._SubParsersAction) -> None:
    parser = commands.add_parser(
        "preprocess", help="segment, align, mask and normalise cells from TIFF fields into HDF5",
        description="Turn two-channel TIFF fields (FIELDS_DIR/<protein>/*.tif) into aligned "
        "48x80 cell images: segment cells from the red channel (or read label masks), rotate "
        "each cell's long axis to horizontal, crop at a fixed physical scale, zero everything "
        "outside the cell, normalise each channel by robust percentiles, split train/test, and "
        "write the HDF5 cell store atomically.",
    )
    parser.add_argument("fields_dir", metavar="FIELDS_DIR", help="folder of protein folders of TIFF fields")
    parser.add_argument("out", metavar="OUT.h5", help="cell store to write")
    parser.add_argument("--masks", metavar="DIR", default=None,
                        help="label masks: DIR/<protein>/<field>_labels.tif for FIELDS_DIR/<protein>/<field>.tif "
                        "(default: segment the red channel)")
    parser.add_argument("--proteins", nargs="+", default=None, metavar="P",
                        help="protein folders to read (default: every folder in FIELDS_DIR)")
    add_options(parser, PreprocessOptions)
    parser.add_argument("--all-proteins", action="store_true",
                        help="FIELDS_DIR/all_proteins holds multi-channel fields (red, then one green per "
                        "protein); write one group 'all_proteins' normalised like --reference")
    parser.add_argument("--reference", metavar="CELLS.h5", default=None,
                        help="with --all-proteins: the cell store whose per-protein normalisation to apply")
    add_threads(parser)
    fields = (files_in("fields_dir", "*/*.tif"), files_in("masks", "*/*.tif"))
    parser.set_defaults(run=run, paths=Paths(inputs=(*fields, "reference"), outputs=("out",)))


def run(args: argparse.Namespace) -> None:
    from biogans.data.preprocess import preprocess

    preprocess(args.fields_dir, args.out, proteins=args.proteins, masks_dir=args.masks,
               options=from_args(PreprocessOptions, args), all_proteins=args.all_proteins,
               reference=args.reference, workers=args.threads)
