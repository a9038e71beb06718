"""Options of the data stages (simulate, preprocess, import-lin, splits, neighbours), declared once.

Each dataclass is what its ``biogans <stage>`` command builds its arguments from; ``config`` names
the workflow's config key that sets the option (see :mod:`biogans.options`).
"""

from __future__ import annotations

from dataclasses import dataclass

from biogans.errors import BiogansError
from biogans.options import check_options, option, seed_option
from biogans.proteins import ALL_PROTEINS

#: Smallest simulated field: a dividing cell (~15 um, 115 pixels) must fit.
MIN_FIELD_SIZE = 128


@dataclass(frozen=True)
class SimulateOptions:
    """What ``biogans simulate`` renders."""

    proteins: tuple[str, ...] = option(ALL_PROTEINS, "green-channel proteins", choices=ALL_PROTEINS,
                                       metavar="P", config="dataset.proteins")
    cells_per_protein: int = option(1000, "cells to render per protein", minimum=1, maximum=1_000_000,
                                    metavar="N", config="simulate.cells_per_protein")
    all_proteins: bool = option(False, "render every protein's green for the same cells (joint ground truth)")
    field_size: int = option(512, "width and height of a field of view in pixels", minimum=MIN_FIELD_SIZE,
                             maximum=8192, metavar="PX", config="simulate.field_size")
    seed: int = seed_option("random seed of the simulated fields", config="simulate.seed")

    def __post_init__(self) -> None:
        check_options(self)


@dataclass(frozen=True)
class PreprocessOptions:
    """How fields become cells; recorded in the store's ``params`` attribute."""

    channels: tuple[str, str] | None = option(None, "what the two channels of each field hold, in file order "
                                              "(default: from the OME channel names, else red green)",
                                              choices=("red", "green"), metavar="NAME", config="dataset.channels")
    pixel_size: float | None = option(None, "field pixel size in micrometres (default: from the OME "
                                      "PhysicalSizeX/Y, else the TIFF resolution tags)", minimum=0.001, maximum=100.0,
                                      exclusive_minimum=True, metavar="UM", config="dataset.pixel_size")
    cell_pixel_size: float = option(0.19, "pixel size of the 48x80 cell images in micrometres; 0.19 fits a "
                                    "14 um dividing cell into the 80-pixel width", minimum=0.01, maximum=10.0,
                                    metavar="UM", config="preprocess.cell_pixel_size")
    percentiles: tuple[float, float] = option((0.5, 99.5), "in-cell intensity percentiles mapped to the 8-bit "
                                              "range [1, 255]", minimum=0, maximum=100, metavar="P",
                                              config="preprocess.percentiles")
    test_fraction: float = option(0.2, "fraction of each protein's cells held out as the test set", minimum=0,
                                  maximum=0.95, metavar="F", config="preprocess.test_fraction")
    seed: int = seed_option("seed of the train/test assignment", config="preprocess.seed")

    def __post_init__(self) -> None:
        check_options(self)
        if self.channels is not None and sorted(self.channels) != ["green", "red"]:
            raise BiogansError(f"--channels: {' '.join(self.channels)}: expected 'red green' or 'green red'")
        if not self.percentiles[0] < self.percentiles[1]:
            raise BiogansError(f"--percentiles: {self.percentiles[0]:g} {self.percentiles[1]:g}: need low < high")


@dataclass(frozen=True)
class ImportLinOptions:
    """How the published LIN folders become the cell store (the train/test assignment applies only when
    LIN_ROOT has no _train/_test pair, whose roles are kept)."""

    test_fraction: float = option(0.2, "fraction of each protein's cells held out as the test set", minimum=0,
                                  maximum=0.95, metavar="F", config="preprocess.test_fraction")
    seed: int = seed_option("seed of the train/test assignment", config="preprocess.seed")

    def __post_init__(self) -> None:
        check_options(self)


@dataclass(frozen=True)
class SplitOptions:
    """The C2ST's seeded half/half splits."""

    n_splits: int = option(10, "number of splits (the paper: 10)", minimum=1, maximum=1000, metavar="N",
                           config="splits.n_splits")
    seed: int = seed_option("seed of the splits", config="splits.seed")

    def __post_init__(self) -> None:
        check_options(self)


@dataclass(frozen=True)
class NeighbourOptions:
    """The red-channel nearest-neighbour search of the multi-channel models' composite cells."""

    k: int = option(5, "neighbours per cell and protein", minimum=1, maximum=100, flag="-k",
                    config="neighbours.k")
    block_size: int = option(1024, "query cells per block; bounds memory", minimum=1, maximum=65536, metavar="N")

    def __post_init__(self) -> None:
        check_options(self)
