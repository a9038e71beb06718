"""Preprocessing TIFF fields into the cell store: schema, inputs, modes and every bad input."""

from __future__ import annotations

import logging
import re
import shutil

import numpy as np
import pytest
import tifffile
from cellfields import PIXEL_SIZE, draw_field, random_cells, write_field, write_screen

from biogans.cli import main
from biogans.data.options import PreprocessOptions
from biogans.data.preprocess import preprocess
from biogans.data.store import (
    META_COLUMNS,
    CellSet,
    empty_meta,
    read_store,
    store_attrs,
    write_store,
)
from biogans.errors import BiogansError
from biogans.proteins import ALL_PROTEINS

CELL_PX = 0.19


@pytest.fixture(scope="module")
def screen(tmp_path_factory):
    """Two proteins x 3 fields x ~8 cells, with label masks and a phase table beside each field."""
    root = tmp_path_factory.mktemp("screen") / "raw"
    truth = write_screen(root, proteins=("Tea1", "Alp14"), fields=3, cells=8, seed=5, phases=True)
    return root, truth


@pytest.fixture(scope="module")
def store(screen, tmp_path_factory):
    root, _ = screen
    out = tmp_path_factory.mktemp("store") / "cells.h5"
    summary = preprocess(root, out)
    return out, summary


def assert_no_output(out):
    assert not out.exists()
    assert not [p for p in out.parent.iterdir() if p.name.startswith(f".{out.name}")]


def test_store_schema_masks_and_roles(store, screen):
    out, summary = store
    cells = read_store(out)
    assert set(cells) == {"Alp14", "Tea1"} and list(summary["groups"]) == ["Alp14", "Tea1"]
    red_ranges = []
    for protein, group in cells.items():
        n = len(group)
        assert n >= 18 and n == summary["groups"][protein]["cells"]
        assert group.images.dtype == np.uint8 and group.images.shape == (n, 2, 48, 80)
        assert group.channels == ["Bgs4", protein]
        assert list(group.meta.columns) == list(META_COLUMNS)
        red, green = group.images[:, 0], group.images[:, 1]
        np.testing.assert_array_equal(red > 0, green > 0)  # one mask for both channels
        assert red.max() == 255 and green.max() == 255
        areas = (red > 0).sum(axis=(1, 2)) * CELL_PX**2  # µm²: whole cells, 7-13 µm x 3.6 µm
        assert areas.min() > 15 and areas.max() < 60
        meta = group.meta
        assert (meta["source"].str.match(rf"{protein}/field_00[0-2]\.tif")).all()
        assert ((meta["bbox_y1"] > meta["bbox_y0"]) & (meta["bbox_x1"] > meta["bbox_x0"])).all()
        assert meta["angle"].between(-90, 90).all() and meta["length"].between(6.5, 14.5).all()
        assert set(meta["phase"]) <= {"G2", "M"} and (meta["phase"] != "").all()
        assert (meta["role"] == "test").sum() == round(0.2 * n)
        assert set(group.attrs) == {"red_range", "green_range"}
        green_range = group.attrs["green_range"]
        assert green_range.shape == (2,) and green_range[0] < green_range[1]
        red_ranges.append(tuple(group.attrs["red_range"]))
    assert red_ranges[0] == red_ranges[1]  # Bgs4 normalised once over all proteins
    assert cells["Alp14"].attrs["green_range"][1] > cells["Tea1"].attrs["green_range"][1]  # drawn brighter
    attrs = store_attrs(out)
    assert attrs["source"] == "tiff" and attrs["params"]["cell_pixel_size"] == CELL_PX


def test_phase_and_angle_come_from_the_truth_cell_under_the_centroid(store, screen):
    out, _ = store
    root, truth = screen
    for group in read_store(out).values():
        for row in group.meta.itertuples():
            placed, labels = truth[root / row.source]
            under = labels[row.bbox_y0:row.bbox_y1, row.bbox_x0:row.bbox_x1]
            label = np.bincount(under.ravel())[1:].argmax() + 1  # the segmented cell lies over one truth cell
            assert abs((row.angle - placed[label - 1]["angle"] + 90) % 180 - 90) < 2
            assert row.phase == ("G2", "M")[(label - 1) % 2]


