import numpy as np
import pytest
import torch

from biogans.data import loaders
from biogans.data.loaders import (
    CompositeSampler,
    JointSampler,
    PerProteinSampler,
    random_flips,
)
from biogans.data.neighbours import find_neighbours, read_neighbours
from biogans.data.options import NeighbourOptions
from biogans.data.store import read_store
from biogans.errors import BiogansError


def test_joint_sampler_draws_flipped_training_cells(tiny_store):
    path, groups = tiny_store
    store = read_store(path)
    sampler = JointSampler(store, ["Alp14", "Sid2"], 16, torch.Generator().manual_seed(0))
    x = sampler.sample()
    assert x.shape == (16, 2, 48, 80) and x.min() >= -1 and x.max() <= 1
    train = {p: store[p].images[store[p].role_indices("train")] for p in ["Alp14", "Sid2"]}
    pool = torch.cat([torch.from_numpy(v).float() / 127.5 - 1 for v in train.values()])
    variants = torch.cat([pool, pool.flip(-1), pool.flip(-2), pool.flip(-1, -2)])
    for cell in x:
        assert (variants - cell).abs().amax((1, 2, 3)).min() < 1e-6


def test_same_generator_state_gives_the_same_batches(tiny_store):
    path, _ = tiny_store
    store = read_store(path)
    a = JointSampler(store, ["Arp3"], 8, torch.Generator().manual_seed(5))
    b = JointSampler(store, ["Arp3"], 8, torch.Generator().manual_seed(5))
    assert torch.equal(a.sample(), b.sample())


def test_conditional_sampler_lays_out_one_group_per_protein(tiny_store):
    path, _ = tiny_store
    store = read_store(path)
    x = PerProteinSampler(store, ["Alp14", "Arp3", "Sid2"], 4, torch.Generator().manual_seed(0)).sample()
    assert x.shape == (4, 6, 48, 80)


def test_multichannel_sampler_builds_composites(tiny_store, tmp_path):
    path, _ = tiny_store
    find_neighbours(path, tmp_path / "nn.h5", NeighbourOptions(k=2))
    store = read_store(path)
    sampler = CompositeSampler(store, ["Alp14", "Arp3", "Sid2"], read_neighbours(tmp_path / "nn.h5", store),
                                  8, torch.Generator().manual_seed(0))
    x = sampler.sample()
    assert x.shape == (8, 4, 48, 80)
    outside = (x[:, :1] == -1).expand_as(x)
    assert (x[outside] == -1).all()


def test_composite_cells_come_from_the_pooled_training_cells(tiny_store, tmp_path, monkeypatch):
    """As the paper's one image folder: each protein owns composite cells in proportion to its training
    cells; every green, the cell's own included, is masked by the cell's red mask."""
    path, _ = tiny_store
    find_neighbours(path, tmp_path / "nn.h5", NeighbourOptions(k=2))
    store = read_store(path)
    store["Alp14"].meta["role"] = "train"  # 40 training cells, against about 30 for the others
    counts = {p: len(store[p].role_indices("train")) for p in store}
    owners = []
    real_composite = loaders.composite
    monkeypatch.setattr(loaders, "composite", lambda images, nn, protein, rows, *args: owners.extend(
        [protein] * len(rows)) or real_composite(images, nn, protein, rows, *args))
    sampler = CompositeSampler(store, list(store), read_neighbours(tmp_path / "nn.h5", store), 64,
                               torch.Generator().manual_seed(1))
    for _ in range(100):
        sampler.sample()
    share = {p: owners.count(p) / len(owners) for p in store}
    for protein, n in counts.items():
        assert share[protein] == pytest.approx(n / sum(counts.values()), abs=0.02), (share, counts)

    images = {p: torch.full((3, 2, 4, 4), 0.5) for p in ("A", "B")}
    images["A"][:, 0, :2] = -1  # the top half of A's cells is outside them
    composite = loaders.composite(images, {("A", "B"): np.zeros((3, 1), int)}, "A", torch.arange(3), ["A", "B"])
    assert (composite[:, 1:, :2] == -1).all() and (composite[:, 1:, 2:] == 0.5).all()


def test_flips_are_per_cell():
    x = torch.arange(2 * 48 * 80, dtype=torch.float).reshape(1, 2, 48, 80).repeat(64, 1, 1, 1)
    y = random_flips(x, torch.Generator().manual_seed(0))
    kinds = {(torch.equal(c, x[0].flip(-1)), torch.equal(c, x[0].flip(-2))) for c in y}
    assert len(kinds) > 2


def test_missing_protein_or_no_training_cells_is_an_error(tiny_store):
    path, groups = tiny_store
    store = read_store(path)
    with pytest.raises(BiogansError, match="Tea1"):
        JointSampler(store, ["Tea1"], 8, torch.Generator())
    store["Sid2"].meta["role"] = "test"
    with pytest.raises(BiogansError, match="no training cells"):
        PerProteinSampler(store, ["Sid2"], 8, torch.Generator())
