import h5py
import numpy as np
import pytest

from biogans.data.store import (
    META_COLUMNS,
    read_store,
    store_attrs,
    store_groups,
    to_unit_range,
)
from biogans.errors import BiogansError


def test_round_trip_keeps_images_metadata_and_attributes(tiny_store):
    path, groups = tiny_store
    back = read_store(path)
    assert list(back) == ["Alp14", "Arp3", "Sid2"] == store_groups(path)
    for protein, cells in groups.items():
        np.testing.assert_array_equal(back[protein].images, cells.images)
        assert back[protein].channels == ["Bgs4", protein]
        assert list(back[protein].meta.columns) == list(META_COLUMNS)
        assert back[protein].meta["role"].tolist() == cells.meta["role"].tolist()
        assert back[protein].meta["source"].tolist() == cells.meta["source"].tolist()
    assert store_attrs(path)["source"] == "test"


def test_images_are_chunked_and_compressed(tiny_store):
    path, _ = tiny_store
    with h5py.File(path) as f:
        images = f["Alp14/images"]
        assert images.dtype == np.uint8 and images.shape == (40, 2, 48, 80)
        assert images.chunks is not None and images.compression == "gzip"


def test_missing_group_and_foreign_file_are_refused(tiny_store, tmp_path):
    path, _ = tiny_store
    with pytest.raises(BiogansError, match="Tea1"):
        read_store(path, ["Tea1"])
    foreign = tmp_path / "foreign.h5"
    with h5py.File(foreign, "w") as f:
        f["x"] = 1
    with pytest.raises(BiogansError, match="not a biogans cell store"):
        read_store(foreign)
    with pytest.raises(BiogansError, match="no such file"):
        read_store(tmp_path / "missing.h5")


def test_unit_range_maps_background_to_minus_one():
    x = np.array([0, 255], dtype=np.uint8)
    np.testing.assert_allclose(to_unit_range(x), [-1.0, 1.0])
