"""The CUDA path: train, resume, sample, C2ST and reconstruction on a GPU, with the invariants the CPU tests
check (finite outputs, resume exactness under deterministic settings, bfloat16 within its tolerance,
grouped critics equal to single ones). Marked ``cuda``; skipped, with the reason shown, without a GPU."""

from __future__ import annotations

import dataclasses
import json
import os
import re

import numpy as np
import pandas as pd
import pytest
import torch
from conftest import write_random_store
from test_c2st import synthetic_comparisons
from test_reconstruct import NZ, save_tiny_generator, tiny_generator
from test_train import PROTEINS, tiny_options

from biogans.cli import main
from biogans.data.options import SplitOptions
from biogans.data.splits import make_splits
from biogans.evaluate.c2st import run_c2st
from biogans.evaluate.options import C2STOptions, ReconstructOptions
from biogans.evaluate.reconstruct import cell_rmse, reconstruct_cells
from biogans.ome import read_ome_tiff
from biogans.train.checkpoints import load_generator
from biogans.train.loop import Trainer, train

# cuBLAS reads this when its first handle is made: deterministic matrix products for the resume test.
os.environ.setdefault("CUBLAS_WORKSPACE_CONFIG", ":4096:8")

pytestmark = [
    pytest.mark.cuda,
    pytest.mark.skipif(not torch.cuda.is_available(), reason="no CUDA device on this machine"),
]


@pytest.fixture
def deterministic():
    """Deterministic GPU kernels (cuDNN and the rest), as a resumed run needs to match an uninterrupted one."""
    torch.use_deterministic_algorithms(True)
    benchmark, torch.backends.cudnn.benchmark = torch.backends.cudnn.benchmark, False
    yield
    torch.use_deterministic_algorithms(False)
    torch.backends.cudnn.benchmark = benchmark


@pytest.fixture
def store(tmp_path):
    path = tmp_path / "cells.h5"
    write_random_store(path, PROTEINS, n=40)
    return path


def _weights(path):
    return torch.load(path, weights_only=True)["state_dict"]


#: Resumed against uninterrupted weights after 6 iterations: GAN bit for bit; WGAN-GP differed by up to 2e-7 on an
#: H200 under deterministic algorithms (its penalty's double backward), far below what a resume fault gives.
RESUME_TOLERANCE = {"gan-star": 0.0, "wgangp-sep": 1e-5}


@pytest.mark.parametrize("model", list(RESUME_TOLERANCE))
def test_training_on_cuda_is_finite_and_resumes_to_the_same_weights(model, store, tmp_path, deterministic):
    straight = tmp_path / "straight"
    options = tiny_options(model, iterations=6, checkpoints=[3, 6], resume_every=3, device="cuda",
                           precision="float32", cuda_graphs="off")
    train(store, straight, options)
    log = pd.read_csv(straight / "train_log.csv")
    assert np.isfinite(log[["loss_critic", "loss_generator"]].to_numpy()).all()

    resumed = tmp_path / "resumed"
    train(store, resumed, dataclasses.replace(options, iterations=3, checkpoints=(3,)))
    train(store, resumed, options)  # continues from resume.pt at iteration 3
    for name in ("generator_3.pt", "generator_6.pt"):  # the same run twice, then the resumed one
        expected, again = _weights(straight / name), _weights(resumed / name)
        assert expected.keys() == again.keys()
        for key in expected:
            assert expected[key].device.type == "cpu"  # generator files load anywhere
            torch.testing.assert_close(again[key], expected[key], rtol=0, atol=RESUME_TOLERANCE[model],
                                       msg=lambda m, key=key, name=name: f"{name} {key}: {m}")


@pytest.mark.parametrize("model", ["wgangp-sep", "wgan", "gan-star"])
def test_training_replayed_as_cuda_graphs_matches_eager_training(model, store, tmp_path, deterministic):
    options = tiny_options(model, iterations=6, checkpoints=[6], device="cuda", precision="float32")
    for mode in ("off", "on"):
        train(store, tmp_path / mode, dataclasses.replace(options, cuda_graphs=mode))
    eager, graphed = _weights(tmp_path / "off" / "generator_6.pt"), _weights(tmp_path / "on" / "generator_6.pt")
    for key in eager:
        torch.testing.assert_close(graphed[key], eager[key], rtol=0, atol=1e-5)


