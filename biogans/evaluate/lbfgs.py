"""K independent L-BFGS problems (fixed step size, no line search) stepped together.

Latent reconstruction (the paper's Table 3) runs many independent L-BFGS problems (restarts x batches
of cells), each ``torch.optim.LBFGS(lr=0.05, line_search_fn=None)`` stepped 50 times. ``BatchedLBFGS``
advances K such problems at once, so that each inner iteration is one batched closure (generator) call
instead of K, while each problem follows exactly the algorithm of torch's no-line-search branch: its
state persists across ``step()`` calls, it stops its inner loop on its own break conditions, and a
problem that has stopped is neither moved nor counted until the next ``step()``. Iterates agree with
torch's up to floating-point rounding: batched reductions sum in another order than ``dot``, and on
nonconvex problems fixed-step L-BFGS can amplify rounding a lot (torch's own iterates on a small tanh
generator move by 1e-3 over 100 iterations when the start moves by 1e-15).
"""

from __future__ import annotations

from collections.abc import Callable

import torch

#: x [K, ...] -> per-problem losses [K], computed from x with autograd.
Closure = Callable[[torch.Tensor], torch.Tensor]


def _dot(a: torch.Tensor, b: torch.Tensor) -> torch.Tensor:
    """Row-wise dot products of [K, N] tensors: [K]."""
    return torch.linalg.vecdot(a, b)


