"""Declared sizes are bounded before anything is decoded or allocated: small files that declare huge
TIFF pages, OME dimensions, PNGs, HDF5 arrays or networks are refused with one line, and each limit is
raised by its environment variable."""

from __future__ import annotations

import re
import struct
import subprocess
import sys
import zlib
from pathlib import Path

import numpy as np
import pytest
import tifffile
import torch
from conftest import write_random_store
from PIL import Image

from biogans.cli import main
from biogans.data.fields import read_field
from biogans.data.options import SplitOptions
from biogans.data.splits import make_splits
from biogans.data.store import read_store
from biogans.errors import BiogansError
from biogans.models import build, spec_for
from biogans.models.factory import GENERATORS
from biogans.train.checkpoints import save_generator
from biogans.validation import MAX_ARRAY_BYTES, MAX_IMAGE_PIXELS, MAX_PARAMETERS

OME = ('<?xml version="1.0" encoding="UTF-8"?><OME xmlns="http://www.openmicroscopy.org/Schemas/OME/2016-06">'
       '<Image ID="Image:0"><Pixels ID="Pixels:0" DimensionOrder="XYCZT" Type="uint16" SizeX="{x}" SizeY="{y}" '
       'SizeC="2" SizeZ="1" SizeT="1" PhysicalSizeX="0.1" PhysicalSizeY="0.1"><Channel ID="Channel:0:0" '
       'Name="Bgs4"/><Channel ID="Channel:0:1" Name="Alp14"/><TiffData/></Pixels></Image></OME>')


def declaring_tiff(path: Path, height: int, width: int, pages: int = 2) -> None:
    """A TIFF of ``pages`` 16x16 pages whose headers declare ``height`` x ``width`` pixels each (a few
    hundred bytes that a reader would decode into an array of the declared size)."""
    tifffile.imwrite(path, np.ones((pages, 16, 16), np.uint16), photometric="minisblack",
                     resolution=(1e4 / 0.1, 1e4 / 0.1), resolutionunit="CENTIMETER")
    data = bytearray(path.read_bytes())
    with tifffile.TiffFile(path) as tif:
        for page in tif.pages:
            for name, value in (("ImageWidth", width), ("ImageLength", height)):
                tag = page.tags[name]
                struct.pack_into("<I" if tag.dtype == 4 else "<H", data, tag.valueoffset, value)
    path.write_bytes(bytes(data))


def declaring_png(path: Path, width: int, height: int) -> None:
    """A 1x1 RGB PNG whose header declares ``width`` x ``height`` (its pixel data are truncated)."""
    Image.new("RGB", (1, 1)).save(path)
    data = bytearray(path.read_bytes())
    struct.pack_into(">II", data, 16, width, height)
    struct.pack_into(">I", data, 29, zlib.crc32(bytes(data[12:29])))
    path.write_bytes(bytes(data))


@pytest.fixture(scope="module")
def inputs(tmp_path_factory) -> Path:
    root = tmp_path_factory.mktemp("inputs")
    write_random_store(root / "cells.h5", ["Alp14", "Arp3"], n=16, seed=1)
    make_splits(root / "cells.h5", root / "splits.h5", SplitOptions(n_splits=2))
    torch.manual_seed(0)
    save_generator(root / "gen.pt", build(spec_for("wgangp", ["Alp14"], ngf=4)), 3)
    payload = torch.load(root / "gen.pt", weights_only=True)
    torch.save({**payload, "spec": {**payload["spec"], "ngf": 1024, "nz": 4096}}, root / "wide.pt")
    for name in ("tiled", "ome", "labels"):
        (root / name / "Alp14").mkdir(parents=True)
    declaring_tiff(root / "tiled/Alp14/field_000.tif", 40000, 40000)
    tifffile.imwrite(root / "ome/Alp14/field_000.tif", np.ones((2, 16, 16), np.uint16), photometric="minisblack",
                     description=OME.format(x=100000, y=100000), metadata=None)
    tifffile.imwrite(root / "labels/Alp14/field_000.tif", np.ones((2, 16, 16), np.uint16), photometric="minisblack",
                     resolution=(1e5, 1e5), resolutionunit="CENTIMETER")
    (root / "masks/Alp14").mkdir(parents=True)
    declaring_tiff(root / "masks/Alp14/field_000_labels.tif", 60000, 60000, pages=1)
    (root / "lin/Alp14").mkdir(parents=True)
    declaring_png(root / "lin/Alp14/cell_0.png", 12000, 12000)
    return root