def test_label_masks_worker_count_and_channel_swap_give_the_same_cells(screen, store, tmp_path):
    root, _ = screen
    by_masks = tmp_path / "masks.h5"
    summary = preprocess(root, by_masks, masks_dir=root, workers=2)
    cells = read_store(by_masks)
    for protein, group in cells.items():
        fields = sorted((root / protein).glob("field_*[0-9].tif"))
        labels = [tifffile.imread(p.with_name(f"{p.stem}_labels.tif")) for p in fields]
        inside = sum(len(set(np.unique(lab)) - {0} - set(np.unique(np.r_[lab[0], lab[-1], lab[:, 0], lab[:, -1]])))
                     for lab in labels)
        assert len(group) + summary["groups"][protein]["dropped"].get("fit", 0) == inside
    swapped = tmp_path / "swapped"
    for path in root.glob("*/field_*[0-9].tif"):
        data = tifffile.imread(path)
        target = swapped / path.parent.name / path.name
        write_field(target, data[1], data[0], channel_labels=[path.parent.name, "Bgs4"])
    out1, out2 = tmp_path / "a.h5", tmp_path / "b.h5"
    preprocess(swapped, out1, options=PreprocessOptions(channels=("green", "red")), workers=2)
    preprocess(root, out2, workers=1)
    a, b = read_store(out1), read_store(out2)
    for protein in a:
        np.testing.assert_array_equal(a[protein].images, b[protein].images)
        assert a[protein].meta.drop(columns="phase").equals(b[protein].meta.drop(columns="phase"))


def test_plain_channels_last_tiff_with_given_pixel_size(tmp_path):
    rng = np.random.default_rng(7)
    red, green, _ = draw_field(random_cells(rng, 5, (256, 256)), (256, 256), seed=7)
    write_field(tmp_path / "imagej" / "Sid2" / "f.tif", red, green)
    write_field(tmp_path / "plain" / "Sid2" / "f.tif", red, green, imagej=False, channels_last=True)
    preprocess(tmp_path / "imagej", tmp_path / "a.h5")
    preprocess(tmp_path / "plain", tmp_path / "b.h5", options=PreprocessOptions(pixel_size=PIXEL_SIZE))
    np.testing.assert_array_equal(read_store(tmp_path / "a.h5")["Sid2"].images,
                                  read_store(tmp_path / "b.h5")["Sid2"].images)
    with pytest.raises(BiogansError, match=re.escape(str(tmp_path / "plain" / "Sid2" / "f.tif")) + ".*--pixel-size"):
        preprocess(tmp_path / "plain", tmp_path / "c.h5")
    assert_no_output(tmp_path / "c.h5")


def write_reference(path, ranges):
    """A minimal preprocessed store: one tiny group per protein carrying its normalisation ranges."""
    groups = {}
    for protein, green_range in ranges.items():
        attrs = {"red_range": np.array([100.0, 1500.0]), "green_range": np.array(green_range)}
        images = np.zeros((1, 2, 48, 80), dtype=np.uint8)
        groups[protein] = CellSet(images, empty_meta(1).assign(role="train"), ["Bgs4", protein], attrs)
    write_store(path, groups, source="tiff")


