"""Shared fixtures: small, seeded cell stores written as real HDF5 files."""

from __future__ import annotations

import os
import tempfile

import numpy as np
import pytest
import torch

from biogans.data.store import CellSet, empty_meta, write_store


@pytest.fixture(scope="module")
def one_thread():
    """One torch thread for a module of tiny tensors: the machine is shared; results do not depend on it."""
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(threads)


def random_cells(n: int, rng: np.random.Generator, channels: list[str], test_fraction: float = 0.25) -> CellSet:
    """``n`` blob-shaped cells: an ellipse mask of random size, red and green > 0 inside, 0 outside."""
    yy, xx = np.mgrid[:48, :80]
    half_length = rng.uniform(18, 38, n)[:, None, None]
    half_width = rng.uniform(7, 11, n)[:, None, None]
    mask = ((xx - 40) / half_length) ** 2 + ((yy - 24) / half_width) ** 2 <= 1
    images = rng.integers(1, 256, size=(n, len(channels), 48, 80)).astype(np.uint8)
    images *= mask[:, None]
    meta = empty_meta(n)
    meta["cell_id"] = np.arange(1, n + 1)
    meta["source"] = [f"field_{i // 10:03d}.tif" for i in range(n)]
    meta["role"] = np.where(rng.random(n) < test_fraction, "test", "train")
    return CellSet(images, meta, channels)


def write_random_store(path, proteins: list[str], n: int = 40, seed: int = 0) -> dict[str, CellSet]:
    rng = np.random.default_rng(seed)
    groups = {p: random_cells(n, rng, ["Bgs4", p]) for p in proteins}
    write_store(path, groups, source="test")
    return groups


@pytest.fixture
def tiny_store(tmp_path):
    """A cell store of 3 proteins x 40 random cells; returns (path, groups)."""
    path = tmp_path / "cells.h5"
    return path, write_random_store(path, ["Alp14", "Arp3", "Sid2"])


@pytest.fixture
def full_disk(monkeypatch):
    """A full disk for biogans' outputs: every temporary file they are written to (``.<name>.<pid>.*.tmp``)
    is a link to /dev/full, where every write fails with ENOSPC, the error a full disk gives. Call the
    fixture's value with a name to fill the disk only for that output's temporary files."""
    if not os.path.exists("/dev/full"):
        pytest.skip("no /dev/full on this system")
    real = tempfile.mkstemp
    only: list[str] = []

    def mkstemp(suffix=None, prefix=None, dir=None, text=False):
        fd, name = real(suffix, prefix, dir, text)
        if suffix == ".tmp" and (not only or (prefix or "").startswith(f".{only[0]}.")):
            os.unlink(name)
            os.symlink("/dev/full", name)
        return fd, name

    monkeypatch.setattr(tempfile, "mkstemp", mkstemp)
    return only.append
