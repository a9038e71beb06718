"""The classifier two-sample test (C2ST): fresh critics trained to tell two sample sets apart.

One *comparison* (a critic group) pits set A against set B on one split: the critic trains on their
training halves (A plays "real", B "fake" in the evaluator's loss) and is scored on their held-out
halves. All comparisons of a job train together as grouped critics (:mod:`biogans.evaluate.critics`)
and are scored together (:mod:`biogans.evaluate.scoring`). Every random draw of a group (initial
weights, batch rows, flips, penalty interpolates, held-out order and flips) comes from that group's own
``torch.Generator`` (its rng), seeded from (seed, protein, versus, split), so its result does not depend
on which groups run beside it.

Results per comparison:
- ``score``: minus the evaluator's critic loss on the held-out halves, averaged over passes (the
  paper's C2ST; WGAN-GP: mean critic difference minus lambda x gradient penalty; ~0 or slightly
  negative for one distribution, positive when the critic separates the sets);
- ``accuracy`` / ``p_value``: the classic C2ST (Lopez-Paz & Oquab 2017): held-out cells classified as
  A when their pass-averaged critic score is above the midpoint of the mean scores of the two
  training halves; one-sided binomial p-value of that many correct under chance (1/2).
"""

from __future__ import annotations

import itertools
import logging
from collections.abc import Callable, Sequence
from dataclasses import dataclass, replace

import numpy as np
import torch

from biogans.device import autocast, fastest, graph_candidates, precision_candidates, resolve_device
from biogans.errors import BiogansError
from biogans.evaluate.c2st_results import binomial_p_value
from biogans.evaluate.critics import (
    DRAW_CHUNK,
    GRAPH_WARMUP,
    CriticTraining,
    channels_last_cells,
    evaluator_objective,
    train_critics,
    training_draws,
)
from biogans.evaluate.generated import GeneratedCells, GeneratedSide, GeneratorSource
from biogans.evaluate.options import C2STOptions
from biogans.evaluate.scoring import held_out, training_midpoints
from biogans.seeds import derived_seed

log = logging.getLogger(__name__)

#: The ``versus`` of comparisons against generated cells.
GENERATED = "generated"
#: Group sizes tried (CPU, GPU): the fastest depends on the width and the device: grouped convolutions of
#: many narrow critics beat one call per critic, wide ones lose (on a CPU their activations leave the
#: caches; on an H200 ten grouped width-64 critics stepped 1.2x slower than one at a time).
GROUP_SIZES = {False: (1, 4, 16), True: (1, 4, 16, 64)}


@dataclass(frozen=True)
class Comparison:
    """One critic group: sets A and B, each as rows of the job's image bank in a training and a
    held-out half, with the labels of its result row. A generated set B (``generated``) has no rows:
    fresh cells stand in for it, as many as A has in each half (:func:`versus_generated`)."""

    protein: str
    versus: str
    split: int
    a_train: np.ndarray
    a_held: np.ndarray
    b_train: np.ndarray
    b_held: np.ndarray
    iteration: int | None = None
    generated: GeneratedSide | None = None
    #: whether set B's cells are flipped like real cells (a fixed set of generated cells is not)
    flip_b: bool = True

    def seed(self, base: int) -> int:
        """This group's seed: a function of (base, protein, versus, split) only."""
        return derived_seed(base, self.protein, self.versus, self.split)

    def check(self, source: str) -> None:
        """Raise BiogansError (prefixed by ``source``) if a half has no cells."""
        halves = (("A", self.protein, "training", self.a_train), ("A", self.protein, "held-out", self.a_held),
                  ("B", self.versus, "training", self.b_train), ("B", self.versus, "held-out", self.b_held))
        for which, name, half, rows in halves:
            if len(rows) < 1:
                raise BiogansError(f"{source}: split {self.split} of {self.protein} vs {self.versus}: the {half} "
                                   f"half of set {which} ({name}) has no cells (each half needs at least 1)")


@dataclass(frozen=True)
class Outcome:
    """One comparison's result: held-out score, and correct of n held-out cells classified."""

    score: float
    correct: int
    n: int

    @property
    def accuracy(self) -> float:
        return self.correct / self.n

    @property
    def p_value(self) -> float:
        return binomial_p_value(self.correct, self.n)


def versus_generated(protein: str, split: int, a_train: np.ndarray, a_held: np.ndarray, side: GeneratedSide,
                     iteration: int | None) -> Comparison:
    """A comparison of real halves (set A) against fresh generated cells (set B): B's halves are
    placeholders of A's sizes (every held-out A cell is scored beside one fresh generated cell)."""
    return Comparison(protein, GENERATED, split, a_train, a_held, np.zeros_like(a_train), np.zeros_like(a_held),
                      iteration, side)


