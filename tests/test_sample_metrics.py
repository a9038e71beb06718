"""KID, FID, precision/recall and memorisation: torchmetrics as used here agrees with the formulas computed by
hand, real held-out cells score at the real floor, blurred cells worse and noise worse still, copies of
training cells are caught; ``biogans evaluate-samples`` end to end."""

from __future__ import annotations

import io

import numpy as np
import pandas as pd
import pytest
import torch
from scipy import linalg

from biogans.cli import main
from biogans.evaluate.metrics import features, kid_fid, memorisation, precision_recall
from biogans.evaluate.options import MetricOptions
from biogans.evaluate.sample_metrics import METRIC_COLUMNS, metric_rows, real_cells
from biogans.models import build, spec_for
from biogans.models.features import FeatureExtractor
from biogans.train.checkpoints import save_generator
from biogans.train.features import load_features, train_features
from biogans.train.options import FeatureOptions, SampleOptions
from biogans.train.sampling import sample

pytestmark = pytest.mark.usefixtures("one_thread")


@pytest.fixture(scope="module")
def feature_file(simulated, tmp_path_factory):
    path = tmp_path_factory.mktemp("features") / "features.pt"
    train_features(simulated[0], path, FeatureOptions(epochs=8))
    return path


@pytest.fixture(scope="module")
def table(simulated, sample_files, feature_file, tmp_path_factory) -> pd.DataFrame:
    """evaluate-samples of the fresh, blurred, noise and copies files, indexed by (model, protein)."""
    out = tmp_path_factory.mktemp("table") / "table5.csv"
    sources = [f"{name}={path}" for name, path in sample_files.items()]
    assert main(["evaluate-samples", *sources, "--cells", str(simulated[0]), "--features", str(feature_file),
                 "--out", str(out)]) == 0
    rows = pd.read_csv(out)
    assert list(rows.columns) == list(METRIC_COLUMNS)
    return rows.set_index(["model", "protein"])


def hand_kid(x: np.ndarray, y: np.ndarray) -> float:
    """The unbiased squared MMD of the kernel (x.y / d + 1)^3 (Bińkowski et al. 2018), equal set sizes."""
    kernel = lambda a, b: (a @ b.T / a.shape[1] + 1) ** 3  # noqa: E731
    n = len(x)
    k_xx, k_yy, k_xy = kernel(x, x), kernel(y, y), kernel(x, y)
    return ((k_xx.sum() - np.trace(k_xx)) + (k_yy.sum() - np.trace(k_yy))) / (n * (n - 1)) - 2 * k_xy.mean()


def hand_fid(x: np.ndarray, y: np.ndarray) -> float:
    """|mu_x - mu_y|^2 + tr(S_x + S_y - 2 (S_x S_y)^(1/2)) (Heusel et al. 2017), with scipy's sqrtm."""
    s_x, s_y = np.cov(x, rowvar=False), np.cov(y, rowvar=False)
    return float(((x.mean(0) - y.mean(0)) ** 2).sum() + np.trace(s_x + s_y - 2 * linalg.sqrtm(s_x @ s_y).real))


def test_torchmetrics_on_our_features_matches_the_formulas(simulated, feature_file):
    real = real_cells(simulated[0], ["Sid2", "Tea1"])
    extractor = FeatureExtractor(load_features(feature_file).net)
    x, y = real.test["Sid2"], real.train["Tea1"][: len(real.test["Sid2"])]
    fx, fy = features(extractor, x).numpy(), features(extractor, y).numpy()
    assert fx.dtype == np.float64 and fx.shape == (len(x), 32)
    kid_mean, kid_std, fid = kid_fid(extractor, x, y, subsets=3, subset_size=len(x))
    assert kid_mean == pytest.approx(hand_kid(fx, fy), rel=1e-9) and kid_std == pytest.approx(0, abs=1e-9)
    assert fid == pytest.approx(hand_fid(fx, fy), rel=1e-6) and fid > 1
    # subsets smaller than the sets: seeded, and the std is over different subsets
    first, second = kid_fid(extractor, x, y, subsets=20, subset_size=10, seed=1), \
        kid_fid(extractor, x, y, subsets=20, subset_size=10, seed=1)
    assert first == second and first[1] > 0 and first[0] == pytest.approx(kid_mean, rel=0.5)


