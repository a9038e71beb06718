"""``biogans bench``: speed cases, each measured beside a plain baseline of the same math.

Numbers are printed, never asserted: the machines this runs on are shared and noisy, so compare
the ratios measured side by side in one run. Cases:
- ``data``: simulate + preprocess + splits + neighbours for 8 proteins x N cells (budget: 90 s for
  N = 2,000 on 2 cores), and the neighbour search's peak memory for two store sizes beside an
  unblocked full-distance-matrix search.
- ``train``: seconds per training iteration (WGAN-GP, 5 critic steps) of every architecture, and one
  star-shaped training step batched vs a per-protein loop of the same math.
- ``c2st``: critic training steps for ten splits vectorised vs one split at a time.
"""

from __future__ import annotations

import os
import resource
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

import torch

from biogans.proteins import MODELLED_PROTEINS


def _timed(fn: Callable[[], object], repeat: int = 1, warmup: int = 0) -> float:
    """Best wall-clock seconds of ``repeat`` calls after ``warmup`` calls."""
    for _ in range(warmup):
        fn()
    best = float("inf")
    for _ in range(repeat):
        start = time.perf_counter()
        fn()
        best = min(best, time.perf_counter() - start)
    return best


def _run_peak_rss(args: list[str]) -> tuple[float, float]:
    """Run a ``biogans`` command in a child process: (seconds, peak resident memory in MB)."""
    start = time.perf_counter()
    process = subprocess.Popen([sys.executable, "-m", "biogans", *args], stdout=subprocess.DEVNULL,
                               stderr=subprocess.PIPE)
    _, status, usage = os.wait4(process.pid, 0)
    process.returncode = os.waitstatus_to_exitcode(status)
    if process.returncode:
        raise RuntimeError(f"biogans {' '.join(args)} failed: {process.stderr.read().decode()[-500:]}")
    return time.perf_counter() - start, usage.ru_maxrss / 1024


_SEARCH = """
import resource, sys, torch
from biogans.data.neighbours import nearest, red_vectors
from biogans.data.store import read_store
torch.set_num_threads(int(sys.argv[3]))
store = read_store(sys.argv[1])
reds = {p: red_vectors(c) for p, c in store.items()}
queries = {other: torch.cat([reds[p] for p in store if p != other]) for other in store}
loaded = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
for other, cells in store.items():
    refs = reds[other][cells.role_indices("train")]
    if sys.argv[2] == "blocked":
        nearest(queries[other], refs, 5, block_size=1024)
    else:
        torch.cdist(queries[other], refs).topk(5, dim=1, largest=False)
print((resource.getrusage(resource.RUSAGE_SELF).ru_maxrss - loaded) / 1024)
"""


