"""The C2ST modes, from files to result rows.

- real vs real (Table 1): protein A's train-set halves vs protein B's test-set halves, per split; and
  the pooled test set vs the pooled training set (Figure 8's baseline);
- fake vs real (Table 2, Figure 8): a generator's cells vs the real test set, per protein (conditional
  models, plus the row ``all``: the mean over proteins) or merged (joint models);
- all proteins vs truth (Table 4): a conditional generator's all-protein cells (red + every green for
  one z) vs the simulator's all-proteins ground truth (every green imaged in the same cells).

Each job gathers every real cell it needs once into an image bank (in [-1, 1]) and describes each
comparison by bank rows (and, for generated cells, by its generator and split);
:func:`biogans.evaluate.c2st.run_c2st` trains all critics together.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import numpy as np
import pandas as pd
import torch

from biogans.data.loaders import cell_tensor
from biogans.data.splits import Splits, draw_splits, read_splits
from biogans.data.store import CellSet, read_store, store_groups
from biogans.device import resolve_device
from biogans.errors import BiogansError
from biogans.evaluate.c2st import Comparison, run_c2st, versus_generated
from biogans.evaluate.c2st_results import mean_over_proteins, result_rows
from biogans.evaluate.generated import GeneratedSide, GeneratorSource
from biogans.evaluate.options import C2STOptions
from biogans.proteins import RED
from biogans.train.checkpoints import load_generator

#: The joint-truth store's group: red and every protein's green for the same cells.
ALL_PROTEINS_GROUP = "all_proteins"


class ImageBank:
    """Cell tensors appended once each; a comparison names cells by their row in the bank."""

    def __init__(self) -> None:
        self.parts: list[torch.Tensor] = []
        self.size = 0

    def add(self, images: torch.Tensor) -> int:
        """Append [n, C, H, W] cells; returns the bank row of the first one."""
        offset = self.size
        self.parts.append(images.float().cpu())
        self.size += len(images)
        return offset

    def tensor(self) -> torch.Tensor:
        return torch.cat(self.parts)


def _unique(names: Sequence[str]) -> list[str]:
    return list(dict.fromkeys(names))


def seeded_halves(n: int, n_splits: int, seed: int, name: str) -> Splits:
    """Seeded half/half splits of ``n`` cells (a generated pool or the joint truth), like ``splits.h5``'s."""
    return Splits(n_splits, seed, {(name, "test"): draw_splits(n_splits, np.arange(n), seed, name, "test")})


class RoleCells:
    """One protein's real cells of one role (train/test) in the bank; ``halves`` gives the split file's
    halves of them as bank rows."""

    def __init__(self, protein: str, role: str, cells: CellSet, bank: ImageBank):
        self.protein, self.role = protein, role
        self.rows = cells.role_indices(role)  # ascending store rows
        self.size = len(self.rows)
        self.offset = bank.add(cell_tensor(cells, self.rows))

    def halves(self, splits: Splits) -> tuple[list[np.ndarray], list[np.ndarray]]:
        """(training halves, held-out halves): one bank-row array per split."""
        training, held = zip(*(splits.halves(self.protein, self.role, s) for s in range(splits.n_splits)), strict=True)
        return ([np.searchsorted(self.rows, rows) + self.offset for rows in training],
                [np.searchsorted(self.rows, rows) + self.offset for rows in held])


# --------------------------------------------------------------------------- real vs real

