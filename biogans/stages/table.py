"""``biogans table <tableN>``: one table of the paper as a long CSV with a Markdown rendering beside it."""

from __future__ import annotations

import argparse

from biogans.evaluate.options import EVALUATORS
from biogans.stages.arguments import (
    Paths,
    markdown_beside,
    mode_model_path,
    named_path,
    unique,
)

REAL_HELP = "real-vs-real C2ST files (results/c2st/real/<A>.csv), one per protein A"
#: The input arguments of each table.
INPUTS = {"table1": ("real",), "table2": ("c2st", "real"), "table3": ("reconstruction",), "table4": ("c2st",),
          "table5": ("metrics", "features"), "claims": ("table1", "table2", "table3", "table4", "table5", "figure8")}


def register(commands: argparse._SubParsersAction) -> None:
    parser = commands.add_parser(
        "table", help="one table of the paper as CSV (+ Markdown beside it) from C2ST / reconstruction results",
        description="Build one table of the paper: OUT.csv in long format (one row per cell of the table, "
        "fixed columns) and OUT.md, a Markdown rendering for people, laid out as the paper prints it. Both "
        "appear only when the whole table could be built.",
    )
    tables = parser.add_subparsers(dest="table", metavar="<table>", required=True)

    table = tables.add_parser(
        "table1", help="real-vs-real C2ST for every ordered pair of proteins",
        description="Table 1: the C2ST score of real cells of protein A against real cells of protein B, for "
        "every ordered pair; columns protein_a,protein_b,mean,std,n_splits (mean and std over splits).",
    )
    table.add_argument("--real", nargs="+", action="extend", required=True, metavar="PATH", help=REAL_HELP)
    table.add_argument("--proteins", nargs="+", default=None, metavar="P",
                       help="proteins (rows and columns) in order (default: every protein A in the files)")

    table = tables.add_parser(
        "table2", help="fake-vs-real C2ST of the conditional models, per protein and all",
        description="Table 2: the C2ST score of each conditional model's samples against the real test cells "
        "of each protein (and 'all', the per-split mean over proteins) at the model's last iteration; "
        "with --real, reference rows 'real_vs_real' (each protein against itself). Columns "
        "model,protein,mean,std,n_splits.",
    )
    table.add_argument("--c2st", nargs="+", action="extend", required=True, type=named_path, metavar="MODEL=PATH",
                       help="a model's fake-vs-real file, e.g. wgangp-star=results/c2st/fake/wgangp-star/wgangp.csv")
    table.add_argument("--real", nargs="+", action="extend", default=None, metavar="PATH", help=REAL_HELP)
    table.add_argument("--proteins", nargs="+", default=None, metavar="P",
                       help="protein rows in order (default: the first model's proteins; 'all' stays each "
                       "model's score over all its proteins, as the C2ST file has it)")

    table = tables.add_parser(
        "table3", help="reconstruction of held-out cells: median and MAD of latent NLL and RMSE",
        description="Table 3: per (mode, model) and protein (and 'all'), the median and MAD of the latent's "
        "negative log-likelihood and of the reconstruction RMSE, plus per mode the nearest_neighbour rows "
        "(RMSE to the nearest training cell). Columns mode,model,protein,nll_median,nll_mad,l2_median,l2_mad.",
    )
    table.add_argument("--reconstruction", nargs="+", action="extend", required=True, type=mode_model_path,
                       metavar="MODE/MODEL=PATH", help="a reconstruction's per-cell file, e.g. "
                       "regular/wgangp-star=results/reconstruction/regular/wgangp-star/cells.csv")

    _add_table4(tables)
    _add_table5(tables)
    _add_claims(tables)
    _add_common_options(tables)