#: (name, argv with {} for the inputs folder, a regular expression the one line must match)
CASES = [
    ("tiled TIFF of 2x40000x40000", ["preprocess", "{}/tiled", "{}/c.h5"],
     r"tiled/Alp14/field_000\.tif: an image of 2x40000x40000 has 3,200,000,000 pixels, above the limit of "
     r"268,435,456 \(set BIOGANS_MAX_IMAGE_PIXELS to allow more\)$"),
    ("OME-XML of 2x100000x100000", ["preprocess", "{}/ome", "{}/c.h5"],
     r"ome/Alp14/field_000\.tif: the OME-XML's image of 1x1x2x100000x100000 has 20,000,000,000 pixels, above"),
    ("label mask of 60000x60000", ["preprocess", "{}/labels", "{}/c.h5", "--masks", "{}/masks"],
     r"field_000_labels\.tif: an image of 60000x60000 has 3,600,000,000 pixels, above the limit"),
    ("LIN PNG of 12000x12000", ["import-lin", "{}/lin", "{}/c.h5"],
     r"cell_0\.png: image of 12000x12000 pixels, expected 80x48 \(width x height\)$"),
    ("generator of ngf 1024, nz 4096", ["sample", "{}/wide.pt", "--n", "2", "--out", "{}/x.png"],
     r"wide\.pt: a dcgan generator of 1,208,023,040 parameters, above the limit of 268,435,456 "
     r"\(set BIOGANS_MAX_PARAMETERS to allow more\)$"),
    ("training at ngf 1024, nz 4096", ["train", "{}/cells.h5", "{}/m", "--model", "wgangp", "--proteins", "Alp14",
                                       "--iterations", "1", "--ngf", "1024", "--nz", "4096"],
     r"model spec: a dcgan generator of 1,208,023,040 parameters, above the limit"),
    ("training a critic of width 1024", ["train", "{}/cells.h5", "{}/m", "--model", "wgangp", "--proteins", "Alp14",
                                         "--iterations", "1", "--ngf", "4", "--ndf", "1024"],
     r"a critic of width 1024 has 704,798,720 parameters, above the limit"),
    ("C2ST critics of width 1024", ["c2st", "fake-vs-real", "{}/gen.pt", "--cells", "{}/cells.h5", "--splits",
                                    "{}/splits.h5", "--ndf", "1024", "--steps", "1", "--out", "{}/x.csv"],
     r"a C2ST critic of width 1024 has 704,798,720 parameters, above the limit"),
]


@pytest.mark.parametrize("name, argv, message", CASES, ids=[case[0] for case in CASES])
def test_a_declared_size_above_its_limit_is_one_line_and_leaves_nothing(inputs, capsys, name, argv, message):
    before = set(inputs.rglob("*"))
    capsys.readouterr()
    assert main([a.replace("{}", str(inputs)) for a in argv]) == 1
    lines = [line for line in capsys.readouterr().err.splitlines() if " INFO " not in line]
    assert len(lines) == 1 and re.search(message, lines[0]), lines
    assert set(inputs.rglob("*")) == before


def test_each_limit_is_raised_and_lowered_by_its_variable(inputs, tmp_path, monkeypatch):
    field = tmp_path / "field.tif"
    tifffile.imwrite(field, np.ones((2, 64, 64), np.uint16), photometric="minisblack", resolution=(1e5, 1e5),
                     resolutionunit="CENTIMETER")
    assert read_field(field).channels.shape == (2, 64, 64)
    monkeypatch.setenv(MAX_IMAGE_PIXELS.variable, "8191")
    with pytest.raises(BiogansError, match=r"field\.tif: an image of 2x64x64 has 8,192 pixels, above the limit "
                                           r"of 8,191 \(set BIOGANS_MAX_IMAGE_PIXELS"):
        read_field(field)
    monkeypatch.setenv(MAX_IMAGE_PIXELS.variable, "8192")
    assert read_field(field).channels.shape == (2, 64, 64)

    monkeypatch.setenv(MAX_ARRAY_BYTES.variable, "100_000")
    with pytest.raises(BiogansError, match=r"cells\.h5: group Alp14: images: a uint8 array of 16x2x48x80 needs "
                                           r"122,880 bytes, above the limit of 100,000"):
        read_store(inputs / "cells.h5")

    monkeypatch.setenv(MAX_PARAMETERS.variable, "1000")
    with pytest.raises(BiogansError, match=r"a dcgan generator of [\d,]+ parameters, above the limit of 1,000"):
        build(spec_for("wgangp", ["Alp14"], ngf=4))


@pytest.mark.parametrize("value", ["many", "-1", "0", "1e9"])
def test_a_malformed_limit_variable_is_a_one_line_error(inputs, tmp_path, monkeypatch, capsys, value):
    monkeypatch.setenv(MAX_ARRAY_BYTES.variable, value)
    assert main(["splits", str(inputs / "cells.h5"), str(tmp_path / "s.h5")]) == 1
    assert capsys.readouterr().err.strip().splitlines()[-1] == \
        f"error: BIOGANS_MAX_ARRAY_BYTES: expected a positive integer, got {value!r}"
    assert list(tmp_path.iterdir()) == []


def test_the_size_check_draws_no_random_numbers():
    """build() counts the parameters of a copy before building: the network it returns is the one the plain
    constructor makes from the same seed."""
    spec = spec_for("wgangp-star", ["Alp14", "Arp3"], ngf=4)
    torch.manual_seed(3)
    checked = build(spec).state_dict()
    torch.manual_seed(3)
    plain = GENERATORS[spec["architecture"]](spec).state_dict()
    assert checked.keys() == plain.keys() and all(torch.equal(checked[k], plain[k]) for k in plain)


def test_the_console_shows_one_line_for_a_damaged_tiff(inputs, tmp_path):
    """tifffile logs each inconsistency it parses (seven lines here): they show only with --verbose."""
    argv = [sys.executable, "-m", "biogans", "preprocess", str(inputs / "tiled"), str(tmp_path / "c.h5")]
    done = subprocess.run(argv, capture_output=True, text=True, timeout=120)
    assert done.returncode == 1 and len(done.stderr.splitlines()) == 1, done.stderr
    assert "above the limit" in done.stderr
    verbose = subprocess.run(argv[:3] + ["-v"] + argv[3:], capture_output=True, text=True, timeout=120)
    assert verbose.returncode == 1 and "incorrect StripByteCounts" in verbose.stderr