def test_a_graphed_trainer_captures_and_replays_its_iteration(store):
    from biogans.data.loaders import JointSampler
    from biogans.data.store import read_store

    rng = torch.Generator().manual_seed(0)
    sampler = JointSampler(read_store(store), PROTEINS, 4, rng)
    trainer = Trainer(tiny_options("wgangp", device="cuda", cuda_graphs="on"), sampler, torch.device("cuda"))
    losses = [trainer.step(100 + i)["loss_critic"] for i in range(5)]
    assert trainer.graphs and trainer._graphed[5].graph is not None  # captured after 2 eager iterations
    assert np.isfinite(losses).all() and len(set(losses)) == 5  # replays see new batches


def test_bfloat16_training_on_cuda_stays_finite_and_moves_the_weights(store, tmp_path):
    out = tmp_path / "bf16"
    train(store, out, tiny_options("wgangp-star", device="cuda", precision="bfloat16"))
    log = pd.read_csv(out / "train_log.csv")
    assert np.isfinite(log[["loss_critic", "loss_generator", "wasserstein"]].to_numpy()).all()
    weights = _weights(out / "generator_4.pt")
    assert all(torch.isfinite(w).all() for w in weights.values() if w.is_floating_point())


def test_sample_on_cuda_writes_the_same_cells_as_on_the_cpu(tmp_path):
    save_tiny_generator(tmp_path / "g.pt", "wgangp-star", PROTEINS)
    for device in ("cpu", "cuda"):
        out = tmp_path / f"{device}.ome.tif"
        assert main(["sample", str(tmp_path / "g.pt"), "--n", "12", "--seed", "3", "--device", device,
                     "--out", str(out)]) == 0
    cpu = read_ome_tiff(tmp_path / "cpu.ome.tif")[0]
    cuda = read_ome_tiff(tmp_path / "cuda.ome.tif")[0]
    assert cuda.shape == (12, 1 + len(PROTEINS), 48, 80) and np.isfinite(cuda).all()
    assert cuda.min() >= 0 and cuda.max() <= 1
    np.testing.assert_allclose(cuda, cpu, atol=2e-3)  # float32 on two devices: rounding only


def test_c2st_on_cuda_groups_like_single_critics_and_separates_sets():
    bank, comparisons = synthetic_comparisons(splits=2, n=40)
    options = C2STOptions(evaluator="wgangp", steps=100, batch_size=16, ndf=4, passes=2, lr=1e-3, device="cuda",
                          precision="float32")
    together = run_c2st(bank, comparisons, options)
    alone = [run_c2st(bank, [c], dataclasses.replace(options, max_groups=1))[0] for c in comparisons[:2]]
    for grouped, single in zip(together, alone, strict=True):
        assert grouped.score == pytest.approx(single.score, abs=0.05)  # float32 rounding, amplified by training
    for c, outcome in zip(comparisons, together, strict=True):
        assert np.isfinite(outcome.score)
        assert (outcome.score > 1) == (c.versus == "caps")
    bfloat16 = run_c2st(bank, comparisons, dataclasses.replace(options, precision="bfloat16"))
    for c, a, b in zip(comparisons, together, bfloat16, strict=True):
        assert b.score == pytest.approx(a.score, abs=1.0)  # the CPU test's tolerance
        assert (b.score > 1) == (c.versus == "caps")


def test_c2st_critics_replayed_as_cuda_graphs_score_like_eager_ones():
    bank, comparisons = synthetic_comparisons(splits=2, n=40)
    options = C2STOptions(evaluator="wgangp", steps=60, batch_size=16, ndf=4, passes=2, lr=1e-3, device="cuda",
                          precision="float32", max_groups=len(comparisons))
    eager = run_c2st(bank, comparisons, dataclasses.replace(options, cuda_graphs="off"))
    graphed = run_c2st(bank, comparisons, dataclasses.replace(options, cuda_graphs="on"))
    for a, b in zip(eager, graphed, strict=True):  # GPU kernels with float atomics: 3.4e-4 apart on an H200, run to run
        assert b.score == pytest.approx(a.score, abs=5e-3)
        assert abs(a.correct - b.correct) <= 1 and a.n == b.n


