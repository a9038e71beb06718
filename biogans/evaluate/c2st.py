"""The classifier two-sample test (C2ST): fresh critics trained to tell two sample sets apart.

One *comparison* (a critic group) pits set A against set B on one split: the critic trains on their
training halves (A plays "real", B "fake" in the evaluator's loss) and is scored on their held-out
halves. All comparisons of a job train together as one grouped DCGAN critic
(:class:`biogans.models.Critic`); the loss is summed over groups, so each group's gradients are its
own. Every random draw of a group (initial weights, batch rows, flips, penalty interpolates, held-out
order and flips) comes from that group's own ``torch.Generator`` (its rng), seeded from (seed, protein, versus,
split), so its result does not depend on which groups run beside it.

Results per comparison:
- ``score``: minus the evaluator's critic loss on the held-out halves, averaged over passes (the
  paper's C2ST; WGAN-GP: mean critic difference minus lambda x gradient penalty; ~0 or slightly
  negative for one distribution, positive when the critic separates the sets);
- ``accuracy`` / ``p_value``: the classic C2ST (Lopez-Paz & Oquab 2017): held-out cells classified as
  A when their pass-averaged critic score is above the midpoint of the mean scores of the two
  training halves; one-sided binomial p-value of that many correct under chance (1/2).
"""

from __future__ import annotations

import logging
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, replace

import numpy as np
import torch
from torch import nn

from biogans.device import autocast, bfloat16_usable, fastest, resolve_device
from biogans.errors import BiogansError
from biogans.evaluate.c2st_results import binomial_p_value
from biogans.evaluate.generated import GeneratedCells, GeneratedSide, Generator
from biogans.evaluate.options import C2STOptions
from biogans.models import Critic
from biogans.seeds import stable_id
from biogans.train.objectives import WGANGP, Objective, get_objective, penalty_terms

log = logging.getLogger(__name__)

#: The ``versus`` of comparisons against generated cells.
GENERATED = "generated"
#: Training steps whose random draws each group makes at once (fixed: independent of the group count).
DRAW_CHUNK = 32
#: Group sizes tried on the CPU, where the fastest depends on the width: grouped convolutions of many
#: narrow critics beat one call per critic, wide ones lose (their activations leave the caches).
CPU_GROUP_SIZES = (1, 4, 16)


def evaluator_objective(options: C2STOptions) -> Objective:
    """The evaluator: its critic loss, optimiser (with ``options.lr`` if given) and post-step hook."""
    return get_objective(options.evaluator, **({} if options.lr is None else {"lr": options.lr}))


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
        entropy = [base, stable_id(self.protein), stable_id(self.versus), self.split]
        return int(np.random.SeedSequence(entropy).generate_state(1, np.uint64)[0] >> 1)

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
             source: str = "C2ST", generators: Sequence[Generator] = ()) -> list[Outcome]:
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
    size, precision = _fastest_setup(pixels, comparisons, options, generators)
    options = replace(options, precision=precision)
    outcomes: list[Outcome] = []
    for start in range(0, len(comparisons), size):
        outcomes += _run_groups(pixels, comparisons[start:start + size], options, generators)
    return outcomes


def _run_groups(pixels: torch.Tensor, comparisons: Sequence[Comparison], options: C2STOptions,
                generators: Sequence[Generator]) -> list[Outcome]:
    objective = evaluator_objective(options)
    rngs = [torch.Generator().manual_seed(c.seed(options.seed)) for c in comparisons]

    def fakes(stream: str) -> GeneratedCells | None:
        if comparisons[0].generated is None:
            return None
        sides = [c.generated for c in comparisons]
        return GeneratedCells(generators, sides, options.seed, stream, pixels.device)

    critic = train_critics(pixels, comparisons, rngs, objective, options, fakes("train"))
    critic.eval()
    with autocast(pixels.device, options.precision):
        thresholds = _training_midpoints(critic, pixels, comparisons, options.batch_size, fakes("midpoint"))
        scores, correct, n = _held_out(critic, objective, pixels, comparisons, rngs, thresholds, options,
                                       fakes("score"))
    return [Outcome(float(s), int(k), int(m)) for s, k, m in zip(scores, correct, n)]


