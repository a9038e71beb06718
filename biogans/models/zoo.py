"""The paper's 14 models by name: architecture, objective, data regime and default hyperparameters."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from biogans.errors import BiogansError
from biogans.models.specs import check_spec

OBJECTIVES: tuple[str, ...] = ("gan", "wgan", "wgangp")

#: joint: proteins merged into 2-channel cells; conditional: one batch per protein;
#: multichannel: composite images; independent: one 2-channel job per protein.
REGIMES: tuple[str, ...] = ("joint", "conditional", "multichannel", "independent")


@dataclass(frozen=True)
class ModelDefinition:
    """One named model of the paper; widths (ngf, ndf) are defaults the config may override."""

    name: str
    architecture: str
    separable: bool
    objective: str
    regime: str
    nz: int = 100
    red_portion: float | None = None
    ngf: int = 64
    ndf: int = 64

    @property
    def critic_batchnorm(self) -> bool:
        """WGAN-GP critics have no batch norm (the gradient penalty is per sample)."""
        return self.objective != "wgangp"


_MULTICHANNEL = dict(nz=350, ngf=224, ndf=224)

#: The paper's models, joint (6 proteins merged) first, then the conditional ones.
PAPER_MODELS: dict[str, ModelDefinition] = {model.name: model for model in (
    ModelDefinition("gan", "dcgan", False, "gan", "joint"),
    ModelDefinition("wgan", "dcgan", False, "wgan", "joint"),
    ModelDefinition("wgangp", "dcgan", False, "wgangp", "joint"),
    ModelDefinition("gan-sep", "separable", True, "gan", "joint", red_portion=0.5),
    ModelDefinition("wgan-sep", "separable", True, "wgan", "joint", red_portion=0.5),
    ModelDefinition("wgangp-sep", "separable", True, "wgangp", "joint", red_portion=0.5),
    ModelDefinition("wgangp-star", "star", True, "wgangp", "conditional", red_portion=0.5),
    ModelDefinition("gan-star", "star", True, "gan", "conditional", red_portion=0.5),
    ModelDefinition("wgangp-independent", "independent", False, "wgangp", "independent"),
    ModelDefinition("wgangp-independent-sep", "independent", True, "wgangp", "independent", red_portion=0.5),
    ModelDefinition("gan-independent", "independent", False, "gan", "independent"),
    ModelDefinition("gan-independent-sep", "independent", True, "gan", "independent", red_portion=0.5),
    ModelDefinition("wgangp-multichannel", "multichannel", False, "wgangp", "multichannel", **_MULTICHANNEL),
    ModelDefinition("wgangp-multichannel-sep", "multichannel", True, "wgangp", "multichannel", red_portion=1 / 7,
                    **_MULTICHANNEL),
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
        raise BiogansError(f"model {name}: cannot override {', '.join(unknown)} (allowed: {', '.join(sorted(allowed))})")
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