def test_c2st_setup_on_cuda_measures_group_sizes_precisions_and_graphs(caplog):
    bank, comparisons = synthetic_comparisons(splits=2, n=12)
    options = C2STOptions(steps=3, batch_size=4, ndf=4, passes=1, device="cuda", precision="auto")
    with caplog.at_level("INFO", logger="biogans.evaluate.c2st"):
        run_c2st(bank, comparisons, options)
    assert re.search(r"critics per grouped network: [14].*1 float32: [0-9.]+, 1 float32 graphed: [0-9.]+, "
                     r"1 bfloat16: [0-9.]+, 1 bfloat16 graphed: [0-9.]+, 4 float32", caplog.text), caplog.text


def test_c2st_command_on_cuda(tmp_path):
    write_random_store(tmp_path / "cells.h5", PROTEINS, n=40)
    make_splits(tmp_path / "cells.h5", tmp_path / "splits.h5", SplitOptions(n_splits=2))
    out = tmp_path / "Alp14.csv"
    assert main(["c2st", "real-vs-real", str(tmp_path / "cells.h5"), str(tmp_path / "splits.h5"), "--protein",
                 "Alp14", "--steps", "5", "--ndf", "4", "--batch-size", "8", "--passes", "1", "--device", "cuda",
                 "--precision", "auto", "--out", str(out)]) == 0
    rows = pd.read_csv(out)
    assert len(rows) == 2 * len(PROTEINS) and np.isfinite(rows["score"]).all()


def test_reconstruction_on_cuda_matches_the_cpu(tmp_path):
    model = tiny_generator("wgangp-sep", ["Alp14"])
    g = torch.Generator().manual_seed(1)
    targets = model.cells(torch.randn(4, NZ, generator=g), protein=0)
    init = torch.randn(4, 2, NZ, generator=g)
    options = ReconstructOptions(mode="separable", outer_steps=3, inner_iterations=5, lr=0.5)
    on_cpu = reconstruct_cells(lambda z: model.cells(z, protein=0), targets, init, options, nz_red=model.nz_red)
    gpu_model = model.to("cuda")
    on_gpu = reconstruct_cells(lambda z: gpu_model.cells(z, protein=0), targets.cuda(), init.cuda(), options,
                               nz_red=gpu_model.nz_red)
    assert on_gpu.z.device.type == "cuda" and torch.isfinite(on_gpu.rmse).all()
    assert (on_gpu.rmse.cpu() <= cell_rmse(gpu_model.cells(init[:, 0].cuda(), protein=0), targets.cuda()).cpu()).all()
    torch.testing.assert_close(on_gpu.rmse.cpu(), on_cpu.rmse, atol=2e-3, rtol=0)


def test_reconstruct_command_on_cuda(tmp_path):
    write_random_store(tmp_path / "cells.h5", ["Alp14", "Arp3"], n=30, seed=5)
    save_tiny_generator(tmp_path / "g.pt", "wgangp-star", ["Alp14", "Arp3"])
    assert main(["reconstruct", str(tmp_path / "g.pt"), str(tmp_path / "cells.h5"), str(tmp_path / "out"),
                 "--n-cells", "4", "--outer-steps", "2", "--inner-iterations", "3", "--restarts", "2",
                 "--device", "cuda"]) == 0
    cells = pd.read_csv(tmp_path / "out" / "cells.csv")
    assert len(cells) == 8 and np.isfinite(cells[["rmse", "nll", "nn_rmse"]].to_numpy()).all()
    assert load_generator(tmp_path / "g.pt", "cuda").spec["architecture"] == "star"


def test_bench_runs_every_case_on_cuda(tmp_path):
    out = tmp_path / "bench.json"
    assert main(["bench", "--quick", "--device", "cuda", "--json", str(out)]) == 0
    results = json.loads(out.read_text())
    assert results["machine"]["gpu"] and results["machine"]["device"] == "cuda"
    assert all(r["seconds"] > 0 for r in results["cases"].values())
