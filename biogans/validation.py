"""Small checks shared by the layers: each raises BiogansError with a one-line reason."""

from __future__ import annotations

from typing import Any

from biogans.errors import BiogansError


def check_positive_int(name: str, value: Any) -> None:
    """Raise BiogansError unless ``value`` is a positive int (a layer width, a count)."""
    if isinstance(value, bool) or not isinstance(value, int) or value < 1:
        raise BiogansError(f"{name} must be a positive integer, got {value!r}")