def test_all_proteins_mode_uses_the_reference_normalisation(tmp_path):
    rng = np.random.default_rng(11)
    red, green, _ = draw_field(random_cells(rng, 8, (320, 320)), (320, 320), seed=11)
    folder = tmp_path / "raw" / "all_proteins"
    folder.mkdir(parents=True)
    channels = ["Bgs4", *ALL_PROTEINS]
    tifffile.imwrite(folder / "field_000.tif", np.stack([red] + [green] * 8), imagej=True,
                     resolution=(1 / PIXEL_SIZE, 1 / PIXEL_SIZE),
                     metadata={"axes": "CYX", "unit": "um", "Labels": channels})
    ranges = {p: [100.0, 100.0 + 400.0 * (k + 1)] for k, p in enumerate(ALL_PROTEINS)}
    reference = tmp_path / "cells.h5"
    write_reference(reference, ranges)
    out = tmp_path / "joint.h5"
    preprocess(tmp_path / "raw", out, all_proteins=True, reference=reference)
    (name, group), = read_store(out).items()
    assert name == "all_proteins" and group.channels == channels
    assert group.images.shape[1:] == (9, 48, 80) and len(group) >= 5
    np.testing.assert_array_equal(group.attrs["red_range"], [100.0, 1500.0])
    np.testing.assert_array_equal(group.attrs["green_range"], [ranges[p] for p in ALL_PROTEINS])
    first = group.images[:, 1].astype(float)
    unclipped = (first > 0) & (first < 255)
    for k in range(1, 8):  # same raw green, k+1 times wider range -> (value - 1) / (k + 1) + 1
        expected = 1 + (first[unclipped] - 1) / (k + 1)
        assert np.abs(group.images[:, 1 + k][unclipped] - expected).max() <= 1.0
    del ranges["Tea4"]
    write_reference(reference, ranges)
    with pytest.raises(BiogansError, match=re.escape(str(reference)) + ".*Tea4"):
        preprocess(tmp_path / "raw", tmp_path / "joint2.h5", all_proteins=True, reference=reference)
    assert_no_output(tmp_path / "joint2.h5")
    tifffile.imwrite(folder / "field_001.tif", np.stack([red] + [green] * 8), imagej=True,
                     resolution=(1 / PIXEL_SIZE, 1 / PIXEL_SIZE),
                     metadata={"axes": "CYX", "unit": "um", "Labels": channels[::-1]})
    write_reference(reference, {p: [0.0, 1.0] for p in ALL_PROTEINS})
    with pytest.raises(BiogansError, match=re.escape(str(folder / "field_001.tif")) + ": channel labels"):
        preprocess(tmp_path / "raw", tmp_path / "joint2.h5", all_proteins=True, reference=reference)
    assert_no_output(tmp_path / "joint2.h5")


def _copy_screen(screen, tmp_path):
    root, _ = screen
    shutil.copytree(root, tmp_path / "raw")
    return tmp_path / "raw"


