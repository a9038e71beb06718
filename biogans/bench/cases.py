"""The benchmark cases: each times one of biogans' fast paths beside its plain baseline
(:mod:`biogans.bench.baselines`) in the same process, on one device, and returns {"seconds",
"baseline_seconds", "speedup"} (plus a few numbers that explain it)."""

from __future__ import annotations

from dataclasses import replace

import numpy as np
import torch
from torch.utils.flop_counter import FlopCounterMode

from biogans.bench import baselines
from biogans.bench.timing import WARMUP, median_seconds, side_by_side
from biogans.proteins import MODELLED_PROTEINS

#: The demo's training and C2ST settings (config.yaml): width and batch size.
DEMO_WIDTH, DEMO_BATCH, DEMO_CRITIC_WIDTH = 8, 16, 8


def fast_trainer(model: str, width: int | None, batch: int, device: torch.device, **settings):
    """The training loop's own Trainer with the fast settings this machine gets by default (precision and
    CUDA graphs measured; channels-last), fed a fixed batch of random cells; networks of ``width`` (None:
    the model's own)."""
    from biogans.data.loaders import FixedBatch
    from biogans.models import critic_layout_of, spec_for
    from biogans.train.loop import Trainer
    from biogans.train.options import TrainOptions

    rng = torch.Generator().manual_seed(0)
    groups, channels = critic_layout_of(spec_for(model, MODELLED_PROTEINS, ngf=width))
    cells = torch.rand(batch, groups * channels, 48, 80, generator=rng) * 2 - 1
    options = TrainOptions(model=model, proteins=MODELLED_PROTEINS, iterations=1, batch_size=batch, ngf=width,
                           ndf=width, **{"precision": "auto", "channels_last": True, **settings})
    return Trainer(options, FixedBatch(cells, rng), device)


def wgangp_iteration(width: int, batch: int, repeats: int, device: torch.device) -> dict:
    """One WGAN-GP iteration (5 critic steps, 1 generator step) of the separable DCGAN."""
    from biogans.models import build, build_critic, spec_for

    trainer = fast_trainer("wgangp-sep", width, batch, device)
    spec = spec_for("wgangp-sep", ["Alp14"], ngf=width)
    real = (torch.rand(batch, 2, 48, 80, generator=torch.Generator().manual_seed(1)) * 2 - 1).to(device)
    plain = baselines.PlainWGANGPIteration(build(spec).to(device), build_critic(spec, width, False).to(device),
                                           real, spec["nz"])
    result = side_by_side(lambda: trainer.step(30), plain, repeats)
    return {**result, "precision": trainer.precision, "width": width, "batch": batch}


def star_step(width: int, batch: int, repeats: int, device: torch.device) -> dict:
    """One star-shaped WGAN-GP iteration (6 green towers and 6 critics) batched, against a loop over the
    proteins training each tower (its own copy of the red path) with its critic."""
    from biogans.models import build_critic, spec_for

    trainer = fast_trainer("wgangp-star", width, batch, device)
    star = trainer.generator.net
    real = (torch.rand(batch, 2, 48, 80, generator=torch.Generator().manual_seed(1)) * 2 - 1).to(device)
    critic_spec = spec_for("wgangp-sep", ["Alp14"], ngf=width)
    towers = [baselines.PlainWGANGPIteration(star.tower(p).to(device),
                                             build_critic(critic_spec, width, False).to(device), real, star.nz)
              for p in range(len(MODELLED_PROTEINS))]
    result = side_by_side(lambda: trainer.step(30), lambda: [tower() for tower in towers], repeats)
    return {**result, "precision": trainer.precision, "width": width, "batch": batch}


def c2st_ten_splits(steps: int, repeats: int, device: torch.device, width: int = DEMO_CRITIC_WIDTH,
                    batch: int = DEMO_BATCH) -> dict:
    """One ten-split C2ST's critic training (WGAN-GP; by default the demo's critic width and batch): the ten
    critics as biogans runs them (group size, precision and CUDA graphs measured here first, as every C2ST
    job does), against one split at a time in float32."""
    from biogans.evaluate.c2st import Comparison, _fastest_setup, comparison_rngs
    from biogans.evaluate.critics import channels_last_cells, evaluator_objective, train_critics
    from biogans.evaluate.options import C2STOptions
    from biogans.models import Critic

    cells = (torch.rand(512, 2, 48, 80, generator=torch.Generator().manual_seed(0)) * 2 - 1).to(device)
    rng = np.random.default_rng(0)
    comparisons = [Comparison("A", "B", s, *np.split(rng.permutation(512), 4)) for s in range(10)]
    options = C2STOptions(steps=steps, batch_size=batch, ndf=width, device=str(device), precision="auto")
    pixels = channels_last_cells(cells)
    size, precision, graphs = _fastest_setup(pixels, comparisons, options, [])
    options = replace(options, precision=precision)

    def grouped() -> None:
        for start in range(0, len(comparisons), size):
            part = comparisons[start:start + size]
            train_critics(pixels, part, comparison_rngs(part, 0), evaluator_objective(options), options, graphs=graphs)

    critics = [Critic(2, width, 1, False).to(device) for _ in comparisons]
    rows_a = [torch.from_numpy(c.a_train) for c in comparisons]
    rows_b = [torch.from_numpy(c.b_train) for c in comparisons]
    plain = lambda: baselines.plain_critic_training(critics, cells, rows_a, rows_b, steps, batch)  # noqa: E731
    result = side_by_side(grouped, plain, repeats)
    return {**result, "steps": steps, "splits": 10, "groups": size, "precision": precision, "cuda_graphs": graphs,
            "width": width, "batch": batch, "seconds_per_critic_step": result["seconds"] / (10 * steps)}


