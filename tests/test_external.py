"""Sample files to evaluate: every layout biogans sample writes reads back to the same cells, and
malformed files are refused with one line naming the file, before anything is written."""

from __future__ import annotations

import numpy as np
import pytest
import tifffile
import torch
from conftest import random_cells, write_random_store

from biogans.cli import main
from biogans.data.options import SplitOptions
from biogans.data.splits import make_splits
from biogans.data.store import CellSet, empty_meta, write_store
from biogans.errors import BiogansError
from biogans.evaluate.external import MAX_VALUES, MERGED, generator_samples, load_samples, read_samples
from biogans.models import build, spec_for
from biogans.ome import write_ome_tiff
from biogans.train.checkpoints import save_generator
from biogans.train.features import train_features
from biogans.train.options import FeatureOptions, SampleOptions
from biogans.train.sampling import sample

PROTEINS = ["Alp14", "Arp3", "Sid2"]
pytestmark = pytest.mark.usefixtures("one_thread")


def unit_cells(n: int, channels: int, seed: int = 0) -> np.ndarray:
    """float32 cells in [0, 1] on the 8-bit grid (as the store's), [n, channels, 48, 80]."""
    return np.random.default_rng(seed).integers(0, 256, (n, channels, 48, 80)).astype(np.float32) / 255


def test_ome_layouts_read_as_per_protein_cells(tmp_path):
    cells = unit_cells(5, 4)
    write_ome_tiff(tmp_path / "star.ome.tif", cells[:, :3], ["Bgs4", "Sid2", "Alp14"], 0.19)
    write_ome_tiff(tmp_path / "pairs.ome.tif", cells, ["Bgs4 (Sid2)", "Sid2", "Bgs4 (Arp3)", "Arp3"], 0.19)
    write_ome_tiff(tmp_path / "joint.ome.tiff", cells[:, :2], ["Bgs4", "Sid2/Arp3"], 0.19)
    scaled = torch.from_numpy(cells) * 2 - 1

    star = read_samples(tmp_path / "star.ome.tif", PROTEINS)
    assert list(star.cells) == ["Sid2", "Alp14"] and star.joint_proteins == ("Sid2", "Alp14")
    torch.testing.assert_close(star.cells["Alp14"], scaled[:, [0, 2]])
    torch.testing.assert_close(star.joint, scaled[:, :3])
    pairs = read_samples(tmp_path / "pairs.ome.tif", PROTEINS)
    assert list(pairs.cells) == ["Sid2", "Arp3"] and pairs.joint is None
    torch.testing.assert_close(pairs.cells["Arp3"], scaled[:, 2:])
    joint = read_samples(tmp_path / "joint.ome.tiff", PROTEINS)
    assert list(joint.cells) == [MERGED] and joint.merged == ("Sid2", "Arp3")
    torch.testing.assert_close(joint.cells[MERGED], scaled[:, :2])


def test_hdf5_layouts_read_with_the_c2st_bank_scaling(tmp_path):
    groups = write_random_store(tmp_path / "per_protein.h5", ["Sid2", "Arp3"], n=6)
    per_protein = read_samples(tmp_path / "per_protein.h5", PROTEINS)
    torch.testing.assert_close(per_protein.cells["Arp3"],
                               torch.from_numpy(groups["Arp3"].images.astype(np.float32) / 127.5 - 1))
    meta = empty_meta(4)
    meta["role"] = "test"
    images = np.random.default_rng(0).integers(0, 256, (4, 3, 48, 80), dtype=np.uint8)
    write_store(tmp_path / "all.h5", {"all_proteins": CellSet(images, meta, ["Bgs4", "Alp14", "Sid2"])},
                source="generated")
    joint = read_samples(tmp_path / "all.h5", PROTEINS)
    assert joint.joint_proteins == ("Alp14", "Sid2") and joint.joint.shape == (4, 3, 48, 80)
    assert torch.equal(joint.cells["Sid2"], joint.joint[:, [0, 2]])


