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
        lr=args.lr,
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


# --------------------------------------------------------------------------- evaluation

def _c2st(args: argparse.Namespace) -> None:
    from biogans.evaluate import c2st_modes
    from biogans.evaluate.c2st import C2STOptions, write_results

    _set_threads(args.threads)
    options = C2STOptions(evaluator=args.evaluator, steps=args.steps, batch_size=args.batch_size, ndf=args.ndf,
                          passes=args.passes, seed=args.seed, device=args.device, lr=args.lr,
                          max_groups=args.max_groups)
    if args.mode == "real-vs-real":
        rows = c2st_modes.real_vs_real(args.cells, args.splits, args.protein, args.versus, options)
    elif args.mode == "fake-vs-real":
        rows = c2st_modes.fake_vs_real(args.generators, args.cells, args.splits, options)
    else:
        rows = c2st_modes.joint(args.generator, args.truth, options, n_splits=args.n_splits)
    write_results(rows, args.out)


def _reconstruct(args: argparse.Namespace) -> None:
    from biogans.evaluate.reconstruct import reconstruct

    _set_threads(args.threads)
    reconstruct(args.generator, args.cells, args.out_dir, mode=args.mode, n_cells=args.n_cells, steps=args.steps,
                restarts=args.restarts, lr=args.lr, seed=args.seed, device=args.device, batch_size=args.batch_size,
                line_search=None if args.line_search == "none" else args.line_search)


def _add_reconstruct_command(commands: argparse._SubParsersAction) -> None:
    """``biogans reconstruct``: latent reconstruction of held-out cells (Table 3, Figure 6)."""
    p = commands.add_parser(
        "reconstruct", help="optimise latents to reproduce held-out cells (Table 3, Figure 6)",
        description="For held-out (test) cells of each protein of a generator, optimise the latent z with "
        "L-BFGS (random restarts, best kept) so the generator reproduces the cell: 'regular' fits all of z on "
        "both channels, 'separable' fits the red part of z on the red channel first, then the green part on "
        "the green channel. Conditional models use each protein's own generator or green tower. Writes "
        "OUT_DIR/cells.csv (protein,row,rmse,nll,nn_rmse,nn_row: reconstruction RMSE in [0, 1] units, "
        "negative log-likelihood of z, RMSE to the nearest training cell) and OUT_DIR/examples.h5.",
    )
    p.add_argument("generator", metavar="GENERATOR.pt", help="generator file")
    p.add_argument("cells", metavar="CELLS.h5", help="cell store")
    p.add_argument("out_dir", metavar="OUT_DIR", help="folder for cells.csv and examples.h5")
    p.add_argument("--mode", choices=("regular", "separable"), default="regular",
                   help="fit all of z at once, or red part then green part (default: regular)")
    p.add_argument("--n-cells", type=int, default=50, metavar="N", help="test cells per protein (default: 50)")
    p.add_argument("--steps", type=int, default=50, metavar="N", help="L-BFGS iterations per stage (default: 50)")
    p.add_argument("--restarts", type=int, default=5, metavar="N", help="random restarts, best kept (default: 5)")
    p.add_argument("--lr", type=float, default=0.05, help="L-BFGS learning rate (default: 0.05, the paper's)")
    p.add_argument("--line-search", choices=("strong_wolfe", "none"), default="strong_wolfe",
                   help="L-BFGS line search (default: strong_wolfe)")
    p.add_argument("--batch-size", type=int, default=256, metavar="B",
                   help="cells x restarts optimised together (default: 256)")
    p.add_argument("--seed", type=int, default=0, help="seed of the chosen cells and restarts (default: 0)")
    _add_device(p)
    _add_threads(p)
    p.set_defaults(func=_reconstruct)


def _bench(args: argparse.Namespace) -> None:
    from biogans.bench import run

    _set_threads(args.threads)
    run(args.cases, quick=args.quick)


