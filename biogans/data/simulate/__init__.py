"""Built-in simulator of two-channel fission-yeast microscopy fields (red Bgs4 + one green protein).

``simulate`` writes, per protein, 16-bit ImageJ TIFF fields with their ground truth (label
image and a per-cell table), or, in all-proteins mode, every protein's green for the same cells.

Modules: ``cycle`` (cycle age, length, phase and tip growth), ``cells`` (a cell's shape and
internal structures), ``localisation`` (each protein's pattern through the cycle), ``rod`` (a
cell placed in a field), ``render`` and ``optics`` (photons, microscope, camera), ``layout``
(placing cells, writing files), ``run`` (folders, seeding, workers).

Patterns rendered (details and brightness ratios in ``localisation``):
Bgs4 (red) tip caps at the growing end(s), fading in mitosis, then ring and septum; Alp14
MT plus-end dots over cytoplasm that spares the nucleus, then nucleus, spindle and its pole
dots in mitosis; Arp3 actin patches at the growing end(s), medial from anaphase; Fim1 the same
patches plus the contractile ring; Sid2 one SPB dot, two separating dots in mitosis, the
constricting ring in cytokinesis; Tea1 and Tea4 clustered caps at both ends and MT-tip dots;
Mkh1 weak tips strongest early in the cycle over cytoplasm; Cki2 a configurable casein
kinase 1 pattern (cytoplasm, nucleus, cortex, SPB, division site). The biology behind these
patterns, with its published sources and the numbers that are modelling choices, is in
docs/biology.md.
"""

from biogans.data.simulate.cycle import PHASES
from biogans.data.simulate.optics import PIXEL_SIZE_UM
from biogans.data.simulate.run import ALL_PROTEINS_DIR, simulate

__all__ = ["ALL_PROTEINS_DIR", "PHASES", "PIXEL_SIZE_UM", "simulate"]
