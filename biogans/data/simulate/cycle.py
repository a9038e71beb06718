"""The cell cycle of one fission-yeast cell: age in an asynchronous culture, length, phase, tip growth.

A cell's position in the cycle is its age in [0, 1) (0 at birth, 1 at the next birth). Lengths are in
micrometres. Facts and their sources are in docs/biology.md (keys such as [MN] refer to its
references); the numbers that are modelling choices are marked there.

Phase vocabulary (the ``phase`` column of the ground-truth tables):

- ``monopolar``: interphase before NETO; only the old end grows.
- ``bipolar``: interphase after NETO (new-end take-off); both ends grow.
- ``mitosis``: from SPB separation to spindle breakdown; tip growth fades and stops.
- ``cytokinesis``: ring constriction, septation and daughter separation; no tip growth.
"""

from __future__ import annotations

import numpy as np

PHASES: tuple[str, ...] = ("monopolar", "bipolar", "mitosis", "cytokinesis")
INTERPHASE: tuple[str, ...] = PHASES[:2]

#: New-end take-off: not before this age, and not before the cell reaches NETO_MIN_LENGTH_UM [MN].
NETO_AGE = 0.34
NETO_MIN_LENGTH_UM = 9.5
#: After NETO the total elongation rate rises by about 35% [MN].
NETO_RATE_GAIN = 1.35
#: Mitosis and cytokinesis fill the last 18% of the cycle (a modelling choice), which puts about
#: 13% of an asynchronous population in them: ~6% mitosis, ~7% cytokinesis.
MITOSIS_AGE = 0.82
CYTOKINESIS_AGE = 0.90
#: Relative Bgs4/growth activity of the new end once bipolar: NETO adds ~35% to the elongation
#: of the old end [MN], so the new end is the weaker of the two growing ends (the value is a
#: modelling choice).
NEW_END_ACTIVITY = 0.6
#: Tip growth fades over this first fraction of mitosis (a modelling choice) and has stopped
#: by cytokinesis [PT][CDC42].
MITOTIC_FADE = 0.5


def sample_age(rng: np.random.Generator, size: int | None = None) -> float | np.ndarray:
    """Cycle age of cells drawn from an exponentially growing (asynchronous) culture.

    The age density is 2 ln 2 * 2^-age on [0, 1); inverting its CDF 2 (1 - 2^-age) gives the draw.
    """
    return -np.log2(1.0 - rng.random(size) / 2.0)


def growth_curve(age: float, birth_length: float, division_length: float) -> tuple[float, float]:
    """Length at ``age`` and the age of NETO, for tip growth that speeds up by NETO_RATE_GAIN.

    Growth is linear at rate r before NETO and NETO_RATE_GAIN * r after it, stops at mitosis, and
    reaches ``division_length`` at MITOSIS_AGE. NETO happens at NETO_AGE or, for a cell still
    shorter than NETO_MIN_LENGTH_UM then, when it reaches that length [MN].
    """
    k, a_m = NETO_RATE_GAIN, MITOSIS_AGE
    extension = division_length - birth_length
    rate = extension / (NETO_AGE + k * (a_m - NETO_AGE))
    neto_age = NETO_AGE
    if birth_length + rate * NETO_AGE < NETO_MIN_LENGTH_UM:
        # NETO waits for the length threshold: solve for the rate with NETO at that length.
        short = NETO_MIN_LENGTH_UM - birth_length
        rate = (extension - short * (1 - k)) / (k * a_m)
        neto_age = min(short / rate, a_m)
    after_neto = min(max(age - neto_age, 0.0), a_m - neto_age)
    length = birth_length + rate * min(age, neto_age) + k * rate * after_neto
    return length, neto_age


def phase_at(age: float, neto_age: float) -> tuple[str, float]:
    """The phase at ``age`` and the progress through it (mitosis and cytokinesis only)."""
    if age < neto_age:
        return "monopolar", 0.0
    if age < MITOSIS_AGE:
        return "bipolar", 0.0
    if age < CYTOKINESIS_AGE:
        return "mitosis", (age - MITOSIS_AGE) / (CYTOKINESIS_AGE - MITOSIS_AGE)
    return "cytokinesis", (age - CYTOKINESIS_AGE) / (1.0 - CYTOKINESIS_AGE)


def tip_activity(phase: str, progress: float) -> tuple[float, float]:
    """Growth at the (old, new) end: old end only before NETO, both after [MN];
    it fades in mitosis and stops while the cell divides [PT][CDC42]."""
    if phase == "monopolar":
        return 1.0, 0.0
    if phase == "bipolar":
        return 1.0, NEW_END_ACTIVITY
    if phase == "mitosis":
        fade = max(0.0, 1.0 - progress / MITOTIC_FADE)
        return fade, NEW_END_ACTIVITY * fade
    return 0.0, 0.0
