"""The paper's figures from tiny generators, small cell stores and C2ST / reconstruction files: each
writes a real PNG (figure 7 also a looping GIF), refuses unsuitable inputs naming the file, and
measures generated cell lengths correctly."""

from __future__ import annotations

import h5py
import numpy as np
import pandas as pd
import pytest
import torch
from conftest import write_random_store
from PIL import Image

from biogans.cli import main
from biogans.errors import BiogansError
from biogans.evaluate.reconstruct import EXAMPLES_FORMAT
from biogans.models import build, spec_for
from biogans.report.figure8 import figure8_c2st_vs_iterations
from biogans.report.figures import (
    cell_cycle_ends,
    figure1_teaser,
    figure3_training_progress,
    figure4_separable_samples,
    figure6_reconstructions,
    figure7_cell_cycle,
    red_length,
)
from biogans.train.checkpoints import save_generator

PROTEINS = ["Alp14", "Arp3", "Sid2"]


def tiny_generator(name: str, proteins=PROTEINS, seed: int = 0) -> torch.nn.Module:
    """A random generator (ngf 4, nz 8) whose conv weights are scaled up and whose batch-norm statistics
    come from one batch, so that its cells vary with z over much of [-1, 1] (a fresh one is ~flat)."""
    torch.manual_seed(seed)
    model = build(spec_for(name, proteins, nz=8, ngf=4))
    with torch.no_grad():
        for weight in model.parameters():
            if weight.dim() == 4:
                weight.mul_(10)
    for layer in model.modules():
        if isinstance(layer, torch.nn.BatchNorm2d):
            layer.momentum = None
    with torch.no_grad():
        model.train()(torch.randn(128, 8))
    return model.eval()


@pytest.fixture(scope="module")
def files(tmp_path_factory):
    """A small cell store and generator files: star, gan-sep at two checkpoints, plain wgangp."""
    root = tmp_path_factory.mktemp("figures")
    write_random_store(root / "cells.h5", PROTEINS, n=24)
    paths = {"cells": root / "cells.h5"}
    save_generator(root / "star.pt", tiny_generator("wgangp-star"), iteration=400)
    save_generator(root / "sep_10.pt", tiny_generator("gan-sep", seed=1), iteration=10)
    save_generator(root / "sep_300.pt", tiny_generator("gan-sep", seed=2), iteration=300)
    save_generator(root / "joint.pt", tiny_generator("wgangp"), iteration=300)
    paths.update({name: root / f"{name}.pt" for name in ("star", "sep_10", "sep_300", "joint")})
    return paths


def check_png(path, min_size=(300, 100)) -> np.ndarray:
    """The file is a PNG at 200 dpi of at least ``min_size``; returns its RGB pixels."""
    with Image.open(path) as image:
        assert image.format == "PNG"
        assert image.size[0] >= min_size[0] and image.size[1] >= min_size[1]
        assert round(image.info["dpi"][0]) == 200
        return np.asarray(image.convert("RGB"))


def assert_no_leftovers(folder):
    assert not list(folder.glob(".*.tmp"))


def test_figure1_real_cells_beside_star_samples(files, tmp_path):
    out = tmp_path / "figure1_teaser.png"
    figure1_teaser(files["star"], files["cells"], out, model="wgangp-star", latents=5, real_cells=3)
    pixels = check_png(out).astype(int)
    # cells are drawn red/green on black: pure black background and strongly red pixels, no blue in cells
    assert ((pixels == 0).all(-1)).mean() > 0.01
    assert ((pixels[..., 0] > 150) & (pixels[..., 1] < 60) & (pixels[..., 2] < 60)).any()
    with pytest.raises(BiogansError, match=r"joint\.pt: figure 1 needs a star-shaped model"):
        figure1_teaser(files["joint"], files["cells"], tmp_path / "bad.png")
    other = tmp_path / "other.h5"
    write_random_store(other, ["Alp14"], n=8)
    with pytest.raises(BiogansError, match=r"other\.h5: no group for Arp3, Sid2"):
        figure1_teaser(files["star"], other, tmp_path / "bad.png")
    with pytest.raises(BiogansError, match=r"bad\.jpg: a figure file must end in \.png"):
        figure1_teaser(files["star"], files["cells"], tmp_path / "bad.jpg")
    assert not (tmp_path / "bad.png").exists()
    assert_no_leftovers(tmp_path)


def test_figure3_checkpoints_in_iteration_order(files, tmp_path):
    out = tmp_path / "figure3_training_progress.png"
    figure3_training_progress({"gan-sep": [files["sep_300"], files["sep_10"]], "wgangp": [files["joint"]]},
                              files["cells"], out, samples=4)
    check_png(out)
    with pytest.raises(BiogansError, match=r"star\.pt: figure 3 shows joint models"):
        figure3_training_progress({"wgangp-star": [files["star"]]}, files["cells"], tmp_path / "bad.png")
    assert not (tmp_path / "bad.png").exists()


