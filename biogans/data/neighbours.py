"""Nearest training cells by red-channel L2 distance, and the composite multi-channel cells built from them.

The multi-channel baseline trains on composite cells: a cell's red, its own green in its protein's
channel, and for every other protein the green of one of the cell's k nearest training cells of that
protein (nearest by the red channel), all masked by the cell's red mask.

``results/data/red_neighbours.h5``: ``/A/B/index`` [n_A, k] (store rows of B's training cells, nearest
first) and ``/A/B/distance`` [n_A, k] (L2 distance of the red channels in [0, 1] units), for every
ordered pair of different proteins A, B of the store.
"""

from __future__ import annotations

import logging
from pathlib import Path

import h5py
import numpy as np
import torch

from biogans.data.options import NeighbourOptions
from biogans.data.store import CellSet, read_store
from biogans.errors import BiogansError
from biogans.hdf5 import describe_hdf5, open_hdf5, read_array, write_hdf5
from biogans.proteins import RED

log = logging.getLogger(__name__)
FORMAT = "biogans-neighbours/1"


def nearest(queries: torch.Tensor, references: torch.Tensor, k: int,
            block_size: int = 1024) -> tuple[torch.Tensor, torch.Tensor]:
    """k nearest ``references`` rows of every ``queries`` row by L2 distance: (index, distance), [N, k].

    Blocked over both queries and references, so memory is O(block_size**2) whatever N and M:
    squared distances come from |q|^2 + |r|^2 - 2 q.r (one matrix product per block pair), and a
    running top-k is merged block by block.
    """
    n, m = len(queries), len(references)
    if m < k:
        raise ValueError(f"{m} reference rows for k={k}")
    queries = queries.to(torch.float32)
    references = references.to(torch.float32)
    ref_sq = references.pow(2).sum(1)
    device = queries.device
    best_d = torch.empty(n, k, device=device)
    best_i = torch.empty(n, k, dtype=torch.long, device=device)
    for q0 in range(0, n, block_size):
        q = queries[q0:q0 + block_size]
        q_sq = q.pow(2).sum(1, keepdim=True)
        run_d = torch.full((len(q), k), float("inf"), device=device)
        run_i = torch.zeros((len(q), k), dtype=torch.long, device=device)
        for r0 in range(0, m, block_size):
            d = torch.addmm(q_sq + ref_sq[r0:r0 + block_size], q, references[r0:r0 + block_size].T,
                            alpha=-2.0)
            cand_d = torch.cat([run_d, d], 1)
            cand_i = torch.cat([run_i, torch.arange(r0, r0 + d.shape[1], device=device).expand(len(q), -1)], 1)
            run_d, pos = cand_d.topk(k, dim=1, largest=False, sorted=True)
            run_i = cand_i.gather(1, pos)
        best_d[q0:q0 + block_size] = run_d.clamp_min(0).sqrt()
        best_i[q0:q0 + block_size] = run_i
    return best_i, best_d


def red_vectors(cells: CellSet) -> torch.Tensor:
    """Red channels as flat float vectors in [0, 1] units, [N, H*W]."""
    return torch.from_numpy(cells.images[:, 0].reshape(len(cells), -1)).float().div_(255.0)


