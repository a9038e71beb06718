"""Latent-space reconstruction of held-out cells (the paper's Table 3 and Figure 6).

For each held-out (test-role) cell, L-BFGS searches the latent z whose generated cell is closest to it
in pixel L2, from several random starts, keeping the best: the paper's optimisation exactly (fixed-step
``torch.optim.LBFGS`` per batch of cells and restart, run here for all of them at once). A generator that
covers the data reconstructs unseen cells well from likely latents; the distance to the nearest training cell of the
same protein is the memorisation baseline.

Outputs in ``OUT_DIR`` (``results/reconstruction/<mode>/<model>/``), each written only when complete:
- ``cells.csv``: ``protein,row,rmse,nll,nn_rmse,nn_row``, one line per reconstructed cell: RMSE of its
  reconstruction over both channels in [0, 1] intensity units, negative log-likelihood of its latent
  under N(0, I), RMSE to its nearest training cell and that cell's row (rows index the protein's group
  of the cell store).
- ``examples.h5``: per protein group, the first cells' uint8 [n, 2, H, W] ``target``,
  ``reconstruction`` and ``nearest`` images, their ``row`` and ``nn_row``, and the latents ``z``.
"""

from __future__ import annotations

import logging
import math
import time
from collections.abc import Callable, Iterator
from dataclasses import asdict, dataclass
from functools import partial
from pathlib import Path

import numpy as np
import pandas as pd
import torch

from biogans.data.loaders import cell_tensor
from biogans.data.neighbours import nearest
from biogans.data.store import CellSet, read_store
from biogans.device import resolve_device
from biogans.errors import BiogansError
from biogans.evaluate.lbfgs import BatchedLBFGS
from biogans.evaluate.options import ReconstructOptions
from biogans.files import atomic_path, read_csv
from biogans.hdf5 import describe_hdf5, write_hdf5
from biogans.images import to_uint8
from biogans.models import CellGenerator
from biogans.proteins import RED
from biogans.train.checkpoints import load_generator

log = logging.getLogger(__name__)

CELL_COLUMNS: tuple[str, ...] = ("protein", "row", "rmse", "nll", "nn_rmse", "nn_row")
SUMMARY_COLUMNS: tuple[str, ...] = ("protein", "nll_median", "nll_mad", "l2_median", "l2_mad",
                                    "nn_median", "nn_mad", "n_cells")
EXAMPLES_FORMAT = "biogans-reconstruction-examples/1"
#: Cells per protein kept as images in examples.h5 (Figure 6).
N_EXAMPLES = 8
#: Generator rows (cells x problems) evaluated in one call; bounds memory, not results.
ROWS_PER_CALL = 4096

#: z [B, nz] -> cells [B, 2, H, W] in [-1, 1] (one protein's red and green).
Render = Callable[[torch.Tensor], torch.Tensor]


@dataclass
class Reconstruction:
    """Each target cell's best latent and reconstruction, with the error of every restart."""

    z: torch.Tensor  # [n, nz]
    images: torch.Tensor  # [n, 2, H, W] in [-1, 1]
    rmse: torch.Tensor  # [n], of the kept restart
    restart_rmse: torch.Tensor  # [n, restarts]


def cell_rmse(images: torch.Tensor, targets: torch.Tensor) -> torch.Tensor:
    """Per-cell RMSE over all channels and pixels in [0, 1] intensity units (inputs in [-1, 1]): [n]."""
    return (images.float() - targets.float()).pow(2).flatten(1).mean(1).sqrt() / 2


def latent_nll(z: torch.Tensor) -> torch.Tensor:
    """Negative log-likelihood of each latent under N(0, I): 0.5 |z|^2 + nz/2 log(2 pi), [n] float64."""
    z = z.double()
    return 0.5 * z.pow(2).sum(1) + z.shape[1] / 2 * math.log(2 * math.pi)


