"""Build generators and critics from specs, and bundle per-protein generators into an independent model."""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from functools import partial

import torch
from torch import nn

from biogans.errors import BiogansError
from biogans.models.base import CellGenerator
from biogans.models.conditional import (
    IndependentGenerator,
    MultichannelGenerator,
    StarGenerator,
)
from biogans.models.dcgan import Critic
from biogans.models.joint import JointGenerator
from biogans.models.specs import check_spec, critic_layout_of
from biogans.validation import MAX_PARAMETERS

GENERATORS: dict[str, type[CellGenerator]] = {
    "dcgan": JointGenerator,
    "separable": JointGenerator,
    "star": StarGenerator,
    "multichannel": MultichannelGenerator,
    "independent": IndependentGenerator,
}


def build(spec: Mapping, source: str = "model spec") -> CellGenerator:
    """The generator a spec describes, with the paper's initialisation (deterministic given the torch seed).

    ``source`` (e.g. the checkpoint's path) prefixes the message of the BiogansError a bad spec raises.
    """
    check_spec(spec, source)
    make = partial(GENERATORS[spec["architecture"]], spec)
    check_parameters(make, f"{source}: a {spec['architecture']} generator of")
    return make()


def build_critic(spec: Mapping, ndf: int, batchnorm: bool) -> Critic:
    """The (grouped) critic matching the generator's ``critic_layout``; batchnorm=False for WGAN-GP."""
    check_spec(spec)
    groups, channels = critic_layout_of(spec)
    make = partial(Critic, channels, ndf, groups, batchnorm, spec["height"], spec["width"])
    check_parameters(make, f"a critic of width {ndf} has", networks=groups)
    return make()


def check_parameters(make: Callable[[], nn.Module], what: str, networks: int = 1) -> None:
    """Refuse a network that ``make`` builds with more than :data:`MAX_PARAMETERS` parameters (per one of the
    ``networks`` it holds, as a grouped critic does): counted on a copy built on the meta device, which
    allocates no memory and draws no random numbers, so that a spec asking for gigabytes allocates nothing."""
    with torch.device("meta"):
        count = sum(parameter.numel() for parameter in make().parameters())
    MAX_PARAMETERS.check(count // networks, what)


def assemble_independent(parts: Sequence[tuple[Mapping, Mapping[str, torch.Tensor]]],
                         source: str = "independent parts") -> tuple[dict, dict[str, torch.Tensor]]:
    """Bundle per-protein (spec, state_dict) pairs, in protein order, into one independent model's pair.

    The spec lists the parts; state-dict keys are prefixed ``parts.<i>.``. Raises BiogansError if the
    parts do not fit together (different nz or image size) or a state dict does not match its spec.
    """
    if not parts:
        raise BiogansError(f"{source}: no parts to assemble")
    first = parts[0][0]
    spec = {
        "architecture": "independent",
        "nz": first.get("nz"),
        "proteins": [protein for part, _ in parts for protein in part.get("proteins", [])],
        "height": first.get("height"),
        "width": first.get("width"),
        "parts": [dict(part) for part, _ in parts],
    }
    state = {f"parts.{i}.{key}": value for i, (_, part_state) in enumerate(parts)
             for key, value in part_state.items()}
    model = build(spec, source)
    try:
        model.load_state_dict(state)
    except RuntimeError as error:
        first_line = str(error).splitlines()[0] if str(error) else "mismatch"
        raise BiogansError(f"{source}: a state dict does not match its spec ({first_line})") from None
    return spec, state
