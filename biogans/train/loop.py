"""The training loop: one model, one objective, resumable after a kill.

Structure as in pytorch/examples' dcgan: for each generator iteration, ``critic_steps`` critic
updates on real and (detached) fake batches, then one generator update. Every random draw (batches,
flips, latents, gradient-penalty interpolates) comes from one seeded ``torch.Generator`` whose state
is saved in ``resume.pt``, so a run resumed on the CPU reaches exactly the weights of an
uninterrupted one. The run folder's files, and resuming from them, are :mod:`biogans.train.run_files`'.
"""

from __future__ import annotations

import csv
import json
import logging
import math
import shutil
import time
from dataclasses import replace
from functools import partial
from pathlib import Path

import torch
from tqdm import tqdm

from biogans import __version__
from biogans.data.loaders import CompositeSampler, FixedBatch, JointSampler, PerProteinSampler
from biogans.data.store import read_store, store_groups
from biogans.device import GraphedStep, autocast, fastest, graph_candidates, precision_candidates, resolve_device
from biogans.errors import BiogansError
from biogans.files import output_dir, write_errors
from biogans.models import build, build_critic
from biogans.models.latent import fixed_noise, sample_noise
from biogans.models.zoo import definition, spec_for
from biogans.train.checkpoints import RESUME_FORMAT, restore_rng_state, rng_state, save_file
from biogans.train.objectives import get_objective
from biogans.train.options import TrainOptions
from biogans.train.run_files import LOG_COLUMNS, resume_or_start, truncate_log, write_checkpoint, write_options

log = logging.getLogger(__name__)

#: torch.compile's backend for ``--compile`` (inductor: generated C++/Triton kernels).
COMPILE_BACKEND = "inductor"
#: Eager iterations before a CUDA graph of the training iteration is captured.
GRAPH_WARMUP = 2


def make_sampler(architecture: str, cells_path: Path, proteins: list[str], batch_size: int,
                 rng: torch.Generator, neighbours_path: Path | None):
    """The real-batch sampler of a model's architecture: merged proteins for joint models and the parts
    of independent ones, one batch per protein for star-shaped ones, composite cells for multi-channel."""
    check_proteins_present(cells_path, proteins)
    store = read_store(cells_path, groups=proteins)
    if architecture == "star":
        return PerProteinSampler(store, proteins, batch_size, rng, str(cells_path))
    if architecture == "multichannel":
        from biogans.data.neighbours import read_neighbours

        if neighbours_path is None:
            raise BiogansError("multi-channel models need --neighbours (results/data/red_neighbours.h5)")
        return CompositeSampler(store, proteins, read_neighbours(neighbours_path, store), batch_size, rng,
                                str(cells_path))
    return JointSampler(store, proteins, batch_size, rng, str(cells_path))


def check_proteins_present(cells_path: Path, proteins: list[str]) -> None:
    """Refuse a cell store that lacks any of ``proteins``, naming them and what it has."""
    groups = store_groups(cells_path)
    missing = [p for p in proteins if p not in groups]
    if missing:
        raise BiogansError(f"{cells_path}: no cells of {', '.join(missing)} (the store has {', '.join(groups)})")


def training_spec(options: TrainOptions) -> dict:
    """The spec of the generator a run trains: the named model, or one part of an independent model."""
    spec = spec_for(options.model, list(options.proteins), nz=options.nz, ngf=options.ngf,
                    red_portion=options.red_portion)
    if definition(options.model).architecture == "independent":
        if len(options.proteins) != 1:
            raise BiogansError(f"{options.model} trains one protein per job; got {len(options.proteins)} proteins")
        spec = spec["parts"][0]
    return spec


