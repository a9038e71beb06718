"""What every figure shares: its resolution, the PNG name check and the atomic save."""

from __future__ import annotations

from pathlib import Path

from matplotlib.figure import Figure

from biogans.errors import BiogansError
from biogans.files import atomic_path

DPI = 200


def check_png(out: str | Path) -> None:
    if Path(out).suffix != ".png":
        raise BiogansError(f"{out}: a figure file must end in .png")


def save_figure(figure: Figure, out: str | Path) -> None:
    """Write a matplotlib figure as a PNG at :data:`DPI`, atomically."""
    with atomic_path(out) as tmp:
        figure.savefig(tmp, format="png", dpi=DPI, facecolor="white")