def test_figure3_refuses_checkpoints_of_different_models(files, tmp_path):
    other = tmp_path / "other.pt"
    save_generator(other, build(spec_for("gan-sep", ["Alp14"], nz=8, ngf=4)), iteration=20)
    with pytest.raises(BiogansError, match=r"other\.pt: not a checkpoint of the same model gan-sep"):
        figure3_training_progress({"gan-sep": [files["sep_10"], other]}, files["cells"], tmp_path / "bad.png")


def test_figure4_rows_share_the_red(files, tmp_path):
    out = tmp_path / "figure4_separable_samples.png"
    figure4_separable_samples({"gan-sep": files["sep_300"], "gan-sep-early": files["sep_10"]}, out,
                              groups=3, group_size=4)
    check_png(out)
    with pytest.raises(BiogansError, match=r"joint\.pt: figure 4 needs a separable model"):
        figure4_separable_samples({"wgangp": files["joint"]}, tmp_path / "bad.png")
    with pytest.raises(BiogansError, match=r"star\.pt: figure 4 shows joint models"):
        figure4_separable_samples({"wgangp-star": files["star"]}, tmp_path / "bad.png")


def write_examples(path, rng, proteins=PROTEINS, rows=(3, 7, 11, 15), fmt=EXAMPLES_FORMAT):
    """An examples.h5 as `reconstruct` writes it: per protein uint8 [n, 2, 48, 80] images and rows."""
    path.parent.mkdir(parents=True, exist_ok=True)
    with h5py.File(path, "w") as f:
        f.attrs["format"] = fmt
        for protein in proteins:
            group = f.create_group(protein)
            for name in ("target", "reconstruction", "nearest"):
                group.create_dataset(name, data=rng.integers(0, 256, (len(rows), 2, 48, 80), dtype=np.uint8))
            group.create_dataset("row", data=np.array(rows))
            group.create_dataset("nn_row", data=np.array(rows) + 1)
            group.create_dataset("z", data=rng.normal(size=(len(rows), 8)))


def test_figure6_targets_nearest_cells_and_reconstructions(tmp_path):
    rng = np.random.default_rng(0)
    star = tmp_path / "regular/wgangp-star/examples.h5"
    sep = tmp_path / "separable/wgangp-sep/examples.h5"
    write_examples(star, rng)
    write_examples(sep, rng, proteins=["Sid2", "Alp14"], rows=(7, 11, 20))
    out = tmp_path / "figure6_reconstructions.png"
    figure6_reconstructions({("regular", "wgangp-star"): star, ("separable", "wgangp-sep"): sep}, out,
                            cells_per_protein=2)
    check_png(out)

    disjoint = tmp_path / "disjoint.h5"
    write_examples(disjoint, rng, rows=(1, 2))
    with pytest.raises(BiogansError, match="no Alp14 cell is reconstructed in every file"):
        figure6_reconstructions({("regular", "a"): star, ("regular", "b"): disjoint}, tmp_path / "bad.png")
    foreign = tmp_path / "foreign.h5"
    write_examples(foreign, rng, fmt="something-else")
    with pytest.raises(BiogansError, match=r"foreign\.h5: not a reconstruction examples file"):
        figure6_reconstructions({("regular", "a"): foreign}, tmp_path / "bad.png")
    with pytest.raises(BiogansError, match=r"absent\.h5: no such file"):
        figure6_reconstructions({("regular", "a"): tmp_path / "absent.h5"}, tmp_path / "bad.png")
    assert not (tmp_path / "bad.png").exists()


def test_red_length_measures_the_extent_along_the_long_axis():
    red = -torch.ones(3, 48, 80)
    red[0, 20:28, 10:50] = 0.5  # columns 10-49: 40 px
    red[1, 24, 5:70] = 0.5  # a one-pixel-high streak: below min_pixels
    red[1, 10:30, 30:36] = -0.95  # dimmer than the threshold
    red[2, 5:40, 0:80] = 0.0  # the full width
    assert red_length(red).tolist() == [40.0, 0.0, 80.0]
    assert red_length(red, min_pixels=1)[1] == 65.0


class BarCells(torch.nn.Module):
    """A stand-in generator whose red cell is a horizontal bar 10-70 px long, longer for larger z[0]."""

    nz = 4

    def forward(self, z: torch.Tensor) -> torch.Tensor:
        length = (10 + 60 * torch.sigmoid(z[:, 0])).round()
        columns = torch.arange(80)
        red = torch.where((columns < length[:, None])[:, None, :] & (torch.arange(48) < 10)[None, :, None],
                          0.8, -1.0)
        return torch.stack([red, red], 1)


