"""OME-TIFF stacks of cells: write/read round trips, what tifffile sees, foreign files, one-line errors."""

from __future__ import annotations

import xml.etree.ElementTree as ET

import numpy as np
import pytest
import tifffile

from biogans.errors import BiogansError
from biogans.ome import OmeMetadata, read_ome_metadata, read_ome_tiff, write_ome_tiff


def cells(n: int = 3, c: int = 2, dtype=np.float32, seed: int = 0) -> np.ndarray:
    rng = np.random.default_rng(seed)
    if dtype == np.uint16:
        return rng.integers(0, 65536, size=(n, c, 48, 80), dtype=np.uint16)
    return rng.random((n, c, 48, 80), dtype=np.float32)


def pixels_element(path) -> ET.Element:
    with tifffile.TiffFile(path) as tif:
        root = ET.fromstring(tif.ome_metadata)
    return next(e for e in root.iter() if e.tag.endswith("}Pixels"))


def write_foreign_ome(path, data, axes="CYX", **metadata) -> None:
    """An OME-TIFF written by tifffile directly, as another program might."""
    tifffile.imwrite(path, data, ome=True, photometric="minisblack", metadata={"axes": axes, **metadata})


def assert_one_line_error(excinfo, *words) -> None:
    message = str(excinfo.value)
    assert "\n" not in message
    for word in words:
        assert word in message


@pytest.mark.parametrize("dtype, ome_type", [(np.float32, "float"), (np.uint16, "uint16")])
def test_round_trip(tmp_path, dtype, ome_type):
    path = tmp_path / "gen.ome.tif"
    images = cells(dtype=dtype)
    description = {"generator": "runs/alp14/generator.pt", "seed": 7, "model": {"kind": "star", "z": [100, 3]},
                   "note": 'µm <&> "quoted"'}
    write_ome_tiff(path, images, ["Bgs4", "Alp14"], 0.19, description)

    data, meta, got = read_ome_tiff(path)
    assert data.dtype == dtype and data.shape == (3, 2, 48, 80)
    np.testing.assert_array_equal(data, images)
    assert meta == OmeMetadata(("Bgs4", "Alp14"), 0.19, "TCZYX", (3, 2, 1, 48, 80), ome_type)
    assert got == description
    assert read_ome_metadata(path) == meta
    assert pixels_element(path).get("Type") == ome_type
    assert [p.name for p in tmp_path.iterdir()] == ["gen.ome.tif"]  # no temporary file left over


def test_tifffile_sees_tcyx_names_and_scale(tmp_path):
    path = tmp_path / "gen.ome.tiff"
    write_ome_tiff(path, cells(n=4), ["Bgs4", "Alp14"], 0.19)
    with tifffile.TiffFile(path) as tif:
        assert tif.is_ome
        series = tif.series[0]
        assert series.axes == "TCYX" and series.shape == (4, 2, 48, 80)
        assert 'Name="Bgs4"' in tif.ome_metadata and 'Name="Alp14"' in tif.ome_metadata
        xres = tif.pages[0].tags["XResolution"].value
    pixels = pixels_element(path)
    assert float(pixels.get("PhysicalSizeX")) == 0.19 and pixels.get("PhysicalSizeXUnit") == "µm"
    assert float(pixels.get("PhysicalSizeY")) == 0.19 and pixels.get("PhysicalSizeYUnit") == "µm"
    assert xres[1] / xres[0] * 1e4 == pytest.approx(0.19, rel=1e-4)  # resolution tags, for plain-TIFF readers
    assert read_ome_tiff(path)[2] is None


@pytest.mark.parametrize("names", [["Bgs4", "Alp14"], ["Alp14", "Bgs4"], ["DAPI", "Bgs4", "Alp14"]])
def test_channel_order_kept(tmp_path, names):
    path = tmp_path / "cells.ome.tif"
    images = cells(c=len(names))
    write_ome_tiff(path, images, names, 0.19)
    data, meta, _ = read_ome_tiff(path)
    assert meta.channel_names == tuple(names)
    np.testing.assert_array_equal(data, images)


