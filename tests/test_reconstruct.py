"""Latent-space reconstruction: recovery of known latents, restart selection, the per-cell table,
nearest training cells, the summary, and refusals of bad input."""

from __future__ import annotations

import math

import h5py
import numpy as np
import pandas as pd
import pytest
import torch
from conftest import random_cells, write_random_store
from scipy.stats import multivariate_normal

from biogans.data.store import read_store, to_unit_range, write_store
from biogans.errors import BiogansError
from biogans.evaluate.options import ReconstructOptions
from biogans.evaluate.reconstruct import (
    CELL_COLUMNS,
    SUMMARY_COLUMNS,
    cell_rmse,
    fit_latents,
    latent_nll,
    reconstruct,
    reconstruct_cells,
    summarise,
)
from biogans.images import to_uint8
from biogans.models import build, spec_for
from biogans.train.checkpoints import load_generator, save_generator

NZ, NGF = 8, 4


def tiny_generator(name: str, proteins: list[str], seed: int = 0) -> torch.nn.Module:
    """A randomly initialised generator with conv weights x10 and batch-norm statistics from one batch,
    so that (unlike a fresh one, whose outputs are ~1e-5) its cells span much of [-1, 1]."""
    torch.manual_seed(seed)
    model = build(spec_for(name, proteins, nz=NZ, ngf=NGF))
    with torch.no_grad():
        for weight in model.parameters():
            if weight.dim() == 4:
                weight.mul_(10)  # hidden layers are renormalised: this scales the output layer
    for layer in model.modules():
        if isinstance(layer, torch.nn.BatchNorm2d):
            layer.momentum = None  # running statistics = this batch's
    with torch.no_grad():
        model.train()(torch.randn(256, NZ))
    return model.eval().requires_grad_(False)


def save_tiny_generator(path, name: str, proteins: list[str]) -> None:
    save_generator(path, tiny_generator(name, proteins), iteration=1)


@pytest.fixture(scope="module")
def separable_model():
    return tiny_generator("wgangp-sep", ["Alp14"])


def render_of(model):
    return lambda z: model.cells(z, protein=0)


# --------------------------------------------------------------------------- optimisation


@pytest.mark.parametrize("mode", ["regular", "separable"])
def test_recovers_known_latent_from_nearby_start(separable_model, mode):
    render = render_of(separable_model)
    g = torch.Generator().manual_seed(1)
    z_true = torch.randn(4, NZ, generator=g)
    targets = render(z_true)
    init = torch.stack([z_true + 0.3 * torch.randn(4, NZ, generator=g), torch.randn(4, NZ, generator=g)], 1)
    start_rmse = cell_rmse(render(init[:, 0]), targets)
    other_rmse = cell_rmse(render(torch.randn(4, NZ, generator=g)), targets)  # a random cell

    fit = reconstruct_cells(render, targets, init, ReconstructOptions(mode=mode, outer_steps=10, lr=1.0),
                            nz_red=separable_model.nz_red)

    assert other_rmse.min() > 0.1 and start_rmse.max() < 0.06
    assert (fit.rmse < 0.01).all(), fit.restart_rmse
    assert (fit.restart_rmse[:, 0] < start_rmse).all()
    assert torch.allclose(cell_rmse(fit.images, targets), fit.rmse, atol=1e-6)


def test_paper_settings_call_the_generator_50_x_20_times_per_stage_and_restart():
    """The paper: LBFGS(lr=0.05) with torch's default max_iter=20, step() called 50 times: 1,000 closure
    evaluations per stage and restart for a problem that meets no stopping tolerance (here a linear
    "generator" with small gradients, on which fixed-step L-BFGS creeps)."""
    weights = torch.randn(NZ, 2 * 48 * 80, generator=torch.Generator().manual_seed(5), dtype=torch.float64)
    calls = []

    def render(z):
        calls.append(len(z))
        return (z @ (0.05 * weights)).view(-1, 2, 48, 80)

    z = torch.zeros(2, 3, NZ, dtype=torch.float64)  # two problems (restarts) of a batch of three cells
    options = ReconstructOptions()
    assert (options.outer_steps, options.inner_iterations, options.lr, options.batch_size) == (50, 20, 0.05, 64)
    targets = torch.ones(2, 3, 2, 48, 80, dtype=torch.float64)
    fitted, evaluations = fit_latents(render, targets, z, slice(0, NZ), slice(0, 2), options)
    assert evaluations.tolist() == [1000, 1000]
    assert len(calls) == 1000 and set(calls) == {6}  # one generator call per iteration for both problems
    assert not torch.equal(fitted, z)