def test_precision_recall_and_memorisation_match_brute_force():
    rng = np.random.default_rng(0)
    real, fake = rng.normal(size=(30, 4)), rng.normal(1.5, 1.0, size=(25, 4))

    def brute(points, centres, k):
        radius = [np.sort(np.linalg.norm(centres - c, axis=1))[k] for c in centres]  # [0] is the centre itself
        return np.mean([any(np.linalg.norm(p - c) <= r for c, r in zip(centres, radius, strict=True)) for p in points])

    precision, recall = precision_recall(torch.from_numpy(fake), torch.from_numpy(real), k=3, chunk=7)
    assert (precision, recall) == (pytest.approx(brute(fake, real, 3)), pytest.approx(brute(real, fake, 3)))
    assert 0 < precision < 1 and 0 < recall < 1

    cells = torch.from_numpy(rng.normal(size=(6, 2, 4, 5)))
    train = torch.from_numpy(rng.normal(size=(9, 2, 4, 5)))
    samples = torch.cat([train[:2].flip(-1), train[2:3].flip(-2, -1), cells[:3]])  # flipped copies, new cells

    def nearest(x):
        flips = [train, train.flip(-1), train.flip(-2), train.flip(-2, -1)]
        return np.array([min(float((c - t).norm()) for f in flips for t in f) for c in x])

    expected = np.median(nearest(samples)) / np.median(nearest(cells))
    assert memorisation(samples, cells, train, chunk=4) == pytest.approx(expected, rel=1e-5)
    assert memorisation(train[:5].flip(-1), cells, train) == pytest.approx(0, abs=1e-3)


def test_held_out_cells_score_at_the_real_floor_blurred_worse_noise_worse_still(table):
    for protein in ("Sid2", "Tea1", "Alp14", "all"):
        real, fresh, blurred, noise = (table.loc[model, protein] for model in ("real", "fresh", "blurred", "noise"))
        for lower_is_better in ("kid_mean", "fid"):  # fresh nearer the floor than the blurred set is
            assert fresh[lower_is_better] - real[lower_is_better] < 0.5 * (blurred[lower_is_better] -
                                                                           real[lower_is_better]), protein
            assert fresh[lower_is_better] < blurred[lower_is_better] < noise[lower_is_better], protein
        for higher_is_better in ("precision", "recall"):
            assert fresh[higher_is_better] > real[higher_is_better] - 0.1, protein
        assert fresh["precision"] > blurred["precision"] > noise["precision"], protein
        assert blurred["recall"] < 0.6 and noise["recall"] < 0.05, protein
        assert real["memorisation"] == 1 and 0.85 < fresh["memorisation"] < 1.15, protein


def test_copies_of_training_cells_score_memorisation_near_zero(table):
    for protein in ("Sid2", "Tea1", "Alp14", "all"):
        assert table.loc[("copies", protein), "memorisation"] < 0.02
        assert table.loc[("noise", protein), "memorisation"] > 3


def test_a_generator_file_scores_as_the_samples_it_writes(simulated, feature_file, tmp_path, capsys):
    """evaluate-samples of a generator .pt (n cells per protein, seeded) equals that of the OME-TIFF
    `biogans sample` writes with the same n and seed; rows printed to stdout, without the real rows."""
    torch.manual_seed(0)
    generator = tmp_path / "generator_10.pt"
    save_generator(generator, build(spec_for("wgangp-star", ["Sid2", "Tea1"], nz=8, ngf=4)), 10)
    sample(generator, tmp_path / "star.ome.tif", SampleOptions(n=40, seed=5, device="cpu"))
    common = ["--cells", str(simulated[0]), "--features", str(feature_file), "--n", "40", "--seed", "5",
              "--kid-subsets", "10", "--no-real"]
    assert main(["evaluate-samples", str(generator), str(tmp_path / "star.ome.tif"), *common]) == 0
    rows = pd.read_csv(io.StringIO(capsys.readouterr().out))
    assert list(rows["model"]) == ["generator_10"] * 3 + ["star"] * 3
    assert list(rows["protein"]) == ["Sid2", "Tea1", "all"] * 2
    by_model = rows.set_index(["model", "protein"])
    np.testing.assert_allclose(by_model.loc["generator_10"].to_numpy(float), by_model.loc["star"].to_numpy(float),
                               rtol=1e-3, atol=1e-6)
    assert (rows["precision"] < 0.2).all()  # an untrained generator draws nothing like a cell
    direct = metric_rows("g", generator, simulated[0], feature_file, MetricOptions(n=40, seed=5, kid_subsets=10))
    np.testing.assert_allclose(direct.iloc[:, 2:].to_numpy(float), by_model.loc["generator_10"].to_numpy(float),
                               rtol=1e-5)


def test_a_joint_model_gives_one_all_row_against_the_pooled_proteins(simulated, feature_file, tmp_path):
    torch.manual_seed(0)
    save_generator(tmp_path / "joint.pt", build(spec_for("wgangp", ["Sid2", "Tea1"], nz=8, ngf=4)), 3)
    rows = metric_rows("joint", tmp_path / "joint.pt", simulated[0], feature_file, MetricOptions(n=30, kid_subsets=5))
    assert list(rows["model"]) == ["joint"] and list(rows["protein"]) == ["all"]
    assert np.isfinite(rows.iloc[0, 2:].to_numpy(float)).all()
