"""The classifier two-sample test: grouped equals one-by-one, what the scores say, the three modes
through the command line, and every bad input."""

from __future__ import annotations

import dataclasses
import re

import numpy as np
import pandas as pd
import pytest
import torch

from biogans.cli import main
from biogans.data.options import PreprocessOptions, SimulateOptions, SplitOptions
from biogans.data.preprocess import preprocess
from biogans.data.simulate import simulate
from biogans.data.splits import make_splits
from biogans.data.store import CellSet, empty_meta, read_store, write_store
from biogans.errors import BiogansError
from biogans.evaluate import critics
from biogans.evaluate.c2st import Comparison, run_c2st, versus_generated
from biogans.evaluate.c2st_results import COLUMNS, read_results, summary
from biogans.evaluate.generated import GeneratedSide, GeneratorSource
from biogans.evaluate.options import C2STOptions
from biogans.models import build, spec_for
from biogans.proteins import ALL_PROTEINS
from biogans.train.checkpoints import save_generator

# Tiny critics, few steps: enough to exercise everything, seconds per test.
FAST = ["--steps", "3", "--ndf", "4", "--batch-size", "8", "--passes", "1"]


pytestmark = pytest.mark.usefixtures("one_thread")


# --------------------------------------------------------------------------- synthetic sets