def _add_c2st_command(commands: argparse._SubParsersAction) -> None:
    """``biogans c2st <mode>``: the classifier two-sample tests behind Tables 1, 2 and 4 and Figure 8."""
    p = commands.add_parser(
        "c2st", help="classifier two-sample tests: real vs real, generated vs real, joint samples vs truth",
        description="Classifier two-sample test (C2ST) as in the paper: for each pair of cell sets and each "
        "split, a fresh DCGAN critic learns to tell the training halves apart and is scored on the held-out "
        "halves (score = minus its loss; ~0 for one distribution, larger = more different), plus the "
        "held-out accuracy of the critic as a classifier and its binomial p-value. All critics of a job "
        "train together as one grouped network. Writes OUT.csv (columns evaluator,iteration,protein,versus,"
        "split,score,accuracy,p_value), one row per comparison and split.",
    )
    modes = p.add_subparsers(dest="mode", metavar="<mode>", required=True)

    m = modes.add_parser(
        "real-vs-real", help="protein A's train-set cells vs each protein B's test-set cells (Table 1)",
        description="Protein A's train-set half s against protein B's test-set half s of every split in "
        "SPLITS.h5, scored on the other halves; one comparison per protein B (A itself gives the ~0 diagonal).",
    )
    m.add_argument("cells", metavar="CELLS.h5", help="cell store")
    m.add_argument("splits", metavar="SPLITS.h5", help="split file of the cell store")
    m.add_argument("--protein", required=True, metavar="A", help="protein A")
    m.add_argument("--versus", nargs="+", default=None, metavar="B",
                   help="proteins B (default: every protein of the store, A included)")

    m = modes.add_parser(
        "fake-vs-real", help="a generator's cells vs the real test cells (Table 2, Figure 8)",
        description="Each generator file's cells against the real test set, on the test set's splits: per "
        "protein plus 'all' (the per-split mean) for conditional models, the merged proteins ('all') for joint "
        "models. Generated pool: as many cells as the real test set, from a latent seeded by --seed. Several "
        "files (checkpoint iterations of one model) train together; rows carry their iteration.",
    )
    m.add_argument("generators", nargs="+", metavar="GENERATOR.pt", help="generator file(s)")
    m.add_argument("--cells", required=True, metavar="CELLS.h5", help="cell store")
    m.add_argument("--splits", required=True, metavar="SPLITS.h5", help="split file of the cell store")

    m = modes.add_parser(
        "joint", help="a conditional generator's joint cells vs the all-proteins truth (Table 4)",
        description="A conditional generator's joint cells (red and every protein's green for one latent) "
        "against the simulator's joint ground truth (group all_proteins; the generator's proteins' channels), "
        "on --n-splits seeded half/half splits of all truth cells, as many generated cells as truth cells.",
    )
    m.add_argument("generator", metavar="GENERATOR.pt", help="conditional generator file")
    m.add_argument("--truth", required=True, metavar="JOINT_TRUTH.h5", help="joint ground-truth cell store")
    m.add_argument("--n-splits", type=int, default=10, metavar="N", help="random half/half splits (default: 10)")

    for m in modes.choices.values():
        m.add_argument("--out", required=True, metavar="OUT.csv", help="result file to write")
        m.add_argument("--evaluator", default="wgangp", metavar="NAME",
                       help="critic loss and optimiser: gan, wgan or wgangp (default: wgangp)")
        m.add_argument("--steps", type=int, default=5000, metavar="N", help="critic updates (default: 5000)")
        m.add_argument("--batch-size", type=int, default=64, metavar="B",
                       help="cells per set and step (default: 64)")
        m.add_argument("--ndf", type=int, default=64, help="critic width (default: 64)")
        m.add_argument("--passes", type=int, default=5, metavar="N",
                       help="scoring passes over the held-out halves (default: 5)")
        m.add_argument("--lr", type=float, default=None,
                       help="learning rate (default: the evaluator's: 2e-4 gan, 5e-5 wgan, 1e-4 wgangp)")
        m.add_argument("--max-groups", type=int, default=0, metavar="N",
                       help="critics trained at once as one grouped network; results do not change, speed and "
                       "memory do (default: 0 = all on a GPU, 5 on the CPU)")
        m.add_argument("--seed", type=int, default=0, help="random seed (default: 0)")
        _add_device(m)
        _add_threads(m)
        m.set_defaults(func=_c2st)


# --------------------------------------------------------------------------- tables and figures

def _named_path(text: str) -> tuple[str, str]:
    """argparse type of NAME=PATH (a model's file)."""
    name, sep, path = text.partition("=")
    if not sep or not name or not path:
        raise argparse.ArgumentTypeError(f"expected NAME=PATH, got {text!r}")
    return name, path


def _mode_model_path(text: str) -> tuple[tuple[str, str], str]:
    """argparse type of MODE/MODEL=PATH (a reconstruction's file)."""
    name, path = _named_path(text)
    mode, sep, model = name.partition("/")
    if not sep or not mode or not model:
        raise argparse.ArgumentTypeError(f"expected MODE/MODEL=PATH, got {text!r}")
    return (mode, model), path


