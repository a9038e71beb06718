"""Segmentation, cell geometry and alignment on drawn fields with exact ground truth."""

from __future__ import annotations

import numpy as np
import pytest
import tifffile
from cellfields import PIXEL_SIZE, draw_field, random_cells

from biogans.data.align import align_cell, sampling_grid
from biogans.data.geometry import cell_geometry, solidity
from biogans.data.segment import (
    CellRegion,
    cells_from_labels,
    otsu_threshold,
    segment_red,
)


def angle_error(a: float, b: float) -> float:
    """Absolute difference of two axis orientations in degrees, modulo 180."""
    return abs((a - b + 90.0) % 180.0 - 90.0)


def truth_overlap(cell: CellRegion, truth: np.ndarray) -> tuple[int, float]:
    """The truth label under most of the cell's mask, and the fraction of the mask it covers."""
    y0, x0, y1, x1 = cell.bbox
    under = truth[y0:y1, x0:x1][cell.mask]
    counts = np.bincount(under, minlength=2)
    counts[0] = 0
    best = int(np.argmax(counts))
    return best, counts[best] / under.size


def test_otsu_threshold_separates_two_populations():
    rng = np.random.default_rng(0)
    values = np.concatenate([rng.normal(100, 10, 9000), rng.normal(400, 40, 1000)])
    bright = np.arange(10000) >= 9000
    assert ((values > otsu_threshold(values)) == bright).mean() > 0.999
    assert otsu_threshold(np.full(10, 3.0)) == 3.0


@pytest.mark.parametrize("angle", [-89.0, -45.0, 0.0, 30.0, 90.0])
def test_geometry_of_a_capsule(angle):
    from cellfields import capsule_distance

    along, across = capsule_distance((200, 200), 100.0, 90.0, angle, 90.0)
    mask = np.hypot(np.clip(np.abs(along) - 31.0, 0, None), across) <= 14.0
    g = cell_geometry(mask)
    assert angle_error(g.angle, angle) < 1.0 and -90 < g.angle <= 90
    assert abs(g.centre_y - 100) < 0.5 and abs(g.centre_x - 90) < 0.5
    assert abs(g.length - 90) < 2.0 and abs(g.width - 29) < 2.0
    assert g.waist > 0.9 and solidity(mask) > 0.95


def test_segmentation_finds_isolated_cells_with_accurate_angles():
    rng = np.random.default_rng(1)
    cells = random_cells(rng, 10, (400, 400))
    red, _, truth = draw_field(cells, (400, 400), seed=1)
    found, dropped = segment_red(red, PIXEL_SIZE)
    inside = [i for i, c in enumerate(cells, 1) if not _touches_border(truth == i)]
    matched = {truth_overlap(c, truth)[0] for c in found}
    assert matched == set(inside) and len(found) == len(inside)
    for cell in found:
        label, fraction = truth_overlap(cell, truth)
        assert fraction >= 0.9
        assert angle_error(cell.geometry.angle, cells[label - 1]["angle"]) < 2.0
        assert abs(cell.geometry.length - cells[label - 1]["length"]) < 6  # blur widens by a few px
    assert dropped["border"] == len(cells) - len(inside)


def _touches_border(mask):
    return mask[0].any() or mask[-1].any() or mask[:, 0].any() or mask[:, -1].any()


def test_touching_cells_are_dropped_and_never_mixed():
    lone = {"centre_y": 60, "centre_x": 60, "angle": 10, "length": 80}
    v_shape = [{"centre_y": 200, "centre_x": 70, "angle": 30, "length": 90},
               {"centre_y": 200, "centre_x": 140, "angle": -30, "length": 90}]
    end_to_end = [{"centre_y": 320, "centre_x": 60, "angle": 0, "length": 60},
                  {"centre_y": 320, "centre_x": 120, "angle": 0, "length": 60}]
    side_by_side = [{"centre_y": 70, "centre_x": 250, "angle": 90, "length": 90},
                    {"centre_y": 70, "centre_x": 278, "angle": 90, "length": 90}]
    crossed = [{"centre_y": 260, "centre_x": 280, "angle": 45, "length": 90},
               {"centre_y": 260, "centre_x": 280, "angle": -45, "length": 90}]
    cells = [lone, *v_shape, *end_to_end, *side_by_side, *crossed]
    red, _, truth = draw_field(cells, (400, 400), seed=2)
    found, dropped = segment_red(red, PIXEL_SIZE)
    assert [truth_overlap(c, truth)[0] for c in found] == [1]
    assert sum(dropped.values()) == 4