def fit_latents(render: Render, targets: torch.Tensor, z: torch.Tensor, free: slice, channels: slice,
                options: ReconstructOptions) -> tuple[torch.Tensor, torch.Tensor]:
    """The paper's L-BFGS on K independent problems at once: ``z`` [K, B, nz] holds each problem's batch
    of B latents and ``targets`` [K, B, C, H, W] their cells; only ``z[..., free]`` moves. A problem's
    loss is the mean squared error over its B cells, ``channels`` and pixels (the paper's ``torch.mean``
    over one batch), minimised by ``options.outer_steps`` calls of ``step()`` of up to
    ``options.inner_iterations`` fixed-size L-BFGS iterations (``torch.optim.LBFGS`` without line
    search, as :class:`~biogans.evaluate.lbfgs.BatchedLBFGS` reproduces it per problem).
    Returns the new z and each problem's closure evaluations [K]."""
    k, b = z.shape[:2]
    part = z[..., free].detach().clone().contiguous().requires_grad_(True)
    goal = targets[:, :, channels].flatten(0, 1)
    optimiser = BatchedLBFGS(part, lr=options.lr, max_iter=options.inner_iterations)

    def latents(x: torch.Tensor) -> torch.Tensor:
        return torch.cat([z[..., :free.start], x, z[..., free.stop:]], -1)

    def closure(x: torch.Tensor) -> torch.Tensor:
        images = render(latents(x).flatten(0, 1))[:, channels]
        return (images - goal).pow(2).flatten(1).mean(1).view(k, b).mean(1)

    with torch.enable_grad():
        for _ in range(options.outer_steps):
            optimiser.step(closure)
    return latents(part.detach()), optimiser.evaluations


def reconstruct_cells(render: Render, targets: torch.Tensor, init: torch.Tensor, options: ReconstructOptions,
                      nz_red: int = 0) -> Reconstruction:
    """Reconstruct ``targets`` [n, 2, H, W] (in [-1, 1]) from the starting latents ``init`` [n, restarts, nz].

    As the paper's code: the cells are cut into batches of ``options.batch_size``; each (restart, batch)
    is one L-BFGS problem over the mean error of its batch (:func:`fit_latents`); ``regular`` fits all of
    z on both channels, ``separable`` fits z[:, :nz_red] on the red channel, then the rest on the green
    channel. Each cell keeps its restart of lowest two-channel error (in both modes). Problems of equal
    batch size run together, :data:`ROWS_PER_CALL` generator rows at a time.
    """
    n, restarts, nz = init.shape
    if options.mode == "separable" and not 0 < nz_red < nz:
        raise BiogansError(f"separable reconstruction needs 0 < nz_red < nz, got nz_red={nz_red}, nz={nz}")
    stages = [(slice(0, nz), slice(0, 2))] if options.mode == "regular" else \
        [(slice(0, nz_red), slice(0, 1)), (slice(nz_red, nz), slice(1, 2))]
    z = init.transpose(0, 1).clone()  # [restarts, n, nz]
    for size, problems in _problem_chunks(n, restarts, options.batch_size):
        chunk = torch.stack([z[r, c:c + size] for r, c in problems])  # [K, size, nz]
        goal = torch.stack([targets[c:c + size] for _, c in problems])
        for free, channels in stages:
            chunk, _ = fit_latents(render, goal, chunk, free, channels, options)
        for (r, c), fitted in zip(problems, chunk, strict=True):
            z[r, c:c + size] = fitted
    z = z.transpose(0, 1).flatten(0, 1)  # [n * restarts, nz], cell-major
    with torch.no_grad():
        images = torch.cat([render(part) for part in z.split(ROWS_PER_CALL)])
    rmse = cell_rmse(images, targets.repeat_interleave(restarts, 0))
    rmse = torch.nan_to_num(rmse, nan=math.inf).view(n, restarts)
    best = rmse.argmin(1) + torch.arange(n, device=rmse.device) * restarts
    return Reconstruction(z[best], images[best], rmse.min(1).values, rmse)