def _unique(pairs: Sequence[tuple], option: str) -> dict:
    """NAME=PATH pairs as a dict, refusing a name given twice."""
    named: dict = {}
    for name, path in pairs:
        if name in named:
            label = "/".join(name) if isinstance(name, tuple) else name
            raise BiogansError(f"{option} {label} given twice ({named[name]} and {path})")
        named[name] = path
    return named


def _grouped(pairs: Sequence[tuple[str, str]]) -> dict[str, list[str]]:
    """NAME=PATH pairs as {name: [paths]}, in the order given."""
    grouped: dict[str, list[str]] = {}
    for name, path in pairs:
        grouped.setdefault(name, []).append(path)
    return grouped


def _table(args: argparse.Namespace) -> None:
    from biogans.report import tables

    if args.table == "table1":
        tables.table1_real_vs_real(args.real, args.out, proteins=args.proteins, evaluator=args.evaluator)
    elif args.table == "table2":
        tables.table2_conditional(_unique(args.c2st, "--c2st"), args.out, real_paths=args.real or (),
                                  proteins=args.proteins, evaluator=args.evaluator)
    elif args.table == "table3":
        tables.table3_reconstruction(_unique(args.reconstruction, "--reconstruction"), args.out)
    else:
        tables.table4_joint(_unique(args.c2st, "--c2st"), args.out, evaluator=args.evaluator)


def _figure(args: argparse.Namespace) -> None:
    from biogans.report import figures

    _set_threads(args.threads)
    if args.figure in ("figure1", "figure7"):
        (model, generator), = args.generator
        if args.figure == "figure1":
            figures.figure1_teaser(generator, args.cells, args.out, model=model, n_latents=args.latents,
                                   n_real=args.real_cells, seed=args.seed)
        else:
            figures.figure7_cell_cycle(generator, args.out, args.gif, model=model, steps=args.steps,
                                       frames=args.frames, candidates=args.candidates, seed=args.seed)
    elif args.figure == "figure3":
        figures.figure3_training_progress(_grouped(args.generator), args.cells, args.out,
                                          n_samples=args.samples, seed=args.seed)
    elif args.figure == "figure4":
        figures.figure4_separable_samples(_unique(args.generator, "--generator"), args.out, groups=args.groups,
                                          group_size=args.group_size, seed=args.seed)
    elif args.figure == "figure6":
        figures.figure6_reconstructions(_unique(args.reconstruction, "--reconstruction"), args.out,
                                        n_cells=args.cells_per_protein)
    else:
        figures.figure8_c2st_vs_iterations(args.c2st, args.out, table=args.table)


