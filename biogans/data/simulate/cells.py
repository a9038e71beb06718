"""The state of one fission-yeast cell: cycle age, shape, phase and the internal structures.

Every structure that several proteins mark (spindle pole bodies, spindle, microtubule plus ends,
actin patches, cell-end clusters, contractile ring, septum, nuclei) is sampled here, once per
cell, so that all proteins rendered for one cell are mutually consistent: Sid2's SPB dots sit
where Alp14's spindle ends, Arp3 and Fim1 mark the same actin patches, Tea1 and Tea4 the same
cell-end clusters. The cycle itself (age, length, phase, tip growth) is in ``cycle``.

Coordinates are in micrometres in the cell's own frame: ``u`` along the long axis (0 at the
cell centre, the two ends at ``u = +-length / 2``), ``v`` across it in the image plane, ``z``
along the optical axis (0 at the cell's mid-plane). Facts and their sources are in
docs/biology.md (keys such as [PT] refer to its references); the numbers that are modelling
choices are marked there.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from biogans.data.simulate import cycle
from biogans.data.simulate.cycle import INTERPHASE

# --------------------------------------------------------------------------- shape
#: Length at division (~14 um [PT][BN1]); daughters are born at half of it (~7 um).
DIVISION_LENGTH_UM = (14.0, 0.6)  # mean, sd
#: Diameter 3.74 +- 0.15 um, nearly constant along the rod [BN2].
WIDTH_UM = (3.74, 0.15)
WIDTH_RANGE_UM = (3.2, 4.3)

# --------------------------------------------------------------------------- structures
#: Nuclear volume ~8% of cell volume, a constant nuclear/cell volume ratio [NN07], i.e. a ~2.4 um
#: nucleus in a 10 um cell; a daughter nucleus has half the volume of the G2 nucleus.
NUCLEUS_VOLUME_FRACTION = 0.08
#: Interphase microtubule bundles along the long axis: 3-5 [PT]; each has a plus end growing
#: towards either cell end, and a plus end is growing (carrying +TIPs) with this probability.
MT_BUNDLES = (3, 5)
MT_GROWING_PROBABILITY = 0.7
#: Cortical actin patches: their number scales with cell length [BER] (~20-45 per cell).
PATCHES_PER_UM = 3.0
#: Mean distance of a tip-associated actin patch from the tip (um).
PATCH_TIP_DECAY_UM = 1.0
#: Tea1/Tea4 cell-end clusters per end: 3 + Poisson(4) [DOD13][BICHO].
TIP_CLUSTERS = (3, 4)
#: Mitosis sub-stages, as fractions of the mitotic period: SPBs separate at 0, anaphase B starts
#: at ANAPHASE and the contractile ring is assembled by then (within ~10 min of SPB separation [WU03]).
ANAPHASE = 0.35
#: Spindle length (um): SPINDLE_START_UM when the SPBs separate, growing to SPINDLE_ANAPHASE_UM by
#: anaphase B, then elongating along the axis until its poles are SPINDLE_END_GAP_UM short of the
#: cell end nearer to the division plane (full_spindle_length).
SPINDLE_START_UM = 1.0
SPINDLE_ANAPHASE_UM = 2.5
SPINDLE_END_GAP_UM = 0.6
#: A daughter nucleus's centre trails its SPB by this fraction of the daughter nucleus's radius.
NUCLEUS_TRAIL = 0.7
#: Cytokinesis sub-stages: the ring constricts and the septum grows inward until SEPTUM_CLOSED;
#: the daughters start to separate (a furrow at the septum) from SEPARATION.
SEPTUM_CLOSED = 0.6
SEPARATION = 0.85
#: Per-cell expression variability of the red channel (log-normal sigma).
RED_EXPRESSION_SIGMA = 0.25


@dataclass
class CellState:
    """One cell: cycle position, shape and the positions of its internal structures (um)."""

    age: float                 # position in the cycle, [0, 1)
    phase: str                 # one of PHASES
    progress: float            # progress through mitosis or cytokinesis in [0, 1); 0 in interphase
    length: float              # tip to tip
    width: float               # diameter
    old_end: int               # +1 or -1: the end at u = old_end * length / 2 is the old end
    tip_activity: tuple[float, float]  # growth (Bgs4) activity of the (old, new) end, in [0, 1]
    nuclei: np.ndarray         # (k, 3): u, v, radius
    spbs: np.ndarray           # (k, 3): u, v, z of the spindle pole bodies
    spindle: bool              # a mitotic spindle joins the two SPBs
    mt_ends: np.ndarray        # (k, 3): growing microtubule plus ends
    patches: np.ndarray        # (k, 4): u, v, z, relative brightness of cortical actin patches
    tip_clusters: np.ndarray   # (k, 4): u, v, z, relative brightness of Tea1/Tea4 end clusters
    division_u: float          # position of the division plane (where the G2 nucleus sat)
    ring_radius: float         # contractile ring radius; NaN when there is no ring
    septum_inner: float        # inner radius of the septum annulus; NaN when there is no septum
    furrow: float              # depth of the separation furrow at the septum (um)
    red_expression: float      # per-cell Bgs4 expression factor (log-normal)

    @property
    def radius(self) -> float:
        return self.width / 2

    @property
    def interphase(self) -> bool:
        return self.phase in INTERPHASE


def surface_radius(length: float, radius: float, u: np.ndarray) -> np.ndarray:
    """Radius of a rod's surface at axial positions ``u``: a cylinder with hemispherical ends."""
    beyond = np.maximum(np.abs(u) - (length / 2 - radius), 0.0)
    return np.sqrt(np.maximum(radius * radius - beyond * beyond, 0.0))


