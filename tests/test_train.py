"""Training: objectives, the loop, checkpoints, resume after SIGKILL, sampling, assembly."""

from __future__ import annotations

import csv
import os
import signal
import subprocess
import sys
import time

import numpy as np
import pytest
import torch

from biogans.cli import main
from biogans.data.neighbours import find_neighbours
from biogans.data.options import NeighbourOptions
from biogans.data.store import read_store
from biogans.errors import BiogansError
from biogans.models import build, build_critic, spec_for
from biogans.models.zoo import definition
from biogans.train.checkpoints import (
    GENERATOR_FORMAT,
    load_file,
    load_generator,
    save_generator,
)
from biogans.train.loop import Trainer, make_sampler, train
from biogans.train.options import TrainOptions

PROTEINS = ["Alp14", "Arp3", "Sid2"]


def tiny_options(model: str, proteins=PROTEINS, **kwargs) -> TrainOptions:
    width = 8 if model == "wgangp-multichannel-sep" else 4  # 0.143 of 4 channels is no red channel
    settings = dict(iterations=4, checkpoints=[2, 4], batch_size=4, ngf=width, ndf=4, resume_every=2, log_every=1)
    settings.update(kwargs)
    return TrainOptions(model=model, proteins=tuple(proteins), **settings)


@pytest.mark.parametrize("model", ["gan", "wgan", "wgangp", "gan-star", "wgangp-star", "wgangp-multichannel-sep"])
def test_one_step_of_each_objective_changes_both_networks(model, tiny_store, tmp_path):
    path, _ = tiny_store
    find_neighbours(path, tmp_path / "nn.h5", NeighbourOptions(k=2))
    options = tiny_options(model, critic_steps=1)
    rng = torch.Generator().manual_seed(0)
    sampler = make_sampler(definition(model).architecture, path, list(options.proteins), 4, rng, tmp_path / "nn.h5")
    trainer = Trainer(options, sampler, torch.device("cpu"))
    before_g = [p.detach().clone() for p in trainer.generator.parameters()]
    before_c = [p.detach().clone() for p in trainer.critic.parameters()]
    stats = trainer.step(30)  # past WGAN's 100-critic-step warm-up
    assert all(np.isfinite(v) for v in stats.values())
    assert any(not torch.equal(a, b) for a, b in zip(before_g, trainer.generator.parameters(), strict=True))
    assert any(not torch.equal(a, b) for a, b in zip(before_c, trainer.critic.parameters(), strict=True))
    if model.startswith("wgan-") or model == "wgan":
        assert max(p.abs().max() for p in trainer.critic.parameters()) <= 0.01 + 1e-7


def _trainer_after_steps(path, model, steps=3, **kwargs):
    options = tiny_options(model, critic_steps=2, **kwargs)
    rng = torch.Generator().manual_seed(0)
    sampler = make_sampler(definition(model).architecture, path, list(options.proteins), 4, rng, None)
    trainer = Trainer(options, sampler, torch.device("cpu"))
    losses = [trainer.step(100 + i) for i in range(steps)]
    return trainer, losses


@pytest.mark.parametrize("model", ["wgangp-sep", "wgangp-star"])
def test_channels_last_and_bf16_options_train_like_float32(model, tiny_store):
    path, _ = tiny_store
    reference, _ = _trainer_after_steps(path, model)
    channels_last, _ = _trainer_after_steps(path, model, channels_last=True)
    assert next(channels_last.critic.parameters()).is_contiguous(memory_format=torch.channels_last)
    for a, b in zip(reference.generator.parameters(), channels_last.generator.parameters(), strict=True):
        torch.testing.assert_close(b, a, rtol=1e-3, atol=1e-3)  # float rounding, amplified by Adam
    bf16, losses = _trainer_after_steps(path, model, precision="bfloat16")
    assert all(np.isfinite(v) for step in losses for v in step.values())
    assert any(not torch.equal(a, b)
               for a, b in zip(reference.generator.parameters(), bf16.generator.parameters(), strict=True))


