"""Generator specs: the small JSON-able dict stored in every checkpoint, and its validation.

A spec names the architecture and its hyperparameters so that a generator is rebuilt without the
config. Keys per architecture (all required, no others allowed):

    dcgan, separable*    architecture, nz, ngf, proteins, height, width (+ red_portion*)
    star                 architecture, nz, ngf, red_portion, proteins, height, width
    multichannel         architecture, nz, ngf, separable, proteins, height, width (+ red_portion if separable)
    independent          architecture, nz, proteins, height, width, parts (one dcgan/separable spec per protein)
"""

from __future__ import annotations

from collections.abc import Mapping

from biogans.errors import BiogansError
from biogans.models.dcgan import DEPTH, base_map
from biogans.models.separable import red_channels
from biogans.validation import (
    MAX_IMAGE_SIDE,
    MAX_LATENT,
    MAX_PROTEINS,
    MAX_WIDTH,
    check_positive_int,
)

ARCHITECTURES: tuple[str, ...] = ("dcgan", "separable", "star", "multichannel", "independent")

#: Architectures of two-channel models: joint models, and the parts of an independent model.
JOINT_ARCHITECTURES: tuple[str, ...] = ("dcgan", "separable")

_COMMON = {"architecture", "nz", "proteins", "height", "width"}


def _expected_keys(spec: Mapping) -> set[str]:
    architecture = spec["architecture"]
    if architecture == "dcgan":
        return _COMMON | {"ngf"}
    if architecture in ("separable", "star"):
        return _COMMON | {"ngf", "red_portion"}
    if architecture == "multichannel":
        return _COMMON | {"ngf", "separable"} | ({"red_portion"} if spec.get("separable") is True else set())
    return _COMMON | {"parts"}


def check_spec(spec: Mapping, source: str = "model spec") -> Mapping:
    """Return ``spec`` if it describes a buildable generator, else raise BiogansError naming ``source``."""
    try:
        _check(spec)
    except BiogansError as error:
        raise BiogansError(f"{source}: {error}") from None
    return spec


def _check(spec: Mapping) -> None:
    if not isinstance(spec, Mapping):
        raise BiogansError(f"expected a dict, got {type(spec).__name__}")
    architecture = spec.get("architecture")
    if architecture not in ARCHITECTURES:
        raise BiogansError(f"unknown architecture {architecture!r} (known: {', '.join(ARCHITECTURES)})")
    if architecture == "multichannel" and not isinstance(spec.get("separable"), bool):
        raise BiogansError(f"'separable' must be true or false, got {spec.get('separable')!r}")
    expected = _expected_keys(spec)
    missing, extra = sorted(expected - set(spec)), sorted(set(spec) - expected)
    if missing:
        raise BiogansError(f"{architecture} spec lacks key(s) {', '.join(missing)}")
    if extra:
        raise BiogansError(f"{architecture} spec has unexpected key(s) {', '.join(map(str, extra))}")

    check_positive_int("nz", spec["nz"], MAX_LATENT)
    for side in ("height", "width"):
        check_positive_int(side, spec[side], MAX_IMAGE_SIDE)
    base_map(spec["height"], spec["width"])
    proteins = spec["proteins"]
    if (not isinstance(proteins, list) or not 0 < len(proteins) <= MAX_PROTEINS
            or not all(isinstance(p, str) and p for p in proteins) or len(set(proteins)) != len(proteins)):
        raise BiogansError(f"'proteins' must be a list of 1 to {MAX_PROTEINS} distinct names, got {proteins!r}")
    if "ngf" in spec:
        check_positive_int("ngf", spec["ngf"], MAX_WIDTH)
    if "red_portion" in spec:
        ngf = spec["ngf"]
        for channels in [spec["nz"]] + [ngf * 2**i for i in range(DEPTH)]:
            red_channels(channels, spec["red_portion"])
    if architecture == "independent":
        _check_parts(spec)


def _check_parts(spec: Mapping) -> None:
    parts, proteins = spec["parts"], spec["proteins"]
    if not isinstance(parts, list) or len(parts) != len(proteins):
        raise BiogansError(f"'parts' must be a list of {len(proteins)} spec(s), one per protein")
    for i, part in enumerate(parts):
        check_spec(part, source=f"part {i}")
        if part["architecture"] not in JOINT_ARCHITECTURES:
            raise BiogansError(f"part {i} is a {part['architecture']} model; parts are dcgan or separable")
        for key in ("nz", "height", "width"):
            if part[key] != spec[key]:
                raise BiogansError(f"part {i} has {key} {part[key]}, the model has {spec[key]}")
        if part["proteins"] != [proteins[i]]:
            raise BiogansError(f"part {i} models {part['proteins']}, expected [{proteins[i]!r}]")


def nz_red_of(spec: Mapping) -> int:
    """Size of the red part of z (0 for non-separable models; independent: the parts' common value)."""
    architecture = spec["architecture"]
    if architecture == "independent":
        sizes = {nz_red_of(part) for part in spec["parts"]}
        return sizes.pop() if len(sizes) == 1 else 0
    if "red_portion" not in spec:
        return 0
    return red_channels(spec["nz"], spec["red_portion"])


def critic_layout_of(spec: Mapping) -> tuple[int, int]:
    """(groups, channels) of the critic that trains this generator: one critic per protein for star."""
    architecture, n_proteins = spec["architecture"], len(spec["proteins"])
    if architecture in JOINT_ARCHITECTURES:
        return 1, 2
    if architecture == "multichannel":
        return 1, 1 + n_proteins
    return n_proteins, 2