def find_neighbours(cells_path: str | Path, out_path: str | Path,
                    options: NeighbourOptions = NeighbourOptions()) -> None:
    """For every cell and every other protein, store the k nearest training cells by red L2 distance."""
    k, block_size = options.k, options.block_size
    store = read_store(cells_path)
    reds = {protein: red_vectors(cells) for protein, cells in store.items()}
    with write_hdf5(out_path) as f:
        describe_hdf5(f, FORMAT, "red-channel nearest neighbours: /<A>/<B>/index [n_A, k] are the cell-store rows "
                      "of protein B's training cells nearest to each cell of A by L2 distance of the red (Bgs4) "
                      "channel, nearest first; /<A>/<B>/distance the distances in [0, 1] intensity units",
                      source=str(cells_path), k=k, channel=RED)
        for protein, cells in store.items():
            f.create_group(protein).attrs.update(protein=protein, n_cells=len(cells))
        for other, other_cells in store.items():
            train = other_cells.role_indices("train")
            if len(train) < k:
                raise BiogansError(f"{cells_path}: protein {other} has {len(train)} training cells, "
                                   f"fewer than k={k}")
            queries = [p for p in store if p != other]
            if not queries:
                continue
            index, distance = nearest(torch.cat([reds[p] for p in queries]), reds[other][train], k,
                                      block_size)
            rows = np.cumsum([0] + [len(store[p]) for p in queries])
            for p, start, stop in zip(queries, rows[:-1], rows[1:], strict=True):
                group = f[p].create_group(other)
                group.create_dataset("index", data=train[index[start:stop].numpy()])
                group.create_dataset("distance", data=distance[start:stop].numpy())
            log.info("neighbours in %s: %d query cells against %d training cells", other, rows[-1], len(train))


def read_neighbours(path: str | Path, store: dict[str, CellSet]) -> dict[tuple[str, str], np.ndarray]:
    """{(A, B): [n_A, k] store rows of B's nearest training cells} for the proteins of ``store``, checked:
    made for this store, and every index one of B's training cells."""
    with open_hdf5(path, FORMAT, "biogans neighbours file") as f:
        result = {}
        for a in store:
            if not isinstance(f.get(a), h5py.Group) or f[a].attrs.get("n_cells") != len(store[a]):
                raise BiogansError(f"{path}: neighbours of {a} missing or made for a different cell "
                                   "store; re-run `biogans neighbours`")
            for b in store:
                if b != a:
                    result[a, b] = _neighbour_rows(f[a], b, len(store[a]), store[b].role_indices("train"),
                                                   f"{path}: neighbours of {a} in {b}")
        return result


def _neighbour_rows(group: h5py.Group, other: str, n: int, train: np.ndarray, where: str) -> np.ndarray:
    data = group.get(f"{other}/index")
    if not isinstance(data, h5py.Dataset) or data.ndim != 2 or data.shape[0] != n or data.shape[1] < 1 \
            or data.dtype.kind not in "iu":
        raise BiogansError(f"{where}: expected integers [{n}, k]; re-run `biogans neighbours`")
    rows = read_array(data, where)
    if not np.isin(rows, train).all():
        raise BiogansError(f"{where}: rows that are not training cells of {other}; re-run `biogans neighbours`")
    return rows


def composite(images: dict[str, torch.Tensor], neighbours: dict[tuple[str, str], np.ndarray | torch.Tensor],
              protein: str, rows: torch.Tensor, proteins: list[str],
              rng: torch.Generator | None = None) -> torch.Tensor:
    """Composite multi-channel cells [B, 1 + P, H, W] for store rows ``rows`` of ``protein``.

    ``images[p]`` holds protein p's cells as [N_p, 2, H, W] in [-1, 1] (background -1). Channel 0 is
    the cell's red, channel 1 + j the green of ``proteins[j]``: the cell's own green for its protein,
    else the green of one of its k red-neighbours of that protein, drawn uniformly. Every green, the
    cell's own included, is masked by the cell's red mask (red > -1, i.e. red > 0 in the 8-bit store),
    as the paper's code masks them.
    """
    own = images[protein][rows]
    red = own[:, :1]
    mask = red > -1
    greens = []
    for p in proteins:
        if p == protein:
            green = own[:, 1:]
        else:
            table = torch.as_tensor(neighbours[protein, p])[rows]
            pick = torch.randint(table.shape[1], (len(rows), 1), generator=rng)
            green = images[p][table.gather(1, pick).squeeze(1), 1:]
        greens.append(torch.where(mask, green, torch.full_like(green, -1.0)))
    return torch.cat([red, *greens], 1)