def test_training_writes_checkpoints_samples_log_and_options(tiny_store, tmp_path):
    path, _ = tiny_store
    out = tmp_path / "wgangp-sep"
    train(path, out, tiny_options("wgangp-sep"))
    for iteration in (2, 4):
        assert (out / f"generator_{iteration}.pt").is_file()
        assert (out / f"samples_{iteration}.png").stat().st_size > 0
    model = load_generator(out / "generator_4.pt")
    assert model.spec["architecture"] == "separable" and model.iteration == 4
    with open(out / "train_log.csv") as f:
        rows = list(csv.DictReader(f))
    assert [int(r["iteration"]) for r in rows] == [1, 2, 3, 4]
    assert all(np.isfinite(float(r["wasserstein"])) for r in rows)
    assert (out / "train_options.json").read_text().count('"model": "wgangp-sep"') == 1


def test_generator_files_hold_only_tensors_and_plain_metadata(tiny_store, tmp_path):
    path, _ = tiny_store
    train(path, tmp_path / "m", tiny_options("gan-star"))
    payload = torch.load(tmp_path / "m" / "generator_4.pt", weights_only=True)
    assert set(payload) == {"format", "version", "spec", "iteration", "state_dict"}
    assert all(isinstance(v, torch.Tensor) for v in payload["state_dict"].values())
    z = torch.randn(3, payload["spec"]["nz"])
    model = load_generator(tmp_path / "m" / "generator_4.pt")
    again = build(load_file(tmp_path / "m" / "generator_4.pt", GENERATOR_FORMAT)["spec"])
    again.load_state_dict(payload["state_dict"])
    with torch.no_grad():
        torch.testing.assert_close(model(z), again.eval()(z))


def _weights(path):
    return torch.load(path, weights_only=True)["state_dict"]


def test_a_run_killed_with_sigkill_resumes_to_the_same_weights(tiny_store, tmp_path):
    path, _ = tiny_store
    args = ["train", str(path), "", "--model", "gan-star", "--proteins", *PROTEINS, "--iterations", "120",
            "--checkpoints", "10", "120", "--batch-size", "4", "--ngf", "4", "--ndf", "4", "--resume-every", "10"]
    reference = tmp_path / "reference"
    assert main([*args[:2], str(reference), *args[3:]]) == 0

    killed = tmp_path / "killed"
    command = [sys.executable, "-m", "biogans", *args[:2], str(killed), *args[3:]]
    env = dict(os.environ, OMP_NUM_THREADS=str(torch.get_num_threads()))
    process = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, env=env)
    deadline = time.monotonic() + 120
    while not (killed / "resume.pt").exists() and time.monotonic() < deadline:
        time.sleep(0.01)
    process.send_signal(signal.SIGKILL)
    assert process.wait() == -signal.SIGKILL, "the run finished before it could be killed"
    interrupted_at = torch.load(killed / "resume.pt", weights_only=True)["iteration"]
    assert 10 <= interrupted_at < 120
    (killed / "generator_10.pt").unlink(missing_ok=True)  # as Snakemake deletes a failed job's outputs

    assert main([*args[:2], str(killed), *args[3:]]) == 0
    for name in ("generator_10.pt", "generator_120.pt"):
        expected, resumed = _weights(reference / name), _weights(killed / name)
        assert expected.keys() == resumed.keys()
        for key in expected:
            torch.testing.assert_close(resumed[key], expected[key], rtol=0, atol=0)
    with open(killed / "train_log.csv") as f:
        iterations = [int(row["iteration"]) for row in csv.DictReader(f)]
    assert iterations == sorted(set(iterations)) and iterations[-1] == 120


def test_non_finite_loss_stops_and_keeps_the_last_good_resume_state(tiny_store, tmp_path, monkeypatch):
    path, _ = tiny_store
    real_step = Trainer.step

    def step(self, iteration):
        stats = real_step(self, iteration)
        return {**stats, "loss_critic": float("nan")} if iteration == 4 else stats

    monkeypatch.setattr(Trainer, "step", step)
    with pytest.raises(BiogansError, match="non-finite loss at iteration 5.*iteration 4"):
        train(path, tmp_path / "m", tiny_options("gan", iterations=8, checkpoints=[8]))
    assert torch.load(tmp_path / "m" / "resume.pt", weights_only=True)["iteration"] == 4


