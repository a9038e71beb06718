"""The plain baselines of the benchmark cases: the same mathematics as biogans' fast paths, written the
straightforward way (float32, eager, default memory format, one network per call, one split or problem
at a time). They exist only to be timed against; nothing else uses them."""

from __future__ import annotations

import torch
from torch import nn


class PlainWGANGPIteration:
    """One WGAN-GP iteration of a two-channel generator and its critic: 5 critic updates with the gradient
    penalty, then one generator update; Adam(1e-4, (0, 0.9)), lambda 10."""

    def __init__(self, generator: nn.Module, critic: nn.Module, real: torch.Tensor, nz: int):
        self.generator, self.critic, self.real, self.nz = generator.train(), critic.train(), real, nz
        self.opt_generator = torch.optim.Adam(generator.parameters(), lr=1e-4, betas=(0.0, 0.9))
        self.opt_critic = torch.optim.Adam(critic.parameters(), lr=1e-4, betas=(0.0, 0.9))
        self.rng = torch.Generator().manual_seed(0)

    def __call__(self) -> None:
        batch, device = len(self.real), self.real.device
        for _ in range(5):
            with torch.no_grad():
                fake = self.generator(torch.randn(batch, self.nz, generator=self.rng).to(device))
            alpha = torch.rand(batch, 1, 1, 1, generator=self.rng).to(device)
            mixed = (alpha * self.real + (1 - alpha) * fake).requires_grad_(True)
            (grad,) = torch.autograd.grad(self.critic(mixed).sum(), mixed, create_graph=True)
            penalty = ((grad.flatten(1).norm(dim=1) - 1) ** 2).mean()
            loss = -self.critic(self.real).mean() + self.critic(fake).mean() + 10 * penalty
            self.opt_critic.zero_grad()
            loss.backward()
            self.opt_critic.step()
        loss = -self.critic(self.generator(torch.randn(batch, self.nz, generator=self.rng).to(device))).mean()
        self.opt_generator.zero_grad()
        loss.backward()
        self.opt_generator.step()


def plain_critic_training(critics: list[nn.Module], real: torch.Tensor, rows_a: list[torch.Tensor],
                          rows_b: list[torch.Tensor], steps: int, batch: int) -> None:
    """C2ST critics trained one after another, WGAN-GP loss, batches drawn from each one's halves."""
    rng = torch.Generator().manual_seed(0)
    for critic, a_rows, b_rows in zip(critics, rows_a, rows_b, strict=True):
        optimiser = torch.optim.Adam(critic.parameters(), lr=1e-4, betas=(0.0, 0.9))
        for _ in range(steps):
            a = real[a_rows[torch.randint(len(a_rows), (batch,), generator=rng)]]
            b = real[b_rows[torch.randint(len(b_rows), (batch,), generator=rng)]]
            alpha = torch.rand(batch, 1, 1, 1, generator=rng).to(real.device)
            mixed = (alpha * a + (1 - alpha) * b).requires_grad_(True)
            (grad,) = torch.autograd.grad(critic(mixed).sum(), mixed, create_graph=True)
            penalty = ((grad.flatten(1).norm(dim=1) - 1) ** 2).mean()
            loss = -critic(a).mean() + critic(b).mean() + 10 * penalty
            optimiser.zero_grad()
            loss.backward()
            optimiser.step()


def plain_lbfgs(render, targets: torch.Tensor, z: torch.Tensor, outer_steps: int, inner_iterations: int,
                lr: float) -> None:
    """Latent reconstruction one problem (restart and batch of cells) at a time, with torch's L-BFGS."""
    for problem, goal in zip(z, targets, strict=True):
        latent = problem.clone().requires_grad_(True)
        optimiser = torch.optim.LBFGS([latent], lr=lr, max_iter=inner_iterations)

        def closure(optimiser=optimiser, latent=latent, goal=goal):
            optimiser.zero_grad()
            loss = torch.mean((render(latent) - goal) ** 2)
            loss.backward()
            return loss

        for _ in range(outer_steps):
            optimiser.step(closure)


def plain_nearest(queries: torch.Tensor, references: torch.Tensor, k: int) -> torch.Tensor:
    """k nearest references of every query by one full distance matrix."""
    return torch.cdist(queries, references).topk(k, dim=1, largest=False).indices