def _problem_chunks(n: int, restarts: int, batch_size: int) -> Iterator[tuple[int, list[tuple[int, int]]]]:
    """The L-BFGS problems (restart, first cell of its batch), grouped by batch size (the last batch may
    be smaller) into chunks of at most :data:`ROWS_PER_CALL` generator rows: (size, problems)."""
    by_size: dict[int, list[tuple[int, int]]] = {}
    for first in range(0, n, batch_size):
        by_size.setdefault(min(batch_size, n - first), []).extend((r, first) for r in range(restarts))
    for size, problems in by_size.items():
        per_call = max(1, ROWS_PER_CALL // size)
        for i in range(0, len(problems), per_call):
            yield size, problems[i:i + per_call]


def reconstruct(generator_path: str | Path, cells_path: str | Path, out_dir: str | Path,
                options: ReconstructOptions = ReconstructOptions()) -> None:
    """Reconstruct up to ``options.n_cells`` held-out cells per protein of a generator (all by default);
    write cells.csv and examples.h5 to ``out_dir``. Conditional models use each protein's own output,
    joint models their one."""
    out_dir = Path(out_dir)
    model = load_generator(generator_path, resolve_device(options.device)).requires_grad_(False)
    if options.mode == "separable" and not model.nz_red:
        raise BiogansError(f"{generator_path}: separable reconstruction needs a separable model "
                           f"(a red part of z); this {model.spec['architecture']} model has none")
    store = read_store(cells_path, model.proteins)
    for protein in model.proteins:
        _check_cells(store[protein], protein, (model.height, model.width), cells_path)

    rows_out, examples = [], {}
    for index, protein in enumerate(model.proteins):
        table, examples[protein] = _reconstruct_protein(model, index, store[protein], options)
        rows_out.append(table)

    _write_examples(out_dir / "examples.h5", examples, {
        "generator": str(generator_path), "cells": str(cells_path),
        **{k: v for k, v in asdict(options).items() if v is not None}})
    with atomic_path(out_dir / "cells.csv") as tmp:
        pd.concat(rows_out, ignore_index=True)[list(CELL_COLUMNS)].to_csv(tmp, index=False)


def _reconstruct_protein(model: CellGenerator, index: int, cells: CellSet,
                         options: ReconstructOptions) -> tuple[pd.DataFrame, dict[str, np.ndarray]]:
    """The held-out cells of the model's ``index``-th protein, reconstructed: their cells.csv rows and the
    first ``N_EXAMPLES`` as examples (targets, reconstructions, nearest training cells, latents)."""
    clock = time.perf_counter()
    protein = model.proteins[index]
    z_device = next(model.parameters()).device
    cell_seed, z_seed = np.random.SeedSequence([options.seed, index]).spawn(2)
    rows = draw_cells(cells.role_indices("test"), options.n_cells, np.random.default_rng(cell_seed))
    targets = cell_tensor(cells, rows)
    draw = torch.Generator().manual_seed(int(z_seed.generate_state(1)[0]))
    init = torch.randn(len(rows), options.restarts, model.nz, generator=draw)

    render = partial(model.cells, protein=index if model.conditional else 0)
    fit = reconstruct_cells(render, targets.to(z_device), init.to(z_device), options, nz_red=model.nz_red)
    nn_rows = nearest_training_cells(cells, targets)
    neighbours = cell_tensor(cells, nn_rows)
    table = pd.DataFrame({
        "protein": protein, "row": rows, "rmse": fit.rmse.cpu().double().numpy(),
        "nll": latent_nll(fit.z).cpu().numpy(), "nn_rmse": cell_rmse(neighbours, targets).double().numpy(),
        "nn_row": nn_rows,
    })
    keep = slice(0, N_EXAMPLES)
    examples = {
        "target": cells.images[rows[keep]], "reconstruction": to_uint8(fit.images[keep]),
        "nearest": cells.images[nn_rows[keep]], "row": rows[keep], "nn_row": nn_rows[keep],
        "z": fit.z[keep].cpu().numpy(),
    }
    log.info("%s: %d cells reconstructed in %.1f s (median RMSE %.4f, nearest training cell %.4f)",
             protein, len(rows), time.perf_counter() - clock, table["rmse"].median(),
             table["nn_rmse"].median())
    return table, examples


def draw_cells(test_rows: np.ndarray, n_cells: int | None, rng: np.random.Generator) -> np.ndarray:
    """A seeded draw of ``n_cells`` of the given rows (all if fewer, or if None), in store order."""
    if n_cells is None or len(test_rows) <= n_cells:
        return np.asarray(test_rows, dtype=np.int64)
    return np.sort(rng.choice(test_rows, size=n_cells, replace=False)).astype(np.int64)


def nearest_training_cells(cells: CellSet, targets: torch.Tensor) -> np.ndarray:
    """Store row of each target's nearest training cell of the same protein (exact L2 on both channels)."""
    train = cells.role_indices("train")
    index, _ = nearest(targets.flatten(1).cpu(), cell_tensor(cells, train).flatten(1), k=1)
    return train[index[:, 0].numpy()]


def summarise(cells_csv: str | Path) -> pd.DataFrame:
    """Per protein (then ``all``): median and MAD of the NLL, the reconstruction RMSE and the
    nearest-training-cell RMSE, as Table 3 reports them."""
    cells = read_cells(cells_csv)
    groups = [(str(p), part) for p, part in cells.groupby("protein", sort=False)] + [("all", cells)]
    rows = []
    for name, part in groups:
        row = {"protein": name}
        for column, prefix in (("nll", "nll"), ("rmse", "l2"), ("nn_rmse", "nn")):
            row[f"{prefix}_median"], row[f"{prefix}_mad"] = median_mad(part[column])
        rows.append({**row, "n_cells": len(part)})
    return pd.DataFrame(rows, columns=list(SUMMARY_COLUMNS))


def read_cells(path: str | Path) -> pd.DataFrame:
    """A reconstruction's cells.csv, checked (columns, numeric types, rows)."""
    return read_csv(path, "reconstruction cells table", numbers=("rmse", "nll", "nn_rmse"),
                    integers=("row", "nn_row"), texts=("protein",))


def median_mad(values: pd.Series | np.ndarray) -> tuple[float, float]:
    """Median and (unscaled) median absolute deviation, as Table 3 reports them."""
    x = np.asarray(values, dtype=np.float64)
    median = float(np.median(x))
    return median, float(np.median(np.abs(x - median)))


def _check_cells(cells: CellSet, protein: str, shape: tuple[int, int], cells_path: str | Path) -> None:
    """The protein's cells are 2-channel images of the generator's size, with test and training cells."""
    if cells.images.shape[1] != 2 or tuple(cells.images.shape[2:]) != shape:
        raise BiogansError(f"{cells_path}: {protein} images of shape {list(cells.images.shape[1:])}, "
                           f"the generator makes [2, {shape[0]}, {shape[1]}]")
    for role in ("test", "train"):
        if not len(cells.role_indices(role)):
            raise BiogansError(f"{cells_path}: protein {protein} has no {role} cells")


def _write_examples(path: Path, examples: dict[str, dict[str, np.ndarray]], attrs: dict) -> None:
    with write_hdf5(path) as f:
        describe_hdf5(f, EXAMPLES_FORMAT, "reconstructions of held-out cells: per protein group, uint8 [n, 2, 48, 80] "
                      "target, reconstruction and nearest (training cell) images, channel 0 red (Bgs4), 1 the "
                      "protein; their cell-store rows (row, nn_row) and the fitted latents z",
                      channels=[RED, "green"], pixel_size_unit="µm", **attrs)
        for protein, arrays in examples.items():
            group = f.create_group(protein)
            for name, data in arrays.items():
                group.create_dataset(name, data=data)