def test_independent_parts_train_alone_and_assemble(tiny_store, tmp_path):
    path, _ = tiny_store
    parts = []
    for protein in ["Alp14", "Sid2"]:
        train(path, tmp_path / protein, tiny_options("wgangp-independent-sep", proteins=[protein]))
        parts.append(tmp_path / protein / "generator_4.pt")
    assert main(["assemble", *map(str, parts), "--out", str(tmp_path / "bundle.pt")]) == 0
    bundle = load_generator(tmp_path / "bundle.pt")
    assert bundle.spec["architecture"] == "independent" and bundle.proteins == ["Alp14", "Sid2"]
    z = torch.randn(5, bundle.nz)
    with torch.no_grad():
        for p, part in enumerate(parts):
            torch.testing.assert_close(bundle.cells(z)[:, p], load_generator(part)(z))
    with pytest.raises(BiogansError, match="trains one protein per job"):
        train(path, tmp_path / "x", tiny_options("gan-independent", proteins=["Alp14", "Sid2"]))


def test_sampling_is_deterministic_by_seed(tiny_store, tmp_path):
    path, _ = tiny_store
    train(path, tmp_path / "m", tiny_options("gan-star"))
    generator = str(tmp_path / "m" / "generator_4.pt")
    for name, seed in (("a", 1), ("b", 1), ("c", 2)):
        assert main(["sample", generator, "--n", "6", "--seed", str(seed), "--out", str(tmp_path / f"{name}.h5")]) == 0
    a, b, c = (read_store(tmp_path / f"{x}.h5") for x in "abc")
    assert list(a) == PROTEINS and a["Sid2"].images.shape == (6, 2, 48, 80)
    np.testing.assert_array_equal(a["Arp3"].images, b["Arp3"].images)
    assert not np.array_equal(a["Arp3"].images, c["Arp3"].images)
    # the star model shares one red across proteins for the same latent
    np.testing.assert_array_equal(a["Alp14"].images[:, 0], a["Sid2"].images[:, 0])
    sample = ["sample", generator, "--n", "4", "--seed", "0"]
    assert main([*sample, "--all-proteins", "--out", str(tmp_path / "j.h5")]) == 0
    assert read_store(tmp_path / "j.h5")["all_proteins"].images.shape == (4, 4, 48, 80)
    assert main([*sample, "--protein", "Arp3", "--out", str(tmp_path / "p.png")]) == 0
    assert (tmp_path / "p.png").stat().st_size > 0


def _save_tiny(tmp_path, name="gen.pt"):
    model = build(spec_for("wgangp", ["Alp14"], ngf=4))
    save_generator(tmp_path / name, model, 7)
    return tmp_path / name


def _cli_error(args, capsys) -> str:
    assert main(args) == 1
    err = capsys.readouterr().err
    assert err.startswith("error: ") and err.count("\n") == 1
    return err


def test_truncated_and_foreign_checkpoints_are_refused(tmp_path, capsys):
    good = _save_tiny(tmp_path)
    truncated = tmp_path / "truncated.pt"
    truncated.write_bytes(good.read_bytes()[:1000])
    sample = ["--n", "2", "--seed", "0", "--out", str(tmp_path / "x.png")]
    assert "corrupted or truncated" in _cli_error(["sample", str(truncated), *sample], capsys)
    assert not (tmp_path / "x.png").exists()

    class Payload:  # an arbitrary object: torch.load(weights_only=True) must not unpickle it
        def __reduce__(self):
            return (print, ("unpickled!",))

    evil = tmp_path / "evil.pt"
    torch.save({"format": "biogans-generator/1", "spec": Payload()}, evil)
    err = _cli_error(["sample", str(evil), *sample], capsys)
    assert "refused" in err and "unpickled!" not in capsys.readouterr().out


def test_spec_weights_mismatch_is_refused(tmp_path, capsys):
    good = _save_tiny(tmp_path)
    payload = torch.load(good, weights_only=True)
    payload["spec"]["ngf"] = 8
    torch.save(payload, tmp_path / "mismatch.pt")
    sample = ["--n", "2", "--seed", "0", "--out", str(tmp_path / "x.h5")]
    err = _cli_error(["sample", str(tmp_path / "mismatch.pt"), *sample], capsys)
    assert "do not match" in err and not (tmp_path / "x.h5").exists()


