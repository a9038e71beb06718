"""``biogans bench``: speed cases, each measured beside a plain baseline of the same math.

All benchmark code lives in this package; nothing here is imported by the workflow's stages.
"""

from biogans.bench.cases import CASES, run

__all__ = ["CASES", "run"]