def _add_report_commands(commands: argparse._SubParsersAction) -> None:
    """``biogans table <tableN>`` and ``biogans figure <figureN>``: the paper's tables and figures."""
    real_help = "real-vs-real C2ST files (results/c2st/real/<A>.csv), one per protein A"
    evaluator_help = "C2ST evaluator whose rows to report (default: wgangp, as the paper)"
    p = commands.add_parser(
        "table", help="one table of the paper as CSV (+ Markdown beside it) from C2ST / reconstruction results",
        description="Build one table of the paper: OUT.csv in long format (one row per cell of the table; "
        "the columns are fixed, see DESIGN.md) and OUT.md, a Markdown rendering for people. Both appear "
        "only when the whole table could be built.",
    )
    tables = p.add_subparsers(dest="table", metavar="<table>", required=True)

    t = tables.add_parser(
        "table1", help="real-vs-real C2ST for every ordered pair of proteins",
        description="Table 1: the C2ST score of real cells of protein A against real cells of protein B, for "
        "every ordered pair; columns protein_a,protein_b,mean,std,n_splits (mean and sample std over splits).",
    )
    t.add_argument("--real", nargs="+", action="extend", required=True, metavar="PATH", help=real_help)
    t.add_argument("--proteins", nargs="+", default=None, metavar="P",
                   help="proteins (rows and columns) in order (default: every protein A in the files)")

    t = tables.add_parser(
        "table2", help="fake-vs-real C2ST of the conditional models, per protein and all",
        description="Table 2: the C2ST score of each conditional model's samples against the real test cells "
        "of each protein (and 'all', the per-split mean over proteins) at the model's last iteration; "
        "with --real, reference rows 'real_vs_real' (each protein against itself). Columns "
        "model,protein,mean,std,n_splits.",
    )
    t.add_argument("--c2st", nargs="+", action="extend", required=True, type=_named_path, metavar="MODEL=PATH",
                   help="a model's fake-vs-real file, e.g. wgangp-star=results/c2st/fake/wgangp-star/wgangp.csv")
    t.add_argument("--real", nargs="+", action="extend", default=None, metavar="PATH", help=real_help)
    t.add_argument("--proteins", nargs="+", default=None, metavar="P",
                   help="protein columns in order (default: the first model's proteins; 'all' stays each "
                   "model's score over all its proteins, as the C2ST file has it)")

    t = tables.add_parser(
        "table3", help="reconstruction of held-out cells: median and MAD of latent NLL and RMSE",
        description="Table 3: per (mode, model) and protein (and 'all'), the median and MAD of the latent's "
        "negative log-likelihood and of the reconstruction RMSE, plus per mode the nearest_neighbour rows "
        "(RMSE to the nearest training cell). Columns mode,model,protein,nll_median,nll_mad,l2_median,l2_mad.",
    )
    t.add_argument("--reconstruction", nargs="+", action="extend", required=True, type=_mode_model_path,
                   metavar="MODE/MODEL=PATH",
                   help="a reconstruction's per-cell file, e.g. "
                   "regular/wgangp-star=results/reconstruction/regular/wgangp-star/cells.csv")

    t = tables.add_parser(
        "table4", help="C2ST of multi-protein models' joint samples against the all-proteins truth",
        description="Table 4 (beyond the paper): the C2ST score of each model's joint samples (one red with "
        "every protein's green) against the simulator's all-proteins truth at the model's last iteration. "
        "Columns model,mean,std,n_splits. Lower is better.",
    )
    t.add_argument("--c2st", nargs="+", action="extend", required=True, type=_named_path, metavar="MODEL=PATH",
                   help="a model's joint C2ST file, e.g. wgangp-star=results/c2st/joint/wgangp-star.csv")
    for name, t in tables.choices.items():
        t.add_argument("--out", required=True, metavar="OUT.csv", help="table file to write (OUT.md beside it)")
        if name != "table3":
            t.add_argument("--evaluator", default="wgangp", choices=("gan", "wgan", "wgangp"), help=evaluator_help)
        t.set_defaults(func=_table)

    p = commands.add_parser(
        "figure", help="one figure of the paper as a PNG (200 dpi)",
        description="Draw one figure of the paper as a PNG at 200 dpi: cells in red (Bgs4) and green (the "
        "protein) on black, or C2ST curves. The file appears only when complete.",
    )
    figures = p.add_subparsers(dest="figure", metavar="<figure>", required=True)
    star_help = ("a star-shaped (or multi-channel) generator file, e.g. "
                 "wgangp-star=results/models/wgangp-star/generator_50000.pt")

    f = figures.add_parser(
        "figure1", help="star-shaped samples (one red, every green) beside real cells",
        description="Figure 1: real test cells of each protein (left) beside a star-shaped model's samples "
        "(right): each column one latent, hence one red, each row one protein's green on it.",
    )
    f.add_argument("--generator", nargs=1, type=_named_path, required=True, metavar="MODEL=PATH", help=star_help)
    f.add_argument("--cells", required=True, metavar="CELLS.h5", help="cell store (real test cells)")
    f.add_argument("--latents", type=int, default=8, metavar="N", help="generated columns (default: 8)")
    f.add_argument("--real-cells", type=int, default=4, metavar="N", help="real cells per protein (default: 4)")

    f = figures.add_parser(
        "figure3", help="joint models' samples at early, middle and final checkpoints",
        description="Figure 3: samples of joint models (e.g. wgangp-sep, gan-sep) at each given checkpoint, "
        "the same latents in every row of a model, below a row of real cells.",
    )
    f.add_argument("--generator", nargs="+", action="extend", type=_named_path, required=True,
                   metavar="MODEL=PATH", help="generator files, one per checkpoint, e.g. "
                   "gan-sep=results/models/gan-sep/generator_1000.pt (repeat MODEL for each checkpoint)")
    f.add_argument("--cells", required=True, metavar="CELLS.h5", help="cell store (real test cells)")
    f.add_argument("--samples", type=int, default=8, metavar="N", help="samples per checkpoint (default: 8)")

    f = figures.add_parser(
        "figure4", help="separable models: groups of samples sharing the red part of z",
        description="Figure 4: for separable joint models (e.g. wgangp-sep, gan-sep), rows of samples that "
        "share the red part of z: the red cell is fixed along a row, the greens should vary (identical "
        "greens are mode collapse).",
    )
    f.add_argument("--generator", nargs="+", action="extend", type=_named_path, required=True,
                   metavar="MODEL=PATH", help="separable joint generator files, one per model")
    f.add_argument("--groups", type=int, default=4, metavar="N", help="rows per model (default: 4)")
    f.add_argument("--group-size", type=int, default=8, metavar="N",
                   help="samples sharing one red (default: 8, as the paper)")

    f = figures.add_parser(
        "figure6", help="held-out cells, their nearest training cells and reconstructions",
        description="Figure 6: per protein, a few held-out cells: the target, its nearest training cell and "
        "each model's reconstruction, from the reconstructions' examples.h5 files.",
    )
    f.add_argument("--reconstruction", nargs="+", action="extend", type=_mode_model_path, required=True,
                   metavar="MODE/MODEL=PATH", help="a reconstruction's examples file, e.g. "
                   "regular/wgangp-star=results/reconstruction/regular/wgangp-star/examples.h5")
    f.add_argument("--cells-per-protein", type=int, default=3, metavar="N", help="cells per protein (default: 3)")

    f = figures.add_parser(
        "figure7", help="latent interpolation from a short to a dividing cell (PNG strip + GIF)",
        description="Figure 7: a slerp path through a star-shaped model's latent space from a short cell to "
        "a long (dividing) one, found by measuring the red length of many seeded samples; every protein's "
        "green on the shared red. Writes the PNG strip and a looping GIF.",
    )
    f.add_argument("--generator", nargs=1, type=_named_path, required=True, metavar="MODEL=PATH", help=star_help)
    f.add_argument("--gif", default=None, metavar="OUT.gif", help="animation to write (default: OUT with .gif)")
    f.add_argument("--steps", type=int, default=11, metavar="N", help="cells along the PNG strip (default: 11)")
    f.add_argument("--frames", type=int, default=40, metavar="N", help="GIF frames one way (default: 40)")
    f.add_argument("--candidates", type=int, default=512, metavar="N",
                   help="latents sampled to find a short and a long cell (default: 512)")

    f = figures.add_parser(
        "figure8", help="C2ST score against generator iterations for the joint models",
        description="Figure 8: for each evaluator (one panel) and joint model, the median C2ST score over "
        "splits with its 10-90 percentile band against the generator iteration (log axis). With --table "
        "also the long table model,evaluator,iteration,split,score (+ Markdown).",
    )
    f.add_argument("--c2st", nargs="+", action="extend", type=_named_path, required=True, metavar="MODEL=PATH",
                   help="fake-vs-real files, e.g. gan-sep=results/c2st/fake/gan-sep/wgan.csv "
                   "(repeat MODEL for each evaluator's file)")
    f.add_argument("--table", default=None, metavar="OUT.csv",
                   help="also write the scores, e.g. results/tables/figure8_c2st_vs_iterations.csv")
    for name, f in figures.choices.items():
        f.add_argument("--out", required=True, metavar="OUT.png", help="figure file to write")
        if name in ("figure1", "figure3", "figure4", "figure7"):
            f.add_argument("--seed", type=int, default=0, help="seed of the latents and real cells (default: 0)")
        _add_threads(f)
        f.set_defaults(func=_figure)


