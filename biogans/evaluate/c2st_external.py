"""The C2ST of an external sample set (a file of cells, not a generator): Table 2's and Table 4's rows
for samples made elsewhere, or drawn once by ``biogans sample``.

- external vs real (Table 2): per protein of the file (plus ``all``, the mean over proteins; or ``all``
  alone for a joint model's merged proteins), the samples against the real test cells, on the test set's
  splits of ``splits.h5``, exactly as ``c2st fake-vs-real`` scores a generator;
- external vs truth (Table 4): an all-protein file's cells [N, 1 + k, 48, 80] against the simulator's
  all-proteins truth, on seeded half/half splits of the truth cells, as ``c2st all-proteins``.

The generated side. ``fake-vs-real`` draws fresh generator cells for every critic batch and every scoring
batch: the critic never scores a cell it trained on, and its held-out half has as many generated cells as
real ones. A finite sample set keeps both properties by being split like the real set: for every split,
its cells are shuffled (seeded by the C2ST seed, the protein and the split) and cut into a training half
of the size of the real training half and a disjoint held-out half of the size of the real held-out half.
So the critic trains on one half and is scored on cells it has never seen, the two held-out sets are
balanced (the accuracy's chance level stays 1/2, as its binomial p-value assumes), and each split draws
other cells where the file has more than the real test set. Hence the requirement: a file holds at least
as many cells of each protein as the real test set (or the truth) has. As generated cells in the paper's
protocol, samples are never flipped; only real cells are. The samples join the real cells in the bank,
and the critics are trained and scored by :func:`biogans.evaluate.c2st.run_c2st` as for real sets.
"""

from __future__ import annotations

import logging
from pathlib import Path

import numpy as np
import pandas as pd
import torch

from biogans.data.loaders import cell_tensor
from biogans.data.splits import draw_splits, read_splits
from biogans.data.store import read_store, store_groups
from biogans.errors import BiogansError
from biogans.evaluate.c2st import GENERATED, Comparison, run_c2st
from biogans.evaluate.c2st_modes import ALL_PROTEINS_GROUP, ImageBank, RoleCells, seeded_halves
from biogans.evaluate.c2st_results import COLUMNS, mean_over_proteins, result_rows
from biogans.evaluate.external import MERGED, read_samples
from biogans.evaluate.options import C2STOptions
from biogans.proteins import RED

log = logging.getLogger(__name__)

Halves = tuple[list[np.ndarray], list[np.ndarray]]


def versus_samples(name: str, cells: torch.Tensor, bank: ImageBank, real: Halves, seed: int,
                   source: str) -> list[Comparison]:
    """One comparison per split of real halves (set A: training halves, held-out halves, as bank rows)
    against the sample ``cells`` [N, C, H, W] (set B, added to the bank): per split, disjoint seeded halves
    of the samples of the real halves' sizes, never flipped. ``source`` names the file in errors."""
    n_splits = len(real[0])
    needed = max((len(real[0][s]) + len(real[1][s]) for s in range(n_splits)), default=0)
    if len(cells) < needed:
        raise BiogansError(f"{source}: {len(cells)} cells of {name}; the C2ST's splits need at least {needed} "
                           "(as many as the real cells they halve)")
    offset = bank.add(cells)
    permutations = draw_splits(n_splits, np.arange(len(cells)) + offset, seed, f"samples {name}", "test")
    comparisons = []
    for s, (a_train, a_held) in enumerate(zip(*real, strict=True)):
        b_train, b_held = permutations[s][:len(a_train)], permutations[s][len(a_train):len(a_train) + len(a_held)]
        comparisons.append(Comparison(name, GENERATED, s, a_train, a_held, b_train, b_held, flip_b=False))
    return comparisons


def external_vs_real(samples_path: str | Path, cells_path: str | Path, splits_path: str | Path,
                     options: C2STOptions = C2STOptions()) -> pd.DataFrame:
    """C2ST of a sample file's cells against the real test cells, per protein of the file (plus ``all``,
    the mean over proteins) or of its merged proteins (``all``), and split; rows as ``c2st fake-vs-real``'s
    with an empty iteration."""
    samples = read_samples(samples_path, store_groups(cells_path))
    needed = [p for key in samples.cells for p in samples.proteins_of(key)]
    store = read_store(cells_path, groups=list(dict.fromkeys(needed)))
    splits = read_splits(splits_path, store)
    bank = ImageBank()
    real = {protein: RoleCells(protein, "test", cells, bank).halves(splits) for protein, cells in store.items()}
    comparisons = []
    for key, cells in samples.cells.items():
        parts = [real[p] for p in samples.proteins_of(key)]
        halves = tuple([np.concatenate([part[h][s] for part in parts]) for s in range(splits.n_splits)]
                       for h in (0, 1))
        comparisons += versus_samples(key, cells, bank, halves, options.seed, str(samples_path))
    outcomes = run_c2st(bank.tensor(), comparisons, options, source=str(splits_path))
    rows = result_rows(options.evaluator, comparisons, outcomes)
    if MERGED in samples.cells:
        return rows
    return pd.concat([rows, mean_over_proteins(rows)], ignore_index=True)


def external_vs_truth(samples_path: str | Path, truth_path: str | Path, options: C2STOptions = C2STOptions(),
                      n_splits: int = 10, if_all_proteins: bool = False) -> pd.DataFrame:
    """C2ST of an all-protein sample file's cells (red, then each of its proteins' green) against the
    simulator's all-proteins truth (group ``all_proteins``, the same channels), on ``n_splits`` seeded
    half/half splits of the truth cells; rows as ``c2st all-proteins``'s with an empty iteration. A file of
    other cells is an error, or with ``if_all_proteins`` no rows (the workflow asks every external set)."""
    truth = read_store(truth_path, groups=[ALL_PROTEINS_GROUP])[ALL_PROTEINS_GROUP]
    samples = read_samples(samples_path, truth.channels[1:])
    if samples.joint is None and if_all_proteins:
        log.info("%s: not all-protein cells; no comparison with the all-proteins truth", samples_path)
        return pd.DataFrame(columns=list(COLUMNS))
    if samples.joint is None:
        raise BiogansError(f"{samples_path}: not all-protein cells (channels {RED}, then every protein's green "
                           "for the same cell), which the comparison with the all-proteins truth needs")
    channels = [truth.channels.index(c) for c in (RED, *samples.joint_proteins)]
    bank = ImageBank()
    rows = np.arange(len(truth)) + bank.add(cell_tensor(truth)[:, channels])
    halves = seeded_halves(len(truth), n_splits, options.seed, ALL_PROTEINS_GROUP)
    real = tuple([rows[halves.halves(ALL_PROTEINS_GROUP, "test", s)[h]] for s in range(n_splits)] for h in (0, 1))
    comparisons = versus_samples(ALL_PROTEINS_GROUP, samples.joint, bank, real, options.seed, str(samples_path))
    outcomes = run_c2st(bank.tensor(), comparisons, options, source=str(truth_path))
    return result_rows(options.evaluator, comparisons, outcomes)