def reconstruct(cells: int, repeats: int, device: torch.device, width: int = DEMO_WIDTH) -> dict:
    """Latent reconstruction of a batch of cells with all its restarts (5), 2 x 20 L-BFGS iterations: all
    problems stepped together (BatchedLBFGS) against torch's L-BFGS one problem at a time."""
    from biogans.evaluate.options import ReconstructOptions
    from biogans.evaluate.reconstruct import fit_latents
    from biogans.models import build, spec_for

    torch.manual_seed(0)
    model = build(spec_for("wgangp-sep", ["Alp14"], ngf=width)).to(device).eval().requires_grad_(False)
    render = lambda z: model.cells(z, protein=0)  # noqa: E731
    targets = render(torch.randn(cells, model.nz, device=device)).expand(5, -1, -1, -1, -1).contiguous()
    z = torch.randn(5, cells, model.nz, generator=torch.Generator().manual_seed(1)).to(device)
    options = ReconstructOptions(outer_steps=2, inner_iterations=20, lr=0.5)
    together = lambda: fit_latents(render, targets, z, slice(0, model.nz), slice(0, 2), options)  # noqa: E731
    alone = lambda: baselines.plain_lbfgs(render, targets, z, 2, 20, 0.5)  # noqa: E731
    result = side_by_side(together, alone, repeats)
    return {**result, "cells": cells, "restarts": 5, "width": width,
            "seconds_per_iteration": result["seconds"] / 40}


def neighbours(cells: int, repeats: int, device: torch.device) -> dict:
    """The red-channel neighbour search of 8 proteins x ``cells`` cells (k = 5): blocked, against one full
    distance matrix per protein."""
    from biogans.data.neighbours import nearest

    reds = [torch.rand(cells, 48 * 80, generator=torch.Generator().manual_seed(p)).to(device) for p in range(8)]
    queries = [torch.cat(reds[:p] + reds[p + 1:]) for p in range(8)]
    blocked = lambda: [nearest(q, r, 5) for q, r in zip(queries, reds, strict=True)]  # noqa: E731
    plain = lambda: [baselines.plain_nearest(q, r, 5) for q, r in zip(queries, reds, strict=True)]  # noqa: E731
    return {**side_by_side(blocked, plain, repeats), "cells": 8 * cells}


def peak_gflops(size: int, repeats: int, device: torch.device) -> dict:
    """The machine's matrix-multiply peak: bfloat16 (seconds) against float32 (baseline_seconds)."""
    a32 = torch.rand(size, size, generator=torch.Generator().manual_seed(0)).to(device)
    b32 = torch.rand(size, size, generator=torch.Generator().manual_seed(1)).to(device)
    a16, b16 = a32.bfloat16(), b32.bfloat16()
    result = side_by_side(lambda: a16 @ b16, lambda: a32 @ b32, repeats)
    flops = 2 * size**3
    return {**result, "gflops": flops / result["seconds"] / 1e9,
            "baseline_gflops": flops / result["baseline_seconds"] / 1e9}


def train_gflops(width: int, batch: int, repeats: int, device: torch.device) -> dict:
    """The arithmetic rate the training step achieves: FLOPs of one WGAN iteration of the separable DCGAN
    (5 critic steps, 1 generator step; counted by torch, which cannot count the double backward of
    WGAN-GP's penalty) over its time, fast path and plain float32."""
    trainer = fast_trainer("wgan-sep", width, batch, device, cuda_graphs="off")  # counted eagerly
    counter = FlopCounterMode(display=False)
    with counter:
        trainer.step(30)
    flops = counter.get_total_flops()
    trainer = fast_trainer("wgan-sep", width, batch, device)
    plain_trainer = fast_trainer("wgan-sep", width, batch, device, precision="float32", channels_last=False,
                                 cuda_graphs="off")
    for _ in range(WARMUP):
        trainer.step(30)
        plain_trainer.step(30)
    fast = median_seconds(lambda: trainer.step(30), repeats)
    plain = median_seconds(lambda: plain_trainer.step(30), repeats)
    return {"seconds": fast, "baseline_seconds": plain, "speedup": plain / fast, "gflop": flops / 1e9,
            "gflops": flops / fast / 1e9, "baseline_gflops": flops / plain / 1e9}


#: The paper's models by the cost of one training iteration: joint models of each objective (their -sep
#: variants and the independent models' parts cost the same), star-shaped and multi-channel models.
PAPER_MODELS = ("gan-sep", "wgan-sep", "wgangp-sep", "gan-star", "wgangp-star", "wgangp-multichannel")


def paper_models(batch: int, repeats: int, device: torch.device, width: int | None = None) -> dict:
    """Seconds per training iteration of each kind of paper model at its own width (64; 224 multi-channel)
    or ``width``: the fast setup measured as training measures it, against float32 eager. ``seconds`` sums
    them; each model's pair is reported (``<model>_seconds`` and ``<model>_baseline_seconds``)."""
    times = {}
    for model in PAPER_MODELS:
        fast = fast_trainer(model, width, batch, device)
        plain = fast_trainer(model, width, batch, device, precision="float32",
                             channels_last=False, cuda_graphs="off")
        result = side_by_side(lambda fast=fast: fast.step(30), lambda plain=plain: plain.step(30), repeats)
        times[f"{model}_seconds"], times[f"{model}_baseline_seconds"] = result["seconds"], result["baseline_seconds"]
    seconds = sum(v for k, v in times.items() if not k.endswith("baseline_seconds"))
    baseline = sum(v for k, v in times.items() if k.endswith("baseline_seconds"))
    return {"seconds": seconds, "baseline_seconds": baseline, "speedup": baseline / seconds, "batch": batch, **times}
