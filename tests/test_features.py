"""The metrics' feature network: trained on training cells only, good at telling simulated proteins apart,
rebuilt from its file, and bad input refused."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from conftest import write_random_store

from biogans.cli import main
from biogans.data.store import read_store, write_store
from biogans.errors import BiogansError
from biogans.train.checkpoints import FEATURES_FORMAT
from biogans.train.features import load_features, train_features
from biogans.train.options import FeatureOptions

pytestmark = pytest.mark.usefixtures("one_thread")

QUICK = FeatureOptions(epochs=2, width=4, features=8, batch_size=16)


def test_features_tell_simulated_proteins_apart_and_load_back(simulated, tmp_path, caplog):
    cells, _, _ = simulated
    out = tmp_path / "features.pt"
    with caplog.at_level("INFO", logger="biogans.train.features"):
        assert main(["features", str(cells), str(out), "--epochs", "8"]) == 0
    assert "held-out protein accuracy" in caplog.text
    loaded = load_features(out)
    assert loaded.accuracy > 0.85  # three proteins: chance is 1/3
    assert set(loaded.protein_accuracy) == {"Sid2", "Tea1", "Alp14"}
    assert min(loaded.protein_accuracy.values()) > 0.6
    payload = torch.load(out, weights_only=True)  # plain tensors and metadata
    assert payload["format"] == FEATURES_FORMAT and payload["spec"]["features"] == 32
    assert payload["n_test"] == sum(len(c.role_indices("test")) for c in read_store(cells).values())
    assert not loaded.net.training and loaded.net.num_features == 32
    x = torch.zeros(3, 2, 48, 80)
    assert loaded.net.features(x).shape == (3, 32) and loaded.net(x).shape == (3, 3)


def test_training_sees_only_training_cells(tmp_path):
    """Changing every test cell leaves the weights identical; changing one
    training cell changes them."""
    groups = write_random_store(tmp_path / "base.h5", ["Alp14", "Sid2"], n=30, seed=1)
    for cells in groups.values():
        rows = cells.role_indices("test")
        cells.images[rows] = 255 - cells.images[rows]
    write_store(tmp_path / "test_changed.h5", groups, source="test")
    groups = read_store(tmp_path / "base.h5")
    groups["Sid2"].images[groups["Sid2"].role_indices("train")[0]] //= 2
    write_store(tmp_path / "train_changed.h5", groups, source="test")
    files = {}
    for name in ("base", "test_changed", "train_changed"):
        train_features(tmp_path / f"{name}.h5", tmp_path / f"{name}.pt", QUICK)
        files[name] = torch.load(tmp_path / f"{name}.pt", weights_only=True)
    base, test_changed, train_changed = files["base"], files["test_changed"], files["train_changed"]
    assert all(torch.equal(v, test_changed["state_dict"][k]) for k, v in base["state_dict"].items())
    assert base["n_test"] == test_changed["n_test"] > 0
    assert not all(torch.equal(v, train_changed["state_dict"][k]) for k, v in base["state_dict"].items())


def test_training_is_seeded(tmp_path):
    write_random_store(tmp_path / "cells.h5", ["Alp14", "Sid2"], n=20, seed=2)
    weights = []
    for seed in (0, 0, 1):
        train_features(tmp_path / "cells.h5", tmp_path / "f.pt", FeatureOptions(**{**QUICK.__dict__, "seed": seed}))
        weights.append(torch.load(tmp_path / "f.pt", weights_only=True)["state_dict"])
    assert all(torch.equal(weights[0][k], weights[1][k]) for k in weights[0])
    assert not all(torch.equal(weights[0][k], weights[2][k]) for k in weights[0])


def test_bad_input_is_refused_with_one_line(tmp_path, capsys):
    write_random_store(tmp_path / "one.h5", ["Alp14"], n=10)
    out = tmp_path / "f.pt"
    assert main(["features", str(tmp_path / "one.h5"), str(out)]) == 1
    err = capsys.readouterr().err.strip()
    assert err.startswith("error: ") and "\n" not in err and "at least 2" in err and not out.exists()

    groups = write_random_store(tmp_path / "cells.h5", ["Alp14", "Sid2"], n=10)
    groups["Sid2"].meta["role"] = "train"
    write_store(tmp_path / "no_test.h5", groups, source="test")
    with pytest.raises(BiogansError, match="Sid2 has no test cells"):
        train_features(tmp_path / "no_test.h5", out, QUICK)
    assert not out.exists()

    train_features(tmp_path / "cells.h5", out, QUICK)
    payload = torch.load(out, weights_only=True)
    torch.save({**payload, "spec": {**payload["spec"], "features": 10**6}}, tmp_path / "huge.pt")
    with pytest.raises(BiogansError, match="huge.pt: features 1000000 is above the limit"):
        load_features(tmp_path / "huge.pt")
    state = dict(payload["state_dict"])
    state.pop(next(iter(state)))
    torch.save({**payload, "state_dict": state}, tmp_path / "partial.pt")
    with pytest.raises(BiogansError, match="partial.pt: weights do not match the stored spec"):
        load_features(tmp_path / "partial.pt")
    (tmp_path / "cut.pt").write_bytes(out.read_bytes()[:500])
    with pytest.raises(BiogansError, match="cut.pt: corrupted or truncated"):
        load_features(tmp_path / "cut.pt")
    assert np.isfinite(payload["accuracy"])
