"""GAN objectives behind one interface: GAN (BCE on logits), WGAN (weight clipping), WGAN-GP.

A critic maps a batch laid out [B, G * C, H, W] to scores [B, G]: one critic per group (a protein
of a star-shaped model, or a split of the C2ST). Every loss here is returned *per group*, [G]; the
training loop averages them over the groups (as the paper's code, ``errD.mean()``), the C2ST sums
them (each group's gradients are then its own) and scores each group.
Each objective carries the paper's optimiser settings, so the loop never needs to know which one
it runs.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch
import torch.nn.functional as F
from torch import nn

from biogans.errors import BiogansError


def _group_mean(scores: torch.Tensor) -> torch.Tensor:
    """[B, G] -> [G]: the mean over the batch, per group."""
    return scores.mean(0)


@dataclass(frozen=True)
class Objective:
    """Base class: critic and generator losses per group, optimisers, critic-step schedule."""

    name: str = ""
    critic_steps: int = 1
    #: whether the DCGAN critic keeps BatchNorm under this objective (WGAN-GP drops it)
    critic_batchnorm: bool = True
    #: whether the critic loss differentiates through a gradient (WGAN-GP's penalty)
    double_backward: bool = False

    def critic_loss(self, critic: nn.Module, real: torch.Tensor, fake: torch.Tensor,
                    rng: torch.Generator | None = None, alpha: torch.Tensor | None = None) -> torch.Tensor:
        """Per-group critic loss [G]: the batch means of ``cell_losses`` (plus WGAN-GP's penalty, whose
        interpolation weights ``alpha`` [B, G] are drawn from ``rng`` when not given)."""
        real_losses, fake_losses = self.cell_losses(critic(real), critic(fake))
        return _group_mean(real_losses) + _group_mean(fake_losses)

    def cell_losses(self, real_scores: torch.Tensor, fake_scores: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """Per-cell critic losses of real and fake scores ([B, G] each): the C2ST averages them over
        held-out sets of any size."""
        raise NotImplementedError

    def generator_loss(self, critic: nn.Module, fake: torch.Tensor) -> torch.Tensor:
        raise NotImplementedError

    def critic_optimizer(self, params, capturable: bool = False) -> torch.optim.Optimizer:
        """The critic's optimiser; ``capturable`` keeps its state on the device, for CUDA graph replay."""
        raise NotImplementedError

    def generator_optimizer(self, params, capturable: bool = False) -> torch.optim.Optimizer:
        return self.critic_optimizer(params, capturable)

    def critic_steps_at(self, iteration: int) -> int:
        """Critic updates before generator update number ``iteration`` (0-based)."""
        return self.critic_steps

    def after_critic_step(self, critic: nn.Module) -> None:
        """Hook after each critic update (WGAN clips the weights here)."""

    def penalty_weights(self, batch: int, groups: int, rng: torch.Generator | None) -> torch.Tensor | None:
        """The random draws of one critic update's loss made ahead of it ([B, G] interpolation weights for
        WGAN-GP's penalty, drawn exactly as :meth:`critic_loss` would), or None where it draws none."""
        return None

    def wasserstein(self, real_scores: torch.Tensor, fake_scores: torch.Tensor) -> torch.Tensor | None:
        """The critic's Wasserstein estimate per group, where the objective defines one."""
        return None


@dataclass(frozen=True)
class GAN(Objective):
    """Standard GAN: BCE on logits, non-saturating generator loss, Adam(2e-4, (0.5, 0.999))."""

    name: str = "gan"
    lr: float = 2e-4
    betas: tuple[float, float] = (0.5, 0.999)

    def cell_losses(self, real_scores, fake_scores):
        return (F.binary_cross_entropy_with_logits(real_scores, torch.ones_like(real_scores), reduction="none"),
                F.binary_cross_entropy_with_logits(fake_scores, torch.zeros_like(fake_scores), reduction="none"))

    def generator_loss(self, critic, fake):
        scores = critic(fake)
        return _group_mean(F.binary_cross_entropy_with_logits(scores, torch.ones_like(scores), reduction="none"))

    def critic_optimizer(self, params, capturable=False):
        return torch.optim.Adam(params, lr=self.lr, betas=self.betas, capturable=capturable)


