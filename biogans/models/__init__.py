"""GAN architectures of the paper: DCGAN, separable, star-shaped, independent and multi-channel generators.

``build(spec)`` is the single way to make a generator; ``build_critic`` makes its matching critic.
"""

from biogans.models.base import CellGenerator
from biogans.models.conditional import (
    IndependentGenerator,
    MultichannelGenerator,
    StarGenerator,
)
from biogans.models.dcgan import Critic, Generator, paper_init_
from biogans.models.factory import assemble_independent, build, build_critic, check_parameters
from biogans.models.joint import JointGenerator
from biogans.models.latent import fixed_noise, interpolate, sample_noise
from biogans.models.separable import SeparableGenerator
from biogans.models.specs import ARCHITECTURES, check_spec, critic_layout_of, nz_red_of
from biogans.models.zoo import PAPER_MODELS, ModelDefinition, spec_for

__all__ = [
    "ARCHITECTURES", "PAPER_MODELS", "CellGenerator", "Critic", "Generator", "IndependentGenerator",
    "JointGenerator", "ModelDefinition", "MultichannelGenerator", "SeparableGenerator", "StarGenerator",
    "assemble_independent", "build", "build_critic", "check_parameters", "check_spec", "critic_layout_of",
    "fixed_noise", "interpolate", "nz_red_of", "paper_init_", "sample_noise", "spec_for",
]