def run_c2st(bank: torch.Tensor, comparisons: Sequence[Comparison], options: C2STOptions,
             source: str = "C2ST", generators: Sequence[GeneratorSource] = ()) -> list[Outcome]:
    """Train and score one fresh critic per comparison; ``bank`` [N, C, H, W] holds every real cell in
    [-1, 1], ``generators`` the sources of the comparisons' generated sets (in eval mode, on the device).

    The comparisons run as grouped critics, ``options.max_groups`` at a time (by default all on a GPU;
    on the CPU the group size of :data:`CPU_GROUP_SIZES` whose steps are measured fastest per critic), in
    ``options.precision`` (``auto``: bfloat16 where measured faster). Results do not depend on the grouping.
    ``source`` (the file the halves come from) prefixes the error raised for an empty half.
    """
    if not comparisons:
        raise BiogansError(f"{source}: nothing to compare")
    for comparison in comparisons:
        comparison.check(source)
    device = resolve_device(options.device)
    pixels = channels_last_cells(bank.to(device))
    if len({c.generated is None for c in comparisons}) > 1:
        raise ValueError("a C2ST job compares real sets or generated sets, not both")
    size, precision, graphs = _fastest_setup(pixels, comparisons, options, generators)
    options = replace(options, precision=precision)
    outcomes: list[Outcome] = []
    for start in range(0, len(comparisons), size):
        outcomes += _run_groups(pixels, comparisons[start:start + size], options, generators, graphs)
    return outcomes


def comparison_rngs(comparisons: Sequence[Comparison], seed: int) -> list[torch.Generator]:
    """Each comparison's own random stream, seeded by (seed, protein, versus, split)."""
    return [torch.Generator().manual_seed(c.seed(seed)) for c in comparisons]


def generated_cells(comparisons: Sequence[Comparison], generators: Sequence[GeneratorSource], seed: int,
                    stream: str, device: torch.device) -> GeneratedCells | None:
    """Fresh generated cells for the comparisons' generated sets (None when they compare real sets)."""
    if comparisons[0].generated is None:
        return None
    return GeneratedCells(generators, [c.generated for c in comparisons], seed, stream, device)


def _run_groups(pixels: torch.Tensor, comparisons: Sequence[Comparison], options: C2STOptions,
                generators: Sequence[GeneratorSource], graphs: bool = False) -> list[Outcome]:
    objective = evaluator_objective(options)
    rngs = comparison_rngs(comparisons, options.seed)

    def fakes(stream: str) -> GeneratedCells | None:
        return generated_cells(comparisons, generators, options.seed, stream, pixels.device)

    critic = train_critics(pixels, comparisons, rngs, objective, options, fakes("train"), graphs)
    critic.eval()
    with autocast(pixels.device, options.precision):
        thresholds = training_midpoints(critic, pixels, comparisons, options.batch_size, fakes("midpoint"))
        scores, correct, n = held_out(critic, objective, pixels, comparisons, rngs, thresholds, options,
                                      fakes("score"))
    return [Outcome(float(s), int(k), int(m)) for s, k, m in zip(scores, correct, n, strict=True)]


def _fastest_setup(pixels: torch.Tensor, comparisons: Sequence[Comparison], options: C2STOptions,
                   generators: Sequence[GeneratorSource]) -> tuple[int, str, bool]:
    """Critics per grouped network, precision and CUDA graphs: as asked, else the setup whose critic step is
    measured fastest per critic on this machine (grouping wins for narrow critics, loses for wide ones)."""
    device = pixels.device
    if options.max_groups:
        sizes = [min(options.max_groups, len(comparisons))]
    else:
        sizes = sorted({min(n, len(comparisons)) for n in GROUP_SIZES[device.type == "cuda"]})
    setups = [(n, p, g) for n in sizes for p in precision_candidates(options.precision, device)
              for g in graph_candidates(options.cuda_graphs, device)]
    if len(setups) == 1:
        return setups[0]
    _, seconds = fastest({setup: _probe_step(pixels, comparisons, options, generators, *setup) for setup in setups})
    per_critic = {setup: t / setup[0] for setup, t in seconds.items()}
    size, precision, graphs = min(per_critic, key=per_critic.get)
    log.info("critics per grouped network: %d, %s%s (ms per critic step: %s)", size, precision,
             ", CUDA graphs" if graphs else "", ", ".join(f"{n} {p}{' graphed' * g}: {t * 1e3:.2f}"
                                                          for (n, p, g), t in per_critic.items()))
    return size, precision, graphs


def _probe_step(pixels: torch.Tensor, comparisons: Sequence[Comparison], options: C2STOptions,
                generators: Sequence[GeneratorSource], size: int, precision: str, graphs: bool) -> Callable[[], None]:
    """One critic update of the first ``size`` comparisons in this setup, to be timed; warmed up first, so
    that a graph is captured before the timing."""
    part, probe = comparisons[:size], replace(options, steps=DRAW_CHUNK, precision=precision)
    rngs = comparison_rngs(part, options.seed)
    fakes = generated_cells(part, generators, options.seed, "train", pixels.device)
    training = CriticTraining(pixels, part, rngs, evaluator_objective(probe), probe, fakes, graphs)
    draws = itertools.cycle(list(training_draws(part, rngs, probe, pixels.device)))
    for _ in range(GRAPH_WARMUP + 1 if graphs else 0):
        training.step(*next(draws))
    return lambda: training.step(*next(draws))