class BatchedLBFGS:
    """K independent L-BFGS problems (fixed step size, no line search) stepped together: for each
    problem the iterates ``torch.optim.LBFGS(lr, max_iter, ..., line_search_fn=None)`` would give on
    that problem alone (up to rounding), with the same options and defaults.

    ``x`` [K, ...] (contiguous, ``requires_grad``) holds the K problems' variables and is updated in
    place; ``x.grad`` is not used. The closure must make row k's loss depend on row k of x only (e.g. a
    generator in eval mode: no batch-norm batch statistics), since gradients come from the sum of losses.
    ``evaluations`` and ``iterations`` [K] count each problem's closure evaluations and iterations as
    torch's ``state['func_evals']`` and ``state['n_iter']`` do.
    """

    def __init__(self, x: torch.Tensor, lr: float = 1, max_iter: int = 20, max_eval: int | None = None,
                 tolerance_grad: float = 1e-7, tolerance_change: float = 1e-9, history_size: int = 100):
        if not x.requires_grad or x.dim() < 1 or not x.is_contiguous():
            raise ValueError("x must be a contiguous tensor [K, ...] that requires grad")
        if history_size < 1:
            raise ValueError(f"history_size must be at least 1, got {history_size}")
        self.x = x
        self.lr, self.max_iter = float(lr), max_iter
        self.max_eval = max_iter * 5 // 4 if max_eval is None else max_eval
        self.tolerance_grad, self.tolerance_change = tolerance_grad, tolerance_change
        self.history_size = history_size
        k, n = x.shape[0], x[0].numel()
        like = dict(device=x.device, dtype=x.dtype)
        self.evaluations = torch.zeros(k, dtype=torch.long, device=x.device)
        self.iterations = torch.zeros(k, dtype=torch.long, device=x.device)
        self._d = torch.zeros(k, n, **like)  # last direction
        self._t = torch.zeros(k, **like)  # last step size
        self._h_diag = torch.ones(k, **like)  # initial inverse-Hessian scale
        self._prev_grad = torch.zeros(k, n, **like)
        self._prev_loss = torch.zeros(k, dtype=torch.float64, device=x.device)  # torch keeps float(loss)
        # History, oldest first, [m, K, ...]: problem k's entries are [:count[k], k] (torch's old_stps,
        # old_dirs, ro); the unused entries stay 0 (ro = 0 makes them no-ops in the two-loop recursion).
        self._steps = torch.zeros(0, k, n, **like)
        self._dirs = torch.zeros(0, k, n, **like)
        self._ro = torch.zeros(0, k, **like)
        self._count = torch.zeros(k, dtype=torch.long, device=x.device)

    def _evaluate(self, closure: Closure) -> tuple[torch.Tensor, torch.Tensor]:
        """Losses [K] and flat gradients [K, N] at the current x."""
        with torch.enable_grad():
            losses = closure(self.x)
            if losses.shape != self.x.shape[:1]:
                raise ValueError(f"closure must return [K] = {list(self.x.shape[:1])} losses, "
                                 f"got {list(losses.shape)}")
            (grad,) = torch.autograd.grad(losses.sum(), self.x)
        return losses.detach(), grad.reshape(len(grad), -1)

    def _remember(self, rows: torch.Tensor, y: torch.Tensor, s: torch.Tensor, ys: torch.Tensor) -> None:
        """Append (s, y, 1/ys) to the history of the problems in mask ``rows``, dropping the oldest
        entry of those at ``history_size``, and update their H_diag."""
        full = rows & (self._count == self.history_size)
        if full.any():
            for name in ("_steps", "_dirs", "_ro"):
                buffer = getattr(self, name)
                buffer[:, full] = buffer[:, full].roll(-1, 0)
            self._count -= full.long()
        need = int(self._count[rows].max()) + 1
        if need > len(self._ro):  # grow the buffers (doubling, up to history_size)
            extra = min(self.history_size, max(need, 2 * len(self._ro))) - len(self._ro)
            for name in ("_steps", "_dirs", "_ro"):
                buffer = getattr(self, name)
                setattr(self, name, torch.cat([buffer, buffer.new_zeros(extra, *buffer.shape[1:])]))
        index = rows.nonzero().squeeze(1)
        slot = self._count[index]
        self._steps[slot, index] = s[index]
        self._dirs[slot, index] = y[index]
        self._ro[slot, index] = 1.0 / ys[index]
        self._count += rows.long()
        self._h_diag = torch.where(rows, ys / _dot(y, y), self._h_diag)

    def _direction(self, grad: torch.Tensor) -> torch.Tensor:
        """The two-loop recursion: -H grad [K, N] with each problem's own history and H_diag."""
        steps, dirs, ro = self._steps.unbind(), self._dirs.unbind(), self._ro[..., None].unbind()
        q = grad.neg()
        al = [None] * len(ro)
        for i in range(len(ro) - 1, -1, -1):
            al[i] = _dot(steps[i], q)[:, None] * ro[i]
            q.sub_(dirs[i] * al[i])
        r = q.mul_(self._h_diag[:, None])
        for i in range(len(ro)):
            be = _dot(dirs[i], r)[:, None] * ro[i]
            r.add_(steps[i] * (al[i] - be))
        return r

    def step(self, closure: Closure) -> torch.Tensor:
        """One ``torch.optim.LBFGS.step`` for every problem; returns the losses [K] of the first
        evaluation (before this step's updates), as torch does."""
        flat = self.x.detach().view(len(self.x), -1)
        orig_loss, grad = self._evaluate(closure)
        loss = orig_loss.double()
        self.evaluations += 1
        active = ~(grad.abs().amax(1) <= self.tolerance_grad)  # the others return at once
        n_iter, current_evals = 0, 1
        while n_iter < self.max_iter and active.any():
            n_iter += 1
            self.iterations += active.long()
            first = active & (self.iterations == 1)  # the first iteration ever: steepest descent
            y = grad - self._prev_grad
            s = self._d * self._t[:, None]
            ys = _dot(y, s)
            remember = active & ~first & (ys > 1e-10)
            if remember.any():
                self._remember(remember, y, s, ys)
            d = torch.where(first[:, None], grad.neg(), self._direction(grad))
            self._d = torch.where(active[:, None], d, self._d)
            self._prev_grad = torch.where(active[:, None], grad, self._prev_grad)
            self._prev_loss = torch.where(active, loss, self._prev_loss)
            t = torch.where(first, (1.0 / grad.abs().sum(1)).clamp(max=1.0) * self.lr, self.lr)
            self._t = torch.where(active, t, self._t)
            active = active & ~(_dot(grad, self._d) > -self.tolerance_change)
            if not active.any():
                break
            step = self._d * self._t[:, None]
            flat.add_(torch.where(active[:, None], step, 0))
            if n_iter != self.max_iter:  # torch skips the evaluation after the last iteration
                new_loss, new_grad = self._evaluate(closure)
                loss = torch.where(active, new_loss.double(), loss)
                grad = torch.where(active[:, None], new_grad, grad)
                self.evaluations += active.long()
                current_evals += 1
            if n_iter == self.max_iter or current_evals >= self.max_eval:
                break
            done = ((grad.abs().amax(1) <= self.tolerance_grad)
                    | (step.abs().amax(1) <= self.tolerance_change)
                    | ((loss - self._prev_loss).abs() < self.tolerance_change))
            active = active & ~done
        return orig_loss