def test_each_problem_is_torch_lbfgs_on_the_mean_error_of_its_batch(separable_model):
    """fit_latents on two problems equals torch.optim.LBFGS (no line search) run on each problem alone,
    with the paper's loss: torch.mean over the batch's cells, channels and pixels."""
    render = render_of(separable_model)
    g = torch.Generator().manual_seed(6)
    z_true = torch.randn(2, 3, NZ, generator=g)
    targets = render(z_true.flatten(0, 1)).view(2, 3, 2, 48, 80)
    z = (z_true + 0.2 * torch.randn(2, 3, NZ, generator=g)).double()
    model = separable_model.double()
    try:
        render = render_of(model)
        options = ReconstructOptions(outer_steps=3, inner_iterations=4, lr=0.5)
        fitted, _ = fit_latents(render, targets.double(), z, slice(0, NZ), slice(0, 2), options)
        for k in range(2):
            x = z[k].clone().requires_grad_(True)
            optimiser = torch.optim.LBFGS([x], lr=0.5, max_iter=4)

            def closure(optimiser=optimiser, k=k, x=x):
                optimiser.zero_grad()
                loss = torch.mean((targets[k].double() - render(x)) ** 2)
                loss.backward()
                return loss

            for _ in range(3):
                optimiser.step(closure)
            torch.testing.assert_close(fitted[k], x.detach(), rtol=1e-7, atol=1e-9)
    finally:
        separable_model.float()


def test_separable_stages_move_only_their_part_of_z(separable_model):
    render, nz_red = render_of(separable_model), separable_model.nz_red
    g = torch.Generator().manual_seed(2)
    targets = render(torch.randn(3, NZ, generator=g))[None]
    z = torch.randn(1, 3, NZ, generator=g)
    options = ReconstructOptions(outer_steps=2, inner_iterations=10, lr=1.0)

    red_fit, _ = fit_latents(render, targets, z, slice(0, nz_red), slice(0, 1), options)
    assert torch.equal(red_fit[..., nz_red:], z[..., nz_red:])
    assert not torch.equal(red_fit[..., :nz_red], z[..., :nz_red])
    red_error = cell_rmse(render(red_fit[0])[:, :1], targets[0, :, :1])
    assert red_error.mean() < cell_rmse(render(z[0])[:, :1], targets[0, :, :1]).mean()

    green_fit, _ = fit_latents(render, targets, red_fit, slice(nz_red, NZ), slice(1, 2), options)
    assert torch.equal(green_fit[..., :nz_red], red_fit[..., :nz_red])
    assert torch.equal(render(green_fit[0])[:, 0], render(red_fit[0])[:, 0])  # red depends on the red part only


@pytest.mark.parametrize("mode", ["regular", "separable"])
def test_best_restart_is_kept(separable_model, mode):
    render = render_of(separable_model)
    g = torch.Generator().manual_seed(3)
    targets = to_unit_range(random_cells(5, np.random.default_rng(0), ["Bgs4", "Alp14"]).images)
    targets = torch.from_numpy(targets)
    init = torch.randn(5, 4, NZ, generator=g)

    options = ReconstructOptions(mode=mode, outer_steps=2, inner_iterations=5, lr=0.5,
                                 batch_size=2)  # batches of 2, 2 and 1 cells: two problem sizes
    fit = reconstruct_cells(render, targets, init, options, nz_red=separable_model.nz_red)

    assert fit.restart_rmse.shape == (5, 4)
    assert (fit.rmse[:, None] <= fit.restart_rmse).all()
    assert torch.equal(fit.rmse, fit.restart_rmse.min(1).values)
    assert fit.restart_rmse.std(1).min() > 0  # the restarts did end at different errors
    assert torch.allclose(cell_rmse(render(fit.z), targets), fit.rmse, atol=1e-6)
    assert torch.allclose(render(fit.z), fit.images, atol=1e-6)


def test_latent_nll_is_the_standard_normal_density():
    z = torch.randn(6, 5, generator=torch.Generator().manual_seed(4))
    expected = -multivariate_normal(np.zeros(5), np.eye(5)).logpdf(z.numpy().astype(np.float64))
    np.testing.assert_allclose(latent_nll(z).numpy(), expected, rtol=1e-6)
    assert latent_nll(torch.zeros(1, 100)).item() == pytest.approx(50 * math.log(2 * math.pi))


