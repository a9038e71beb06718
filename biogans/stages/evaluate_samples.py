"""``biogans evaluate-samples``: KID, FID, precision/recall and memorisation of sample sets (Table 5)."""

from __future__ import annotations

import argparse

from biogans.evaluate.options import MetricOptions
from biogans.options import add_options, add_threads, from_args
from biogans.stages.arguments import Paths, named_or_stem_path


def register(commands: argparse._SubParsersAction) -> None:
    parser = commands.add_parser(
        "evaluate-samples", help="KID, FID, precision/recall and memorisation of sample or generator files",
        description="Measure sample sets against the real cells of CELLS.h5: KID (mean and std over subsets) and "
        "FID (torchmetrics) and k-NN precision/recall on the penultimate layer of FEATURES.pt (biogans features), "
        "per protein against its real test cells, plus 'all' (proteins pooled); and memorisation, the median "
        "pixel distance (any flip) of a sample to its nearest training cell over that of the real test cells "
        "(~1: new cells, ~0: copies). Each FILE is a sample file as biogans sample writes it (.ome.tif or .h5) "
        "or a generator file (.pt: --n cells per protein, latents seeded by --seed), named by its stem or as "
        "NAME=FILE. The rows of model 'real' (test cells against training cells: each metric's floor) come "
        "first. Columns: model,protein,kid_mean,kid_std,fid,precision,recall,memorisation; CSV to stdout, or "
        "to --out.",
    )
    parser.add_argument("sources", nargs="*", type=named_or_stem_path, metavar="FILE",
                        help="sample file (.ome.tif, .ome.tiff, .h5) or generator file (.pt), or NAME=FILE")
    parser.add_argument("--cells", required=True, metavar="CELLS.h5", help="cell store")
    parser.add_argument("--features", required=True, metavar="FEATURES.pt", help="feature network (biogans features)")
    parser.add_argument("--out", metavar="OUT.csv", help="result file to write (default: stdout)")
    parser.add_argument("--real", action=argparse.BooleanOptionalAction, default=True,
                        help="include the rows of model 'real', test cells against training cells (default: on)")
    add_options(parser, MetricOptions)
    add_threads(parser)
    parser.set_defaults(run=run, paths=Paths(inputs=("sources", "cells", "features"), outputs=("out",)))


def run(args: argparse.Namespace) -> None:
    from biogans.device import set_threads
    from biogans.evaluate.sample_metrics import evaluate_samples, write_metric_rows
    from biogans.stages.arguments import unique

    set_threads(args.threads)
    sources = unique(args.sources, "FILE")
    rows = evaluate_samples(sources, args.cells, args.features, from_args(MetricOptions, args), include_real=args.real)
    write_metric_rows(rows, args.out)
