"""The C2ST of sample files: per split, disjoint sample halves of the real halves' sizes, never flipped;
held-out real cells score ~0, blurred ones more, noise far more; the rows of fake-vs-real and all-proteins;
bad files refused."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from test_c2st import joint_truth

from biogans.cli import main
from biogans.data.loaders import cell_tensor
from biogans.data.splits import read_splits
from biogans.data.store import read_store
from biogans.evaluate import critics, scoring
from biogans.evaluate.c2st import GENERATED, run_c2st
from biogans.evaluate.c2st_external import versus_samples
from biogans.evaluate.c2st_modes import ImageBank, RoleCells
from biogans.evaluate.c2st_results import COLUMNS, read_results
from biogans.evaluate.external import read_samples
from biogans.evaluate.options import C2STOptions
from biogans.ome import write_ome_tiff
from biogans.proteins import ALL_PROTEINS

FAST = ["--steps", "3", "--ndf", "4", "--batch-size", "8", "--passes", "1"]
pytestmark = pytest.mark.usefixtures("one_thread")


def sid2_comparisons(simulated, sample_files, names):
    """The bank of Sid2's real test cells and the named files' Sid2 cells, and their comparisons."""
    cells, splits, _ = simulated
    store = read_store(cells, ["Sid2"])
    bank = ImageBank()
    real = RoleCells("Sid2", "test", store["Sid2"], bank).halves(read_splits(splits, store))
    comparisons = {name: versus_samples("Sid2", read_samples(sample_files[name], ["Sid2", "Tea1", "Alp14"])
                                        .cells["Sid2"], bank, real, 0, name) for name in names}
    return bank, real, comparisons


def test_sample_halves_are_disjoint_sized_like_the_real_halves_seeded_and_never_flipped(simulated, sample_files):
    bank, real, comparisons = sid2_comparisons(simulated, sample_files, ["fresh", "noise"])
    fresh, noise = comparisons["fresh"], comparisons["noise"]
    n_fresh = len(read_samples(sample_files["fresh"], ["Sid2", "Tea1", "Alp14"]).cells["Sid2"])
    for s, comparison in enumerate(fresh):
        assert comparison.versus == GENERATED and not comparison.flip_b
        assert (len(comparison.b_train), len(comparison.b_held)) == (len(real[0][s]), len(real[1][s]))
        assert not set(comparison.b_train) & set(comparison.b_held)
        assert set(comparison.b_train) | set(comparison.b_held) <= set(range(bank.size - 2 * n_fresh,
                                                                             bank.size - n_fresh))
    assert not np.array_equal(fresh[0].b_train, fresh[1].b_train)  # each split draws its own halves
    draws = critics.training_draws([*fresh, *noise], [torch.Generator().manual_seed(i) for i in range(4)],
                                 C2STOptions(steps=40, batch_size=8), torch.device("cpu"))
    flips = torch.stack([f for _, _, f, _ in draws])  # [steps, 4, B, G]: A horizontal, A vertical, B h, B v
    assert flips[:, :2].any() and not flips[:, 2:].any()
    assert not scoring._draw_pass(fresh, [torch.Generator().manual_seed(0)] * 2, torch.device("cpu")).flips[2:].any()


def test_held_out_cells_score_near_zero_blurred_more_noise_far_more(simulated, sample_files):
    """Sid2, two splits, the tables' WGAN-GP critic, small and briefly trained (200 steps; fresh scores
    -0.2 and -0.7, blurred 1.0 and 1.5, noise ~200): per split, fresh real cells at the floor (score ~0,
    accuracy at chance), blurred cells above them, noise far above (told apart perfectly)."""
    bank, _, comparisons = sid2_comparisons(simulated, sample_files, ["fresh", "blurred", "noise"])
    options = C2STOptions(steps=200, ndf=4, batch_size=16, passes=2, lr=5e-3, device="cpu", max_groups=6)
    everything = [c for name in ("fresh", "blurred", "noise") for c in comparisons[name]]
    outcomes = dict(zip([(name, c.split) for name in ("fresh", "blurred", "noise") for c in comparisons[name]],
                        run_c2st(bank.tensor(), everything, options), strict=True))
    for s in (0, 1):
        fresh, blurred, noise = (outcomes[name, s] for name in ("fresh", "blurred", "noise"))
        assert abs(fresh.score) < 1 and fresh.p_value > 0.05
        assert fresh.score < blurred.score < noise.score and noise.score > 50
        assert noise.accuracy == 1 and noise.accuracy > fresh.accuracy


def test_external_vs_real_rows_match_fake_vs_real(simulated, sample_files, tmp_path):
    cells, splits, _ = simulated
    out = tmp_path / "external.csv"
    assert main(["c2st", "external-vs-real", str(sample_files["fresh"]), "--cells", str(cells), "--splits",
                 str(splits), *FAST, "--out", str(out)]) == 0
    rows = read_results(out)
    assert list(rows.columns) == list(COLUMNS) and rows["iteration"].isna().all()
    proteins = list(read_store(simulated[2]))  # the file's order: its pairs
    assert list(zip(rows["protein"], rows["split"], strict=True)) == [
        (p, s) for p in (*proteins, "all") for s in (0, 1)]
    assert set(rows["versus"]) == {GENERATED} and np.isfinite(rows["score"]).all()
    per_protein = rows[rows["protein"] != "all"].groupby("split")["score"].mean()
    np.testing.assert_allclose(rows[rows["protein"] == "all"]["score"], per_protein, rtol=1e-4)


def test_external_vs_truth_compares_all_protein_cells(tmp_path, capsys):
    truth = tmp_path / "joint_truth.h5"
    joint_truth(truth, 12)
    truth_cells = read_store(truth)["all_proteins"]
    channels = [truth_cells.channels.index(c) for c in ("Bgs4", "Tea1", "Sid2")]
    cells = truth_cells.images[:, channels].astype(np.float32) / 255
    write_ome_tiff(tmp_path / "star.ome.tif", cells, ["Bgs4", "Tea1", "Sid2"], 0.19)
    out = tmp_path / "joint.csv"
    assert main(["c2st", "external-vs-truth", str(tmp_path / "star.ome.tif"), "--truth", str(truth),
                 "--n-splits", "3", *FAST, "--out", str(out)]) == 0
    rows = read_results(out)
    assert list(rows["protein"]) == ["all_proteins"] * 3 and list(rows["split"]) == [0, 1, 2]
    assert rows["iteration"].isna().all() and (rows["versus"] == GENERATED).all()
    assert torch.equal(torch.from_numpy(cells) * 2 - 1, read_samples(tmp_path / "star.ome.tif", ALL_PROTEINS).joint)

    write_ome_tiff(tmp_path / "pairs.ome.tif", cells[:, [0, 1, 0, 2]], ["Bgs4 (Tea1)", "Tea1", "Bgs4 (Sid2)", "Sid2"],
                   0.19)
    write_ome_tiff(tmp_path / "few.ome.tif", cells[:11], ["Bgs4", "Tea1", "Sid2"], 0.19)
    for name, phrase in (("pairs.ome.tif", "not all-protein cells"), ("few.ome.tif", "11 cells of all_proteins")):
        out = tmp_path / f"{name}.csv"
        assert main(["c2st", "external-vs-truth", str(tmp_path / name), "--truth", str(truth), *FAST,
                     "--out", str(out)]) == 1
        err = capsys.readouterr().err.strip()
        assert err.startswith("error: ") and "\n" not in err and name in err and phrase in err, err
        assert not out.exists()


def test_too_few_samples_for_the_splits_are_refused(simulated, tmp_path, capsys):
    cells, splits, _ = simulated
    store = read_store(cells, ["Tea1"])
    test_rows = store["Tea1"].role_indices("test")
    tensor = (cell_tensor(store["Tea1"], test_rows[:-1]).numpy() + 1) / 2  # one cell short
    write_ome_tiff(tmp_path / "short.ome.tif", tensor.astype(np.float32), ["Bgs4", "Tea1"], 0.19)
    out = tmp_path / "out.csv"
    assert main(["c2st", "external-vs-real", str(tmp_path / "short.ome.tif"), "--cells", str(cells), "--splits",
                 str(splits), *FAST, "--out", str(out)]) == 1
    err = capsys.readouterr().err.strip()
    assert f"{len(test_rows) - 1} cells of Tea1" in err and f"at least {len(test_rows)}" in err and not out.exists()


def test_a_joint_models_merged_file_gives_the_all_rows_against_the_pooled_test_cells(simulated, tmp_path):
    cells, splits, _ = simulated
    store = read_store(cells, ["Sid2", "Tea1"])
    pooled = np.concatenate([c.images[c.role_indices("test")] for c in store.values()]).astype(np.float32) / 255
    write_ome_tiff(tmp_path / "joint.ome.tif", pooled, ["Bgs4", "Sid2/Tea1"], 0.19)
    out = tmp_path / "joint.csv"
    assert main(["c2st", "external-vs-real", str(tmp_path / "joint.ome.tif"), "--cells", str(cells), "--splits",
                 str(splits), *FAST, "--out", str(out)]) == 0
    rows = read_results(out)
    assert list(rows["protein"]) == ["all", "all"] and list(rows["split"]) == [0, 1]
    assert np.isfinite(rows["score"]).all() and set(rows["versus"]) == {GENERATED}
    write_ome_tiff(tmp_path / "short.ome.tif", pooled[1:], ["Bgs4", "Sid2/Tea1"], 0.19)  # one fewer than the test set
    assert main(["c2st", "external-vs-real", str(tmp_path / "short.ome.tif"), "--cells", str(cells), "--splits",
                 str(splits), *FAST, "--out", str(tmp_path / "short.csv")]) == 1