# --------------------------------------------------------------------------- parser

def _add_device(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--device", default="auto", help="auto (CUDA if available), cpu, cuda, cuda:N (default: auto)")


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
    p.add_argument("--lr", type=float, default=None,
                   help="learning rate of both networks (default: the objective's, 2e-4 gan, 5e-5 wgan, 1e-4 wgangp)")
    p.add_argument("--seed", type=int, default=0, help="random seed (default: 0)")
    _add_device(p)
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
    _add_device(p)
    _add_threads(p)
    p.set_defaults(func=_sample)

    _add_c2st_command(commands)
    _add_reconstruct_command(commands)
    _add_report_commands(commands)

    p = commands.add_parser(
        "bench", help="speed measurements, each beside a plain baseline of the same math",
        description="Print timings: 'data' (simulate, preprocess, splits and neighbours for 8 proteins x "
        "2,000 cells; neighbour-search memory beside an unblocked search), 'train' (seconds per iteration "
        "of each architecture at paper width), 'star' (the star-shaped step batched vs a per-protein loop), 'c2st' "
        "(ten splits' critics trained together vs one at a time). Numbers vary with the machine's load: "
        "compare the ratios of one run.",
    )
    p.add_argument("cases", nargs="*", choices=["data", "train", "star", "c2st"],
                   metavar="CASE", help="cases to run: data, train, star, c2st (default: all)")
    p.add_argument("--quick", action="store_true", help="tiny sizes: a smoke check of the cases")
    p.add_argument("--threads", type=int, default=2, metavar="N", help="torch threads (default: 2)")
    p.set_defaults(func=_bench)
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