def _surface_point(cell_length: float, radius: float, u: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """Points on the cell surface at axial positions ``u``, at random azimuths around the axis."""
    r = surface_radius(cell_length, radius, u)
    theta = rng.uniform(0, 2 * np.pi, np.shape(u))
    return np.stack([u, r * np.sin(theta), r * np.cos(theta)], axis=-1)


def _tip_points(cell_length: float, radius: float, end: np.ndarray, depth: np.ndarray,
                rng: np.random.Generator) -> np.ndarray:
    """Surface points ``depth`` um (axially) from the tip of ``end`` (+1 or -1 per point)."""
    depth = np.clip(depth, 0.0, cell_length / 2)
    u = end * (cell_length / 2 - depth)
    return _surface_point(cell_length, radius, u, rng)


def _nucleus_radius(length: float, radius: float, fraction: float = NUCLEUS_VOLUME_FRACTION) -> float:
    volume = np.pi * radius**2 * (length - 2 * radius) + 4 / 3 * np.pi * radius**3
    return float((3 * fraction * volume / (4 * np.pi)) ** (1 / 3))


def daughter_nucleus_radius(nucleus_radius: float) -> float:
    """Radius of each daughter nucleus: half the volume of the G2 nucleus of radius ``nucleus_radius``."""
    return nucleus_radius / 2 ** (1 / 3)


def full_spindle_length(length: float, division_u: float) -> float:
    """Spindle length at the end of anaphase B, when the division plane is at ``division_u``: its poles
    are SPINDLE_END_GAP_UM short of the cell end nearer to the plane."""
    return 2 * (length / 2 - abs(division_u) - SPINDLE_END_GAP_UM)


def spindle_length(progress: float, length: float, division_u: float) -> float:
    """Spindle length at ``progress`` through mitosis: SPINDLE_START_UM -> SPINDLE_ANAPHASE_UM until
    ANAPHASE, then linearly to full_spindle_length at the end of mitosis."""
    if progress < ANAPHASE:
        return SPINDLE_START_UM + (SPINDLE_ANAPHASE_UM - SPINDLE_START_UM) * progress / ANAPHASE
    full = full_spindle_length(length, division_u)
    return SPINDLE_ANAPHASE_UM + (full - SPINDLE_ANAPHASE_UM) * (progress - ANAPHASE) / (1 - ANAPHASE)


def _mt_plus_ends(rng: np.random.Generator, nucleus: np.ndarray, bounds: tuple[float, float],
                  n_bundles: int, cell_length: float, radius: float) -> np.ndarray:
    """Growing plus ends of antiparallel MT bundles anchored at ``nucleus``, within ``bounds``.

    Each bundle runs along the long axis through the nucleus (minus ends overlap there) and has
    one plus end towards each end of its compartment.
    """
    u_n, v_n = nucleus[0], nucleus[1]
    offsets = np.clip(rng.normal(0, 0.3 * radius, (n_bundles, 2)), -0.6 * radius, 0.6 * radius)
    reach = rng.uniform(0.2, 1.0, (n_bundles, 2))
    margin = 0.4
    lo, hi = bounds[0] + margin, bounds[1] - margin
    u = np.concatenate([u_n + reach[:, 0] * (hi - u_n), u_n - reach[:, 1] * (u_n - lo)])
    v = np.concatenate([v_n + offsets[:, 0], v_n + offsets[:, 0]])
    z = np.concatenate([offsets[:, 1], offsets[:, 1]])
    # Near the tips the cell narrows: keep the plus ends inside the cytoplasm.
    room = np.maximum(surface_radius(cell_length, radius, u) - 0.25, 0.0)
    scale = np.minimum(1.0, room / np.maximum(np.hypot(v, z), 1e-9))
    ends = np.stack([u, v * scale, z * scale], axis=1)
    growing = rng.random(len(ends)) < MT_GROWING_PROBABILITY
    return ends[growing]


def _random_direction(rng: np.random.Generator) -> np.ndarray:
    d = rng.normal(size=3)
    return d / np.linalg.norm(d)


def _interphase(rng: np.random.Generator, length: float, radius: float, nucleus: np.ndarray) -> dict:
    """One nucleus with one SPB on its envelope, and 3-5 MT bundles through it [PT]."""
    spb = np.array([nucleus[0], nucleus[1], 0.0]) + nucleus[2] * _random_direction(rng)
    n_bundles = int(rng.integers(MT_BUNDLES[0], MT_BUNDLES[1] + 1))
    return {"nuclei": nucleus[None, :], "spbs": spb[None, :],
            "mt_ends": _mt_plus_ends(rng, nucleus, (-length / 2, length / 2), n_bundles, length, radius)}


def _mitosis(rng: np.random.Generator, progress: float, length: float, radius: float,
             nucleus: np.ndarray) -> dict:
    """Closed mitosis [OKA]: two SPBs joined by a spindle (spindle_length) that elongates along the
    axis in anaphase B, carrying the daughter nuclei; the contractile ring exists from anaphase [WU03]."""
    division_u, nucleus_v, nucleus_r = nucleus
    daughter_r = daughter_nucleus_radius(nucleus_r)
    spindle = spindle_length(progress, length, division_u)
    tilt = np.deg2rad(rng.normal(0, 15 if progress < ANAPHASE else 3))
    direction = np.array([np.cos(tilt), np.sin(tilt)])
    poles = np.array([division_u, nucleus_v]) + np.outer((0.5, -0.5), direction) * spindle
    structures = {"spbs": np.column_stack([poles, np.zeros(2)]), "spindle": True}
    if progress < ANAPHASE:
        structures["nuclei"] = nucleus[None, :]
    else:
        # Each daughter nucleus trails its SPB towards the middle (a dumbbell early on).
        inward = np.outer((-1.0, 1.0), direction) * NUCLEUS_TRAIL * daughter_r
        structures["nuclei"] = np.column_stack([poles + inward, np.full(2, daughter_r)])
        structures["ring_radius"] = radius
    return structures


def _cytokinesis(rng: np.random.Generator, progress: float, length: float, radius: float,
                 nucleus: np.ndarray) -> dict:
    """The ring constricts as the septum grows inward [MUN]; the daughter nuclei (each with its
    SPB) move from the poles to the daughters' middles; the daughters rebuild MT bundles and
    finally start to separate at the septum."""
    division_u, nucleus_v, nucleus_r = nucleus
    daughter_r = daughter_nucleus_radius(nucleus_r)
    half = length / 2
    side = np.array([1.0, -1.0])
    pole_u = division_u + side * (full_spindle_length(length, division_u) / 2 - NUCLEUS_TRAIL * daughter_r)
    middle_u = (division_u + side * half) / 2
    nuclei_u = pole_u + min(progress / 0.5, 1.0) * (middle_u - pole_u)
    structures = {
        "nuclei": np.column_stack([nuclei_u, np.full(2, nucleus_v), np.full(2, daughter_r)]),
        "spbs": np.column_stack([nuclei_u + side * daughter_r, np.full(2, nucleus_v), np.zeros(2)]),
        "septum_inner": 0.0,
    }
    if progress < SEPTUM_CLOSED:
        structures["ring_radius"] = structures["septum_inner"] = radius * (1 - progress / SEPTUM_CLOSED)
    if progress >= SEPARATION:
        structures["furrow"] = 0.5 * radius * (progress - SEPARATION) / (1 - SEPARATION)
    if progress >= 0.3:
        # Post-anaphase arrays: each daughter rebuilds 1-2 interphase bundles.
        compartments = ((division_u, half), (-half, division_u))
        structures["mt_ends"] = np.concatenate([
            _mt_plus_ends(rng, structures["nuclei"][k], bounds, int(rng.integers(1, 3)), length, radius)
            for k, bounds in enumerate(compartments)])
    return structures


def sample_cell(rng: np.random.Generator, age: float | None = None,
                division_length: float | None = None) -> CellState:
    """Draw one cell of an asynchronous wild-type population (or at a given age / size)."""
    if age is None:
        age = float(cycle.sample_age(rng))
    if division_length is None:
        division_length = float(rng.normal(*DIVISION_LENGTH_UM))
    width = min(max(rng.normal(*WIDTH_UM), WIDTH_RANGE_UM[0]), WIDTH_RANGE_UM[1])
    radius = width / 2
    length, neto_age = cycle.growth_curve(age, division_length / 2, division_length)
    phase, progress = cycle.phase_at(age, neto_age)
    old_end = 1 if rng.random() < 0.5 else -1

    # The G2 nucleus sits near the cell centre; where it sits, the cell will divide.
    nucleus = np.array([min(max(rng.normal(0, 0.25), -0.1 * length), 0.1 * length),
                        rng.normal(0, 0.1),
                        min(_nucleus_radius(length, radius), radius - 0.3)])
    structures = {"spindle": False, "mt_ends": np.zeros((0, 3)), "ring_radius": np.nan,
                  "septum_inner": np.nan, "furrow": 0.0}
    if phase in INTERPHASE:
        structures.update(_interphase(rng, length, radius, nucleus))
    elif phase == "mitosis":
        structures.update(_mitosis(rng, progress, length, radius, nucleus))
    else:
        structures.update(_cytokinesis(rng, progress, length, radius, nucleus))

    # Cortical actin patches: at the growing end(s) in interphase [MAR], spread over the cortex at
    # mitotic onset, gathered at the cell middle from anaphase to the end of cytokinesis [WU01].
    n_patches = int(rng.poisson(PATCHES_PER_UM * length))
    patches = _sample_patches(rng, n_patches, phase, progress, length, radius, old_end, nucleus[0])

    # Tea1/Tea4 clusters at both cell ends, in every phase (they stay cortical in mitosis [DOD13]).
    n_per_end = TIP_CLUSTERS[0] + rng.poisson(TIP_CLUSTERS[1], 2)
    ends = np.repeat([1.0, -1.0], n_per_end)
    clusters = _tip_points(length, radius, ends, np.abs(rng.normal(0, 0.5, len(ends))), rng)
    tip_clusters = np.column_stack([clusters, rng.uniform(0.5, 1.0, len(ends))])

    return CellState(
        age=float(age), phase=phase, progress=float(progress), length=float(length),
        width=float(width), old_end=old_end, tip_activity=cycle.tip_activity(phase, progress),
        patches=patches, tip_clusters=tip_clusters, division_u=float(nucleus[0]),
        red_expression=float(rng.lognormal(0, RED_EXPRESSION_SIGMA)), **structures,
    )


def _sample_patches(rng: np.random.Generator, n: int, phase: str, progress: float, length: float,
                    radius: float, old_end: int, division_u: float) -> np.ndarray:
    """Actin patch positions (u, v, z) and brightness for the cell's phase."""
    if phase == "monopolar":
        where_p = (0.8, 0.05, 0.15)  # old end, new end, anywhere on the cortex
    elif phase == "bipolar":
        where_p = (0.5, 0.35, 0.15)
    elif phase == "mitosis" and progress < ANAPHASE:
        where_p = (0.0, 0.0, 1.0)
    else:
        where_p = None
    half = length / 2
    if where_p is None:
        medial = rng.random(n) < 0.8
        u = np.where(medial, division_u + rng.normal(0, 0.7, n), rng.uniform(-half, half, n))
        points = _surface_point(length, radius, np.clip(u, -half, half), rng)
    else:
        where = np.searchsorted(np.cumsum(where_p), rng.random(n) * sum(where_p))
        end = np.where(where == 0, old_end, -old_end)
        depth = rng.exponential(PATCH_TIP_DECAY_UM, n)
        u_tip = end * (half - np.clip(depth, 0, length))
        u = np.where(where == 2, rng.uniform(-half, half, n), u_tip)
        points = _surface_point(length, radius, np.clip(u, -half, half), rng)
    return np.column_stack([points, rng.uniform(0.3, 1.0, n)])


def sample_sisters(rng: np.random.Generator) -> tuple[CellState, CellState]:
    """Two newly separated sister cells of one division (same birth size, age just past 0).

    In the returned pair the first cell's old end is at +u and the second's at -u, so placing
    them end to end along one axis puts their new ends (the former septum) against each other.
    """
    age = float(rng.uniform(0.0, 0.03))
    division_length = float(rng.normal(*DIVISION_LENGTH_UM))
    first = sample_cell(rng, age=age, division_length=division_length)
    second = sample_cell(rng, age=age, division_length=division_length)
    _set_old_end(first, +1)
    _set_old_end(second, -1)
    return first, second


def _set_old_end(cell: CellState, old_end: int) -> None:
    """Mirror the cell along its axis if needed so that its old end is at ``old_end``."""
    if cell.old_end == old_end:
        return
    for points in (cell.nuclei, cell.spbs, cell.mt_ends, cell.patches, cell.tip_clusters):
        points[:, 0] *= -1
    cell.division_u = -cell.division_u
    cell.old_end = old_end