def test_single_cell_single_channel_keeps_four_axes(tmp_path):
    path = tmp_path / "one.ome.tif"
    images = cells(n=1, c=1)
    write_ome_tiff(path, images, ["Bgs4"], 0.19)
    data, meta, _ = read_ome_tiff(path)
    assert data.shape == (1, 1, 48, 80) and meta.channel_names == ("Bgs4",)
    np.testing.assert_array_equal(data, images)


@pytest.mark.parametrize("size, unit, expected", [
    (130, "nm", 0.13), (0.13, "µm", 0.13), (0.13, "um", 0.13), (1.3e-4, "mm", 0.13), (1300, "Å", 0.13),
])
def test_foreign_pixel_size_units(tmp_path, size, unit, expected):
    path = tmp_path / "field.ome.tif"
    write_foreign_ome(path, cells(n=1)[0], PhysicalSizeX=size, PhysicalSizeXUnit=unit,
                      PhysicalSizeY=size, PhysicalSizeYUnit=unit, Channel={"Name": ["Bgs4", "Alp14"]})
    meta = read_ome_metadata(path)
    assert meta.pixel_size_um == pytest.approx(expected)
    assert meta.channel_names == ("Bgs4", "Alp14")


def test_foreign_ome_defaults_and_absences(tmp_path):
    path = tmp_path / "field.ome.tif"
    write_foreign_ome(path, cells(n=1)[0], PhysicalSizeX=0.1)  # no unit (µm by the schema), no names, no Y
    meta = read_ome_metadata(path)
    assert meta.channel_names is None and meta.pixel_size_um == pytest.approx(0.1)
    assert meta.pixel_type == "float"

    write_foreign_ome(path, cells(n=1)[0])
    assert read_ome_metadata(path) == OmeMetadata(None, None, "TZCYX", (1, 1, 2, 48, 80), "float")


def test_read_foreign_stacks(tmp_path):
    path = tmp_path / "field.ome.tif"
    field = cells(n=1, dtype=np.uint16)[0]
    write_foreign_ome(path, field, Description="acquired by hand")  # one C, Y, X image: a single cell
    data, meta, description = read_ome_tiff(path)
    np.testing.assert_array_equal(data, field[np.newaxis])
    assert description is None and meta.pixel_type == "uint16"

    write_foreign_ome(path, cells(n=3, c=2), axes="ZCYX")  # a z-stack is not a stack of cells
    with pytest.raises(BiogansError) as excinfo:
        read_ome_tiff(path)
    assert_one_line_error(excinfo, str(path), "not a stack")


def test_other_schema_namespace(tmp_path):
    path = tmp_path / "old.ome.tif"
    write_foreign_ome(path, cells(n=1, dtype=np.uint16)[0], PhysicalSizeX=0.2, PhysicalSizeY=0.2,
                      Channel={"Name": ["Bgs4", "Alp14"]})
    with tifffile.TiffFile(path) as tif:
        xml = tif.ome_metadata.replace("2016-06", "2015-01")
    tifffile.tiffcomment(path, comment=xml.encode())
    meta = read_ome_metadata(path)
    assert meta.channel_names == ("Bgs4", "Alp14") and meta.pixel_size_um == pytest.approx(0.2)


def test_no_ome_gives_all_none(tmp_path):
    plain, hyperstack = tmp_path / "plain.tif", tmp_path / "hyper.tif"
    tifffile.imwrite(plain, cells(n=1)[0], resolution=(1e4 / 0.19, 1e4 / 0.19), resolutionunit="CENTIMETER")
    tifffile.imwrite(hyperstack, cells(n=1)[0], imagej=True, resolution=(1 / 0.19, 1 / 0.19),
                     metadata={"axes": "CYX", "unit": "um", "Labels": ["Bgs4", "Alp14"]})
    for path in (plain, hyperstack):
        assert read_ome_metadata(path) == OmeMetadata()
    with pytest.raises(BiogansError) as excinfo:
        read_ome_tiff(plain)
    assert_one_line_error(excinfo, str(plain), "OME")


