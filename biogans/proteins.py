"""The proteins of the LIN screen (green channel); the red channel is always Bgs4."""

from collections.abc import Iterable

RED = "Bgs4"

#: Every green-channel protein of the published dataset; Table 1 uses all eight.
ALL_PROTEINS: tuple[str, ...] = ("Alp14", "Arp3", "Cki2", "Mkh1", "Sid2", "Tea1", "Fim1", "Tea4")

#: The six proteins the paper's GANs model.
MODELLED_PROTEINS: tuple[str, ...] = ALL_PROTEINS[:6]

#: Size of one aligned cell image: height x width.
CELL_SHAPE: tuple[int, int] = (48, 80)


def protein_order(proteins: Iterable[str]) -> list[str]:
    """Proteins in ``ALL_PROTEINS`` order, then any others alphabetically, without duplicates."""
    unique = set(proteins)
    known = [p for p in ALL_PROTEINS if p in unique]
    return known + sorted(unique - set(known))