def _fastest_setup(pixels: torch.Tensor, comparisons: Sequence[Comparison], options: C2STOptions,
                   generators: Sequence[Generator]) -> tuple[int, str]:
    """Critics per grouped network and precision: as asked, else the pair whose critic step is measured
    fastest per critic on this machine (group sizes on the CPU; all groups at once on a GPU)."""
    if options.max_groups:
        sizes = [min(options.max_groups, len(comparisons))]
    elif pixels.device.type == "cpu":
        sizes = sorted({min(n, len(comparisons)) for n in CPU_GROUP_SIZES})
    else:
        sizes = [len(comparisons)]
    precisions = [options.precision] if options.precision != "auto" else \
        ["float32"] + ["bfloat16"] * bfloat16_usable(pixels.device)
    if len(sizes) * len(precisions) == 1:
        return sizes[0], precisions[0]

    def critic_step(size: int, precision: str):
        part = comparisons[:size]
        rngs = [torch.Generator().manual_seed(c.seed(options.seed)) for c in part]
        fakes = GeneratedCells(generators, [c.generated for c in part], options.seed, "train", pixels.device) \
            if part[0].generated is not None else None
        one_step = replace(options, steps=1, precision=precision)
        return lambda: train_critics(pixels, part, rngs, evaluator_objective(options), one_step, fakes)

    _, seconds = fastest({(n, p): critic_step(n, p) for n in sizes for p in precisions})
    per_critic = {(n, p): t / n for (n, p), t in seconds.items()}
    size, precision = min(per_critic, key=per_critic.get)
    log.info("critics per grouped network: %d, %s (ms per critic step: %s)", size, precision,
             ", ".join(f"{n} {p}: {t * 1e3:.2f}" for (n, p), t in per_critic.items()))
    return size, precision


def critic_input(cells: torch.Tensor) -> torch.Tensor:
    """Cells [B, G, C, H, W] -> the grouped critic's input [B, G*C, H, W] in channels-last memory."""
    return cells.flatten(1, 2).contiguous(memory_format=torch.channels_last)


# --------------------------------------------------------------------------- training

def new_critics(channels: int, height: int, width: int, rngs: Sequence[torch.Generator],
                ndf: int, batchnorm: bool) -> Critic:
    """A grouped critic whose group g has the paper's initialisation drawn from ``rngs[g]``."""
    with torch.random.fork_rng(devices=[]):  # the constructor's own draws leave torch's global RNG as it was
        critic = Critic(channels, ndf, len(rngs), batchnorm, height, width)
    with torch.no_grad():
        for layer in critic.modules():
            if isinstance(layer, nn.Conv2d):
                for block, rng in zip(layer.weight.chunk(len(rngs)), rngs):
                    nn.init.normal_(block, 0.0, 0.02, generator=rng)
            elif isinstance(layer, nn.BatchNorm2d):
                for block, rng in zip(layer.weight.chunk(len(rngs)), rngs):
                    nn.init.normal_(block, 1.0, 0.02, generator=rng)
    return critic


def train_critics(pixels: torch.Tensor, comparisons: Sequence[Comparison], rngs: Sequence[torch.Generator],
                  objective: Objective, options: C2STOptions, fakes: GeneratedCells | None = None) -> Critic:
    """``options.steps`` critic updates on batches of the training halves (with replacement, random flips)
    or, for generated sets, of fresh generated cells (``fakes``, never flipped); ``pixels``: the bank as
    :func:`channels_last_cells`."""
    _, height, width, channels = pixels.shape
    critic = new_critics(channels, height, width, rngs, options.ndf, objective.critic_batchnorm)
    critic = critic.to(pixels.device, pixels.dtype, memory_format=torch.channels_last)
    optimizer = objective.critic_optimizer(critic.parameters())
    critic.train()
    for rows_a, rows_b, flips, alpha in _training_draws(comparisons, rngs, options, pixels.device):
        a = gather_cells(pixels, rows_a, flips[:2])
        with autocast(pixels.device, options.precision):
            b = gather_cells(pixels, rows_b, flips[2:]) if fakes is None else critic_input(fakes.batch(len(rows_b)))
            loss = objective.critic_loss(critic, a, b, alpha=alpha).sum()
        optimizer.zero_grad(set_to_none=True)
        loss.backward()
        optimizer.step()
        objective.after_critic_step(critic)
    return critic


def _training_draws(comparisons: Sequence[Comparison], rngs: Sequence[torch.Generator],
                    options: C2STOptions, device: torch.device) -> Iterator[tuple[torch.Tensor, ...]]:
    """Per step: bank rows of A and B [B, G], flips [4, B, G] (A horizontal, A vertical, B h, B v) and
    penalty weights [B, G]; each group draws ``DRAW_CHUNK`` steps at a time from its own rng."""
    batch = options.batch_size
    halves = [(torch.from_numpy(c.a_train), torch.from_numpy(c.b_train)) for c in comparisons]
    for start in range(0, options.steps, DRAW_CHUNK):
        k = min(DRAW_CHUNK, options.steps - start)
        rows_a, rows_b, uniforms = [], [], []
        for comparison, (a_rows, b_rows), rng in zip(comparisons, halves, rngs):
            rows_a.append(a_rows[torch.randint(len(a_rows), (k, batch), generator=rng)])
            rows_b.append(b_rows[torch.randint(len(b_rows), (k, batch), generator=rng)])
            uniforms.append(torch.rand(k, 5, batch, generator=rng))
            if not comparison.flip_b:
                uniforms[-1][:, 2:4] = 1.0  # no flip of B
        rows_a = torch.stack(rows_a, -1).to(device)
        rows_b = torch.stack(rows_b, -1).to(device)
        uniforms = torch.stack(uniforms, -1).to(device)
        flips = uniforms[:, :4] < 0.5
        for i in range(k):
            yield rows_a[i], rows_b[i], flips[i], uniforms[i, 4]