def real_vs_real(cells_path: str | Path, splits_path: str | Path, protein: str,
                 versus: Sequence[str] | None = None, options: C2STOptions = C2STOptions()) -> pd.DataFrame:
    """C2ST of ``protein``'s train-set cells against each ``versus`` protein's test-set cells (default:
    every protein of the store, itself included), one comparison per protein and split."""
    versus = _unique(versus or store_groups(cells_path))
    proteins = _unique([protein, *versus])
    store = read_store(cells_path, groups=proteins)
    splits = read_splits(splits_path, store)
    bank = ImageBank()
    a_train, a_held = RoleCells(protein, "train", store[protein], bank).halves(splits)
    comparisons = []
    for other in versus:
        b_train, b_held = RoleCells(other, "test", store[other], bank).halves(splits)
        comparisons += [Comparison(protein, other, s, a_train[s], a_held[s], b_train[s], b_held[s])
                        for s in range(splits.n_splits)]
    outcomes = run_c2st(bank.tensor(), comparisons, options, source=str(splits_path))
    return result_rows(options.evaluator, comparisons, outcomes)


def train_vs_test(cells_path: str | Path, splits_path: str | Path, proteins: Sequence[str] | None = None,
                  options: C2STOptions = C2STOptions()) -> pd.DataFrame:
    """Figure 8's real baseline, as the paper's code: the proteins' test cells pooled (set A, protein
    ``test``) against their training cells pooled (set B, versus ``train``), on the splits of each."""
    proteins = _unique(proteins or store_groups(cells_path))
    store = read_store(cells_path, groups=proteins)
    splits = read_splits(splits_path, store)
    bank = ImageBank()
    test = [RoleCells(p, "test", store[p], bank).halves(splits) for p in proteins]
    train = [RoleCells(p, "train", store[p], bank).halves(splits) for p in proteins]

    def pooled(parts: list, half: int, split: int) -> np.ndarray:
        return np.concatenate([part[half][split] for part in parts])

    comparisons = [Comparison("test", "train", s, pooled(test, 0, s), pooled(test, 1, s), pooled(train, 0, s),
                              pooled(train, 1, s)) for s in range(splits.n_splits)]
    outcomes = run_c2st(bank.tensor(), comparisons, options, source=str(splits_path))
    return result_rows(options.evaluator, comparisons, outcomes)


# --------------------------------------------------------------------------- fake vs real

def fake_vs_real(generator_paths: Sequence[str | Path], cells_path: str | Path, splits_path: str | Path,
                 options: C2STOptions = C2STOptions()) -> pd.DataFrame:
    """C2ST of each generator file's cells against the real test cells, one comparison per protein
    (conditional models, plus rows ``all``) or of the merged proteins (joint models), and split.

    As the paper's code: the critic trains on the real training half against fresh generated cells at
    every step and is scored on the held-out half against fresh generated cells (generators in eval
    mode, generated cells never flipped); the proteins of a conditional model share one latent per cell.
    """
    if not generator_paths:
        raise BiogansError("fake-vs-real needs at least one generator file")
    models = [(Path(path), load_generator(path, resolve_device(options.device))) for path in generator_paths]
    _check_models(models, cells_path)
    store = read_store(cells_path, groups=_unique([p for _, model in models for p in model.proteins]))
    splits = read_splits(splits_path, store)
    shape = next(iter(store.values())).images.shape[2:]
    for path, model in models:
        if (model.height, model.width) != shape:
            raise BiogansError(f"{path}: generates {model.height}x{model.width} cells, "
                               f"{cells_path} holds {shape[0]}x{shape[1]}")
    bank = ImageBank()
    real = {protein: RoleCells(protein, "test", cells, bank).halves(splits) for protein, cells in store.items()}

    comparisons: list[Comparison] = []
    spans: list[tuple[int, int, bool]] = []  # each model's comparisons, and whether it is conditional
    for m, (_, model) in enumerate(models):
        start = len(comparisons)
        if model.conditional:
            for view, protein in enumerate(model.proteins):
                comparisons += [versus_generated(protein, s, real[protein][0][s], real[protein][1][s],
                                                 GeneratedSide(m, s, view), model.iteration)
                                for s in range(splits.n_splits)]
        else:
            halves = [[np.concatenate([real[p][h][s] for p in model.proteins]) for s in range(splits.n_splits)]
                      for h in (0, 1)]
            comparisons += [versus_generated("all", s, halves[0][s], halves[1][s], GeneratedSide(m, s),
                                             model.iteration) for s in range(splits.n_splits)]
        spans.append((start, len(comparisons), model.conditional))

    generators = [GeneratorSource(model.cells, model.nz, f"iteration {model.iteration}") for _, model in models]
    outcomes = run_c2st(bank.tensor(), comparisons, options, source=str(splits_path), generators=generators)
    rows = result_rows(options.evaluator, comparisons, outcomes)
    frames = []
    for start, end, conditional in spans:
        frames.append(rows.iloc[start:end])
        if conditional:
            frames.append(mean_over_proteins(rows.iloc[start:end]))
    return pd.concat(frames, ignore_index=True)


