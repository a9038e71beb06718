"""Small checks shared by the layers: each raises BiogansError with a one-line reason."""

from __future__ import annotations

import math
import os
from collections.abc import Sequence
from dataclasses import dataclass
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


@dataclass(frozen=True)
class Limit:
    """A bound on the size an input declares, checked before anything of that size is decoded or allocated:
    a small file can declare gigabytes (a tiled TIFF, a PNG header, an HDF5 shape, a generator's spec).
    The environment variable ``variable`` raises (or lowers) it for a run that needs more."""

    variable: str
    default: int
    unit: str

    def value(self) -> int:
        """The limit in force: ``variable`` from the environment when set, else the default."""
        text = os.environ.get(self.variable, "").strip()
        if not text:
            return self.default
        try:
            value = int(text.replace("_", ""))
        except ValueError:
            value = 0
        if value < 1:
            raise BiogansError(f"{self.variable}: expected a positive integer, got {text!r}")
        return value

    def check(self, amount: int, where: str) -> None:
        """Raise BiogansError ``<where> <amount> <unit>, above the limit ...`` when ``amount`` passes the limit."""
        limit = self.value()
        if amount > limit:
            raise BiogansError(f"{where} {amount:,} {self.unit}, above the limit of {limit:,} "
                               f"(set {self.variable} to allow more)")


#: Pixels of one image read from a TIFF (all channels and planes of a field, a label mask, an OME-TIFF stack)
#: or declared by OME-XML: 2**28 (a 2-channel field of 11,585 x 11,585 pixels; 1 GiB as float32).
MAX_IMAGE_PIXELS = Limit("BIOGANS_MAX_IMAGE_PIXELS", 2**28, "pixels")
#: Bytes of one array read from an HDF5 file into memory (a cell store's images: 1.1 million 48x80
#: two-channel cells): 8 GiB.
MAX_ARRAY_BYTES = Limit("BIOGANS_MAX_ARRAY_BYTES", 2**33, "bytes")
#: Parameters of one network built from a spec or the options (a generator, a critic, a group of C2ST
#: critics): 2**28, 1 GiB of float32 weights before gradients and optimiser state. The paper's largest
#: model (multi-channel, ngf 224, nz 350) has about 50 million.
MAX_PARAMETERS = Limit("BIOGANS_MAX_PARAMETERS", 2**28, "parameters")


def check_image_pixels(shape: Sequence[int], path: str, what: str = "an image") -> None:
    """Refuse an image whose declared ``shape`` holds more than :data:`MAX_IMAGE_PIXELS` pixels, before it is
    decoded; the message names the file ``path`` and ``what`` declared the shape."""
    MAX_IMAGE_PIXELS.check(math.prod(shape), f"{path}: {what} of {'x'.join(map(str, shape))} has")