def channels_last_cells(bank: torch.Tensor) -> torch.Tensor:
    """Cells [N, C, H, W] -> [N, H, W, C]: each pixel's channels contiguous, for :func:`gather_cells`."""
    return bank.permute(0, 2, 3, 1).contiguous()


def gather_cells(pixels: torch.Tensor, rows: torch.Tensor, flips: torch.Tensor) -> torch.Tensor:
    """Critic input [B, G*C, H, W] in channels-last memory from cells ``rows`` [B, G] of ``pixels``
    [N, H, W, C], each flipped horizontally where ``flips[0]`` and vertically where ``flips[1]``
    ([2, B, G] booleans): one gather of pixels, flips folded into the pixel indices."""
    _, height, width, channels = pixels.shape
    y = torch.arange(height, device=rows.device)[None, :, None]
    x = torch.arange(width, device=rows.device)[None, :, None]
    y = torch.where(flips[1][:, None], height - 1 - y, y) * width  # [B, H, G]
    x = torch.where(flips[0][:, None], width - 1 - x, x)  # [B, W, G]
    pixel = (rows * (height * width))[:, None, None] + y[:, :, None] + x[:, None]  # [B, H, W, G]
    gathered = pixels.view(-1, channels).index_select(0, pixel.view(-1))
    return gathered.view(*pixel.shape[:3], -1).permute(0, 3, 1, 2)


# --------------------------------------------------------------------------- scoring

def _padded(row_sets: Sequence[np.ndarray]) -> tuple[torch.Tensor, torch.Tensor]:
    """Row arrays of different lengths -> rows [N, G] (padded with each set's first row) and mask [N, G]."""
    length = max(len(rows) for rows in row_sets)
    rows = np.stack([np.resize(r, length) for r in row_sets], 1)
    mask = np.arange(length)[:, None] < np.array([len(r) for r in row_sets])[None]
    return torch.from_numpy(rows), torch.from_numpy(mask)


@torch.no_grad()
def _training_midpoints(critic: Critic, pixels: torch.Tensor, comparisons: Sequence[Comparison],
                        chunk: int, fakes: GeneratedCells | None = None) -> torch.Tensor:
    """Per group, the midpoint of the critic's mean scores on the A and B training halves (no flips; as
    many fresh generated cells as B's half for a generated B)."""
    means = []
    for half, halves in enumerate(([c.a_train for c in comparisons], [c.b_train for c in comparisons])):
        rows, mask = (t.to(pixels.device) for t in _padded(halves))
        no_flips = torch.zeros(2, *rows.shape, dtype=torch.bool, device=pixels.device)
        total = torch.zeros(len(comparisons), device=pixels.device, dtype=pixels.dtype)
        for i in range(0, len(rows), chunk):
            part = slice(i, i + chunk)
            cells = gather_cells(pixels, rows[part], no_flips[:, part]) if half == 0 or fakes is None \
                else critic_input(fakes.batch(len(rows[part])))
            total += (critic(cells).to(pixels.dtype) * mask[part]).sum(0)
        means.append(total / mask.sum(0))
    return (means[0] + means[1]) / 2


@dataclass
class _Pass:
    """One held-out pass: every held-out cell once in a random order, A and B cycled to a common
    length per group and padded across groups; the first min(n_a, n_b) positions of a group are its
    penalty's pairs (each cell in at most one pair, and the penalty, which needs a backward pass, is
    computed on those only). Tensors are [N, G]."""

    rows_a: torch.Tensor
    rows_b: torch.Tensor
    cell_a: torch.Tensor  # index of the cell within its held-out half
    cell_b: torch.Tensor
    first_a: torch.Tensor  # position scores A's cell for the first time in the pass
    first_b: torch.Tensor
    pair: torch.Tensor  # position holds a penalty pair of this group (a prefix of the positions)
    flips: torch.Tensor  # [4, N, G]
    alpha: torch.Tensor