def blob_cells(n: int, generator: torch.Generator, kind: str, height: int = 16, width: int = 32) -> torch.Tensor:
    """Small two-channel 'cells' in [-1, 1]: a red rod; the green a dot at a random place along it
    ('dot', Sid2-like) or caps at both ends ('caps', Tea1-like); pixel noise on top."""
    yy, xx = torch.meshgrid(torch.arange(height), torch.arange(width), indexing="ij")
    rod = ((yy - height / 2 + 0.5).abs() < height / 4) & ((xx - width / 2 + 0.5).abs() < width * 0.4)
    x = torch.full((n, 2, height, width), -1.0)
    x[:, 0] = torch.where(rod, 0.2, -1.0)
    if kind == "dot":
        centre = torch.randint(width // 4, 3 * width // 4, (n, 1, 1), generator=generator)
        x[:, 1] = torch.where(rod & ((xx - centre).abs() <= 1), 0.9, torch.where(rod, -0.6, -1.0))
    else:
        caps = rod & (((xx - width * 0.1).abs() <= 2) | ((xx - width * 0.9).abs() <= 2))
        x[:, 1] = torch.where(caps, 0.9, torch.where(rod, -0.6, -1.0))
    noise = 0.1 * torch.randn(x.shape, generator=generator)
    return (x + noise * rod).clamp(-1, 1)


def synthetic_comparisons(splits: int, n: int = 40, seed: int = 0) -> tuple[torch.Tensor, list[Comparison]]:
    """A bank of 'dot' cells (two sets) and 'caps' cells; per split, dot vs dot and dot vs caps."""
    generator = torch.Generator().manual_seed(seed)
    bank = torch.cat([blob_cells(2 * n, generator, "dot"), blob_cells(n, generator, "caps")])
    rng = np.random.default_rng(seed)
    comparisons = []
    for s in range(splits):
        dots, caps = rng.permutation(2 * n), rng.permutation(n) + 2 * n
        h = n // 2
        comparisons.append(Comparison("dot", "dot", s, dots[:h], dots[h:n], dots[n:n + h], dots[n + h:]))
        comparisons.append(Comparison("dot", "caps", s, dots[:h], dots[h:n], caps[:h], caps[h:]))
    return bank, comparisons


@pytest.fixture
def float64():
    """Double precision, so that float32 rounding differences (grouped vs single convolutions), which
    training amplifies, do not hide whether the computations are the same."""
    dtype = torch.get_default_dtype()
    torch.set_default_dtype(torch.float64)
    yield
    torch.set_default_dtype(dtype)


@pytest.mark.parametrize("evaluator", ["gan", "wgan", "wgangp"])
def test_groups_trained_together_score_as_one_by_one(evaluator, float64):
    bank, comparisons = synthetic_comparisons(splits=2, n=12)
    bank, comparisons = bank.double(), comparisons[:3]
    options = C2STOptions(evaluator=evaluator, steps=20, batch_size=8, ndf=4, passes=2, device="cpu", lr=2e-3,
                          max_groups=3)
    together = run_c2st(bank, comparisons, options)  # one grouped network of 3 critics
    alone = [run_c2st(bank, [c], options)[0] for c in comparisons]
    for grouped, single in zip(together, alone, strict=True):
        assert grouped.score == pytest.approx(single.score, rel=1e-9)
        assert (grouped.correct, grouped.n) == (single.correct, single.n)
    # a different seed gives different critics, so the equality above is not vacuous
    reseeded = run_c2st(bank, comparisons[:1], dataclasses.replace(options, seed=1))
    assert reseeded[0].score != pytest.approx(alone[0].score, rel=1e-5)


def test_wgangp_score_is_near_zero_for_one_distribution_and_positive_for_two():
    bank, comparisons = synthetic_comparisons(splits=3, n=80)
    options = C2STOptions(evaluator="wgangp", steps=150, batch_size=16, ndf=4, passes=2, lr=1e-3, device="cpu")
    outcomes = run_c2st(bank, comparisons, options)
    same = np.array([o.score for c, o in zip(comparisons, outcomes, strict=True) if c.versus == "dot"])
    different = np.array([o.score for c, o in zip(comparisons, outcomes, strict=True) if c.versus == "caps"])
    assert same.min() > -1.5 and same.max() < 0.5 and same.mean() < 0.2  # ~0, slightly negative
    assert different.min() > 3


def test_bfloat16_critics_score_like_float32_ones():
    """--precision bfloat16 (autocast; the critics' arithmetic rounds to 8 bits of mantissa, so training
    drifts apart like a reseeded run): every score within 1 of float32's (different sets score 8-11 here,
    and reseeding float32 moves them by up to 2.7), and the same verdict on every comparison."""
    bank, comparisons = synthetic_comparisons(splits=3, n=80)
    options = C2STOptions(evaluator="wgangp", steps=150, batch_size=16, ndf=4, passes=2, lr=1e-3, device="cpu",
                          max_groups=len(comparisons))
    float32 = run_c2st(bank, comparisons, options)
    bfloat16 = run_c2st(bank, comparisons, dataclasses.replace(options, precision="bfloat16"))
    for c, a, b in zip(comparisons, float32, bfloat16, strict=True):
        assert b.score == pytest.approx(a.score, abs=1.0)
        assert (b.score > 1) == (a.score > 1) == (c.versus == "caps")
    assert [a.score for a in float32] != [b.score for b in bfloat16]  # bf16 did run


def test_auto_precision_and_group_size_are_measured_and_logged(caplog):
    bank, comparisons = synthetic_comparisons(splits=2, n=12)
    options = C2STOptions(steps=2, batch_size=4, ndf=4, passes=1, device="cpu", precision="auto")
    with caplog.at_level("INFO", logger="biogans.evaluate.c2st"):
        run_c2st(bank, comparisons, options)
    assert re.search(r"critics per grouped network: [124], (float32|bfloat16) \(ms per critic step: 1 float32: "
                     r"[0-9.]+, 1 bfloat16: .*4 bfloat16: [0-9.]+\)", caplog.text)


def simulated_store(root) -> tuple:
    """Simulated Sid2 (SPB dots) and Tea1 (tip caps) cells, preprocessed, with two splits."""
    simulate(root / "raw", SimulateOptions(proteins=["Sid2", "Tea1"], cells_per_protein=80, seed=0, field_size=256))
    cells, splits = root / "cells.h5", root / "splits.h5"
    preprocess(root / "raw", cells, options=PreprocessOptions(test_fraction=0.5))
    make_splits(cells, splits, SplitOptions(n_splits=2, seed=0))
    return cells, splits


@pytest.fixture(scope="module")
def store(tmp_path_factory):
    return simulated_store(tmp_path_factory.mktemp("c2st"))


def test_accuracy_c2st_on_simulated_cells(store, tmp_path):
    """Sid2 train cells vs Sid2 test cells: chance; Sid2 vs Tea1: clearly told apart."""
    cells, splits = store
    out = tmp_path / "Sid2.csv"
    assert main(["c2st", "real-vs-real", str(cells), str(splits), "--protein", "Sid2", "--versus", "Sid2", "Tea1",
                 "--evaluator", "gan", "--steps", "60", "--lr", "1e-3", "--ndf", "8", "--batch-size", "16",
                 "--passes", "2", "--out", str(out)]) == 0
    rows = pd.read_csv(out)
    assert list(rows.columns) == list(COLUMNS)
    assert rows["iteration"].isna().all() and set(rows["evaluator"]) == {"gan"}
    assert sorted(zip(rows["versus"], rows["split"], strict=True)) == [
        ("Sid2", 0), ("Sid2", 1), ("Tea1", 0), ("Tea1", 1)]
    same, different = rows[rows["versus"] == "Sid2"], rows[rows["versus"] == "Tea1"]
    assert (same["p_value"] > 0.05).all()
    assert (different["p_value"] < 0.02).all() and (different["accuracy"] > 0.65).all()
    assert (different["score"] > same["score"].max()).all()

    table = summary(out)
    assert list(table.columns) == ["evaluator", "iteration", "protein", "versus", "mean", "std", "n_splits",
                                   "accuracy", "p_value"]
    tea1 = table[table["versus"] == "Tea1"].iloc[0]
    assert tea1["n_splits"] == 2 and tea1["mean"] == pytest.approx(different["score"].mean())
    assert tea1["std"] == pytest.approx(different["score"].std(ddof=0))


# --------------------------------------------------------------------------- generated cells

def generator_file(path, model: str, proteins: list[str], iteration: int, seed: int = 0):
    torch.manual_seed(seed)
    save_generator(path, build(spec_for(model, proteins, nz=8, ngf=4)), iteration)
    return path


def test_fake_vs_real_conditional_rows_per_protein_iteration_and_all(store, tmp_path):
    cells, splits = store
    files = [generator_file(tmp_path / f"generator_{i}.pt", "wgangp-star", ["Sid2", "Tea1"], i, seed=i)
             for i in (10, 20)]
    out = tmp_path / "fake.csv"
    assert main(["c2st", "fake-vs-real", *map(str, files), "--cells", str(cells), "--splits", str(splits),
                 *FAST, "--out", str(out)]) == 0
    rows = read_results(out)
    assert len(rows) == 2 * 3 * 2  # iterations x (2 proteins + all) x splits
    assert set(rows["versus"]) == {"generated"}
    for iteration in (10, 20):
        block = rows[rows["iteration"] == iteration]
        assert sorted(set(block["protein"])) == ["Sid2", "Tea1", "all"]
        proteins = block[block["protein"] != "all"].groupby("split")["score"].mean()
        np.testing.assert_allclose(block[block["protein"] == "all"].set_index("split")["score"], proteins,
                                   rtol=1e-4)


def test_an_untrained_generator_is_told_apart_from_real_cells(store, tmp_path):
    """A fresh generator draws grey noise, nothing like a cell: the critic separates it from real cells
    and classifies the held-out cells almost perfectly."""
    cells, splits = store
    model = generator_file(tmp_path / "generator_1.pt", "wgangp", ["Sid2", "Tea1"], 1)
    out = tmp_path / "fake.csv"
    assert main(["c2st", "fake-vs-real", str(model), "--cells", str(cells), "--splits", str(splits),
                 "--steps", "40", "--ndf", "4", "--batch-size", "16", "--passes", "1", "--lr", "1e-3",
                 "--out", str(out)]) == 0
    rows = read_results(out)
    assert (rows["accuracy"] > 0.9).all() and (rows["p_value"] < 1e-6).all() and (rows["score"] > 1).all()


def test_generated_cells_are_fresh_at_every_step_never_flipped_and_seeded(monkeypatch):
    """As the paper's code: new generator samples for every critic training batch (and scoring batch),
    not a fixed pool, and never flipped; the same seed draws the same ones."""
    bank, comparisons = synthetic_comparisons(splits=2, n=12)
    real = [c for c in comparisons if c.versus == "dot"]
    generated = [versus_generated("dot", c.split, c.a_train, c.a_held, GeneratedSide(0, c.split), 3) for c in real]

    def render(z):  # a marked corner (flips would move it) and a z-dependent body
        cells = torch.full((len(z), 1, 2, 16, 32), -1.0)
        cells[:, 0, :, 0, 0] = 1.0
        cells[:, 0, 0, 4:12, 4:28] = torch.tanh(z[:, :1, None])
        return cells

    seen = []
    original = critics.critic_input
    monkeypatch.setattr(critics, "critic_input", lambda cells: seen.append(cells.clone()) or original(cells))
    options = C2STOptions(steps=4, batch_size=8, ndf=4, passes=1, device="cpu", max_groups=2)  # nothing timed
    first = run_c2st(bank, generated, options, generators=[GeneratorSource(render, 8, "3")])
    training = seen[:options.steps]
    assert all(batch.shape == (8, 2, 2, 16, 32) for batch in training)  # 8 cells, 2 splits' critics
    assert all((batch[:, :, :, 0, 0] == 1).all() and (batch[:, :, :, -1, -1] == -1).all() for batch in training)
    assert not torch.equal(training[0], training[1])  # fresh cells at every step
    assert not torch.equal(training[0][:, 0], training[0][:, 1])  # each split draws its own
    again = run_c2st(bank, generated, options, generators=[GeneratorSource(render, 8, "3")])
    assert [o.score for o in again] == [o.score for o in first]


def test_fake_vs_real_joint_model_compares_merged_cells(store, tmp_path):
    cells, splits = store
    model = generator_file(tmp_path / "generator_5.pt", "wgangp", ["Sid2", "Tea1"], 5)
    out = tmp_path / "fake.csv"
    assert main(["c2st", "fake-vs-real", str(model), "--cells", str(cells), "--splits", str(splits), *FAST,
                 "--evaluator", "wgan", "--out", str(out)]) == 0
    rows = read_results(out)
    assert list(rows["protein"]) == ["all", "all"] and list(rows["split"]) == [0, 1]
    assert list(rows["iteration"]) == [5, 5] and set(rows["evaluator"]) == {"wgan"}


def joint_truth(path, n: int, seed: int = 0) -> None:
    """A joint ground-truth store: group all_proteins, red + the 8 greens for the same cells."""
    rng = np.random.default_rng(seed)
    images = rng.integers(0, 256, size=(n, 1 + len(ALL_PROTEINS), 48, 80), dtype=np.uint8)
    meta = empty_meta(n)
    meta["role"] = "test"
    write_store(path, {"all_proteins": CellSet(images, meta, ["Bgs4", *ALL_PROTEINS])}, source="test")


def test_all_proteins_mode_compares_multichannel_cells(tmp_path):
    truth = tmp_path / "joint_truth.h5"
    joint_truth(truth, 12)
    model = generator_file(tmp_path / "generator_7.pt", "wgangp-multichannel", ["Tea1", "Alp14", "Sid2"], 7)
    out = tmp_path / "joint.csv"
    assert main(["c2st", "all-proteins", str(model), "--truth", str(truth), "--n-splits", "3", *FAST,
                 "--out", str(out)]) == 0
    rows = read_results(out)
    assert list(rows["protein"]) == ["all_proteins"] * 3 and list(rows["split"]) == [0, 1, 2]
    assert list(rows["iteration"]) == [7] * 3 and (rows["versus"] == "generated").all()
    assert np.isfinite(rows["score"]).all()


# --------------------------------------------------------------------------- bad input

def run_failing(argv, out, capsys) -> str:
    assert main(argv) == 1
    err = capsys.readouterr().err.strip()
    assert err.startswith("error: ") and "\n" not in err
    assert not out.exists()
    assert not [p for p in out.parent.iterdir() if p.name.startswith(f".{out.name}")]
    return err


def test_bad_inputs_give_one_line_errors_and_no_output(store, tmp_path, capsys):
    cells, splits = store
    out = tmp_path / "out.csv"
    real = ["c2st", "real-vs-real", str(cells), str(splits), *FAST, "--out", str(out)]

    assert "Alp14" in run_failing([*real, "--protein", "Alp14"], out, capsys)
    with pytest.raises(SystemExit) as exit_info:
        main([*real, "--protein", "Sid2", "--evaluator", "lsgan"])
    assert exit_info.value.code == 2 and "--evaluator" in capsys.readouterr().err and not out.exists()

    other = tmp_path / "other.h5"  # same proteins, different cells: its splits do not fit
    write_store(other, {p: read_store(cells, [p])[p] for p in ("Tea1", "Sid2")}, source="test")
    other_cells = read_store(other)
    other_cells["Sid2"].meta["role"] = other_cells["Sid2"].meta["role"].iloc[::-1].to_numpy()
    write_store(other, other_cells, source="test")
    err = run_failing(["c2st", "real-vs-real", str(other), str(splits), "--protein", "Sid2", *FAST,
                       "--out", str(out)], out, capsys)
    assert str(splits) in err and "different cell store" in err

    alien = generator_file(tmp_path / "alien.pt", "wgangp-star", ["Sid2", "Mkh1"], 1)
    err = run_failing(["c2st", "fake-vs-real", str(alien), "--cells", str(cells), "--splits", str(splits), *FAST,
                       "--out", str(out)], out, capsys)
    assert str(alien) in err and "Mkh1" in err

    truth = tmp_path / "joint_truth.h5"
    joint_truth(truth, 12)
    merged = generator_file(tmp_path / "merged.pt", "wgangp", ["Sid2", "Tea1"], 1)
    err = run_failing(["c2st", "all-proteins", str(merged), "--truth", str(truth), *FAST, "--out", str(out)], out,
                      capsys)
    assert str(merged) in err and "conditional" in err

    lonely = tmp_path / "lonely.h5"  # one truth cell: a half of every split is empty
    joint_truth(lonely, 1)
    star = generator_file(tmp_path / "star.pt", "wgangp-star", ["Sid2", "Tea1"], 1)
    err = run_failing(["c2st", "all-proteins", str(star), "--truth", str(lonely), *FAST, "--out", str(out)], out,
                      capsys)
    assert str(lonely) in err and "no cells" in err


def test_options_and_comparisons_are_checked():
    with pytest.raises(BiogansError, match="--steps: must be >= 1, got 0"):
        C2STOptions(steps=0)
    bank, comparisons = synthetic_comparisons(splits=1, n=4)
    empty = Comparison("dot", "caps", 0, comparisons[1].a_train, comparisons[1].a_held,
                       comparisons[1].b_train[:0], comparisons[1].b_held)
    with pytest.raises(BiogansError, match="training half of set B \\(caps\\) has no cells"):
        run_c2st(bank, [comparisons[0], empty], C2STOptions(steps=1, ndf=4, device="cpu"))