@dataclass(frozen=True)
class WGAN(Objective):
    """WGAN with weight clipping: RMSprop(5e-5), 5 critic steps (100 for the first 25 generator
    steps and every 500th), weights clipped to [-clip, clip]."""

    name: str = "wgan"
    lr: float = 5e-5
    clip: float = 0.01
    critic_steps: int = 5
    warmup_critic_steps: int = 100
    warmup_iterations: int = 25
    boost_every: int = 500

    def cell_losses(self, real_scores, fake_scores):
        return -real_scores, fake_scores

    def generator_loss(self, critic, fake):
        return -_group_mean(critic(fake))

    def critic_optimizer(self, params, capturable=False):
        return torch.optim.RMSprop(params, lr=self.lr, capturable=capturable)

    def critic_steps_at(self, iteration):
        if iteration < self.warmup_iterations or iteration % self.boost_every == 0:
            return self.warmup_critic_steps
        return self.critic_steps

    def after_critic_step(self, critic):
        with torch.no_grad():
            for p in critic.parameters():
                p.clamp_(-self.clip, self.clip)

    def wasserstein(self, real_scores, fake_scores):
        return _group_mean(real_scores) - _group_mean(fake_scores)


@dataclass(frozen=True)
class WGANGP(Objective):
    """WGAN with gradient penalty: Adam(1e-4, (0, 0.9)), lambda 10, 5 critic steps, no BatchNorm."""

    name: str = "wgangp"
    lr: float = 1e-4
    betas: tuple[float, float] = (0.0, 0.9)
    penalty: float = 10.0
    critic_steps: int = 5
    critic_batchnorm: bool = False
    double_backward: bool = True

    def penalty_weights(self, batch, groups, rng):
        return torch.rand(batch, groups, generator=rng)

    def critic_loss(self, critic, real, fake, rng=None, alpha=None):
        real_losses, fake_losses = self.cell_losses(critic(real), critic(fake))
        return (_group_mean(real_losses) + _group_mean(fake_losses)
                + self.penalty * gradient_penalty(critic, real, fake, real_losses.shape[1], rng, alpha))

    def cell_losses(self, real_scores, fake_scores):
        return -real_scores, fake_scores

    def generator_loss(self, critic, fake):
        return -_group_mean(critic(fake))

    def critic_optimizer(self, params, capturable=False):
        return torch.optim.Adam(params, lr=self.lr, betas=self.betas, capturable=capturable)

    def wasserstein(self, real_scores, fake_scores):
        return _group_mean(real_scores) - _group_mean(fake_scores)


def gradient_penalty(critic: nn.Module, real: torch.Tensor, fake: torch.Tensor, groups: int,
                     rng: torch.Generator | None = None, alpha: torch.Tensor | None = None) -> torch.Tensor:
    """Per group, mean over the batch of (|grad critic(x)| - 1)^2 at random interpolates x of real
    and fake (Gulrajani et al. 2017); one interpolation weight per cell and group, ``alpha`` [B, G]
    or drawn from ``rng``."""
    if alpha is None:
        alpha = torch.rand(real.shape[0], groups, generator=rng)
    return penalty_terms(critic, real, fake, alpha).mean(0)


def penalty_terms(critic: nn.Module, real: torch.Tensor, fake: torch.Tensor, alpha: torch.Tensor,
                  create_graph: bool = True) -> torch.Tensor:
    """(|grad critic(x)| - 1)^2 per cell and group [B, G] at x = alpha real + (1 - alpha) fake, with
    ``alpha`` [B, G]; ``create_graph=False`` when only the value is needed (scoring)."""
    batch, groups = alpha.shape
    alpha = alpha.to(real).reshape(batch, groups, 1, 1, 1)
    shape = (batch, groups, -1, *real.shape[2:])
    mixed = (alpha * real.view(shape) + (1 - alpha) * fake.view(shape)).view_as(real).requires_grad_(True)
    scores = critic(mixed)
    (grad,) = torch.autograd.grad(scores.sum(), mixed, create_graph=create_graph)
    norms = grad.reshape(batch, groups, -1).norm(dim=2)
    return (norms - 1) ** 2


OBJECTIVES: dict[str, type[Objective]] = {"gan": GAN, "wgan": WGAN, "wgangp": WGANGP}


def get_objective(name: str, **settings) -> Objective:
    """The objective called ``name`` (gan, wgan, wgangp), with optional overrides of its settings."""
    if name not in OBJECTIVES:
        raise BiogansError(f"unknown objective {name!r} (expected one of {', '.join(OBJECTIVES)})")
    return OBJECTIVES[name](**settings)