def test_bad_training_requests_are_one_line_errors(tiny_store, tmp_path, capsys):
    path, _ = tiny_store
    base = ["train", str(path), str(tmp_path / "m"), "--iterations", "2", "--ngf", "4", "--ndf", "4"]
    assert "unknown model" in _cli_error([*base, "--model", "wgan-gp", "--proteins", "Alp14"], capsys)
    assert "Tea1" in _cli_error([*base, "--model", "gan", "--proteins", "Alp14", "Tea1"], capsys)
    multichannel = [*base, "--model", "wgangp-multichannel", "--proteins", "Alp14", "Sid2"]
    assert "--neighbours" in _cli_error(multichannel, capsys)
    assert not (tmp_path / "m").exists()


def test_the_last_iteration_is_always_written(tiny_store, tmp_path):
    path, _ = tiny_store
    train(path, tmp_path / "m", tiny_options("wgangp", iterations=3, checkpoints=None))
    assert sorted(p.name for p in (tmp_path / "m").glob("generator_*.pt")) == ["generator_3.pt"]
    assert TrainOptions(model="wgangp", proteins=("Alp14",), iterations=400).checkpoint_iterations == [100, 400]


def test_critic_matches_the_generator_layout():
    spec = spec_for("wgangp-star", PROTEINS, ngf=4)
    model, critic = build(spec), build_critic(spec, 4, batchnorm=False)
    z = torch.randn(2, model.nz)
    assert critic(model.to_critic(model(z))).shape == (2, len(PROTEINS))


def test_ome_tiff_samples_open_with_named_channels_scale_and_the_h5_values(tiny_store, tmp_path):
    import tifffile

    from biogans.ome import read_ome_metadata, read_ome_tiff

    path, _ = tiny_store
    train(path, tmp_path / "m", tiny_options("wgangp-star"))
    generator = str(tmp_path / "m" / "generator_4.pt")
    common = ["--n", "5", "--seed", "3"]
    assert main(["sample", generator, *common, "--out", str(tmp_path / "cells.ome.tif")]) == 0
    assert main(["sample", generator, *common, "--all-proteins", "--out", str(tmp_path / "cells.h5")]) == 0
    with tifffile.TiffFile(tmp_path / "cells.ome.tif") as tif:
        assert tif.is_ome and tif.series[0].axes == "TCYX" and tif.series[0].shape == (5, 4, 48, 80)
    images, metadata, description = read_ome_tiff(tmp_path / "cells.ome.tif")
    assert metadata.channel_names == ("Bgs4", *PROTEINS) and metadata.pixel_size_um == 0.19
    assert metadata.pixel_type == "float" and images.dtype == np.float32
    assert description["seed"] == 3 and description["spec"]["architecture"] == "star"
    stored = read_store(tmp_path / "cells.h5")["all_proteins"]
    assert stored.channels == ["Bgs4", *PROTEINS]
    assert np.abs(np.rint(images * 255) - stored.images).max() <= 1  # the same cells, 8-bit in the store

    assert main(["sample", generator, *common, "--protein", "Sid2", "--pixel-size", "0.13",
                 "--out", str(tmp_path / "sid2.ome.tif")]) == 0
    one = read_ome_metadata(tmp_path / "sid2.ome.tif")
    assert one.channel_names == ("Bgs4", "Sid2") and one.pixel_size_um == 0.13


@pytest.mark.parametrize("model", ["gan-sep", "wgangp-sep"])
def test_compiled_networks_train_like_eager_ones(model, tiny_store, monkeypatch):
    """--compile: the same outputs and gradients (torch.compile's aot_eager backend here, which traces and
    runs the same graphs as the default inductor without minutes of C++ compilation in the tests)."""
    from biogans.train import loop

    monkeypatch.setattr(loop, "COMPILE_BACKEND", "aot_eager")
    path, _ = tiny_store
    eager, eager_losses = _trainer_after_steps(path, model)
    compiled, compiled_losses = _trainer_after_steps(path, model, compile=True)
    assert compiled.compiled == (["generator", "critic"] if model == "gan-sep" else ["generator"])
    for a, b in zip(eager.generator.parameters(), compiled.generator.parameters(), strict=True):
        torch.testing.assert_close(b, a, rtol=1e-4, atol=1e-5)
    for a, b in zip(eager_losses, compiled_losses, strict=True):
        assert a["loss_critic"] == pytest.approx(b["loss_critic"], rel=1e-4, abs=1e-6)