def _truncate(root):
    path = root / "Tea1" / "field_001.tif"
    data = path.read_bytes()
    path.write_bytes(data[: len(data) // 2])
    return path


def _three_channels(root):
    path = root / "Alp14" / "field_002.tif"
    tifffile.imwrite(path, np.zeros((3, 64, 64), dtype=np.uint16), imagej=True,
                     resolution=(1 / PIXEL_SIZE, 1 / PIXEL_SIZE), metadata={"axes": "CYX", "unit": "um"})
    return path


def _empty_folder(root):
    (root / "Arp3").mkdir()
    (root / "Arp3" / "notes.txt").write_text("no fields here")
    return root / "Arp3"


def _green_first(root):
    path = root / "Alp14" / "field_001.tif"
    data = tifffile.imread(path)
    write_field(path, data[1], data[0], channel_labels=["Alp14", "Bgs4"])
    return path


def _no_pixel_size(root):
    path = root / "Tea1" / "field_000.tif"
    data = tifffile.imread(path)
    tifffile.imwrite(path, data)
    return path


@pytest.mark.parametrize("spoil, message", [
    (_truncate, "unreadable or truncated TIFF"),
    (_three_channels, "3 channels"),
    (_empty_folder, "no .tif fields"),
    (_no_pixel_size, "pass --pixel-size"),
    (_green_first, "pass --channels green red"),
])
def test_bad_field_is_named_and_nothing_is_written(screen, tmp_path, spoil, message):
    root = _copy_screen(screen, tmp_path)
    bad = spoil(root)
    out = tmp_path / "cells.h5"
    with pytest.raises(BiogansError, match=re.escape(str(bad)) + ": ") as err:
        preprocess(root, out, workers=2 if spoil is _truncate else 1)
    assert message in str(err.value) and "\n" not in str(err.value)
    assert_no_output(out)


def test_bad_masks_are_named(screen, tmp_path):
    root = _copy_screen(screen, tmp_path)
    out = tmp_path / "cells.h5"
    wrong = root / "Tea1" / "field_001_labels.tif"
    tifffile.imwrite(wrong, np.zeros((100, 256), dtype=np.uint16))
    with pytest.raises(BiogansError, match=re.escape(str(wrong)) + ": label mask of shape"):
        preprocess(root, out, masks_dir=root)
    wrong.unlink()
    with pytest.raises(BiogansError, match=re.escape(str(wrong)) + ": label mask not found"):
        preprocess(root, out, masks_dir=root)
    with pytest.raises(BiogansError, match=re.escape(str(tmp_path / "nomasks"))):
        preprocess(root, out, masks_dir=tmp_path / "nomasks")
    with pytest.raises(BiogansError, match=re.escape(str(tmp_path / "missing")) + ": fields folder not found"):
        preprocess(tmp_path / "missing", out)
    with pytest.raises(BiogansError, match=re.escape(str(root / "Cki2")) + ": protein folder not found"):
        preprocess(root, out, proteins=["Cki2"])
    assert_no_output(out)


def test_fields_without_cells_warn_but_a_protein_without_cells_fails(screen, tmp_path, caplog):
    root = _copy_screen(screen, tmp_path)
    blank = root / "Tea1" / "field_003.tif"
    write_field(blank, np.full((256, 256), 100, np.uint16), np.full((256, 256), 100, np.uint16))
    out = tmp_path / "cells.h5"
    with caplog.at_level(logging.WARNING):
        summary = preprocess(root, out, proteins=["Tea1"])
    assert f"{blank}: no cell found" in caplog.text
    assert summary["groups"]["Tea1"]["fields_without_cells"] == 1 and summary["groups"]["Tea1"]["fields"] == 4
    empty = tmp_path / "empty"
    write_field(empty / "Fim1" / "field_000.tif", np.full((64, 64), 9, np.uint16), np.full((64, 64), 9, np.uint16))
    with pytest.raises(BiogansError, match=re.escape(str(empty / "Fim1")) + ": no cell found in any of its 1 fields"):
        preprocess(empty, tmp_path / "none.h5")
    assert_no_output(tmp_path / "none.h5")


def test_cli_reports_one_line_error_and_exit_status(screen, tmp_path, capsys):
    root, _ = screen
    out = tmp_path / "cells.h5"
    assert main(["preprocess", str(tmp_path / "missing"), str(out)]) == 1
    err = capsys.readouterr().err.strip().splitlines()
    assert err[-1] == f"error: {tmp_path / 'missing'}: fields folder not found"
    assert main(["preprocess", str(root), str(out), "--proteins", "Tea1", "--test-fraction", "0.5", "--seed", "2"]) == 0
    meta = read_store(out)["Tea1"].meta
    assert abs((meta["role"] == "test").sum() - len(meta) / 2) <= 0.5


# --------------------------------------------------------------------------- simulator fields

def test_simulated_screen_records_truth_phases_and_lengths(tmp_path):
    import pandas as pd

    from biogans.data.options import SimulateOptions
    from biogans.data.simulate import PHASES, simulate

    simulate(tmp_path / "raw", SimulateOptions(proteins=["Arp3", "Mkh1"], cells_per_protein=40, seed=2))
    out = tmp_path / "cells.h5"
    summary = preprocess(tmp_path / "raw", out, workers=2)
    cells = read_store(out)
    for protein in ("Arp3", "Mkh1"):
        group = cells[protein]
        assert len(group) >= 30 and summary["groups"][protein]["cells"] == len(group)
        assert set(group.meta["phase"]) <= set(PHASES) and (group.meta["phase"] != "").all()
        np.testing.assert_array_equal(group.images[:, 0] > 0, group.images[:, 1] > 0)
        for row in group.meta.itertuples():
            field = tmp_path / "raw" / row.source
            truth = tifffile.imread(field.with_name(f"{field.stem}_labels.tif"))
            table = pd.read_csv(field.with_name(f"{field.stem}_cells.csv")).set_index("cell_id")
            under = truth[row.bbox_y0:row.bbox_y1, row.bbox_x0:row.bbox_x1]
            label = np.bincount(under.ravel())[1:].argmax() + 1
            assert row.phase == table.loc[label, "phase"]
            assert abs(row.length - table.loc[label, "length"]) < 1.0  # µm; the outline is ~1 px wider
            assert abs((row.angle - table.loc[label, "angle"] + 90) % 180 - 90) < 3


def test_simulated_all_proteins_fields(tmp_path):
    from biogans.data.options import SimulateOptions
    from biogans.data.simulate import simulate

    simulate(tmp_path / "raw", SimulateOptions(proteins=ALL_PROTEINS, cells_per_protein=40, seed=4, all_proteins=True))
    reference = tmp_path / "cells.h5"
    write_reference(reference, {p: [100.0, 300.0 + 50 * k] for k, p in enumerate(ALL_PROTEINS)})
    out = tmp_path / "joint.h5"
    summary = preprocess(tmp_path / "raw", out, all_proteins=True, reference=reference)
    group = read_store(out)["all_proteins"]
    assert group.images.shape[1:] == (9, 48, 80) and len(group) == summary["cells"] >= 25
    inside = group.images[:, 0] > 0
    assert all((group.images[:, c][~inside] == 0).all() and (group.images[:, c][inside] >= 1).all()
               for c in range(9))
    assert (group.meta["source"].str.startswith("all_proteins/field_")).all()


# --------------------------------------------------------------------------- reading fields

def test_read_field_axis_orders_dtypes_and_pixel_sizes(tmp_path):
    from biogans.data.fields import read_field

    rng = np.random.default_rng(3)
    data = rng.integers(0, 4000, (2, 40, 60)).astype(np.uint16)
    cases = {
        "ij.tif": dict(data=data, imagej=True, resolution=(1 / 0.13, 1 / 0.13), metadata={"axes": "CYX", "unit": "um"}),
        "nm.tif": dict(data=data, imagej=True, resolution=(1 / 130, 1 / 130), metadata={"axes": "CYX", "unit": "nm"}),
        "cm.tif": dict(data=data.astype(np.float32), resolution=(1 / 0.13e-4, 1 / 0.13e-4),
                       resolutionunit="CENTIMETER"),
        "yxs.tif": dict(data=np.moveaxis(data, 0, -1), photometric="minisblack", planarconfig="contig",
                        resolution=(1 / 0.13e-4, 1 / 0.13e-4), resolutionunit="CENTIMETER"),
    }
    for name, kwargs in cases.items():
        tifffile.imwrite(tmp_path / name, kwargs.pop("data"), **kwargs)
        field = read_field(tmp_path / name)
        np.testing.assert_array_equal(field.channels, data.astype(np.float32))
        assert field.channels.dtype == np.float32 and abs(field.pixel_size - 0.13) < 1e-9
    swapped = read_field(tmp_path / "ij.tif", order=("green", "red"))
    np.testing.assert_array_equal(swapped.channels, data[::-1])
    tifffile.imwrite(tmp_path / "dpi.tif", data, resolution=(72, 72), resolutionunit="INCH")
    with pytest.raises(BiogansError, match="dpi.tif: no pixel size.*--pixel-size"):
        read_field(tmp_path / "dpi.tif")
    assert read_field(tmp_path / "dpi.tif", pixel_size=0.2).pixel_size == 0.2
    tifffile.imwrite(tmp_path / "km.tif", data, imagej=True, resolution=(1, 1), metadata={"axes": "CYX", "unit": "mm"})
    with pytest.raises(BiogansError, match="km.tif: resolution tags give 1000 µm per pixel"):
        read_field(tmp_path / "km.tif")
    tifffile.imwrite(tmp_path / "one.tif", data[0], resolution=(1 / 0.13e-4, 1 / 0.13e-4), resolutionunit="CENTIMETER")
    with pytest.raises(BiogansError, match="one.tif: image of shape \\(40, 60\\), expected 2 channels"):
        read_field(tmp_path / "one.tif")


# --------------------------------------------------------------------------- OME-TIFF fields

def write_ome_field(path, planes, names, size, unit="µm"):
    """A (C, Y, X) OME-TIFF field with channel names and physical pixel size, as microscopes export them."""
    path.parent.mkdir(parents=True, exist_ok=True)
    metadata = {"axes": "CYX", "PhysicalSizeX": size, "PhysicalSizeXUnit": unit, "PhysicalSizeY": size,
                "PhysicalSizeYUnit": unit}
    if names is not None:
        metadata["Channel"] = {"Name": names}
    tifffile.imwrite(path, np.stack(planes), ome=True, photometric="minisblack", metadata=metadata)


@pytest.fixture(scope="module")
def ome_planes():
    rng = np.random.default_rng(11)
    red, green, _ = draw_field(random_cells(rng, 6, (256, 256)), (256, 256), seed=11)
    return red, green, np.full_like(red, 300)


@pytest.mark.parametrize("layout", ["red-green-um", "green-red-nm", "dapi-red-green"])
def test_ome_channel_names_and_pixel_size_replace_the_config(ome_planes, tmp_path, layout):
    red, green, dapi = ome_planes
    write_field(tmp_path / "reference" / "Sid2" / "f.tif", red, green)  # ImageJ tags, 0.13 µm
    planes, names, size, unit = {
        "red-green-um": ([red, green], ["Bgs4", "Sid2"], PIXEL_SIZE, "µm"),
        "green-red-nm": ([green, red], ["Sid2", "Bgs4"], PIXEL_SIZE * 1000, "nm"),
        "dapi-red-green": ([dapi, red, green], ["DAPI", "Bgs4", "Sid2"], PIXEL_SIZE, "µm"),
    }[layout]
    write_ome_field(tmp_path / "ome" / "Sid2" / "f.ome.tif", planes, names, size, unit)
    preprocess(tmp_path / "reference", tmp_path / "a.h5")
    preprocess(tmp_path / "ome", tmp_path / "b.h5")  # no channel order, no pixel size given
    a, b = read_store(tmp_path / "a.h5")["Sid2"], read_store(tmp_path / "b.h5")["Sid2"]
    assert len(a) > 0
    np.testing.assert_array_equal(a.images, b.images)


def test_ome_channels_that_name_neither_red_nor_the_protein_are_refused(ome_planes, tmp_path, capsys):
    red, green, _ = ome_planes
    write_ome_field(tmp_path / "ome" / "Sid2" / "f.ome.tif", [red, green], ["CH1", "CH2"], PIXEL_SIZE)
    out = tmp_path / "c.h5"
    assert main(["preprocess", str(tmp_path / "ome"), str(out)]) == 1
    err = capsys.readouterr().err.strip()
    assert err.count("\n") == 0 and "OME channels ['CH1', 'CH2']" in err and "Bgs4" in err and not out.exists()
    # the config's channel order overrides the names (as it would for any file)
    assert main(["preprocess", str(tmp_path / "ome"), str(out), "--channels", "red", "green"]) == 0


def test_fields_without_ome_or_resolution_metadata_need_the_pixel_size(ome_planes, tmp_path, capsys):
    red, green, _ = ome_planes
    (tmp_path / "bare" / "Sid2").mkdir(parents=True)
    tifffile.imwrite(tmp_path / "bare" / "Sid2" / "f.tif", np.stack([red, green]))
    out = tmp_path / "c.h5"
    assert main(["preprocess", str(tmp_path / "bare"), str(out)]) == 1
    assert "no pixel size in the OME metadata or the TIFF resolution tags" in capsys.readouterr().err
    assert main(["preprocess", str(tmp_path / "bare"), str(out), "--pixel-size", str(PIXEL_SIZE)]) == 0
    write_ome_field(tmp_path / "unnamed" / "Sid2" / "f.ome.tif", [red, green], None, PIXEL_SIZE)
    assert main(["preprocess", str(tmp_path / "unnamed"), str(tmp_path / "d.h5")]) == 0  # red, green by default
    np.testing.assert_array_equal(read_store(out)["Sid2"].images, read_store(tmp_path / "d.h5")["Sid2"].images)
