"""Seeded train/test roles for the cells of one group (protein), shared by preprocessing and LIN import."""

from __future__ import annotations

import numpy as np

from biogans.seeds import stable_id


def assign_roles(n: int, test_fraction: float, seed: int, group: str) -> np.ndarray:
    """``n`` roles ("train"/"test"), round(test_fraction * n) of them "test", drawn at random.

    The draw depends only on (seed, group name, n), so adding or removing other proteins never
    changes a protein's split; at least one cell stays in training.
    """
    rng = np.random.default_rng([seed, stable_id(group)])
    n_test = min(int(round(test_fraction * n)), max(n - 1, 0))
    roles = np.full(n, "train", dtype=object)
    roles[rng.permutation(n)[:n_test]] = "test"
    return roles
