"""Options of ``biogans c2st`` and ``biogans reconstruct``, declared once (see :mod:`biogans.options`).

The defaults are the paper's protocol; the workflow's demo config scales some of them down.
"""

from __future__ import annotations

from dataclasses import dataclass

from biogans.options import (
    check_options,
    cuda_graphs_option,
    device_option,
    option,
    precision_option,
    seed_option,
)
from biogans.validation import MAX_WIDTH

EVALUATORS = ("gan", "wgan", "wgangp")
MODES = ("regular", "separable")


@dataclass(frozen=True, kw_only=True)
class C2STOptions:
    """One C2ST job's critics (the paper: WGAN-GP, 5000 steps, batch 64, ndf 64, 5 passes)."""

    evaluator: str = option("wgangp", "critic loss and optimiser: gan, wgan or wgangp", choices=EVALUATORS)
    steps: int = option(5000, "critic updates per test (the paper: 5000)", minimum=1, maximum=1_000_000,
                        metavar="N", config="c2st.steps")
    batch_size: int = option(64, "cells of each set per critic update (the paper: 64)", minimum=1, maximum=4096,
                             metavar="B", config="c2st.batch_size")
    ndf: int = option(64, "width of the fresh critic (the paper: 64)", minimum=1, maximum=MAX_WIDTH,
                      config="c2st.ndf")
    passes: int = option(5, "scoring passes over the held-out halves (the paper: 5)", minimum=1, maximum=100,
                         metavar="N", config="c2st.passes")
    lr: float | None = option(None, "critic learning rate (default: the evaluator's: 2e-4 gan, 5e-5 wgan, "
                              "1e-4 wgangp)", minimum=0, maximum=1, exclusive_minimum=True, config="c2st.lr.*")
    max_groups: int = option(0, "critics trained at once as one grouped network; results change only by "
                             "float rounding, speed and memory more (0: the size measured fastest)",
                             minimum=0, maximum=100_000, metavar="N", config="c2st.max_groups")
    seed: int = seed_option("seed of critics, batches and generated cells", config="c2st.seed")
    device: str = device_option(config="c2st.device")
    precision: str = precision_option("arithmetic of the critics and generators", config="c2st.precision")
    cuda_graphs: str = cuda_graphs_option("the critic updates")

    def __post_init__(self) -> None:
        check_options(self)


@dataclass(frozen=True, kw_only=True)
class ReconstructOptions:
    """How held-out cells are reconstructed (the paper: fixed-step L-BFGS lr 0.05, 50 outer steps of up to
    20 iterations each, per batch of 64 cells and restart, 5 restarts, every held-out cell)."""

    mode: str = option("regular", "fit all of z at once (regular), or the red part of z on the red channel "
                       "then the green part on the green channel (separable)", choices=MODES)
    n_cells: int | None = option(None, "held-out cells per protein (default: all of them)", minimum=1,
                                 maximum=1_000_000, metavar="N", config="reconstruction.n_cells")
    outer_steps: int = option(50, "L-BFGS step() calls per stage (the paper: 50)", minimum=1, maximum=100_000,
                              metavar="N", config="reconstruction.outer_steps")
    inner_iterations: int = option(20, "L-BFGS iterations within one step() call, its max_iter (the paper: "
                                   "20, torch's default)", minimum=1, maximum=100_000, metavar="N",
                                   config="reconstruction.inner_iterations")
    restarts: int = option(5, "random restarts per cell, the best kept by two-channel error (the paper: 5)",
                           minimum=1, maximum=1000, metavar="N", config="reconstruction.restarts")
    lr: float = option(0.05, "L-BFGS learning rate (the paper: 0.05)", minimum=0, maximum=100,
                       exclusive_minimum=True, config="reconstruction.lr")
    batch_size: int = option(64, "held-out cells per L-BFGS problem, whose loss is their mean squared error "
                             "(the paper: 64, its test batch)", minimum=1, maximum=100_000, metavar="B",
                             config="reconstruction.batch_size")
    seed: int = seed_option("seed of the chosen cells and the restarts", config="reconstruction.seed")
    device: str = device_option(config="reconstruction.device")

    def __post_init__(self) -> None:
        check_options(self)


@dataclass(frozen=True, kw_only=True)
class MetricOptions:
    """How ``biogans evaluate-samples`` measures sample sets on the feature network (KID, FID,
    precision/recall) and in pixels (memorisation)."""

    k: int = option(3, "neighbours that set each cell's radius in the precision/recall manifolds (Kynkäänniemi et "
                    "al. 2019: 3)", minimum=1, maximum=1000, metavar="K", flag="-k", config="metrics.k")
    kid_subsets: int = option(100, "random subsets KID averages over (its std is over them)", minimum=1,
                              maximum=100_000, metavar="N")
    kid_subset_size: int = option(1000, "cells of each set per KID subset; at most the smaller set's count, "
                                  "which it becomes where smaller", minimum=2, maximum=1_000_000, metavar="N")
    n: int = option(1000, "cells drawn per protein from a generator file (latents seeded by --seed, as biogans "
                    "sample draws them)", minimum=2, maximum=1_000_000, metavar="N", config="metrics.n")
    batch_size: int = option(256, "cells per call of the feature network and per block of distances", minimum=1,
                             maximum=100_000, metavar="B")
    seed: int = seed_option("seed of the generator latents and of KID's subsets", config="metrics.seed")
    device: str = device_option()

    def __post_init__(self) -> None:
        check_options(self)
