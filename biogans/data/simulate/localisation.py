"""Where each protein's fluorescence sits in a cell, and how that changes through the cycle.

A protein's signal is a weighted sum of the cell's structures (see ``cells.CellState``): dense
components (cytoplasm, nucleus, cortex, the caps at the old/new end, the septum disc) and point
components (SPBs, spindle, MT plus ends, actin patches, cell-end clusters, contractile ring).
``pattern(protein, cell)`` gives those weights for one cell; the renderer turns them into photons.

Brightness units: 1 is the in-focus cytoplasm of a cell interior for that protein; the photon
count of that unit is ``BASE_PHOTONS[protein]``. Dense weights scale a map whose peak is 1
(caps and cortex peak at the cell outline); dot weights are the peak of a diffraction-limited
spot and line weights (spindle, ring) the peak across a line, both after the PSF blur. The
ratios are plausible choices, not measurements: SPB dots are many times brighter than the
cytoplasm (SPB proteins reach ~7500x cytoplasmic concentration, rings ~100x [WP05], diluted
here by the projection through the cell's depth), rings and caps several times brighter.
Each protein's pattern and its sources are tabulated in docs/biology.md (keys such as [OKA] refer
to its references).
"""

from __future__ import annotations

import numpy as np

from biogans.data.simulate.cells import SEPTUM_CLOSED, CellState
from biogans.proteins import ALL_PROTEINS, RED

DENSE: tuple[str, ...] = ("cytoplasm", "nucleus", "cortex", "cap_old", "cap_new", "septum")
POINTS: tuple[str, ...] = ("spb", "spindle", "mt_end", "patch", "tip_cluster", "ring")
#: Point kinds drawn as lines (their weight is a line peak), the others are dots.
LINE_POINTS: frozenset[str] = frozenset({"spindle", "ring"})

#: Photons per pixel of one brightness unit (the in-focus cytoplasm) at expression 1: a choice
#: giving each strain a signal-to-noise typical of endogenously tagged proteins; low-abundance
#: localised proteins (Sid2, Tea4) are dimmer.
BASE_PHOTONS: dict[str, float] = {
    RED: 50.0,
    "Alp14": 40.0, "Arp3": 30.0, "Cki2": 35.0, "Mkh1": 30.0,
    "Sid2": 20.0, "Tea1": 25.0, "Fim1": 35.0, "Tea4": 25.0,
}
#: Cell-to-cell variability of a green protein's expression (log-normal sigma).
GREEN_EXPRESSION_SIGMA = 0.3

#: Cki2 has no localisation source. Its pattern borrows from the casein kinase 1 family: Hhp1 and
#: Hhp2 sit at SPBs, in the nucleus, at cell tips and at the division site [HHP]; Cki3 at the
#: plasma membrane [CKI3]. Chosen default: diffuse cytoplasm with nuclear enrichment, a faint
#: cortex, a modest SPB dot and a division-site signal during cytokinesis. Edit the weights here
#: (same units as the other proteins; "division_site" weights ring and septum) to try others.
CKI2_PATTERN: dict[str, float] = {
    "cytoplasm": 1.0,
    "nucleus": 0.6,
    "cortex": 0.4,
    "tips": 0.0,
    "spb": 3.0,
    "division_site": 1.5,
}


def _mkh1_tip_strength(age: float) -> float:
    """Mkh1 tip signal peaks around G1/S [KAN], which (an assumption) overlaps cytokinesis and the
    cycle's start."""
    distance = min(age, 1.0 - age)  # cycle distance to the G1/S transition (age ~ 0)
    return 0.2 + 0.8 * float(np.exp(-0.5 * (distance / 0.1) ** 2))


def _ring_present(cell: CellState) -> bool:
    return bool(np.isfinite(cell.ring_radius))


def _septum_present(cell: CellState) -> bool:
    return bool(np.isfinite(cell.septum_inner))


def _bgs4(cell: CellState) -> dict[str, float]:
    """Red: growing tip caps (one before NETO, two after), fading in mitosis, then ring -> septum."""
    old, new = cell.tip_activity
    w = {"cytoplasm": 0.3, "cortex": 1.0, "cap_old": 6.0 * old, "cap_new": 6.0 * new}
    if cell.phase == "mitosis" and _ring_present(cell):
        # Bgs4 reaches the division site late in anaphase, before septation starts [MUN].
        w["ring"] = 3.0 * max(0.0, (cell.progress - 0.75) / 0.25)
    if cell.phase == "cytokinesis":
        w["ring"] = 3.0 if _ring_present(cell) else 0.0
        w["septum"] = 4.0
    return w


