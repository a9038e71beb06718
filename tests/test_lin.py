"""LIN import: round trips of small PNG folders (both layouts) and every bad input."""

from __future__ import annotations

import logging
import re

import numpy as np
import pytest
from PIL import Image

from biogans.cli import main
from biogans.data.lin import import_lin
from biogans.data.options import ImportLinOptions
from biogans.data.store import META_COLUMNS, read_store, store_attrs
from biogans.errors import BiogansError


def lin_image(rng: np.random.Generator) -> np.ndarray:
    """An 48x80 RGB cell like LIN's: red > 0 inside an ellipse (a few in-cell zeros), green, blue 0."""
    yy, xx = np.mgrid[:48, :80]
    inside = ((xx - 40) / rng.uniform(20, 37)) ** 2 + ((yy - 24) / rng.uniform(8, 11)) ** 2 <= 1
    rgb = np.zeros((48, 80, 3), dtype=np.uint8)
    rgb[..., 0] = rng.integers(0, 256, (48, 80)) * inside  # zeros inside are kept as they are
    rgb[..., 1] = rng.integers(0, 256, (48, 80)) * inside
    return rgb


def write_lin(root, proteins=("Alp14", "Tea1"), n=10, seed=0) -> dict:
    """root/<protein>/cell_XXX.png; returns {protein: [rgb arrays in file order]}."""
    rng = np.random.default_rng(seed)
    written = {}
    for protein in proteins:
        (root / protein).mkdir(parents=True)
        written[protein] = []
        for i in range(n):
            rgb = lin_image(rng)
            Image.fromarray(rgb, "RGB").save(root / protein / f"cell_{i:03d}.png")
            written[protein].append(rgb)
    return written


def assert_no_output(tmp_path, out):
    assert not out.exists()
    assert not [p for p in out.parent.iterdir() if p.name.startswith(f".{out.name}")]


def test_folder_layout_round_trip_keeps_pixels_and_draws_seeded_roles(tmp_path):
    written = write_lin(tmp_path / "LIN", proteins=("Tea1", "Alp14", "Mystery"), n=20)
    out = tmp_path / "cells.h5"
    summary = import_lin(tmp_path / "LIN", out, ImportLinOptions(test_fraction=0.25, seed=3))
    cells = read_store(out)
    assert list(summary["proteins"]) == ["Alp14", "Tea1", "Mystery"]  # ALL_PROTEINS order, then others
    assert set(cells) == {"Alp14", "Tea1", "Mystery"}
    assert summary["cells"] == 60
    for protein, rgbs in written.items():
        group = cells[protein]
        assert group.channels == ["Bgs4", protein]
        assert group.images.dtype == np.uint8 and group.images.shape == (20, 2, 48, 80)
        np.testing.assert_array_equal(group.images, np.moveaxis(np.array(rgbs)[..., :2], -1, 1))
        meta = group.meta
        assert list(meta.columns) == list(META_COLUMNS)
        assert meta["source"].tolist() == [f"{protein}/cell_{i:03d}.png" for i in range(20)]
        assert meta["cell_id"].tolist() == list(range(20))
        assert (meta[["bbox_y0", "bbox_x0", "bbox_y1", "bbox_x1"]].to_numpy() == [0, 0, 48, 80]).all()
        assert (meta["angle"] == 0).all() and meta["length"].isna().all() and (meta["phase"] == "").all()
        assert (meta["role"] == "test").sum() == 5 and (meta["role"] == "train").sum() == 15
    assert store_attrs(out)["source"] == "lin"
    again = tmp_path / "again.h5"
    import_lin(tmp_path / "LIN", again, ImportLinOptions(test_fraction=0.25, seed=3))
    assert read_store(again)["Tea1"].meta["role"].tolist() == cells["Tea1"].meta["role"].tolist()
    other = tmp_path / "other.h5"
    import_lin(tmp_path / "LIN", other, ImportLinOptions(test_fraction=0.25, seed=4))
    assert read_store(other)["Tea1"].meta["role"].tolist() != cells["Tea1"].meta["role"].tolist()