def test_cell_rmse_is_in_unit_intensity_units():
    black = -torch.ones(2, 2, 4, 4)
    white = torch.ones(2, 2, 4, 4)
    assert torch.allclose(cell_rmse(black, white), torch.ones(2))
    half = black.clone()
    half[:, 1] = 1  # one channel of two differs by 1 in [0, 1] units
    assert torch.allclose(cell_rmse(half, black), torch.full((2,), math.sqrt(0.5)))


# --------------------------------------------------------------------------- files


def brute_force_nearest(images: np.ndarray, targets: np.ndarray, train: np.ndarray):
    """(row, RMSE in [0, 1] units) of each target's nearest training cell, by exhaustive search."""
    a = targets.reshape(len(targets), 1, -1).astype(np.float64) / 255
    b = images[train].reshape(1, len(train), -1).astype(np.float64) / 255
    rmse = np.sqrt(((a - b) ** 2).mean(2))
    best = rmse.argmin(1)
    return train[best], rmse[np.arange(len(targets)), best]


@pytest.mark.parametrize("name, mode", [
    ("wgangp-star", "regular"), ("wgangp-star", "separable"), ("wgangp", "regular"),
    ("wgangp-independent-sep", "separable"), ("wgangp-multichannel", "regular"),
])
def test_reconstruct_writes_cells_and_examples(tmp_path, name, mode):
    proteins = ["Alp14", "Arp3"]
    groups = write_random_store(tmp_path / "cells.h5", proteins, n=30, seed=5)
    save_tiny_generator(tmp_path / "g.pt", name, proteins)

    reconstruct(tmp_path / "g.pt", tmp_path / "cells.h5", tmp_path / "out",
                ReconstructOptions(mode=mode, n_cells=5, inner_iterations=4, outer_steps=1, restarts=2, seed=1,
                                   device="cpu", batch_size=3))

    cells = pd.read_csv(tmp_path / "out" / "cells.csv")
    assert tuple(cells.columns) == CELL_COLUMNS
    assert list(cells["protein"].unique()) == proteins
    model = load_generator(tmp_path / "g.pt")
    with h5py.File(tmp_path / "out" / "examples.h5", "r") as f:
        assert f.attrs["mode"] == mode
        for index, protein in enumerate(proteins):
            part = cells[cells["protein"] == protein]
            images, roles = groups[protein].images, groups[protein].meta["role"].to_numpy()
            test, train = np.flatnonzero(roles == "test"), np.flatnonzero(roles == "train")
            assert len(part) == min(5, len(test))
            assert set(part["row"]) <= set(test) and part["row"].is_unique

            nn_row, nn_rmse = brute_force_nearest(images, images[part["row"]], train)
            np.testing.assert_array_equal(part["nn_row"], nn_row)
            np.testing.assert_allclose(part["nn_rmse"], nn_rmse, atol=1e-6)

            example = {key: f[protein][key][()] for key in f[protein]}
            n = len(example["row"])
            assert n == len(part)  # fewer than N_EXAMPLES cells: all kept
            np.testing.assert_array_equal(example["row"], part["row"])
            np.testing.assert_array_equal(example["target"], images[example["row"]])
            np.testing.assert_array_equal(example["nearest"], images[example["nn_row"]])
            for key in ("target", "nearest", "reconstruction"):
                assert example[key].dtype == np.uint8 and example[key].shape == (n, 2, 48, 80)
            z = torch.from_numpy(example["z"])
            np.testing.assert_allclose(part["nll"], latent_nll(z).numpy(), rtol=1e-9)
            with torch.no_grad():
                recon = model.cells(z, protein=index if model.conditional else 0)
            target = torch.from_numpy(to_unit_range(example["target"]))
            np.testing.assert_allclose(part["rmse"], cell_rmse(recon, target).numpy(), atol=1e-5)
            assert (np.abs(example["reconstruction"].astype(int) - to_uint8(recon).astype(int)) <= 1).all()


def test_reconstruct_is_deterministic_and_draws_the_asked_number(tmp_path):
    write_random_store(tmp_path / "cells.h5", ["Alp14"], n=60, seed=6)
    save_tiny_generator(tmp_path / "g.pt", "wgangp-sep", ["Alp14"])
    runs = []
    for out in ("a", "b"):
        reconstruct(tmp_path / "g.pt", tmp_path / "cells.h5", tmp_path / out,
                    ReconstructOptions(n_cells=4, outer_steps=1, inner_iterations=3, restarts=2, seed=7, device="cpu"))
        runs.append((tmp_path / out / "cells.csv").read_bytes())
    assert runs[0] == runs[1]
    assert len(pd.read_csv(tmp_path / "a" / "cells.csv")) == 4

    reconstruct(tmp_path / "g.pt", tmp_path / "cells.h5", tmp_path / "c",
                ReconstructOptions(n_cells=4, outer_steps=1, inner_iterations=3, restarts=2, seed=8, device="cpu"))
    rows = {folder: set(pd.read_csv(tmp_path / folder / "cells.csv")["row"]) for folder in ("a", "c")}
    assert rows["c"] != rows["a"]