def _alp14(cell: CellState) -> dict[str, float]:
    """MT plus-end dots over cytoplasm kept out of the nucleus [ALB][OKA]; in mitosis nuclear,
    on the spindle and at its poles [OKA][TANG]."""
    if cell.phase == "mitosis":
        return {"cytoplasm": 0.6, "nucleus": 1.0, "spindle": 4.0, "spb": 6.0}
    return {"cytoplasm": 1.0, "nucleus": -0.8, "mt_end": 3.0, "spb": 1.0}


def _arp3(cell: CellState) -> dict[str, float]:
    """Cortical actin patches (their positions follow the phase) over a cytoplasmic pool [MCC]."""
    return {"cytoplasm": 0.6, "patch": 6.0}


def _fim1(cell: CellState) -> dict[str, float]:
    """Actin patches like Arp3, plus a thinner signal in the contractile ring [WU01][SKAU]."""
    return {"cytoplasm": 0.5, "patch": 5.0, "ring": 2.0 if _ring_present(cell) else 0.0}


def _sid2(cell: CellState) -> dict[str, float]:
    """SPB dot(s) at every stage; at the division site only while the ring constricts and the
    septum forms [SPA]."""
    w = {"cytoplasm": 0.5, "spb": 25.0}
    if cell.phase == "cytokinesis" and cell.progress >= 0.15:
        if _ring_present(cell):
            w["ring"] = 3.0
        elif cell.progress < SEPTUM_CLOSED + 0.15:
            w["septum"] = 1.5
    return w


def _tea1(cell: CellState) -> dict[str, float]:
    """Bright caps of clusters at both ends plus faint MT-tip dots; stays cortical in mitosis
    [BEH][DOD13]."""
    return {"cytoplasm": 0.6, "cap_old": 2.0, "cap_new": 2.0, "tip_cluster": 5.0, "mt_end": 1.0}


def _tea4(cell: CellState) -> dict[str, float]:
    """Tea1's partner: the same end clusters and MT tips, dimmer caps [MART][TAT]."""
    return {"cytoplasm": 0.7, "cap_old": 1.5, "cap_new": 1.5, "tip_cluster": 4.0, "mt_end": 1.0}


def _mkh1(cell: CellState) -> dict[str, float]:
    """Weak tip signal, strongest early in the cycle, over diffuse cytoplasm [KAN]."""
    tips = 3.0 * _mkh1_tip_strength(cell.age)
    return {"cytoplasm": 1.0, "cortex": 0.2, "cap_old": tips, "cap_new": tips}


def _cki2(cell: CellState) -> dict[str, float]:
    """The configurable CK1-family pattern of CKI2_PATTERN (see its comment)."""
    p = CKI2_PATTERN
    w = {"cytoplasm": p["cytoplasm"], "nucleus": p["nucleus"], "cortex": p["cortex"],
         "cap_old": p["tips"], "cap_new": p["tips"], "spb": p["spb"]}
    if cell.phase == "cytokinesis":
        w["ring"] = p["division_site"] if _ring_present(cell) else 0.0
        w["septum"] = p["division_site"] if _septum_present(cell) else 0.0
    return w


_PATTERNS = {
    RED: _bgs4, "Alp14": _alp14, "Arp3": _arp3, "Cki2": _cki2, "Mkh1": _mkh1,
    "Sid2": _sid2, "Tea1": _tea1, "Fim1": _fim1, "Tea4": _tea4,
}
assert set(_PATTERNS) == {RED, *ALL_PROTEINS}


def pattern(protein: str, cell: CellState) -> tuple[np.ndarray, np.ndarray]:
    """Weights of the dense components (DENSE order) and point kinds (POINTS order) of a protein."""
    weights = _PATTERNS[protein](cell)
    unknown = set(weights) - set(DENSE) - set(POINTS)
    if unknown:
        raise ValueError(f"pattern of {protein} names unknown components {sorted(unknown)}")
    dense = np.array([weights.get(name, 0.0) for name in DENSE])
    points = np.array([weights.get(name, 0.0) for name in POINTS])
    return dense, points


__all__ = ["BASE_PHOTONS", "CKI2_PATTERN", "DENSE", "GREEN_EXPRESSION_SIGMA", "LINE_POINTS",
           "POINTS", "pattern"]
