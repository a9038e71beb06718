"""The built-in field simulator: files and metadata, determinism, ground truth, biology."""

from __future__ import annotations

import filecmp
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import tifffile
from scipy import ndimage

from biogans.cli import main
from biogans.data.options import SimulateOptions
from biogans.data.simulate import PHASES, PIXEL_SIZE_UM, cells, cycle, simulate
from biogans.data.simulate import run as simulate_run
from biogans.errors import BiogansError
from biogans.proteins import ALL_PROTEINS

CSV_COLUMNS = ["cell_id", "centre_y", "centre_x", "angle", "length", "width", "age", "phase",
               "protein", "isolated"]


def _fields(folder: Path) -> list[Path]:
    return sorted(p for p in folder.glob("field_*.tif") if not p.name.endswith("_labels.tif"))


def _read(field: Path) -> tuple[np.ndarray, np.ndarray, pd.DataFrame]:
    image = tifffile.imread(field)
    labels = tifffile.imread(field.with_name(field.stem + "_labels.tif"))
    table = pd.read_csv(field.with_name(field.stem + "_cells.csv"))
    return image, labels, table


@pytest.fixture(scope="module")
def two_proteins(tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp("sim")
    summary = simulate(out, SimulateOptions(proteins=["Sid2", "Tea1"], cells_per_protein=40, seed=7))
    assert set(summary) == {"Sid2", "Tea1"}
    return out


@pytest.fixture(scope="module")
def joint(tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp("joint")
    simulate(out, SimulateOptions(cells_per_protein=80, seed=11, all_proteins=True))
    return out / "all_proteins"


# --------------------------------------------------------------------------- files and metadata

def test_files_shapes_and_metadata(two_proteins):
    folder = two_proteins / "Sid2"
    fields = _fields(folder)
    assert fields
    for field in fields:
        with tifffile.TiffFile(field) as tif:
            series = tif.series[0]
            assert series.axes == "CYX"
            assert series.shape == (2, 512, 512)
            assert series.dtype == np.uint16
            assert tif.imagej_metadata["Labels"] == ["Bgs4", "Sid2"]
            assert tif.imagej_metadata["unit"] == "um"
            numerator, denominator = tif.pages[0].tags["XResolution"].value
            assert denominator / numerator == pytest.approx(PIXEL_SIZE_UM, rel=1e-6)
        image, labels, table = _read(field)
        assert labels.shape == (512, 512) and labels.dtype == np.uint16
        assert list(table.columns) == CSV_COLUMNS
        assert (table["protein"] == "Sid2").all()
        assert table["isolated"].dtype == bool
        assert table["phase"].isin(PHASES).all()
        assert table["angle"].between(-90, 90, inclusive="right").all()
        assert table["age"].between(0, 1, inclusive="left").all()


def test_fields_reach_the_requested_cell_count(two_proteins):
    for protein in ("Sid2", "Tea1"):
        tables = [_read(f)[2] for f in _fields(two_proteins / protein)]
        labels = [_read(f)[1] for f in _fields(two_proteins / protein)]
        inside = 0
        for table, label in zip(tables, labels, strict=True):
            border = set(np.unique(np.concatenate([label[0], label[-1], label[:, 0], label[:, -1]])))
            inside += sum(cell_id not in border for cell_id in table["cell_id"])
        assert inside >= 40
        # Without the last field the count would fall short: no superfluous fields.
        assert inside - len(tables[-1]) < 40


# --------------------------------------------------------------------------- determinism

def test_same_seed_same_bytes_and_other_seed_differs(two_proteins, tmp_path):
    simulate(tmp_path / "again", SimulateOptions(proteins=["Sid2"], cells_per_protein=40, seed=7))
    names = sorted(p.name for p in (two_proteins / "Sid2").iterdir())
    assert names == sorted(p.name for p in (tmp_path / "again" / "Sid2").iterdir())
    match, mismatch, errors = filecmp.cmpfiles(two_proteins / "Sid2", tmp_path / "again" / "Sid2",
                                               names, shallow=False)
    assert not mismatch and not errors  # Sid2 alone == Sid2 simulated together with Tea1

    simulate(tmp_path / "other", SimulateOptions(proteins=["Sid2"], cells_per_protein=40, seed=8))
    a, _, ta = _read(_fields(two_proteins / "Sid2")[0])
    b, _, tb = _read(_fields(tmp_path / "other" / "Sid2")[0])
    assert not np.array_equal(a, b)
    assert not ta[["centre_y", "centre_x"]].equals(tb[["centre_y", "centre_x"]])


def test_worker_count_does_not_change_output(tmp_path):
    simulate(tmp_path / "one", SimulateOptions(proteins=["Alp14"], cells_per_protein=30, seed=3), workers=1)
    simulate(tmp_path / "two", SimulateOptions(proteins=["Alp14"], cells_per_protein=30, seed=3), workers=2)
    names = sorted(p.name for p in (tmp_path / "one" / "Alp14").iterdir())
    _, mismatch, errors = filecmp.cmpfiles(tmp_path / "one" / "Alp14", tmp_path / "two" / "Alp14",
                                           names, shallow=False)
    assert not mismatch and not errors


def test_other_protein_folders_are_left_alone(tmp_path):
    keep = tmp_path / "Arp3" / "keep.txt"
    keep.parent.mkdir()
    keep.write_text("mine")
    simulate(tmp_path, SimulateOptions(proteins=["Mkh1"], cells_per_protein=5, seed=0))
    assert keep.read_text() == "mine"
    assert _fields(tmp_path / "Mkh1")
    assert [p.name for p in tmp_path.iterdir() if p.name.startswith(".")] == []


def test_failure_leaves_no_partial_folder(tmp_path, monkeypatch):
    def broken(*args, **kwargs):
        raise OSError(28, "No space left on device", str(tmp_path / "Tea4" / "field_000.tif"))

    monkeypatch.setattr(simulate_run, "write_field", broken)
    with pytest.raises(BiogansError, match="No space left"):
        simulate(tmp_path, SimulateOptions(proteins=["Tea4"], cells_per_protein=5, seed=0))
    assert list(tmp_path.iterdir()) == []


# --------------------------------------------------------------------------- ground truth

def _principal_angle(ys: np.ndarray, xs: np.ndarray) -> float:
    cov = np.cov(np.stack([xs, ys]))
    values, vectors = np.linalg.eigh(cov)
    x, y = vectors[:, np.argmax(values)]
    angle = np.degrees(np.arctan2(y, x))
    return (angle + 90) % 180 - 90


def test_labels_and_table_agree_with_the_images(two_proteins):
    checked = 0
    for field in _fields(two_proteins / "Tea1"):
        image, labels, table = _read(field)
        assert set(np.unique(labels)) - {0} == set(table["cell_id"])
        red = image[0].astype(float)
        near_cells = ndimage.binary_dilation(labels > 0, iterations=15)
        background = np.median(red[~near_cells])
        border = set(np.unique(np.concatenate([labels[0], labels[-1], labels[:, 0], labels[:, -1]])))
        for row in table.itertuples():
            mask = labels == row.cell_id
            others = set(np.unique(labels[ndimage.binary_dilation(mask, iterations=2)])) - {0, row.cell_id}
            assert row.isolated == (not others and row.cell_id not in border)
            if row.cell_id in border:
                continue
            ys, xs = np.nonzero(mask)
            assert ys.mean() == pytest.approx(row.centre_y, abs=1.0)
            assert xs.mean() == pytest.approx(row.centre_x, abs=1.0)
            difference = (_principal_angle(ys, xs) - row.angle + 90) % 180 - 90
            assert abs(difference) < 3.0
            axis = np.array([np.cos(np.radians(row.angle)), np.sin(np.radians(row.angle))])
            along = (xs - row.centre_x) * axis[0] + (ys - row.centre_y) * axis[1]
            assert (np.ptp(along) + 1) * PIXEL_SIZE_UM == pytest.approx(row.length, abs=0.3)
            across = -(xs - row.centre_x) * axis[1] + (ys - row.centre_y) * axis[0]
            assert (np.ptp(across) + 1) * PIXEL_SIZE_UM == pytest.approx(row.width, abs=0.3)
            assert np.median(red[mask]) > background + 10
            checked += 1
    assert checked >= 20


def test_cells_rarely_touch_and_some_are_cut(tmp_path):
    simulate(tmp_path, SimulateOptions(proteins=["Cki2"], cells_per_protein=200, seed=5))
    tables = [_read(f)[2] for f in _fields(tmp_path / "Cki2")]
    table = pd.concat(tables)
    counts = [len(t) for t in tables]
    assert min(counts) >= 10 and max(counts) <= 40
    assert 0.6 < table["isolated"].mean() < 0.9  # the rest: cut by the border or touching


# --------------------------------------------------------------------------- biology

def test_population_follows_an_asynchronous_culture():
    rng = np.random.default_rng(0)
    ages = cycle.sample_age(rng, 200_000)
    # Density 2 ln2 2^-a: fraction older than a is 2^(1-a) - 1.
    for a in (0.34, 0.82, 0.9):
        assert np.mean(ages > a) == pytest.approx(2 ** (1 - a) - 1, abs=0.005)

    sample = [cells.sample_cell(rng) for _ in range(1000)]
    phases = pd.Series([c.phase for c in sample]).value_counts(normalize=True)
    assert phases["monopolar"] + phases["bipolar"] > 0.8
    assert 0.35 < phases["monopolar"] < 0.55
    assert 0.07 < phases["mitosis"] + phases["cytokinesis"] < 0.2
    for cell in sample:
        if cell.age < 0.05:
            assert 6.0 < cell.length < 8.5
        if cell.phase in ("mitosis", "cytokinesis"):
            assert 11.5 < cell.length < 16.5
        assert 3.2 <= cell.width <= 4.3
        if cell.phase == "monopolar":
            assert cell.tip_activity[1] == 0 and len(cell.spbs) == 1
        elif cell.phase == "bipolar":
            assert cell.length >= cycle.NETO_MIN_LENGTH_UM and min(cell.tip_activity) > 0
            assert len(cell.spbs) == 1
        elif cell.phase == "mitosis":
            assert cell.spindle and len(cell.spbs) == 2 and len(cell.mt_ends) == 0
        else:
            assert np.isfinite(cell.septum_inner) and cell.tip_activity == (0.0, 0.0)
            assert len(cell.spbs) == 2 and len(cell.nuclei) == 2
        if cell.interphase:  # growing plus ends of 3-5 bundles, inside the cell
            assert len(cell.mt_ends) <= 10
            assert np.all(np.abs(cell.mt_ends[:, 0]) < cell.length / 2)


def _green_profiles(folder: Path) -> dict[str, dict[str, list[float]]]:
    """Per protein: share of each isolated cell's green signal in its brightest 3% of pixels,
    and in the 1.2 um at either end."""
    stats: dict[str, dict[str, list[float]]] = {p: {"top": [], "ends": []} for p in ALL_PROTEINS}
    for field in _fields(folder):
        image, labels, table = _read(field)
        background = np.median(image[:, labels == 0], axis=1)
        boxes = ndimage.find_objects(labels)
        for row in table[table["isolated"]].itertuples():
            box = boxes[row.cell_id - 1]
            mask = labels[box] == row.cell_id
            ys, xs = np.nonzero(mask)
            ys, xs = ys + box[0].start, xs + box[1].start
            along = ((xs - row.centre_x) * np.cos(np.radians(row.angle))
                     + (ys - row.centre_y) * np.sin(np.radians(row.angle))) * PIXEL_SIZE_UM
            ends = np.abs(along) > row.length / 2 - 1.2
            for k, protein in enumerate(ALL_PROTEINS, start=1):
                signal = np.clip(image[k][box][mask] - background[k], 0, None)
                top = np.sort(signal)[::-1][: max(1, len(signal) * 3 // 100)]
                stats[protein]["top"].append(top.sum() / signal.sum())
                stats[protein]["ends"].append(signal[ends].sum() / signal.sum())
    return stats


def test_protein_patterns_differ(joint):
    stats = _green_profiles(joint)
    top = {p: np.median(s["top"]) for p, s in stats.items()}
    ends = {p: np.median(s["ends"]) for p, s in stats.items()}
    # Sid2 is concentrated in a few bright SPB pixels; Cki2 and Mkh1 are diffuse.
    assert top["Sid2"] > 1.5 * top["Cki2"] and top["Sid2"] > 1.5 * top["Mkh1"]
    # Tea1 and Tea4 sit at the cell ends, far more than the diffuse proteins.
    assert ends["Tea1"] > ends["Cki2"] + 0.08 and ends["Tea4"] > ends["Cki2"] + 0.05
    # Actin patches are dots: Arp3 and Fim1 more concentrated than Mkh1.
    assert top["Arp3"] > top["Mkh1"] and top["Fim1"] > top["Mkh1"]


def test_all_proteins_mode_shares_cells(joint):
    fields = _fields(joint)
    assert fields
    for field in fields:
        with tifffile.TiffFile(field) as tif:
            assert tif.series[0].axes == "CYX"
            assert tif.series[0].shape == (9, 512, 512)
            assert tif.imagej_metadata["Labels"] == ["Bgs4", *ALL_PROTEINS]
        image, labels, table = _read(field)
        assert (table["protein"] == "all_proteins").all()
        assert set(np.unique(labels)) - {0} == set(table["cell_id"])
        # Every green lights up every cell (a shared outline), above the background.
        inside, outside = labels > 0, ndimage.binary_dilation(labels > 0, iterations=15)
        for k in range(9):
            assert image[k][inside].mean() > np.median(image[k][~outside]) + 5
        # Each channel has its own noise: no two greens are identical.
        assert not np.array_equal(image[3], image[4])


def test_spindle_poles_are_shared_between_proteins(joint):
    """In mitotic cells, Sid2's SPB dots sit at the ends of Alp14's spindle."""
    alp14, sid2 = 1 + ALL_PROTEINS.index("Alp14"), 1 + ALL_PROTEINS.index("Sid2")
    found = 0
    for field in _fields(joint):
        image, labels, table = _read(field)
        for row in table[table["isolated"] & (table["phase"] == "mitosis")].itertuples():
            mask = labels == row.cell_id
            sid = np.where(mask, ndimage.gaussian_filter(image[sid2].astype(float), 1.0), 0)
            alp = np.where(mask, ndimage.gaussian_filter(image[alp14].astype(float), 1.0), 0)
            y, x = np.unravel_index(np.argmax(sid), sid.shape)
            # The brightest Sid2 spot lies on Alp14's spindle: bright Alp14 there too.
            assert alp[y, x] > np.percentile(alp[mask], 90)
            found += 1
    if not found:
        pytest.skip("no isolated mitotic cell in this small sample")


# --------------------------------------------------------------------------- bad arguments

@pytest.mark.parametrize("kwargs, message", [
    ({"proteins": ["Foo"]}, "--proteins: 'Foo' is not one of Alp14"),
    ({"proteins": []}, "--proteins: expected at least one value"),
    ({"cells_per_protein": 0}, "--cells-per-protein: must be >= 1"),
    ({"field_size": 64}, "--field-size: must be >= 128"),
    ({"seed": -1}, "--seed: must be >= 0"),
])
def test_bad_options_raise(kwargs, message):
    arguments = {"proteins": ["Sid2"], "cells_per_protein": 5, "seed": 0} | kwargs
    with pytest.raises(BiogansError, match=message):
        SimulateOptions(**arguments)


def test_bad_worker_count_raises(tmp_path):
    with pytest.raises(BiogansError, match="workers"):
        simulate(tmp_path / "out", SimulateOptions(proteins=["Sid2"], cells_per_protein=5), workers=0)
    assert not (tmp_path / "out").exists()


def test_out_dir_that_is_a_file(tmp_path):
    target = tmp_path / "file"
    target.write_text("")
    with pytest.raises(BiogansError, match="not a folder"):
        simulate(target, SimulateOptions(proteins=["Sid2"], cells_per_protein=5, seed=0))


def test_command_line(tmp_path, capsys):
    assert main(["simulate", str(tmp_path), "--proteins", "Tea4", "--cells-per-protein", "5"]) == 0
    assert _fields(tmp_path / "Tea4")
    with pytest.raises(SystemExit) as exit_info:
        main(["simulate", str(tmp_path), "--proteins", "Bgs5"])
    assert exit_info.value.code == 2
    error = capsys.readouterr().err
    assert error.startswith("error: biogans simulate: argument --proteins: invalid choice: 'Bgs5'")
    assert len(error.strip().splitlines()) == 1