class Trainer:
    """Builds the generator, critic and optimisers of one run and steps them."""

    def __init__(self, options: TrainOptions, sampler, device: torch.device):
        self.options = options
        settings = {"critic_steps": options.critic_steps, "lr": options.lr}
        self.objective = get_objective(definition(options.model).objective,
                                       **{k: v for k, v in settings.items() if v is not None})
        self.spec = training_spec(options)
        torch.manual_seed(options.seed)
        self.generator = build(self.spec).to(device)
        ndf = options.ndf or definition(options.model).ndf
        self.critic = build_critic(self.spec, ndf, self.objective.critic_batchnorm).to(device)
        if options.channels_last:
            self.generator.to(memory_format=torch.channels_last)
            self.critic.to(memory_format=torch.channels_last)
        self.sampler, self.rng, self.device = sampler, sampler.rng, device
        precision, self.graphs = self._fastest_setup()
        capturable = device.type == "cuda"  # optimiser state on the GPU: the same arithmetic eager or graphed
        self.opt_generator = self.objective.generator_optimizer(self.generator.parameters(), capturable)
        self.opt_critic = self.objective.critic_optimizer(self.critic.parameters(), capturable)
        self.use_precision(precision)
        #: the networks whose forward passes run compiled (``--compile``)
        self.compiled: list[str] = self._compile() if options.compile else []
        self._graphed: dict[int, GraphedStep] = {}

    def use_precision(self, precision: str) -> None:
        """float32, or bfloat16 autocast around the networks' forward passes and losses."""
        self.precision = precision
        self.autocast = autocast(self.device, precision, cache=not self.graphs)

    def _compile(self) -> list[str]:
        """torch.compile the networks' forward passes (the critic's only without a double backward, which
        compiled graphs do not support), each checked on one call; eager where that fails."""
        z = sample_noise(2, self.generator.nz, torch.Generator().manual_seed(0)).to(self.device)
        networks = [("generator", self.generator, z)]
        if not self.objective.double_backward:
            networks.append(("critic", self.critic, self._layout(self.generator.to_critic(self.generator(z))).detach()))
        compiled = []
        for name, network, example in networks:
            eager = network.forward
            try:
                network.forward = torch.compile(eager, backend=COMPILE_BACKEND)
                with torch.no_grad(), self.autocast:
                    network(example)
                compiled.append(name)
            except Exception as exc:  # noqa: BLE001 - any failure of the compiler falls back to eager
                network.forward = eager
                log.warning("torch.compile of the %s failed (%s); it runs eagerly",
                            name, str(exc).splitlines()[0][:200] if str(exc) else type(exc).__name__)
        return compiled

    def _fastest_setup(self) -> tuple[str, bool]:
        """Precision and CUDA graphs: as asked, else the setup whose iteration (one critic and one generator
        update, on fresh copies of this run's networks and a random batch) is measured fastest here."""
        options = self.options
        graphs = graph_candidates("off" if options.compile else options.cuda_graphs, self.device)  # one or other
        setups = [(p, g) for p in precision_candidates(options.precision, self.device) for g in graphs]
        if len(setups) == 1:
            return setups[0]
        groups, channels = self.generator.critic_layout
        draws = torch.Generator().manual_seed(0)
        batch = torch.rand(options.batch_size, groups * channels, self.spec["height"], self.spec["width"],
                           generator=draws) * 2 - 1

        def probe(precision: str, graphs: bool):
            setup = replace(options, precision=precision, cuda_graphs="on" if graphs else "off", critic_steps=1,
                            compile=False)
            with torch.random.fork_rng(devices=[]):
                trainer = Trainer(setup, FixedBatch(batch, draws), self.device)
            for _ in range(GRAPH_WARMUP + 1 if graphs else 0):
                trainer.step(30)
            return lambda: trainer.step(30)

        choice, seconds = fastest({setup: probe(*setup) for setup in setups})
        log.info("precision and CUDA graphs auto: an iteration takes %s: %s%s",
                 ", ".join(f"{t * 1e3:.1f} ms in {p}{' graphed' * g}" for (p, g), t in seconds.items()),
                 choice[0], ", CUDA graphs" if choice[1] else "")
        return choice

    def _layout(self, x: torch.Tensor) -> torch.Tensor:
        """Critic input in the run's memory format."""
        return x.contiguous(memory_format=torch.channels_last) if self.options.channels_last else x

    def step(self, iteration: int) -> dict[str, float]:
        """One generator iteration: the scheduled critic updates, then one generator update on the last
        critic update's fake batch (as the paper's code); losses averaged over the critic groups. Its random
        draws are made first, in the order of the updates; the updates run eagerly or, on the regular
        schedule with ``cuda_graphs``, replayed as a CUDA graph."""
        steps = self.objective.critic_steps_at(iteration)
        draws = self._draws(steps)
        if self.graphs and steps == self.objective.critic_steps:  # WGAN's long warm-up steps run eagerly
            run = self._graphed.setdefault(steps, GraphedStep(partial(self._updates, steps), GRAPH_WARMUP))
        else:
            run = partial(self._updates, steps)
        real, fake, loss_critic, loss_generator = run(*draws)
        self._last_batches = (real, fake)
        return {"loss_critic": loss_critic.item(), "loss_generator": loss_generator.item()}

    def _draws(self, steps: int) -> list[torch.Tensor]:
        """Per critic update: the real batch, the latents of the fake one, and the loss's own draws (WGAN-GP's
        interpolation weights), on the device."""
        groups = self.generator.critic_layout[0]
        draws = []
        for _ in range(steps):
            real = self._layout(self.sampler.sample().to(self.device, non_blocking=True))
            z = sample_noise(self.options.batch_size, self.generator.nz, self.rng).to(self.device)
            alpha = self.objective.penalty_weights(len(real), groups, self.rng)
            draws += [real, z] if alpha is None else [real, z, alpha.to(self.device)]
        return draws

    def _updates(self, steps: int, *draws: torch.Tensor) -> tuple[torch.Tensor, ...]:
        """The critic updates and the generator update of one iteration, from its draws: the last real and
        fake batches and losses, as tensors (no host synchronisation, so that a CUDA graph can capture it)."""
        self.generator.train()
        self.critic.train()
        per_step = len(draws) // steps
        for step in range(steps):
            real, z, *alpha = draws[step * per_step:(step + 1) * per_step]
            with torch.set_grad_enabled(step == steps - 1), self.autocast:
                fake = self._layout(self.generator.to_critic(self.generator(z)))  # the last keeps its graph
            with self.autocast:
                loss_critic = self.objective.critic_loss(self.critic, real, fake.detach().float(),
                                                         alpha=alpha[0] if alpha else None).mean()
            self.opt_critic.zero_grad(set_to_none=True)
            loss_critic.backward()
            self.opt_critic.step()
            self.objective.after_critic_step(self.critic)
        with self.autocast:
            loss_generator = self.objective.generator_loss(self.critic, fake).mean()
        self.opt_generator.zero_grad(set_to_none=True)
        loss_generator.backward()
        self.opt_generator.step()
        return real, fake.detach(), loss_critic.detach(), loss_generator.detach()

    def wasserstein(self) -> float:
        """The critic's Wasserstein estimate on the last batches (NaN where undefined), mean over groups."""
        real, fake = self._last_batches
        with torch.no_grad(), self.autocast:
            w = self.objective.wasserstein(self.critic(real), self.critic(fake))
        return w.float().mean().item() if w is not None else float("nan")

    def state(self, iteration: int, seconds: float) -> dict:
        return {
            "format": RESUME_FORMAT,
            "version": __version__,
            "identity": json.dumps(self.options.identity(), sort_keys=True),
            "iteration": iteration,
            "seconds": seconds,
            "generator": self.generator.state_dict(),
            "critic": self.critic.state_dict(),
            "opt_generator": self.opt_generator.state_dict(),
            "opt_critic": self.opt_critic.state_dict(),
            "rng": rng_state(self.rng),
            "precision": self.precision,
        }

    def load_state(self, state: dict) -> None:
        self.generator.load_state_dict(state["generator"])
        self.critic.load_state_dict(state["critic"])
        self.opt_generator.load_state_dict(state["opt_generator"])
        self.opt_critic.load_state_dict(state["opt_critic"])
        restore_rng_state(self.rng, state["rng"])


