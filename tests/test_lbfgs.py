"""BatchedLBFGS against torch.optim.LBFGS (line_search_fn=None) run on each problem alone: iterates,
returned losses, evaluation and iteration counts after every step(), including problems that stop at
different times, and the closure count of the paper's setting (lr 0.05, max_iter 20, 50 steps)."""

from __future__ import annotations

import pytest
import torch

from biogans.evaluate.lbfgs import BatchedLBFGS

K = 4


pytestmark = pytest.mark.usefixtures("one_thread")


def quadratic(seed: int = 0, n: int = 5):
    """0.5 sum_j a_kj (x_kj - c_kj)^2 with curvatures spread over 10^[-1, 1] x a per-problem scale."""
    g = torch.Generator().manual_seed(seed)
    scale = torch.tensor([0.3, 1.0, 3.0, 0.1], dtype=torch.float64)[:, None]
    a = scale * 10 ** (2 * torch.rand(K, n, generator=g, dtype=torch.float64) - 1)
    c = torch.randn(K, n, generator=g, dtype=torch.float64)
    x0 = torch.randn(K, n, generator=g, dtype=torch.float64)
    return (lambda x, rows: 0.5 * (a[rows] * (x - c[rows]) ** 2).sum(1)), x0


def rosenbrock(seed: int = 1, n: int = 4):
    """sum_i (1 - x_i)^2 + b_k (x_{i+1} - x_i^2)^2 with b_k in [1, 4], from near (0.5, ..., 0.5)."""
    g = torch.Generator().manual_seed(seed)
    b = torch.tensor([1.0, 2.0, 3.0, 4.0], dtype=torch.float64)
    x0 = 0.5 + 0.2 * torch.randn(K, n, generator=g, dtype=torch.float64)

    def loss(x, rows):
        return ((1 - x[:, :-1]) ** 2 + b[rows, None] * (x[:, 1:] - x[:, :-1] ** 2) ** 2).sum(1)

    return loss, x0


def generator(seed: int = 2, batch: int = 3, nz: int = 4, hidden: int = 16, pixels: int = 36,
              dtype: torch.dtype = torch.float64):
    """A fixed random 2-layer tanh MLP z -> image; problem k fits ``batch`` latents [batch, nz] to its
    own target images (mean squared error over the batch), like one batch of cells in the paper. The
    targets are images of latents near the start: with random targets and larger weights, fixed-step
    L-BFGS is chaotic here, torch's own iterates moving by 1e-3 after 120 iterations when the start
    moves by 1e-15, so no implementation could match them closely."""
    g = torch.Generator().manual_seed(seed)
    w1 = (0.3 * torch.randn(nz, hidden, generator=g, dtype=torch.float64) / nz ** 0.5).to(dtype)
    w2 = (torch.randn(hidden, pixels, generator=g, dtype=torch.float64) / hidden ** 0.5).to(dtype)
    x0 = torch.randn(K, batch, nz, generator=g, dtype=torch.float64).to(dtype)
    z_target = x0 + 0.3 * torch.randn(K, batch, nz, generator=g, dtype=torch.float64).to(dtype)
    targets = torch.tanh(torch.tanh(z_target @ w1) @ w2)

    def loss(z, rows):
        images = torch.tanh(torch.tanh(z @ w1) @ w2)
        return ((images - targets[rows]) ** 2).flatten(1).mean(1)

    return loss, x0


def torch_runs(loss, x0: torch.Tensor, steps: int, **options):
    """Each problem alone with torch.optim.LBFGS: iterates [steps, K, ...], returned losses [steps, K]
    (float64), func_evals and n_iter [steps, K] after every step."""
    xs, losses, evals, iters = ([[] for _ in x0] for _ in range(4))
    for k in range(len(x0)):
        p = x0[k:k + 1].clone().requires_grad_(True)
        optimiser = torch.optim.LBFGS([p], line_search_fn=None, **options)

        def closure(optimiser=optimiser, p=p, k=k):
            optimiser.zero_grad()
            value = loss(p, [k])[0]
            value.backward()
            return value

        for _ in range(steps):
            losses[k].append(float(optimiser.step(closure).detach()))
            xs[k].append(p.detach()[0].clone())
            evals[k].append(optimiser.state[p]["func_evals"])
            iters[k].append(optimiser.state[p].get("n_iter", 0))
    return (torch.stack([torch.stack(row) for row in xs], 1), torch.tensor(losses, dtype=torch.float64).T,
            torch.tensor(evals).T, torch.tensor(iters).T)