def test_cell_cycle_ends_pick_a_short_and_a_long_cell():
    z0, z1, (short, long) = cell_cycle_ends(BarCells(), candidates=200, percentiles=(10, 95), threshold=0.05,
                                            seed=0)
    lengths = (10 + 60 * torch.sigmoid(torch.randn(200, 4, generator=torch.Generator().manual_seed(0))[:, 0])).round()
    assert short == pytest.approx(np.percentile(lengths, 10), abs=1)
    assert long == pytest.approx(np.percentile(lengths, 95), abs=1)
    assert red_length(BarCells()(torch.stack([z0, z1]))[:, 0]).tolist() == [short, long]


def test_figure7_png_strip_and_looping_gif(files, tmp_path):
    out = tmp_path / "figure7_cell_cycle.png"
    figure7_cell_cycle(files["star"], out, steps=5, frames=6, candidates=32, threshold=0.5)
    check_png(out)
    with Image.open(tmp_path / "figure7_cell_cycle.gif") as gif:
        assert gif.format == "GIF" and gif.n_frames > 1 and gif.info["loop"] == 0
    with pytest.raises(BiogansError, match=r"sep_10\.pt: figure 7 needs a star-shaped model"):
        figure7_cell_cycle(files["sep_10"], tmp_path / "bad.png")
    with pytest.raises(BiogansError, match=r"bad\.mp4: the animation must end in \.gif"):
        figure7_cell_cycle(files["star"], tmp_path / "bad.png", tmp_path / "bad.mp4")
    assert not (tmp_path / "bad.png").exists() and not (tmp_path / "bad.gif").exists()
    assert_no_leftovers(tmp_path)


def write_c2st(path, rng, evaluator, iterations=(20, 100, 600), splits=4):
    rows = [dict(evaluator=evaluator, iteration=i, protein="all", versus="generated", split=s,
                 score=10 / np.log(i) + rng.normal(0, 0.1), accuracy=0.7, p_value=0.01)
            for i in iterations for s in range(splits)]
    path.parent.mkdir(parents=True, exist_ok=True)
    pd.DataFrame(rows).to_csv(path, index=False)


def test_figure8_curves_and_long_table(tmp_path):
    rng = np.random.default_rng(0)
    runs = []
    for model in ("gan", "wgangp-sep"):
        for evaluator in ("gan", "wgan", "wgangp"):
            write_c2st(tmp_path / model / f"{evaluator}.csv", rng, evaluator)
            runs.append((model, tmp_path / model / f"{evaluator}.csv"))
    out, table = tmp_path / "figure8_c2st_vs_iterations.png", tmp_path / "tables/figure8_c2st_vs_iterations.csv"
    figure8_c2st_vs_iterations(runs, out, table)
    check_png(out)
    scores = pd.read_csv(table)
    assert list(scores.columns) == ["model", "evaluator", "iteration", "split", "score"]
    assert len(scores) == 2 * 3 * 3 * 4
    assert "### WGAN-GP evaluator" in table.with_suffix(".md").read_text()

    bad = tmp_path / "bad.csv"
    write_c2st(bad, rng, "wgangp")
    frame = pd.read_csv(bad)
    frame.assign(protein="Alp14").to_csv(bad, index=False)
    with pytest.raises(BiogansError, match=r"bad\.csv: no rows for all versus generated"):
        figure8_c2st_vs_iterations([("gan", bad)], tmp_path / "bad.png", tmp_path / "bad.csv.out.csv")
    assert not (tmp_path / "bad.png").exists()


def test_figure_commands(files, tmp_path, capsys):
    out = tmp_path / "figure4.png"
    assert main(["figure", "figure4", "--generator", f"gan-sep={files['sep_300']}", "--groups", "2",
                 "--group-size", "3", "--out", str(out)]) == 0
    check_png(out)
    out = tmp_path / "figure7.png"
    assert main(["figure", "figure7", "--generator", f"wgangp-star={files['star']}", "--steps", "3",
                 "--frames", "3", "--candidates", "8", "--gif", str(tmp_path / "anim.gif"), "--out", str(out)]) == 0
    assert out.exists() and (tmp_path / "anim.gif").exists()
    out = tmp_path / "figure1.png"
    assert main(["figure", "figure1", "--generator", f"wgangp={files['joint']}", "--cells", str(files["cells"]),
                 "--out", str(out)]) == 1
    err = capsys.readouterr().err
    assert err.startswith("error: ") and "joint.pt: figure 1 needs a star-shaped model" in err
    assert err.count("\n") == 1 and not out.exists()