def test_label_masks_drop_only_border_cells():
    labels = np.zeros((100, 100), dtype=np.int32)
    labels[10:20, 10:40] = 3
    labels[50:60, 0:30] = 5  # touches the left border
    labels[70:72, 70:72] = 9
    cells, dropped = cells_from_labels(labels)
    assert [c.label for c in cells] == [3, 9] and dropped == {"border": 1}
    assert cells[0].bbox == (10, 10, 20, 40)


def test_alignment_puts_the_long_axis_horizontal_and_masks_outside():
    cell = {"centre_y": 100.3, "centre_x": 90.7, "angle": 35.0, "length": 80}
    red, green, truth = draw_field([cell], (200, 200), seed=3)
    channels = np.stack([red, green]).astype(np.float32)
    (region,), _ = cells_from_labels(truth.astype(np.int32))
    scale = 0.19 / PIXEL_SIZE
    aligned = align_cell(channels, region, scale)
    images, mask = aligned.images(), aligned.mask
    assert images.shape == (2, 48, 80) and mask.shape == (48, 80) and aligned.values.shape == (2, mask.sum())
    assert (images[:, ~mask] == 0).all() and (images[0][mask] > 0).all()
    g = cell_geometry(mask)
    assert angle_error(g.angle, 0.0) < 1.0
    assert abs(g.centre_y - 23.5) < 0.7 and abs(g.centre_x - 39.5) < 0.7
    assert abs(g.length - 80 / scale) < 2.5 and abs(g.area - region.geometry.area / scale**2) < 0.03 * g.area
    # the output's centre samples the cell's centroid, its columns run along the cell
    grid = sampling_grid(10.0, 20.0, 90.0, 2.0, (2, 3))
    np.testing.assert_allclose(grid[:, 0, :], [[8.0, 10.0, 12.0], [21.0, 21.0, 21.0]], atol=1e-9)


def test_cells_that_do_not_fit_are_refused():
    too_long = {"centre_y": 150, "centre_x": 150, "angle": -20, "length": 130}  # 16.9 µm > 80 x 0.19
    _, _, truth = draw_field([too_long], (300, 300))
    (region,), _ = cells_from_labels(truth.astype(np.int32))
    channels = np.ones((2, 300, 300), dtype=np.float32)
    assert align_cell(channels, region, 0.19 / PIXEL_SIZE) is None
    assert align_cell(channels, region, 0.25 / PIXEL_SIZE) is not None  # fits at a coarser cell scale


# --------------------------------------------------------------------------- against the simulator

@pytest.fixture(scope="module")
def simulated(tmp_path_factory):
    """A few simulated fields (two proteins) with their ground-truth labels and cell tables."""
    from biogans.data.options import SimulateOptions
    from biogans.data.simulate import simulate

    root = tmp_path_factory.mktemp("sim")
    simulate(root, SimulateOptions(proteins=["Sid2", "Tea1"], cells_per_protein=100, seed=7))
    return root


def test_segmentation_matches_simulated_ground_truth(simulated):
    import pandas as pd

    from biogans.data.fields import list_fields, read_field

    isolated = found = kept = 0
    errors = []
    for folder in sorted(p for p in simulated.iterdir() if p.is_dir()):
        for path in list_fields(folder):
            field = read_field(path)
            truth = tifffile.imread(path.with_name(f"{path.stem}_labels.tif")).astype(np.int64)
            table = pd.read_csv(path.with_name(f"{path.stem}_cells.csv")).set_index("cell_id")
            cells, _ = segment_red(field.channels[0], field.pixel_size)
            matched = set()
            for cell in cells:
                y0, x0, y1, x1 = cell.bbox
                under = truth[y0:y1, x0:x1][cell.mask]
                label, fraction = truth_overlap(cell, truth)
                assert set(np.unique(under)) - {0} == {label} and fraction >= 0.9, f"{path}: crop mixes cells"
                whole = truth == label
                iou = (whole[y0:y1, x0:x1] & cell.mask).sum() / (whole.sum() + cell.mask.sum() - fraction * under.size)
                centre = truth[int(round(cell.geometry.centre_y)), int(round(cell.geometry.centre_x))]
                matched |= {label} if iou >= 0.5 else set()
                matched |= {centre} - {0}
                errors.append(angle_error(cell.geometry.angle, table.loc[label, "angle"]))
                kept += align_cell(field.channels, cell, 0.19 / field.pixel_size) is not None
            ids = set(table.index[table["isolated"]])
            isolated += len(ids)
            found += len(ids & matched)
    assert isolated >= 100
    assert found / isolated >= 0.95
    assert np.median(errors) <= 3.0
    assert kept >= 0.95 * len(errors)  # nearly every found cell fits the 48x80 frame