def batched_runs(loss, x0: torch.Tensor, steps: int, **options):
    """The same with one BatchedLBFGS over all problems, plus the number of closure calls and the
    optimiser."""
    x = x0.clone().requires_grad_(True)
    optimiser = BatchedLBFGS(x, **options)
    rows = torch.arange(len(x0))
    calls = 0

    def closure(z):
        nonlocal calls
        calls += 1
        return loss(z, rows)

    xs, losses, evals, iters = [], [], [], []
    for _ in range(steps):
        losses.append(optimiser.step(closure).double())
        xs.append(x.detach().clone())
        evals.append(optimiser.evaluations.clone())
        iters.append(optimiser.iterations.clone())
    return torch.stack(xs), torch.stack(losses), torch.stack(evals), torch.stack(iters), calls, optimiser


def assert_same(expected, got, rtol: float = 1e-9, atol: float = 1e-11) -> None:
    """Iterates and returned losses after every step close, evaluation and iteration counts equal."""
    xs, losses, evals, iters = expected
    torch.testing.assert_close(got[0], xs, rtol=rtol, atol=atol)
    torch.testing.assert_close(got[1], losses, rtol=rtol, atol=atol)
    assert torch.equal(got[2], evals), (got[2], evals)
    assert torch.equal(got[3], iters), (got[3], iters)


def per_step(counts: torch.Tensor) -> torch.Tensor:
    """Cumulative counts [steps, K] -> counts within each step [steps, K]."""
    return torch.diff(counts, dim=0, prepend=torch.zeros_like(counts[:1]))


@pytest.mark.parametrize("problem, options, steps", [
    (quadratic, dict(lr=1, max_iter=7), 6),
    (quadratic, dict(lr=0.5, max_iter=5, history_size=3), 6),  # history truncation
    (rosenbrock, dict(lr=0.1, max_iter=10, history_size=4), 6),
    (generator, dict(lr=0.05, max_iter=20), 3),  # the paper's optimiser
    (generator, dict(lr=0.3, max_iter=8, max_eval=6), 6),  # max_eval stops before max_iter
], ids=["quadratic", "quadratic-history3", "rosenbrock", "generator", "generator-max-eval"])
def test_matches_torch_per_problem(problem, options, steps):
    loss, x0 = problem()
    expected = torch_runs(loss, x0, steps, **options)
    got = batched_runs(loss, x0, steps, **options)
    assert_same(expected, got[:4])
    assert (got[0][-1] != x0).any(dim=-1).all()  # every problem moved
    if "history_size" in options:  # the oldest pairs were dropped
        assert (got[5]._count == options["history_size"]).any()
    if "max_eval" in options:  # the first step: 1 + 5 evaluations reach max_eval after iteration 5
        assert (expected[2][0] == 6).all() and (expected[3][0] == 5).all()
    assert got[4] == int(per_step(got[2]).max(1).values.sum())  # one call per evaluation round


def test_problems_stopping_at_different_times():
    """Quadratics plus quartics of scales 1, 1e-2, 3e-4 and 1e4 (lr 0.5, tolerance_change 1e-6).
    Problem 0 starts at its optimum: every step returns after one evaluation. 1 converges: a step ends
    after an evaluation (a tolerance met), then g.d > -tolerance_change ends each later step at its
    first iteration, without a move. 2 is so flat that g.d ends every step that way from the start.
    3 takes all max_iter iterations in every step."""
    scale = torch.tensor([1.0, 1e-2, 3e-4, 1e4], dtype=torch.float64)[:, None]
    a = scale * torch.tensor([1.0, 2.0, 0.5], dtype=torch.float64)
    c = torch.tensor([[1.0, -1.0, 2.0], [0.5, 0.5, 0.5], [1.0, 0.0, -1.0], [3.0, -2.0, 1.0]],
                     dtype=torch.float64)
    x0 = torch.zeros(K, 3, dtype=torch.float64)
    x0[0] = c[0]

    def loss(x, rows):
        e = x - c[rows]
        return 0.5 * (a[rows] * e ** 2).sum(1) + 0.1 * scale[rows, 0] * (e ** 4).sum(1)

    options = dict(lr=0.5, max_iter=4, tolerance_change=1e-6)
    expected = torch_runs(loss, x0, 5, **options)
    got = batched_runs(loss, x0, 5, **options)
    assert_same(expected, got[:4])
    evals, iters = per_step(expected[2]).T, per_step(expected[3]).T  # [K, steps]
    assert (iters[0] == 0).all() and (evals[0] == 1).all()
    assert iters[1].tolist() == [4, 4, 1, 1, 1] and evals[1].tolist() == [4, 4, 2, 1, 1]
    assert (iters[2] == 1).all() and (evals[2] == 1).all() and torch.equal(got[0][-1, 2], x0[2])
    assert (iters[3] == 4).all() and (evals[3] == 4).all()
    assert got[4] == 20  # 4 batched calls per step, however many problems are still going


