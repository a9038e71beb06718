"""Options of the figures (``biogans figure <figureN>``), declared once (see :mod:`biogans.options`)."""

from __future__ import annotations

from dataclasses import dataclass

from biogans.options import check_options, option, seed_option

_MANY = 10_000


@dataclass(frozen=True, kw_only=True)
class Figure1Options:
    latents: int = option(8, "generated columns", minimum=1, maximum=256, metavar="N")
    real_cells: int = option(4, "real cells per protein", minimum=1, maximum=256, metavar="N")
    seed: int = seed_option("seed of the latents and real cells")

    def __post_init__(self) -> None:
        check_options(self)


@dataclass(frozen=True, kw_only=True)
class Figure3Options:
    samples: int = option(8, "samples per checkpoint", minimum=1, maximum=256, metavar="N")
    seed: int = seed_option("seed of the latents and real cells")

    def __post_init__(self) -> None:
        check_options(self)


@dataclass(frozen=True, kw_only=True)
class Figure4Options:
    groups: int = option(4, "rows per model", minimum=1, maximum=256, metavar="N")
    group_size: int = option(8, "samples sharing one red (the paper: 8)", minimum=1, maximum=256, metavar="N")
    seed: int = seed_option("seed of the latents")

    def __post_init__(self) -> None:
        check_options(self)


@dataclass(frozen=True, kw_only=True)
class Figure6Options:
    cells_per_protein: int = option(3, "cells per protein", minimum=1, maximum=256, metavar="N")

    def __post_init__(self) -> None:
        check_options(self)


@dataclass(frozen=True, kw_only=True)
class Figure7Options:
    steps: int = option(11, "cells along the PNG strip", minimum=2, maximum=256, metavar="N")
    frames: int = option(40, "GIF frames one way", minimum=2, maximum=1000, metavar="N")
    candidates: int = option(512, "latents sampled to find a short and a long cell", minimum=2, maximum=_MANY,
                             metavar="N")
    seed: int = seed_option("seed of the candidate latents")

    def __post_init__(self) -> None:
        check_options(self)