def train(cells_path: str | Path, out_dir: str | Path, options: TrainOptions, *,
          neighbours_path: str | Path | None = None) -> None:
    """Train one model into ``out_dir``, continuing from ``out_dir/resume.pt`` when it matches.

    A run that fails before its first resume state removes the ``out_dir`` it created; a fresh start in
    an old folder first removes the old run's generator files and samples (naming them in the log).
    """
    cells_path = Path(cells_path)
    device = resolve_device(options.device)
    rng = torch.Generator().manual_seed(options.seed)
    sampler = make_sampler(definition(options.model).architecture, cells_path, list(options.proteins),
                           options.batch_size, rng, Path(neighbours_path) if neighbours_path else None)
    out_dir, created = output_dir(out_dir)
    try:
        trainer = Trainer(options, sampler, device)
        start, seconds = resume_or_start(trainer, out_dir, options)
        write_options(out_dir / "train_options.json", trainer)
        truncate_log(out_dir / "train_log.csv", start)
        _run(trainer, out_dir, options, start, seconds)
    except BaseException:
        if created and not (out_dir / "resume.pt").exists():
            shutil.rmtree(out_dir, ignore_errors=True)
        raise


def _run(trainer: Trainer, out_dir: Path, options: TrainOptions, start: int, seconds: float) -> None:
    """The iterations from ``start`` on: log rows, checkpoints and resume states as they fall due."""
    resume_path, snapshots = out_dir / "resume.pt", out_dir / "snapshots"
    noise = fixed_noise(trainer.generator, n=64, group=8, seed=options.seed).to(trainer.device)
    checkpoints = set(options.checkpoint_iterations)
    clock = time.perf_counter() - seconds
    last_resume = start
    name = options.model if len(options.proteins) > 1 else f"{options.model}/{options.proteins[0]}"
    progress = tqdm(range(start, options.iterations), initial=start, total=options.iterations, desc=name,
                    mininterval=5, dynamic_ncols=True)
    log_path = out_dir / "train_log.csv"
    with write_errors(log_path), open(log_path, "a", newline="") as log_file:
        writer = csv.writer(log_file)
        for iteration in progress:
            stats = trainer.step(iteration)
            done = iteration + 1
            if not all(math.isfinite(v) for v in stats.values()):
                raise BiogansError(
                    f"{name}: non-finite loss at iteration {done} ({stats}); training stopped, "
                    f"{resume_path} keeps the last good state (iteration {last_resume})")
            if done % options.log_every == 0 or done in checkpoints or done == options.iterations:
                stats["wasserstein"] = trainer.wasserstein()
                writer.writerow([done, *(f"{stats[k]:.6g}" for k in LOG_COLUMNS[1:4]),
                                 f"{time.perf_counter() - clock:.3f}"])
                log_file.flush()
                progress.set_postfix(critic=f"{stats['loss_critic']:.3g}", gen=f"{stats['loss_generator']:.3g}")
            if done in checkpoints:
                write_checkpoint(trainer, out_dir, snapshots, done, noise)
            if done % options.resume_every == 0 or done == options.iterations:
                save_file(resume_path, trainer.state(done, time.perf_counter() - clock))
                last_resume = done
    log.info("%s: %d iterations in %.1f s", name, options.iterations, time.perf_counter() - clock)
