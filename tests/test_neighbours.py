import numpy as np
import torch

from biogans.data.loaders import cell_tensor
from biogans.data.neighbours import composite, find_neighbours, nearest, read_neighbours
from biogans.data.options import NeighbourOptions
from biogans.data.store import read_store


def test_blocked_search_equals_brute_force():
    gen = torch.Generator().manual_seed(0)
    queries, refs = torch.rand(37, 50, generator=gen), torch.rand(23, 50, generator=gen)
    index, distance = nearest(queries, refs, k=5, block_size=4)
    brute = torch.cdist(queries.double(), refs.double())
    expected_d, expected_i = brute.topk(5, dim=1, largest=False)
    np.testing.assert_array_equal(index.numpy(), expected_i.numpy())
    np.testing.assert_allclose(distance.numpy(), expected_d.numpy(), rtol=1e-4, atol=1e-4)


def test_neighbours_file_matches_brute_force_on_training_cells(tiny_store, tmp_path):
    path, groups = tiny_store
    find_neighbours(path, tmp_path / "nn.h5", NeighbourOptions(k=3, block_size=7))
    table = read_neighbours(tmp_path / "nn.h5", read_store(path))
    assert set(table) == {(a, b) for a in groups for b in groups if a != b}
    for (a, b), rows in table.items():
        train = groups[b].role_indices("train")
        red_a = groups[a].images[:, 0].reshape(len(groups[a]), -1) / 255.0
        red_b = groups[b].images[train, 0].reshape(len(train), -1) / 255.0
        d = ((red_a[:, None] - red_b[None]) ** 2).sum(-1)
        expected = train[np.argsort(d, axis=1, kind="stable")[:, :3]]
        assert rows.shape == (len(groups[a]), 3)
        np.testing.assert_array_equal(rows, expected)


def test_composite_keeps_own_channels_and_masks_neighbour_greens(tiny_store, tmp_path):
    path, groups = tiny_store
    find_neighbours(path, tmp_path / "nn.h5", NeighbourOptions(k=2))
    table = read_neighbours(tmp_path / "nn.h5", read_store(path))
    images = {p: cell_tensor(c) for p, c in groups.items()}
    proteins = list(groups)
    rows = torch.arange(6)
    x = composite(images, table, "Arp3", rows, proteins, torch.Generator().manual_seed(0))
    assert x.shape == (6, 4, 48, 80)
    torch.testing.assert_close(x[:, 0], images["Arp3"][rows, 0])
    torch.testing.assert_close(x[:, 2], images["Arp3"][rows, 1])
    outside = x[:, :1].expand_as(x) == -1
    assert (x[outside] == -1).all()
    # the Alp14 channel of each cell is the masked green of one of its neighbours
    for i in range(6):
        candidates = images["Alp14"][table["Arp3", "Alp14"][i], 1]
        mask = images["Arp3"][i, 0] > -1
        assert any(torch.equal(x[i, 1][mask], c[mask]) for c in candidates)