def test_pair_layout_keeps_roles_and_protein_filter(tmp_path):
    train = write_lin(tmp_path / "LIN_size-48-80_train", n=6, seed=1)
    test = write_lin(tmp_path / "LIN_size-48-80_test", n=3, seed=2)
    out = tmp_path / "cells.h5"
    summary = import_lin(tmp_path / "LIN_size-48-80", out, proteins=["Tea1"])
    assert summary["proteins"] == {"Tea1": {"train": 6, "test": 3}}
    group = read_store(out)["Tea1"]
    assert group.meta["role"].tolist() == ["train"] * 6 + ["test"] * 3
    assert group.meta["source"].tolist()[5:7] == ["Tea1/cell_005.png", "Tea1/cell_000.png"]
    expected = np.array(train["Tea1"] + test["Tea1"])[..., :2]
    np.testing.assert_array_equal(group.images, np.moveaxis(expected, -1, 1))
    assert store_attrs(out)["params"]["layout"] == "pair"


def test_non_empty_blue_is_a_warning_not_an_error(tmp_path, caplog):
    write_lin(tmp_path / "LIN", proteins=("Sid2",), n=3)
    rgb = np.full((48, 80, 3), 7, dtype=np.uint8)
    Image.fromarray(rgb, "RGB").save(tmp_path / "LIN" / "Sid2" / "blue.png")
    with caplog.at_level(logging.WARNING):
        import_lin(tmp_path / "LIN", tmp_path / "cells.h5")
    assert "blue" in caplog.text and "blue.png" in caplog.text
    assert len(read_store(tmp_path / "cells.h5")["Sid2"]) == 4


def _truncated(path):
    data = path.read_bytes()
    path.write_bytes(data[: len(data) // 2])


def _resized(path):
    Image.fromarray(np.zeros((80, 48, 3), dtype=np.uint8), "RGB").save(path)


def _grey(path):
    Image.fromarray(np.zeros((48, 80), dtype=np.uint8), "L").save(path)


def _rgba(path):
    Image.fromarray(np.zeros((48, 80, 4), dtype=np.uint8), "RGBA").save(path)


def _garbage(path):
    path.write_bytes(b"not a png at all")


@pytest.mark.parametrize("spoil, message", [
    (_truncated, "unreadable or truncated"),
    (_garbage, "unreadable or truncated"),
    (_resized, "expected 80x48"),
    (_grey, "mode L, expected RGB"),
    (_rgba, "mode RGBA, expected RGB"),
])
def test_bad_png_is_named_and_nothing_is_written(tmp_path, spoil, message):
    write_lin(tmp_path / "LIN", n=4)
    bad = tmp_path / "LIN" / "Tea1" / "cell_002.png"
    spoil(bad)
    out = tmp_path / "cells.h5"
    with pytest.raises(BiogansError, match=re.escape(str(bad))) as err:
        import_lin(tmp_path / "LIN", out)
    assert message in str(err.value) and "\n" not in str(err.value)
    assert_no_output(tmp_path, out)


def test_missing_root_empty_folder_and_half_pair_are_errors(tmp_path):
    out = tmp_path / "cells.h5"
    with pytest.raises(BiogansError, match=re.escape(str(tmp_path / "nowhere")) + ".*not found"):
        import_lin(tmp_path / "nowhere", out)
    write_lin(tmp_path / "LIN", n=2)
    (tmp_path / "LIN" / "Arp3").mkdir()
    with pytest.raises(BiogansError, match=re.escape(str(tmp_path / "LIN" / "Arp3")) + ": no .png"):
        import_lin(tmp_path / "LIN", out)
    with pytest.raises(BiogansError, match=re.escape(str(tmp_path / "LIN" / "Cki2")) + ": protein folder not found"):
        import_lin(tmp_path / "LIN", out, proteins=["Cki2"])
    write_lin(tmp_path / "half_train", n=2)
    with pytest.raises(BiogansError, match=re.escape(str(tmp_path / "half_test"))):
        import_lin(tmp_path / "half", out)
    assert_no_output(tmp_path, out)


def test_cli_reports_one_line_error_and_exit_status(tmp_path, capsys):
    out = tmp_path / "cells.h5"
    assert main(["import-lin", str(tmp_path / "nowhere"), str(out)]) == 1
    err = capsys.readouterr().err.strip().splitlines()
    assert err[-1].startswith("error: ") and str(tmp_path / "nowhere") in err[-1]
    assert not out.exists()
    write_lin(tmp_path / "LIN", n=5)
    assert main(["import-lin", str(tmp_path / "LIN"), str(out), "--test-fraction", "0.4"]) == 0
    assert (read_store(out)["Alp14"].meta["role"] == "test").sum() == 2