def test_paper_setting_evaluation_count():
    """lr 0.05, max_iter 20, 50 steps on flat quadratics (curvatures 1e-4 to 1e-3), where no
    curvature pair passes ys > 1e-10 and the fixed steps make slow progress, so no tolerance ends a
    step early: 1 evaluation at the start of each step and one after each update but the last = 20
    per step, 1000 per problem as torch's state['func_evals'], and one batched closure call each."""
    g = torch.Generator().manual_seed(5)
    q, _ = torch.linalg.qr(torch.randn(3, 6, 6, generator=g, dtype=torch.float64))
    curvature = 10 ** (-4 + torch.rand(3, 6, generator=g, dtype=torch.float64))
    hessian = q @ torch.diag_embed(curvature) @ q.transpose(1, 2)
    x0 = torch.randn(3, 6, generator=g, dtype=torch.float64)

    def loss(x, rows):
        return 0.5 * torch.einsum("ki,kij,kj->k", x, hessian[rows], x)

    expected = torch_runs(loss, x0, 50, lr=0.05)
    got = batched_runs(loss, x0, 50, lr=0.05)
    assert (expected[2][-1] == 1000).all() and (expected[3][-1] == 1000).all()
    assert_same(expected, got[:4])
    assert got[4] == 1000
    assert (got[5]._count == 0).all()


def test_random_options():
    """Quadratics plus quartics of random scales (1e-3 to 10) under random max_iter, history_size,
    max_eval, lr and tolerance_change, one problem sometimes at its optimum."""
    for seed in range(12):
        g = torch.Generator().manual_seed(seed)
        scale = 10 ** (4 * torch.rand(K, 1, generator=g, dtype=torch.float64) - 3)
        a = scale * 10 ** torch.rand(K, 4, generator=g, dtype=torch.float64)
        c, x0 = torch.randn(2, K, 4, generator=g, dtype=torch.float64)
        if seed % 3 == 0:
            x0[0] = c[0]

        def loss(x, rows, a=a, c=c, scale=scale):
            e = x - c[rows]
            return 0.5 * (a[rows] * e ** 2).sum(1) + 0.05 * scale[rows, 0] * (e ** 4).sum(1)

        max_iter, history_size = (int(v) for v in torch.randint(1, 9, (2,), generator=g))
        options = dict(lr=[1, 0.5, 0.2, 0.05][seed % 4], max_iter=max_iter, history_size=history_size,
                       tolerance_change=[1e-9, 1e-6][seed % 2])
        if seed % 5 == 0:
            options["max_eval"] = max(1, max_iter - 2)
        assert_same(torch_runs(loss, x0, 4, **options), batched_runs(loss, x0, 4, **options)[:4])


def test_float32():
    """float32 problems: iterates as torch's up to float32 rounding, counts equal."""
    loss, x0 = generator(seed=4, dtype=torch.float32)
    expected = torch_runs(loss, x0, 3, lr=0.05)
    got = batched_runs(loss, x0, 3, lr=0.05)
    assert got[0].dtype == torch.float32
    assert_same(expected, (got[0], got[1], got[2], got[3]), rtol=1e-4, atol=1e-5)


def test_refusals():
    x = torch.zeros(K, 3)
    with pytest.raises(ValueError, match="requires grad"):
        BatchedLBFGS(x)
    with pytest.raises(ValueError, match="history_size"):
        BatchedLBFGS(x.clone().requires_grad_(True), history_size=0)
    optimiser = BatchedLBFGS(x.requires_grad_(True))
    with pytest.raises(ValueError, match="losses"):
        optimiser.step(lambda z: z.pow(2).sum())