def test_anisotropic_or_unknown_unit_refused(tmp_path):
    path = tmp_path / "field.ome.tif"
    write_foreign_ome(path, cells(n=1)[0], PhysicalSizeX=0.1, PhysicalSizeY=0.2)
    with pytest.raises(BiogansError) as excinfo:
        read_ome_metadata(path)
    assert_one_line_error(excinfo, str(path), "differs")
    write_foreign_ome(path, cells(n=1)[0], PhysicalSizeX=0.1, PhysicalSizeY=100.5, PhysicalSizeYUnit="nm")
    assert read_ome_metadata(path).pixel_size_um == pytest.approx(0.1)  # within 1%
    write_foreign_ome(path, cells(n=1)[0], PhysicalSizeX=1, PhysicalSizeXUnit="pixel")
    with pytest.raises(BiogansError) as excinfo:
        read_ome_metadata(path)
    assert_one_line_error(excinfo, str(path), "pixel")


def test_unreadable_files(tmp_path):
    corrupt, garbage = tmp_path / "corrupt.ome.tif", tmp_path / "garbage.ome.tif"
    corrupt.write_bytes(b"II*\x00" + b"\xff" * 20)
    garbage.write_bytes(b"not a TIFF at all")
    for path in (corrupt, garbage, tmp_path / "missing.ome.tif"):
        for read in (read_ome_metadata, read_ome_tiff):
            with pytest.raises(BiogansError) as excinfo:
                read(path)
            assert_one_line_error(excinfo, str(path))


def test_truncated_file(tmp_path):
    path = tmp_path / "cut.ome.tif"
    write_ome_tiff(path, cells(n=8), ["Bgs4", "Alp14"], 0.19)
    path.write_bytes(path.read_bytes()[: path.stat().st_size // 2])
    for read in (read_ome_metadata, read_ome_tiff):
        with pytest.raises(BiogansError) as excinfo:
            read(path)
        assert_one_line_error(excinfo, str(path), "truncated")


@pytest.mark.parametrize("name, images, names, size, description, words", [
    ("a.tif", cells(), ["Bgs4", "Alp14"], 0.19, None, [".ome.tif"]),
    ("a.ome.tif", cells()[0], ["Bgs4", "Alp14"], 0.19, None, ["[N, C, Y, X]"]),
    ("a.ome.tif", cells(), ["Bgs4"], 0.19, None, ["2 channels", "1 channel names"]),
    ("a.ome.tif", cells(), "Bgs4", 0.19, None, ["channel names"]),
    ("a.ome.tif", cells(), ["Bgs4", ""], 0.19, None, ["non-empty"]),
    ("a.ome.tif", cells(), ["Bgs4", "Alp14"], 0.0, None, ["pixel size"]),
    ("a.ome.tif", cells(), ["Bgs4", "Alp14"], float("nan"), None, ["pixel size"]),
    ("a.ome.tif", cells(), ["Bgs4", "Alp14"], -0.19, None, ["pixel size"]),
    ("a.ome.tif", cells() * 2, ["Bgs4", "Alp14"], 0.19, None, ["[0, 1]"]),
    ("a.ome.tif", cells().astype(np.float64), ["Bgs4", "Alp14"], 0.19, None, ["float64"]),
    ("a.ome.tif", cells(), ["Bgs4", "Alp14"], 0.19, {"seed": object()}, ["JSON"]),
    ("a.ome.tif", cells(), ["Bgs4", "Alp14"], 0.19, ["seed", 7], ["dict"]),
])
def test_bad_arguments_refused(tmp_path, name, images, names, size, description, words):
    path = tmp_path / name
    with pytest.raises(BiogansError) as excinfo:
        write_ome_tiff(path, images, names, size, description)
    assert_one_line_error(excinfo, str(path), *words)
    assert list(tmp_path.iterdir()) == []
