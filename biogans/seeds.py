"""Seeding by name: random streams that depend on (seed, names) only, never on call order or processes."""

from __future__ import annotations

import zlib

import numpy as np


def stable_id(name: str) -> int:
    """A process-independent integer for a name (CRC-32; Python's hash() is salted per process)."""
    return zlib.crc32(name.encode("utf-8"))


def derived_seed(*parts: int | str) -> int:
    """A 63-bit torch seed from integers and names (names via :func:`stable_id`): the same parts give the
    same seed in any process, and different parts independent streams (numpy's SeedSequence mixing)."""
    entropy = [stable_id(p) if isinstance(p, str) else p for p in parts]
    return int(np.random.SeedSequence(entropy).generate_state(1, np.uint64)[0] >> 1)