def _check_models(models: list[tuple[Path, torch.nn.Module]], cells_path: str | Path) -> None:
    """Every model's proteins in the store, iterations distinct (they label the rows)."""
    groups = store_groups(cells_path)
    seen: dict[int, Path] = {}
    for path, model in models:
        missing = [p for p in model.proteins if p not in groups]
        if missing:
            raise BiogansError(f"{path}: models {', '.join(missing)}, absent from {cells_path} "
                               f"(it has {', '.join(groups)})")
        if model.iteration in seen:
            raise BiogansError(f"{path}: iteration {model.iteration} already given by {seen[model.iteration]}")
        seen[model.iteration] = path


# --------------------------------------------------------------------------- all proteins vs truth

def all_proteins_vs_truth(generator_path: str | Path, truth_path: str | Path, options: C2STOptions = C2STOptions(),
                          n_splits: int = 10) -> pd.DataFrame:
    """C2ST of a conditional generator's all-protein cells [N, 1 + P, H, W] (red and every protein's green
    for one latent) against the simulator's all-proteins truth (group ``all_proteins``), on ``n_splits``
    seeded half/half splits of all truth cells, against fresh generated cells (as :func:`fake_vs_real`)."""
    model = load_generator(generator_path, resolve_device(options.device))
    if not model.conditional:
        raise BiogansError(f"{generator_path}: the all-proteins C2ST needs a conditional model (one green per "
                           f"protein for one red); this one models {', '.join(model.proteins)} merged")
    truth = read_store(truth_path, groups=[ALL_PROTEINS_GROUP])[ALL_PROTEINS_GROUP]
    missing = [c for c in (RED, *model.proteins) if c not in truth.channels]
    if missing:
        raise BiogansError(f"{truth_path}: no channel for {', '.join(missing)} "
                           f"(it has {', '.join(truth.channels)})")
    if (model.height, model.width) != truth.images.shape[2:]:
        raise BiogansError(f"{generator_path}: generates {model.height}x{model.width} cells, "
                           f"{truth_path} holds {truth.images.shape[2]}x{truth.images.shape[3]}")
    channels = [truth.channels.index(c) for c in (RED, *model.proteins)]
    bank = ImageBank()
    offset = bank.add(cell_tensor(truth)[:, channels])
    rows = np.arange(len(truth)) + offset
    real = seeded_halves(len(truth), n_splits, options.seed, ALL_PROTEINS_GROUP)
    halves = [real.halves(ALL_PROTEINS_GROUP, "test", s) for s in range(n_splits)]
    real_rows = ([rows[h[0]] for h in halves], [rows[h[1]] for h in halves])
    comparisons = [versus_generated(ALL_PROTEINS_GROUP, s, real_rows[0][s], real_rows[1][s], GeneratedSide(0, s),
                                    model.iteration) for s in range(n_splits)]
    generator = GeneratorSource(lambda z: model(z)[:, None], model.nz, f"iteration {model.iteration}")
    outcomes = run_c2st(bank.tensor(), comparisons, options, source=str(truth_path), generators=[generator])
    return result_rows(options.evaluator, comparisons, outcomes)
