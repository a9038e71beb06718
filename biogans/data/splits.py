"""Seeded half/half splits of every protein's train and test cells, for the C2ST's ten splits.

``results/data/splits.h5`` holds, for protein P and role R, a dataset ``/P/R`` of shape
[n_splits, n_R]: each row is a random permutation of the store rows of P's cells with role R; the
first ``n_R // 2`` entries are half 0, the rest half 1. Group attributes record the store's cell
count and a digest of its role column, so a split file made for another store is refused.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from pathlib import Path

import h5py
import numpy as np

from biogans.data.options import SplitOptions
from biogans.data.store import ROLES, CellSet, read_store
from biogans.errors import BiogansError
from biogans.hdf5 import describe_hdf5, open_hdf5, read_array, write_hdf5
from biogans.seeds import stable_id

FORMAT = "biogans-splits/1"


def roles_digest(cells: CellSet) -> str:
    """A short digest of a protein's role column: splits are valid only for that exact store."""
    return hashlib.sha1("\n".join(cells.meta["role"]).encode()).hexdigest()[:16]


def draw_splits(n_splits: int, rows: np.ndarray, seed: int, protein: str, role: str) -> np.ndarray:
    """[n_splits, len(rows)]: independent random permutations of ``rows``, seeded per protein and role."""
    rng = np.random.default_rng([seed, stable_id(protein), ROLES.index(role)])
    return np.stack([rng.permutation(rows) for _ in range(n_splits)]) if n_splits else np.empty((0, len(rows)), int)


def make_splits(cells_path: str | Path, out_path: str | Path, options: SplitOptions = SplitOptions()) -> None:
    """Draw ``options.n_splits`` half/half partitions per protein and role and write them atomically."""
    n_splits, seed = options.n_splits, options.seed
    store = read_store(cells_path)
    with write_hdf5(out_path) as f:
        describe_hdf5(f, FORMAT, "the C2ST's seeded half/half splits: /<protein>/<role> (train, test) holds "
                      "[n_splits, n] permutations of the cell-store rows of that protein's cells of that role; "
                      "the first n // 2 of a row are half 0, the rest half 1", source=str(cells_path),
                      n_splits=n_splits, seed=seed)
        for protein, cells in store.items():
            group = f.create_group(protein)
            group.attrs.update(protein=protein, n_cells=len(cells), roles_digest=roles_digest(cells))
            for role in ROLES:
                rows = cells.role_indices(role)
                if len(rows) < 2:
                    raise BiogansError(f"{cells_path}: protein {protein} has {len(rows)} {role} cells; "
                                       "a half/half split needs at least 2")
                group.create_dataset(role, data=draw_splits(n_splits, rows, seed, protein, role))


@dataclass
class Splits:
    """The split permutations of one file: ``halves(protein, role, s)`` gives split s's two halves."""

    n_splits: int
    seed: int
    permutations: dict[tuple[str, str], np.ndarray]

    def halves(self, protein: str, role: str, split: int) -> tuple[np.ndarray, np.ndarray]:
        """Store rows of half 0 and half 1 of split ``split`` of ``protein``'s ``role`` cells."""
        perm = self.permutations[protein, role][split]
        return perm[: len(perm) // 2], perm[len(perm) // 2:]

    def all_halves(self, protein: str, role: str, half: int) -> list[np.ndarray]:
        """Half ``half`` of every split, as a list of row arrays (one per split)."""
        return [self.halves(protein, role, s)[half] for s in range(self.n_splits)]


def read_splits(path: str | Path, store: dict[str, CellSet]) -> Splits:
    """Read a split file and check it was made for ``store``: every protein of the store in it, and every
    split a permutation of exactly the protein's cells of that role (so the halves are disjoint, their
    rows in range and unique)."""
    with open_hdf5(path, FORMAT, "biogans split file") as f:
        try:
            n_splits, seed = int(f.attrs["n_splits"]), int(f.attrs["seed"])
        except (KeyError, TypeError, ValueError):
            raise BiogansError(f"{path}: no n_splits/seed attributes; re-run `biogans splits`") from None
        permutations = {}
        for protein, cells in store.items():
            group = f.get(protein)
            if not isinstance(group, h5py.Group):
                raise BiogansError(f"{path}: no splits for protein {protein}; re-run `biogans splits`")
            if group.attrs.get("n_cells") != len(cells) or group.attrs.get("roles_digest") != roles_digest(cells):
                raise BiogansError(f"{path}: splits of {protein} were made for a different cell store; "
                                   "re-run `biogans splits`")
            for role in ROLES:
                permutations[protein, role] = _permutations(group, role, cells.role_indices(role), n_splits,
                                                            f"{path}: splits of {protein} ({role})")
        return Splits(n_splits, seed, permutations)


def _permutations(group: h5py.Group, role: str, rows: np.ndarray, n_splits: int, where: str) -> np.ndarray:
    data = group.get(role)
    if not isinstance(data, h5py.Dataset) or data.shape != (n_splits, len(rows)) or data.dtype.kind not in "iu":
        raise BiogansError(f"{where}: expected integers [{n_splits}, {len(rows)}]; re-run `biogans splits`")
    permutations = read_array(data, where)
    if not (np.sort(permutations, axis=1) == rows[None]).all():
        raise BiogansError(f"{where}: a split is not a permutation of the protein's {role} cells "
                           "(rows out of range or repeated); re-run `biogans splits`")
    return permutations
