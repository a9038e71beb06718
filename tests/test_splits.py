import numpy as np
import pytest

from biogans.cli import main
from biogans.data.options import SplitOptions
from biogans.data.splits import make_splits, read_splits
from biogans.data.store import read_store, write_store
from biogans.errors import BiogansError


def test_halves_are_disjoint_cover_the_role_and_differ_across_splits(tiny_store, tmp_path):
    path, groups = tiny_store
    make_splits(path, tmp_path / "splits.h5", SplitOptions(n_splits=10, seed=3))
    splits = read_splits(tmp_path / "splits.h5", read_store(path))
    assert splits.n_splits == 10
    for protein, cells in groups.items():
        for role in ("train", "test"):
            rows = cells.role_indices(role)
            seen = set()
            for s in range(10):
                a, b = splits.halves(protein, role, s)
                assert not set(a) & set(b)
                assert sorted(np.concatenate([a, b])) == sorted(rows)
                assert abs(len(a) - len(b)) <= 1
                assert (cells.meta["role"].to_numpy()[a] == role).all()
                seen.add(tuple(sorted(a)))
            assert len(seen) == 10


def test_splits_are_reproducible_and_seed_dependent(tiny_store, tmp_path):
    path, _ = tiny_store
    store = read_store(path)
    make_splits(path, tmp_path / "a.h5", SplitOptions(seed=1))
    make_splits(path, tmp_path / "b.h5", SplitOptions(seed=1))
    make_splits(path, tmp_path / "c.h5", SplitOptions(seed=2))
    a, b, c = (read_splits(tmp_path / f"{x}.h5", store) for x in "abc")
    for key in a.permutations:
        np.testing.assert_array_equal(a.permutations[key], b.permutations[key])
    assert any((a.permutations[k] != c.permutations[k]).any() for k in a.permutations)


def test_a_protein_splits_do_not_depend_on_the_other_proteins(tiny_store, tmp_path):
    path, groups = tiny_store
    make_splits(path, tmp_path / "all.h5")
    write_store(tmp_path / "one.h5", {"Arp3": groups["Arp3"]}, source="test")
    make_splits(tmp_path / "one.h5", tmp_path / "one_splits.h5")
    both = read_splits(tmp_path / "all.h5", read_store(path)).permutations["Arp3", "test"]
    alone = read_splits(tmp_path / "one_splits.h5", read_store(tmp_path / "one.h5")).permutations["Arp3", "test"]
    np.testing.assert_array_equal(both, alone)


def test_splits_of_another_store_are_refused(tiny_store, tmp_path):
    path, groups = tiny_store
    make_splits(path, tmp_path / "splits.h5")
    groups["Arp3"].meta.loc[0, "role"] = "test" if groups["Arp3"].meta.loc[0, "role"] == "train" else "train"
    with pytest.raises(BiogansError, match="different cell store"):
        read_splits(tmp_path / "splits.h5", groups)


def test_cli_refuses_a_store_with_too_few_cells(tmp_path, capsys):
    from conftest import random_cells

    cells = random_cells(3, np.random.default_rng(0), ["Bgs4", "Sid2"], test_fraction=0.0)
    write_store(tmp_path / "cells.h5", {"Sid2": cells}, source="test")
    assert main(["splits", str(tmp_path / "cells.h5"), str(tmp_path / "splits.h5")]) == 1
    err = capsys.readouterr().err
    assert err.startswith("error: ") and "Sid2" in err and err.count("\n") == 1
    assert not (tmp_path / "splits.h5").exists()
    assert not list(tmp_path.glob(".splits.h5*"))
