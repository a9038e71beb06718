"""The paper's 14 models by name: architecture, objective and default hyperparameters.

Two kinds of model: *joint* models (dcgan, separable) generate two-channel cells of the proteins
merged; *conditional* models (star, independent, multichannel) generate, for one red, one green per
protein. The workflow's config schema lists the same names (a test ties the two).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from biogans.errors import BiogansError
from biogans.models.specs import JOINT_ARCHITECTURES, check_spec

OBJECTIVES: tuple[str, ...] = ("gan", "wgan", "wgangp")


@dataclass(frozen=True)
class ModelDefinition:
    """One named model of the paper; widths (ngf, ndf) are defaults the config may override."""

    name: str
    architecture: str
    separable: bool
    objective: str
    nz: int = 100
    red_portion: float | None = None
    ngf: int = 64
    ndf: int = 64

    @property
    def kind(self) -> str:
        """``joint`` (the proteins merged) or ``conditional`` (one green per protein for one red)."""
        return "joint" if self.architecture in JOINT_ARCHITECTURES else "conditional"


#: The multi-channel models' sizes; the separable one's red portion is the paper's scripts' 0.143 (about 1/7).
_MULTICHANNEL = dict(nz=350, ngf=224, ndf=224)

#: The paper's models, joint (6 proteins merged) first, then the conditional ones.
PAPER_MODELS: dict[str, ModelDefinition] = {model.name: model for model in (
    ModelDefinition("gan", "dcgan", False, "gan"),
    ModelDefinition("wgan", "dcgan", False, "wgan"),
    ModelDefinition("wgangp", "dcgan", False, "wgangp"),
    ModelDefinition("gan-sep", "separable", True, "gan", red_portion=0.5),
    ModelDefinition("wgan-sep", "separable", True, "wgan", red_portion=0.5),
    ModelDefinition("wgangp-sep", "separable", True, "wgangp", red_portion=0.5),
    ModelDefinition("wgangp-star", "star", True, "wgangp", red_portion=0.5),
    ModelDefinition("gan-star", "star", True, "gan", red_portion=0.5),
    ModelDefinition("wgangp-independent", "independent", False, "wgangp"),
    ModelDefinition("wgangp-independent-sep", "independent", True, "wgangp", red_portion=0.5),
    ModelDefinition("gan-independent", "independent", False, "gan"),
    ModelDefinition("gan-independent-sep", "independent", True, "gan", red_portion=0.5),
    ModelDefinition("wgangp-multichannel", "multichannel", False, "wgangp", **_MULTICHANNEL),
    ModelDefinition("wgangp-multichannel-sep", "multichannel", True, "wgangp", red_portion=0.143, **_MULTICHANNEL),
)}


def definition(name: str) -> ModelDefinition:
    """The definition of a paper model; BiogansError listing the known names otherwise."""
    if name not in PAPER_MODELS:
        raise BiogansError(f"unknown model {name!r} (known: {', '.join(PAPER_MODELS)})")
    return PAPER_MODELS[name]


def spec_for(name: str, proteins: Sequence[str], **overrides) -> dict:
    """The generator spec of a named model for ``proteins``; overrides: nz, ngf, height, width, red_portion.

    Overrides set to None keep the default. Joint models list the merged proteins; independent
    models get one 2-channel part per protein.
    """
    model = definition(name)
    overrides = {key: value for key, value in overrides.items() if value is not None}
    allowed = {"nz", "ngf", "height", "width"} | ({"red_portion"} if model.red_portion is not None else set())
    unknown = sorted(set(overrides) - allowed)
    if unknown:
        raise BiogansError(f"model {name}: cannot override {', '.join(unknown)} "
                           f"(allowed: {', '.join(sorted(allowed))})")
    values = {"nz": model.nz, "ngf": model.ngf, "height": 48, "width": 80, "red_portion": model.red_portion}
    values.update(overrides)
    proteins = list(proteins)

    def two_channel(architecture: str, names: list[str]) -> dict:
        spec = {"architecture": architecture, "nz": values["nz"], "ngf": values["ngf"], "proteins": names,
                "height": values["height"], "width": values["width"]}
        if model.red_portion is not None:
            spec["red_portion"] = values["red_portion"]
        return spec

    if model.architecture in ("dcgan", "separable", "star"):
        spec = two_channel(model.architecture, proteins)
    elif model.architecture == "multichannel":
        spec = two_channel("multichannel", proteins) | {"separable": model.separable}
    else:
        part_architecture = "separable" if model.separable else "dcgan"
        spec = {"architecture": "independent", "nz": values["nz"], "proteins": proteins,
                "height": values["height"], "width": values["width"],
                "parts": [two_channel(part_architecture, [protein]) for protein in proteins]}
    return dict(check_spec(spec, source=f"model {name}"))