def _add_common_options(tables: argparse._SubParsersAction) -> None:
    """What every table takes: its output, the evaluator of C2ST tables, and its declared paths."""
    for name, table in tables.choices.items():
        table.add_argument("--out", required=True, metavar="OUT.csv", help="table file to write (OUT.md beside it)")
        if name not in ("table3", "table5", "claims"):
            table.add_argument("--evaluator", default="wgangp", choices=EVALUATORS,
                               help="C2ST evaluator whose rows to report (default: wgangp, as the paper)")
        table.set_defaults(run=run, paths=Paths(inputs=INPUTS[name], outputs=("out", markdown_beside("out"))))


def _add_table4(tables: argparse._SubParsersAction) -> None:
    """Table 4, beyond the paper: the multi-protein models' all-protein cells against the truth."""
    table = tables.add_parser(
        "table4", help="C2ST of multi-protein models' all-protein cells against the simulator's truth",
        description="Table 4 (beyond the paper): the C2ST score of each conditional model's all-protein cells "
        "(one red with every protein's green) against the simulator's all-proteins truth at the model's last "
        "iteration. Columns model,mean,std,n_splits. Lower is better.",
    )
    table.add_argument("--c2st", nargs="+", action="extend", required=True, type=named_path, metavar="MODEL=PATH",
                       help="a model's all-proteins C2ST file, e.g. "
                       "wgangp-star=results/c2st/all-proteins/wgangp-star.csv")


def _add_table5(tables: argparse._SubParsersAction) -> None:
    """Table 5, beyond the paper: the field's standard metrics of every model and external sample set."""
    table = tables.add_parser(
        "table5", help="standard metrics (KID, FID, precision/recall, memorisation) of every model and sample set",
        description="Table 5 (beyond the paper): the rows of biogans evaluate-samples for each model or external "
        "sample set (and 'real', the floor), with the feature network's held-out protein accuracy beside them. "
        "Columns model,protein,kid_mean,kid_std,fid,precision,recall,memorisation.",
    )
    table.add_argument("--metrics", nargs="+", action="extend", required=True, type=named_path, metavar="NAME=PATH",
                       help="a set's metrics file, e.g. wgangp-star=results/metrics/wgangp-star.csv")
    table.add_argument("--features", required=True, metavar="FEATURES.pt",
                       help="the feature network (biogans features)")


def _add_claims(tables: argparse._SubParsersAction) -> None:
    table = tables.add_parser(
        "claims", help="the reproduction scorecard: each finding of the paper, held or not in these tables",
        description="The reproduction scorecard: one row per finding of the paper (Tables 1-3, Figure 8; Table 4 "
        "beyond it) with the paper's numbers, this run's, the test applied and whether the finding held. "
        "Columns id,claim,paper,ours,test,held. It only reads the tables.",
    )
    for name in ("table1", "table2", "table3", "figure8"):
        table.add_argument(f"--{name}", required=True, metavar=f"{name.upper()}.csv", help=f"the {name} table")
    table.add_argument("--table4", default=None, metavar="TABLE4.csv", help="Table 4 (synthetic data only)")
    table.add_argument("--table5", default=None, metavar="TABLE5.csv", help="Table 5 (the standard metrics)")


def run(args: argparse.Namespace) -> None:
    from biogans.report import claims, metrics_table, tables

    if args.table == "table1":
        tables.table1_real_vs_real(args.real, args.out, proteins=args.proteins, evaluator=args.evaluator)
    elif args.table == "table2":
        tables.table2_conditional(unique(args.c2st, "--c2st"), args.out, real_paths=args.real or (),
                                  proteins=args.proteins, evaluator=args.evaluator)
    elif args.table == "table3":
        tables.table3_reconstruction(unique(args.reconstruction, "--reconstruction"), args.out)
    elif args.table == "table4":
        tables.table4_all_proteins(unique(args.c2st, "--c2st"), args.out, evaluator=args.evaluator)
    elif args.table == "table5":
        metrics_table.table5_metrics(unique(args.metrics, "--metrics"), args.out, features=args.features)
    else:
        names = ("table1", "table2", "table3", "table4", "table5", "figure8")
        claims.scorecard({name: getattr(args, name) for name in names if getattr(args, name)}, args.out)