def _draw_pass(comparisons: Sequence[Comparison], rngs: Sequence[torch.Generator],
               device: torch.device) -> _Pass:
    sizes = [(len(c.a_held), len(c.b_held)) for c in comparisons]
    pairs = [max(n_a, n_b) for n_a, n_b in sizes]
    length = max(pairs)
    cell_a = torch.zeros(length, len(comparisons), dtype=torch.long)
    cell_b = torch.zeros_like(cell_a)
    uniforms = torch.full((5, length, len(comparisons)), 0.5)
    for g, ((n_a, n_b), n_pairs, rng) in enumerate(zip(sizes, pairs, rngs)):
        position = torch.arange(n_pairs)
        cell_a[:n_pairs, g] = torch.randperm(n_a, generator=rng)[position % n_a]
        cell_b[:n_pairs, g] = torch.randperm(n_b, generator=rng)[position % n_b]
        uniforms[:, :n_pairs, g] = torch.rand(5, n_pairs, generator=rng)
        if not comparisons[g].flip_b:
            uniforms[2:4, :, g] = 1.0  # no flip of B
    position = torch.arange(length)[:, None]
    n_a, n_b = (torch.tensor(n) for n in zip(*sizes))
    held_a = [torch.from_numpy(c.a_held) for c in comparisons]
    held_b = [torch.from_numpy(c.b_held) for c in comparisons]
    rows_a = torch.stack([held_a[g][cell_a[:, g]] for g in range(len(comparisons))], 1)
    rows_b = torch.stack([held_b[g][cell_b[:, g]] for g in range(len(comparisons))], 1)
    tensors = dict(rows_a=rows_a, rows_b=rows_b, cell_a=cell_a, cell_b=cell_b, first_a=position < n_a,
                   first_b=position < n_b, pair=position < torch.minimum(n_a, n_b), flips=uniforms[:4] < 0.5,
                   alpha=uniforms[4])
    return _Pass(**{name: t.to(device) for name, t in tensors.items()})


def _held_out(critic: Critic, objective: Objective, pixels: torch.Tensor, comparisons: Sequence[Comparison],
              rngs: Sequence[torch.Generator], thresholds: torch.Tensor, options: C2STOptions,
              fakes: GeneratedCells | None = None) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Score (minus the held-out critic loss, mean over passes) and correct classifications per group;
    a generated B scores fresh cells at every position of every pass."""
    device, groups, like = pixels.device, len(comparisons), dict(device=pixels.device, dtype=pixels.dtype)
    n_a = torch.tensor([len(c.a_held) for c in comparisons], device=device)
    n_b = torch.tensor([len(c.b_held) for c in comparisons], device=device)
    cell_scores_a = torch.zeros(int(n_a.max()), groups, **like)
    cell_scores_b = torch.zeros(int(n_b.max()), groups, **like)
    score = torch.zeros(groups, **like)
    penalty = objective.penalty if isinstance(objective, WGANGP) else 0.0
    for _ in range(options.passes):
        p = _draw_pass(comparisons, rngs, device)
        loss_a, loss_b, penalties = (torch.zeros(groups, **like) for _ in range(3))
        for i in range(0, len(p.rows_a), options.batch_size):
            rows = slice(i, i + options.batch_size)
            a = gather_cells(pixels, p.rows_a[rows], p.flips[:2, rows])
            b = gather_cells(pixels, p.rows_b[rows], p.flips[2:, rows]) if fakes is None \
                else critic_input(fakes.batch(len(a)))
            with torch.no_grad():
                scores_a, scores_b = critic(a).to(pixels.dtype), critic(b).to(pixels.dtype)
                cell_loss_a, cell_loss_b = objective.cell_losses(scores_a, scores_b)
                loss_a += (cell_loss_a * p.first_a[rows]).sum(0)
                loss_b += (cell_loss_b * p.first_b[rows]).sum(0)
                cell_scores_a.scatter_add_(0, p.cell_a[rows], scores_a * p.first_a[rows])
                cell_scores_b.scatter_add_(0, p.cell_b[rows], scores_b * p.first_b[rows])
            paired = int(p.pair[rows].any(1).sum())  # the pairs are a prefix of the positions
            if penalty and paired:
                with torch.enable_grad():
                    terms = penalty_terms(critic, a[:paired], b[:paired], p.alpha[rows][:paired],
                                          create_graph=False).detach().to(pixels.dtype)
                penalties += (terms * p.pair[rows][:paired]).sum(0)
        score -= loss_a / n_a + loss_b / n_b + penalty * penalties / p.pair.sum(0)
    score /= options.passes
    correct = ((cell_scores_a / options.passes > thresholds) & _valid(n_a, len(cell_scores_a))).sum(0) \
        + ((cell_scores_b / options.passes <= thresholds) & _valid(n_b, len(cell_scores_b))).sum(0)
    return score.cpu().numpy(), correct.cpu().numpy(), (n_a + n_b).cpu().numpy()


def _valid(sizes: torch.Tensor, length: int) -> torch.Tensor:
    return torch.arange(length, device=sizes.device)[:, None] < sizes[None]