def test_summarise_gives_median_and_mad_per_protein_and_all(tmp_path):
    path = tmp_path / "cells.csv"
    pd.DataFrame({
        "protein": ["Alp14"] * 3 + ["Arp3"] * 2,
        "row": [0, 1, 2, 0, 1],
        "rmse": [0.1, 0.2, 0.6, 0.3, 0.5],
        "nll": [140.0, 150.0, 151.0, 160.0, 170.0],
        "nn_rmse": [0.2, 0.2, 0.3, 0.4, 0.4],
        "nn_row": [5, 6, 7, 5, 6],
    }).to_csv(path, index=False)

    table = summarise(path)

    assert tuple(table.columns) == SUMMARY_COLUMNS
    assert list(table["protein"]) == ["Alp14", "Arp3", "all"]
    alp14, arp3, everything = (row for _, row in table.iterrows())
    assert alp14["l2_median"] == pytest.approx(0.2) and alp14["l2_mad"] == pytest.approx(0.1)
    assert alp14["nll_median"] == pytest.approx(150.0) and alp14["nll_mad"] == pytest.approx(1.0)
    assert arp3["nn_median"] == pytest.approx(0.4) and arp3["nn_mad"] == pytest.approx(0.0)
    assert everything["l2_median"] == pytest.approx(0.3) and everything["l2_mad"] == pytest.approx(0.2)
    assert list(table["n_cells"]) == [3, 2, 5]


def test_summarise_refuses_a_table_without_the_columns(tmp_path):
    path = tmp_path / "cells.csv"
    path.write_text("protein,rmse\nAlp14,0.1\n")
    with pytest.raises(BiogansError, match=r"cells\.csv: not a reconstruction cells table \(no column nll, nn_rmse"):
        summarise(path)


# --------------------------------------------------------------------------- bad input


def assert_refused(tmp_path, match: str, **options) -> None:
    with pytest.raises(BiogansError, match=match) as error:
        settings = dict(n_cells=2, outer_steps=1, inner_iterations=2, restarts=1, device="cpu") | options
        reconstruct(tmp_path / "g.pt", tmp_path / "cells.h5", tmp_path / "out", ReconstructOptions(**settings))
    assert "\n" not in str(error.value)
    assert not (tmp_path / "out").exists() or not any((tmp_path / "out").iterdir())


def test_refuses_separable_mode_for_a_non_separable_model(tmp_path):
    write_random_store(tmp_path / "cells.h5", ["Alp14"], n=20)
    save_tiny_generator(tmp_path / "g.pt", "wgangp", ["Alp14"])
    assert_refused(tmp_path, r"g\.pt: separable reconstruction needs a separable model", mode="separable")


def test_refuses_a_model_protein_missing_from_the_store(tmp_path):
    write_random_store(tmp_path / "cells.h5", ["Alp14", "Arp3"], n=20)
    save_tiny_generator(tmp_path / "g.pt", "wgangp-star", ["Alp14", "Tea1"])
    assert_refused(tmp_path, r"cells\.h5: no group for Tea1")


def test_refuses_a_protein_without_test_cells(tmp_path):
    rng = np.random.default_rng(9)
    groups = {p: random_cells(20, rng, ["Bgs4", p]) for p in ("Alp14", "Arp3")}
    groups["Arp3"].meta["role"] = "train"
    write_store(tmp_path / "cells.h5", groups, source="test")
    assert read_store(tmp_path / "cells.h5")["Alp14"].role_indices("test").size > 0
    save_tiny_generator(tmp_path / "g.pt", "wgangp-star", ["Alp14", "Arp3"])
    assert_refused(tmp_path, r"cells\.h5: protein Arp3 has no test cells")


def test_refuses_bad_options(tmp_path):
    write_random_store(tmp_path / "cells.h5", ["Alp14"], n=20)
    save_tiny_generator(tmp_path / "g.pt", "wgangp-sep", ["Alp14"])
    assert_refused(tmp_path, "--mode: 'joint' is not one of regular, separable", mode="joint")
    assert_refused(tmp_path, "--lr: must be > 0, got 0", lr=0.0)