def test_files_of_biogans_sample_read_back_as_the_generator_draws_them(tmp_path):
    """A star-shaped model's OME-TIFF and --all-proteins HDF5, and an independent model's pairs, hold the
    cells generator_samples draws with the same n and seed (to float32 / 8-bit rounding)."""
    for model in ("wgangp-star", "wgangp-independent"):
        torch.manual_seed(0)
        path = tmp_path / f"{model}.pt"
        save_generator(path, build(spec_for(model, ["Sid2", "Alp14"], nz=8, ngf=4)), 10)
        drawn = generator_samples(path, 6, seed=3)
        sample(path, tmp_path / f"{model}.ome.tif", SampleOptions(n=6, seed=3, device="cpu"))
        read = read_samples(tmp_path / f"{model}.ome.tif", PROTEINS)
        for protein in ("Sid2", "Alp14"):
            torch.testing.assert_close(read.cells[protein], drawn.cells[protein], atol=1e-6, rtol=0)
    sample(tmp_path / "wgangp-star.pt", tmp_path / "star.h5", SampleOptions(n=6, seed=3, all_proteins=True,
                                                                             device="cpu"))
    read = read_samples(tmp_path / "star.h5", PROTEINS)
    drawn = generator_samples(tmp_path / "wgangp-star.pt", 6, seed=3)
    torch.testing.assert_close(read.cells["Alp14"], drawn.cells["Alp14"], atol=1 / 127.5, rtol=0)


def test_a_joint_generator_gives_the_merged_set(tmp_path):
    torch.manual_seed(0)
    save_generator(tmp_path / "gen.pt", build(spec_for("wgangp", ["Sid2", "Alp14"], nz=8, ngf=4)), 1)
    drawn = load_samples(tmp_path / "gen.pt", PROTEINS, n=5)
    assert list(drawn.cells) == [MERGED] and drawn.merged == ("Sid2", "Alp14")
    assert drawn.cells[MERGED].shape == (5, 2, 48, 80) and drawn.cells[MERGED].abs().max() <= 1
    with pytest.raises(BiogansError, match="gen.pt: modelled protein\\(s\\) Alp14 are not among the proteins Sid2"):
        load_samples(tmp_path / "gen.pt", ["Sid2"], n=5)
    with pytest.raises(BiogansError, match="gen.pt: 1000000 cells of each of 2 proteins exceed the limit"):
        load_samples(tmp_path / "gen.pt", PROTEINS, n=1_000_000)


def bad_files(root) -> dict:
    """Malformed sample files, each with a phrase its error must contain."""
    good = unit_cells(6, 2)
    cases = {}

    def ome(name, images, channels, phrase):
        write_ome_tiff(root / name, images, channels, 0.19)
        cases[name] = phrase

    ome("names.ome.tif", good, ["Bgs4", "Fim1"], "Fim1 are not among the proteins")
    ome("unpaired.ome.tif", unit_cells(6, 3), ["red", "Sid2", "Alp14"], "neither Bgs4 then proteins")
    ome("twice.ome.tif", unit_cells(6, 3), ["Bgs4", "Sid2", "Sid2"], "appears twice")
    ome("size.ome.tif", np.zeros((6, 2, 40, 80), np.float32), ["Bgs4", "Sid2"], "cells are 40x80")
    ome("few.ome.tif", good[:1], ["Bgs4", "Sid2"], "1 cells of Sid2")
    ome("uint16.ome.tif", (good * 1000).astype(np.uint16), ["Bgs4", "Sid2"], "pixels are uint16")
    tifffile.imwrite(root / "nan.ome.tif", np.where(good > 0.5, np.nan, good).astype(np.float32), ome=True,
                     metadata={"axes": "TCYX", "Channel": {"Name": ["Bgs4", "Sid2"]}})
    cases["nan.ome.tif"] = "finite and within [0, 1]"
    tifffile.imwrite(root / "range.ome.tif", good * 2, ome=True,
                     metadata={"axes": "TCYX", "Channel": {"Name": ["Bgs4", "Sid2"]}})
    cases["range.ome.tif"] = "finite and within [0, 1]"
    write_ome_tiff(root / "whole.ome.tif", good, ["Bgs4", "Sid2"], 0.19)
    with tifffile.TiffFile(root / "whole.ome.tif") as tif:  # an OME-XML that declares more cells than it holds
        xml = tif.ome_metadata.replace('SizeT="6"', f'SizeT="{MAX_VALUES // (2 * 48 * 80) + 1}"')
    tifffile.imwrite(root / "huge.ome.tif", good[:1, :1], description=xml.encode(), metadata=None)
    cases["huge.ome.tif"] = "above the limit"  # refused from the OME-XML, before any pixel is read
    (root / "cut.ome.tif").write_bytes((root / "whole.ome.tif").read_bytes()[:20_000])
    cases["cut.ome.tif"] = "truncated"
    write_random_store(root / "store.h5", ["Sid2"], n=8)
    (root / "cut.h5").write_bytes((root / "store.h5").read_bytes()[:3000])
    cases["cut.h5"] = "cut.h5"
    write_store(root / "generated.h5", {"generated": random_cells(4, np.random.default_rng(0), ["Bgs4", "generated"])},
                source="generated")
    cases["generated.h5"] = "group(s) generated are not among the proteins"
    (root / "cells.png").write_bytes(b"\x89PNG")
    cases["cells.png"] = "not a sample file"
    return cases


