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


#: Proteins of the simulated stores: Sid2 (SPB dots), Tea1 (tip caps), Alp14 (microtubule lines).
SIMULATED_PROTEINS = ["Sid2", "Tea1", "Alp14"]


def simulated_stores(root, proteins: list[str] = SIMULATED_PROTEINS, cells_per_protein: int = 400,
                     fresh_fraction: float = 0.35) -> tuple:
    """Simulated, preprocessed cells in two stores: ``cells.h5`` (train/test roles, with ``splits.h5`` of
    two splits) and ``fresh.h5``: ``fresh_fraction`` of each protein's cells taken out of it, real cells of
    the same distribution that neither the store's training nor its test set holds (all role test)."""
    from biogans.data.options import PreprocessOptions, SimulateOptions, SplitOptions
    from biogans.data.preprocess import preprocess
    from biogans.data.simulate import simulate
    from biogans.data.splits import make_splits
    from biogans.data.store import read_store

    simulate(root / "raw", SimulateOptions(proteins=proteins, cells_per_protein=cells_per_protein, seed=0,
                                           field_size=256))
    preprocess(root / "raw", root / "all.h5", options=PreprocessOptions(test_fraction=0.25))
    kept, fresh = {}, {}
    rng = np.random.default_rng(0)
    for protein, cells in read_store(root / "all.h5").items():
        taken = rng.random(len(cells)) < fresh_fraction
        kept[protein] = CellSet(cells.images[~taken], cells.meta[~taken].reset_index(drop=True), cells.channels)
        meta = cells.meta[taken].reset_index(drop=True)
        meta["role"] = "test"
        fresh[protein] = CellSet(cells.images[taken], meta, cells.channels)
    write_store(root / "cells.h5", kept, source="test")
    write_store(root / "fresh.h5", fresh, source="test")
    make_splits(root / "cells.h5", root / "splits.h5", SplitOptions(n_splits=2, seed=0))
    return root / "cells.h5", root / "splits.h5", root / "fresh.h5"


@pytest.fixture(scope="session")
def simulated(tmp_path_factory):
    """(cells.h5, splits.h5, fresh.h5) of :func:`simulated_stores`, made once per test session."""
    return simulated_stores(tmp_path_factory.mktemp("simulated"))


def write_sample_files(root, cells_path, fresh_path) -> dict:
    """Sample files as ``biogans sample`` writes them, made of real cells: ``fresh`` (the fresh cells, as an
    OME-TIFF of 'Bgs4 (P)', 'P' pairs, as many per protein as the smallest protein has), ``blurred`` (the
    same, Gaussian blur of sigma 1.5 px), ``noise`` (uniform noise in [0, 1]) and ``copies`` (an HDF5 of
    each protein's training cells, every other one flipped). Returns {name: path}."""
    from scipy import ndimage

    from biogans.data.store import read_store
    from biogans.ome import write_ome_tiff

    fresh = read_store(fresh_path)
    n = min(len(cells) for cells in fresh.values())
    pairs = np.concatenate([cells.images[:n] for cells in fresh.values()], axis=1).astype(np.float32) / 255
    names = [name for protein in fresh for name in (f"Bgs4 ({protein})", protein)]
    blurred = np.clip(ndimage.gaussian_filter(pairs, (0, 0, 1.5, 1.5)), 0, 1).astype(np.float32)
    noise = np.random.default_rng(0).random(pairs.shape, dtype=np.float32)
    paths = {name: root / f"{name}.ome.tif" for name in ("fresh", "blurred", "noise")}
    for name, images in (("fresh", pairs), ("blurred", blurred), ("noise", noise)):
        write_ome_tiff(paths[name], images, names, 0.19)
    copies = {}
    for protein, cells in read_store(cells_path).items():
        images = cells.images[cells.role_indices("train")].copy()
        images[::2] = images[::2, :, :, ::-1]
        copies[protein] = CellSet(images, empty_meta(len(images)).assign(role="test"), cells.channels)
    paths["copies"] = root / "copies.h5"
    write_store(paths["copies"], copies, source="generated")
    return paths


@pytest.fixture(scope="session")
def sample_files(simulated, tmp_path_factory):
    """{fresh, blurred, noise, copies: path} of :func:`write_sample_files` for the simulated stores."""
    cells, _, fresh = simulated
    return write_sample_files(tmp_path_factory.mktemp("samples"), cells, fresh)
