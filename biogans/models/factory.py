"""Build generators and critics from specs, and bundle per-protein generators into an independent model."""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import torch

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
    return GENERATORS[spec["architecture"]](spec)


def build_critic(spec: Mapping, ndf: int, batchnorm: bool) -> Critic:
    """The (grouped) critic matching the generator's ``critic_layout``; batchnorm=False for WGAN-GP."""
    check_spec(spec)
    groups, channels = critic_layout_of(spec)
    return Critic(channels, ndf, groups, batchnorm, spec["height"], spec["width"])


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
