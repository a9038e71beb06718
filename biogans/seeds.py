"""Seeding by name: random streams that depend on (seed, names) only, never on call order or processes."""

from __future__ import annotations

import zlib


def stable_id(name: str) -> int:
    """A process-independent integer for a name (CRC-32; Python's hash() is salted per process)."""
    return zlib.crc32(name.encode("utf-8"))
