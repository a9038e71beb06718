"""Small checks shared by the layers: each raises BiogansError with a one-line reason."""

from __future__ import annotations

from typing import Any

from biogans.errors import BiogansError

#: Network sizes beyond these would allocate gigabytes before anything else could go wrong: a spec or
#: an option asking for more is refused up front.
MAX_WIDTH = 1024
MAX_LATENT = 4096
MAX_IMAGE_SIDE = 1024
MAX_PROTEINS = 64


def check_positive_int(name: str, value: Any, maximum: int | None = None) -> None:
    """Raise BiogansError unless ``value`` is a positive int (a layer width, a count), at most ``maximum``."""
    if isinstance(value, bool) or not isinstance(value, int) or value < 1:
        raise BiogansError(f"{name} must be a positive integer, got {value!r}")
    if maximum is not None and value > maximum:
        raise BiogansError(f"{name} {value} is above the limit of {maximum}")