def bench_data(cells_per_protein: int = 2000, workers: int = 2) -> None:
    """The data stage end to end, and the neighbour search's memory beside an unblocked search."""
    print(f"== data: 8 proteins x {cells_per_protein} cells, {workers} workers")
    with tempfile.TemporaryDirectory() as tmp:
        tmp = Path(tmp)
        steps = [
            ("simulate", ["simulate", str(tmp / "raw"), "--cells-per-protein", str(cells_per_protein),
                          "--threads", str(workers)]),
            ("preprocess", ["preprocess", str(tmp / "raw"), str(tmp / "cells.h5"), "--threads", str(workers)]),
            ("splits", ["splits", str(tmp / "cells.h5"), str(tmp / "splits.h5")]),
            ("neighbours", ["neighbours", str(tmp / "cells.h5"), str(tmp / "nn.h5"), "--threads", str(workers)]),
        ]
        total = 0.0
        for name, args in steps:
            seconds, _ = _run_peak_rss(args)
            total += seconds
            print(f"{name:>12}: {seconds:7.1f} s")
        print(f"{'total':>12}: {total:7.1f} s   (budget 90 s for 2,000 cells per protein on 2 cores)")

        print("-- neighbour search: memory it needs beyond the loaded cells, blocked (biogans) vs one "
              "unblocked distance matrix per protein")
        small = tmp / "small.h5"
        from biogans.data.store import read_store, write_store

        store = read_store(tmp / "cells.h5")
        write_store(small, {p: _head(c, len(c) // 4) for p, c in store.items()}, source="bench")
        for label, path in (("1/4 of the cells", small), ("all cells", tmp / "cells.h5")):
            row = []
            for mode in ("blocked", "unblocked"):
                start = time.perf_counter()
                result = subprocess.run([sys.executable, "-c", _SEARCH, str(path), mode, str(workers)],
                                        capture_output=True, text=True, check=True)
                row.append(f"{mode} {float(result.stdout):6.0f} MB {time.perf_counter() - start:5.1f} s")
            print(f"{label:>18}: " + " | ".join(row))


def _head(cells, n):
    from biogans.data.store import CellSet

    return CellSet(cells.images[:n], cells.meta.iloc[:n].reset_index(drop=True), cells.channels)


class _RandomCells:
    """A sampler for :class:`~biogans.train.loop.Trainer` that serves one fixed batch of random cells."""

    def __init__(self) -> None:
        self.rng = torch.Generator().manual_seed(0)
        self.batch: torch.Tensor | None = None

    def sample(self) -> torch.Tensor:
        return self.batch


def _trainer(model: str, proteins: list[str], batch_size: int, ngf: int, ndf: int, **options):
    """The training loop's own Trainer for ``model`` (WGAN-GP: 5 critic steps + 1 generator step per
    iteration) on CPU, fed random cells laid out for its critic."""
    from biogans.models.zoo import definition
    from biogans.train.loop import Trainer
    from biogans.train.options import TrainOptions

    if definition(model).architecture == "independent":
        proteins = proteins[:1]
    sampler = _RandomCells()
    trainer = Trainer(TrainOptions(model=model, proteins=tuple(proteins), iterations=1, batch_size=batch_size,
                                   ngf=ngf, ndf=ndf, **options), sampler, torch.device("cpu"))
    groups, channels = trainer.generator.critic_layout
    sampler.batch = torch.rand(batch_size, groups * channels, trainer.spec["height"], trainer.spec["width"],
                               generator=sampler.rng) * 2 - 1
    return trainer


def bench_train(width: int = 64, batch_size: int = 64, repeat: int = 2, multichannel_width: int = 224) -> None:
    """Seconds per WGAN-GP training iteration of each architecture, and one model in float32, bf16
    autocast and channels-last."""
    proteins = list(MODELLED_PROTEINS)
    print(f"== train: WGAN-GP iteration (5 critic steps + 1 generator step), batch {batch_size}, "
          f"{torch.get_num_threads()} threads")
    cases = [("dcgan (wgangp)", "wgangp", width), ("separable (wgangp-sep)", "wgangp-sep", width),
             ("star, 6 proteins (wgangp-star)", "wgangp-star", width),
             ("independent part (wgangp-independent)", "wgangp-independent", width),
             ("multichannel", "wgangp-multichannel", multichannel_width),
             ("multichannel-sep", "wgangp-multichannel-sep", multichannel_width)]
    for label, model, model_width in cases:
        trainer = _trainer(model, proteins, batch_size, model_width, model_width)
        seconds = _timed(lambda: trainer.step(1), repeat=repeat, warmup=1)
        print(f"{label:>40}: {seconds:7.2f} s/iteration (ngf {model_width}, ndf {model_width})")

    print(f"-- wgangp-sep iteration at width {width}: float32 vs bfloat16 autocast vs channels-last "
          "(the training options --bf16 and --channels-last)")
    reference = None
    for label, bf16, channels_last in (("float32", False, False), ("bf16 autocast", True, False),
                                       ("channels-last", False, True)):
        trainer = _trainer("wgangp-sep", proteins, batch_size, width, width, bf16=bf16, channels_last=channels_last)
        z = torch.randn(16, trainer.generator.nz, generator=torch.Generator().manual_seed(0))
        trainer.generator.eval(), trainer.critic.eval()
        with torch.no_grad(), trainer.autocast:
            outputs = trainer.generator(z).float(), trainer.critic(trainer.sampler.sample()[:16]).float()
        if reference is None:
            reference = outputs
        differences = [((a - b).abs().max() / b.abs().max()).item() for a, b in zip(outputs, reference)]
        seconds = _timed(lambda: trainer.step(1), repeat=repeat, warmup=1)
        print(f"{label:>40}: {seconds:7.2f} s/iteration; largest difference from float32, relative to the "
              f"largest value: {differences[0]:.1e} (generated pixels), {differences[1]:.1e} (critic scores)")


def _channels_last(x: torch.Tensor) -> torch.Tensor:
    return x.contiguous(memory_format=torch.channels_last)


def bench_star(width: int = 64, batch_size: int = 64) -> None:
    """The star-shaped model's step (6 green towers + 6 critics) in one batched call vs a per-protein
    loop of the same math, whole and split into its generator and critic parts."""
    from biogans.models import build, build_critic, spec_for
    from biogans.train.objectives import get_objective

    proteins = list(MODELLED_PROTEINS)
    objective = get_objective("wgangp")
    print(f"== star: WGAN-GP step of wgangp-star (6 towers + 6 critics), width {width}, batch {batch_size}, "
          f"{torch.get_num_threads()} threads: batched vs per-protein loop")
    spec = spec_for("wgangp-star", proteins, ngf=width)
    star, critics = build(spec), build_critic(spec, width, batchnorm=False)
    towers = [star.net.tower(p) for p in range(len(proteins))]
    singles = [critics.group(p) for p in range(len(proteins))]
    real = torch.rand(batch_size, 2 * len(proteins), 48, 80) * 2 - 1
    z = torch.randn(batch_size, spec["nz"])
    fakes = star.to_critic(star(z)).detach()

    def batched():
        fake = star.to_critic(star(z))
        (objective.critic_loss(critics, real, fake.detach()).sum()
         + objective.generator_loss(critics, fake).sum()).backward()

    def loop():
        for p, (tower, critic) in enumerate(zip(towers, singles)):
            fake = tower(z)
            (objective.critic_loss(critic, real[:, 2 * p:2 * p + 2], fake.detach()).sum()
             + objective.generator_loss(critic, fake).sum()).backward()

    parts = {
        "whole step": (batched, loop),
        "generator only (forward + backward)": (lambda: star(z).sum().backward(),
                                                lambda: [tower(z).sum().backward() for tower in towers]),
        "critics only (WGAN-GP critic loss)": (
            lambda: objective.critic_loss(critics, real, fakes).sum().backward(),
            lambda: [objective.critic_loss(critic, real[:, 2 * p:2 * p + 2], fakes[:, 2 * p:2 * p + 2]).sum()
                     .backward() for p, critic in enumerate(singles)]),
    }
    for layout in ("contiguous", "channels-last"):
        if layout == "channels-last":
            for network in (star, critics, *towers, *singles):
                network.to(memory_format=torch.channels_last)
            real, fakes = _channels_last(real), _channels_last(fakes)
        print(f"   memory format {layout}:")
        for label, (one_call, per_protein) in parts.items():
            t_batched, t_loop = _timed(one_call, repeat=3, warmup=1), _timed(per_protein, repeat=3, warmup=1)
            print(f"{label:>40}: batched {t_batched:6.2f} s | per-protein loop {t_loop:6.2f} s | "
                  f"speed-up {t_loop / t_batched:5.2f}x")
    print(f"{'':>40}  (required for the whole step: >= 1.5x)")


def bench_c2st(splits: int = 10, steps: int = 4, settings: tuple[tuple[int, int], ...] = ((4, 16), (8, 32), (64, 64))) -> None:
    """C2ST critic training for ``splits`` splits: vectorised (one grouped critic) vs one split at a
    time, and the CPU default of 5 critics per grouped network, per evaluator and (ndf, batch)."""
    from biogans.bench.critics import time_critic_steps
    from biogans.evaluate.c2st import CPU_GROUPS

    print(f"== c2st: ms per critic step for {splits} splits ({torch.get_num_threads()} threads)")
    print(f"{'evaluator':>10} {'ndf':>4} {'batch':>5} {'all together':>13} {f'{CPU_GROUPS} at a time':>12} "
          f"{'one at a time':>14} {'speed-up (all)':>15}")
    for evaluator in ("gan", "wgan", "wgangp"):
        for ndf, batch in settings:
            times = time_critic_steps(evaluator, splits, ndf, batch, chunks=(0, CPU_GROUPS, 1), steps=steps,
                                      repeats=1)
            print(f"{evaluator:>10} {ndf:>4} {batch:>5} {times[0]:13.1f} {times[CPU_GROUPS]:12.1f} "
                  f"{times[1]:14.1f} {times[1] / times[0]:14.2f}x")


CASES: dict[str, Callable[..., None]] = {"data": bench_data, "train": bench_train, "star": bench_star,
                                         "c2st": bench_c2st}


def run(cases: list[str], quick: bool = False) -> None:
    """Run the named cases (all if empty); ``quick`` shrinks them for a smoke check."""
    for name in cases or list(CASES):
        if quick:
            {"data": lambda: bench_data(cells_per_protein=100),
             "train": lambda: bench_train(width=8, batch_size=8, repeat=1, multichannel_width=8),
             "star": lambda: bench_star(width=8, batch_size=8),
             "c2st": lambda: bench_c2st(steps=2, settings=((4, 8),))}[name]()
        else:
            CASES[name]()
        print(f"(peak memory of this process so far: {resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024:.0f} MB)")