@pytest.fixture(scope="module")
def bad(tmp_path_factory):
    root = tmp_path_factory.mktemp("bad")
    return root, bad_files(root)


def test_malformed_files_raise_one_line_errors_naming_the_file(bad):
    root, cases = bad
    for name, phrase in cases.items():
        with pytest.raises(BiogansError) as error:
            load_samples(root / name, PROTEINS)
        message = str(error.value)
        assert "\n" not in message and str(root / name) in message and phrase in message, (name, message)


@pytest.mark.parametrize("command", ["c2st", "evaluate-samples"])
def test_commands_refuse_malformed_files_and_write_nothing(bad, tmp_path, command, capsys):
    root, cases = bad
    store, splits, features = tmp_path / "cells.h5", tmp_path / "splits.h5", tmp_path / "features.pt"
    write_random_store(store, PROTEINS, n=40)
    make_splits(store, splits, SplitOptions(n_splits=2))
    train_features(store, features, FeatureOptions(epochs=1, width=2, features=4))
    inputs = sorted(p.name for p in tmp_path.iterdir())
    out = tmp_path / "out.csv"
    for name in ("names.ome.tif", "size.ome.tif", "nan.ome.tif", "few.ome.tif", "cut.ome.tif"):
        argv = (["c2st", "external-vs-real", str(root / name), "--cells", str(store), "--splits", str(splits),
                 "--out", str(out)] if command == "c2st" else
                ["evaluate-samples", str(root / name), "--cells", str(store), "--features", str(features),
                 "--out", str(out)])
        assert main(argv) == 1, name
        err = capsys.readouterr().err.strip()
        assert err.startswith("error: ") and "\n" not in err and name in err, err
        assert sorted(p.name for p in tmp_path.iterdir()) == inputs


def test_damaged_sample_files_give_only_clean_errors(tmp_path):
    """Truncated, byte-flipped and random versions of an OME-TIFF and an HDF5 sample file: each either reads
    (damage in a part that does not matter) or fails with one line naming it, never another exception."""
    from test_bad_input import _mutations

    write_ome_tiff(tmp_path / "good.ome.tif", unit_cells(4, 3), ["Bgs4", "Sid2", "Alp14"], 0.19)
    write_random_store(tmp_path / "good.h5", ["Sid2", "Alp14"], n=4)
    rng = np.random.default_rng(0)
    failed = 0
    for suffix in (".ome.tif", ".h5"):
        for i, data in enumerate(_mutations((tmp_path / f"good{suffix}").read_bytes(), rng, 45)):
            path = tmp_path / f"{i}{suffix}"
            path.write_bytes(data)
            try:
                read_samples(path, PROTEINS)
            except BiogansError as error:
                assert "\n" not in str(error) and str(path) in str(error)
                failed += 1
    assert failed > 60
