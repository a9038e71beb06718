"""The training loop: one model, one objective, resumable after a kill.

Structure as in pytorch/examples' dcgan: for each generator iteration, ``critic_steps`` critic
updates on real and (detached) fake batches, then one generator update. Every random draw (batches,
flips, latents, gradient-penalty interpolates) comes from one seeded ``torch.Generator`` whose state
is saved in ``resume.pt``, so a run resumed on the CPU reaches exactly the weights of an
uninterrupted one.

Files in the model folder:
- ``generator_<iter>.pt`` (declared workflow outputs) and ``samples_<iter>.png`` at each checkpoint
  iteration, ``train_log.csv``, ``train_options.json``;
- ``resume.pt`` and ``snapshots/`` (copies of the generator files): not declared outputs, so they
  survive a killed job, whose declared outputs Snakemake deletes. A re-run continues from
  ``resume.pt`` and restores any generator file already passed.
"""

from __future__ import annotations

import copy
import csv
import json
import logging
import math
import platform
import shutil
import time
from dataclasses import asdict
from pathlib import Path

import torch
from tqdm import tqdm

from biogans import __version__
from biogans.data.loaders import CompositeSampler, JointSampler, PerProteinSampler
from biogans.data.store import read_store, store_groups
from biogans.device import autocast, bfloat16_usable, fastest, resolve_device
from biogans.errors import BiogansError
from biogans.files import atomic_path, output_dir, read_lines, write_errors
from biogans.images import cell_sheet, save_png
from biogans.models import build, build_critic
from biogans.models.latent import fixed_noise, sample_noise
from biogans.models.zoo import definition, spec_for
from biogans.train.checkpoints import (
    RESUME_FORMAT,
    load_file,
    restore_rng_state,
    rng_state,
    save_file,
    save_generator,
)
from biogans.train.objectives import get_objective
from biogans.train.options import TrainOptions

log = logging.getLogger(__name__)

LOG_COLUMNS = ("iteration", "loss_critic", "loss_generator", "wasserstein", "seconds")
#: torch.compile's backend for ``--compile`` (inductor: generated C++/Triton kernels).
COMPILE_BACKEND = "inductor"


def make_sampler(architecture: str, cells_path: Path, proteins: list[str], batch_size: int,
                 rng: torch.Generator, neighbours_path: Path | None):
    """The real-batch sampler of a model's architecture: merged proteins for joint models and the parts
    of independent ones, one batch per protein for star-shaped ones, composite cells for multi-channel."""
    store = read_store(cells_path, groups=_present(cells_path, proteins))
    if architecture == "star":
        return PerProteinSampler(store, proteins, batch_size, rng, str(cells_path))
    if architecture == "multichannel":
        from biogans.data.neighbours import read_neighbours

        if neighbours_path is None:
            raise BiogansError("multi-channel models need --neighbours (results/data/red_neighbours.h5)")
        return CompositeSampler(store, proteins, read_neighbours(neighbours_path, store), batch_size, rng,
                                str(cells_path))
    return JointSampler(store, proteins, batch_size, rng, str(cells_path))


def _present(cells_path: Path, proteins: list[str]) -> list[str]:
    groups = store_groups(cells_path)
    missing = [p for p in proteins if p not in groups]
    if missing:
        raise BiogansError(f"{cells_path}: no cells of {', '.join(missing)} (the store has {', '.join(groups)})")
    return proteins


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
        self.opt_generator = self.objective.generator_optimizer(self.generator.parameters())
        self.opt_critic = self.objective.critic_optimizer(self.critic.parameters())
        self.sampler = sampler
        self.rng = sampler.rng
        self.device = device
        self.use_precision(options.precision if options.precision != "auto" else self._faster_precision())
        #: the networks whose forward passes run compiled (``--compile``)
        self.compiled: list[str] = self._compile() if options.compile else []

    def use_precision(self, precision: str) -> None:
        """float32, or bfloat16 autocast around the networks' forward passes and losses."""
        self.precision = precision
        self.autocast = autocast(self.device, precision)

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

    def _faster_precision(self) -> str:
        """bfloat16 where a critic update of this run's networks is measured faster than in float32 on this
        machine (bf16 is fast on some CPUs and slow on others), on copies of the networks."""
        if not bfloat16_usable(self.device):
            return "float32"
        critic, generator = copy.deepcopy(self.critic), copy.deepcopy(self.generator)
        draws = torch.Generator().manual_seed(0)
        groups, channels = generator.critic_layout
        shape = (self.options.batch_size, groups * channels, self.spec["height"], self.spec["width"])
        real = self._layout((torch.rand(shape, generator=draws) * 2 - 1).to(self.device))
        z = sample_noise(self.options.batch_size, generator.nz, draws).to(self.device)

        def critic_update(precision: str):
            def call():
                with autocast(self.device, precision):
                    fake = self._layout(generator.to_critic(generator(z))).detach()
                    self.objective.critic_loss(critic, real, fake.float(), draws).mean().backward()
            return call

        choice, seconds = fastest({p: critic_update(p) for p in ("float32", "bfloat16")})
        log.info("precision auto: a critic update takes %.1f ms in bfloat16, %.1f ms in float32: %s",
                 seconds["bfloat16"] * 1e3, seconds["float32"] * 1e3, choice)
        return choice

    def _layout(self, x: torch.Tensor) -> torch.Tensor:
        """Critic input in the run's memory format."""
        return x.contiguous(memory_format=torch.channels_last) if self.options.channels_last else x

    def _real(self) -> torch.Tensor:
        return self._layout(self.sampler.sample().to(self.device, non_blocking=True))

    def _fake(self) -> torch.Tensor:
        z = sample_noise(self.options.batch_size, self.generator.nz, self.rng).to(self.device)
        return self._layout(self.generator.to_critic(self.generator(z)))

    def step(self, iteration: int) -> dict[str, float]:
        """One generator iteration: the scheduled critic updates, then one generator update on the last
        critic update's fake batch (as the paper's code). Losses are averaged over the critic groups."""
        self.generator.train()
        self.critic.train()
        steps = self.objective.critic_steps_at(iteration)
        for step in range(steps):
            real = self._real()
            with torch.set_grad_enabled(step == steps - 1), self.autocast:
                fake = self._fake()  # the last one keeps its graph for the generator update
            with self.autocast:
                loss_critic = self.objective.critic_loss(self.critic, real, fake.detach().float(), self.rng).mean()
            self.opt_critic.zero_grad(set_to_none=True)
            loss_critic.backward()
            self.opt_critic.step()
            self.objective.after_critic_step(self.critic)
        with self.autocast:
            loss_generator = self.objective.generator_loss(self.critic, fake).mean()
        self.opt_generator.zero_grad(set_to_none=True)
        loss_generator.backward()
        self.opt_generator.step()
        self._last_batches = (real, fake.detach())
        return {"loss_critic": loss_critic.item(), "loss_generator": loss_generator.item()}

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
        start, seconds = _start(trainer, out_dir, options)
        _write_options(out_dir / "train_options.json", trainer)
        _truncate_log(out_dir / "train_log.csv", start)
        _run(trainer, out_dir, options, start, seconds)
    except BaseException:
        if created and not (out_dir / "resume.pt").exists():
            shutil.rmtree(out_dir, ignore_errors=True)
        raise


def _start(trainer: Trainer, out_dir: Path, options: TrainOptions) -> tuple[int, float]:
    """(iteration, seconds) to start from: the matching resume state's, or 0 after clearing the folder."""
    resume_path, snapshots = out_dir / "resume.pt", out_dir / "snapshots"
    state = _matching_resume_state(resume_path, options)
    if state is None:
        old = sorted(out_dir.glob("generator_*.pt")) + sorted(out_dir.glob("samples_*.png"))
        if old:
            log.warning("%s: starting afresh; removing the previous run's %s", out_dir, ", ".join(p.name for p in old))
        for path in old:
            path.unlink()
        shutil.rmtree(snapshots, ignore_errors=True)
        return 0, 0.0
    if options.precision == "auto" and state.get("precision") in ("float32", "bfloat16"):
        trainer.use_precision(state["precision"])  # the choice of the run being resumed, not this machine's
    try:
        trainer.load_state(state)
    except (RuntimeError, ValueError, KeyError, TypeError, IndexError) as exc:
        raise BiogansError(f"{resume_path}: does not fit this run ({str(exc).splitlines()[0][:200]}); "
                           "remove it to start afresh") from None
    _restore_snapshots(snapshots, out_dir)
    log.info("resuming %s from iteration %d", options.model, state["iteration"])
    return int(state["iteration"]), float(state["seconds"])


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
                _write_checkpoint(trainer, out_dir, snapshots, done, noise)
            if done % options.resume_every == 0 or done == options.iterations:
                save_file(resume_path, trainer.state(done, time.perf_counter() - clock))
                last_resume = done
    log.info("%s: %d iterations in %.1f s", name, options.iterations, time.perf_counter() - clock)


def _matching_resume_state(resume_path: Path, options: TrainOptions) -> dict | None:
    """The resume state in ``resume_path`` if it belongs to this run and is not past its end."""
    if not resume_path.exists():
        return None
    state = load_file(resume_path, RESUME_FORMAT)
    if state["identity"] != json.dumps(options.identity(), sort_keys=True):
        log.warning("%s was written with other options; starting afresh", resume_path)
        return None
    if state["iteration"] > options.iterations:
        log.warning("%s is at iteration %d, past the %d asked for; starting afresh",
                    resume_path, state["iteration"], options.iterations)
        return None
    return state


def _restore_snapshots(snapshots: Path, out_dir: Path) -> None:
    """Put back generator files and samples of passed checkpoints (Snakemake deletes a failed job's outputs)."""
    for snapshot in snapshots.glob("*"):
        target = out_dir / snapshot.name
        if not target.exists():
            with atomic_path(target) as tmp:
                shutil.copy2(snapshot, tmp)


def _write_checkpoint(trainer: Trainer, out_dir: Path, snapshots: Path, iteration: int,
                      noise: torch.Tensor) -> None:
    """generator_<iter>.pt and samples_<iter>.png, plus their snapshot copies."""
    output_dir(snapshots)
    save_generator(snapshots / f"generator_{iteration}.pt", trainer.generator, iteration)
    trainer.generator.eval()
    with torch.no_grad():
        # conditional models: one row per protein, 16 latents; joint models: all 64 latents
        cells = trainer.generator.cells(noise[:16] if trainer.generator.conditional else noise)
    save_png(snapshots / f"samples_{iteration}.png", cell_sheet(cells.float()))
    for name in (f"generator_{iteration}.pt", f"samples_{iteration}.png"):
        with atomic_path(out_dir / name) as tmp:
            shutil.copy2(snapshots / name, tmp)


def _write_options(path: Path, trainer: Trainer) -> None:
    info = {
        "options": asdict(trainer.options),
        "spec": trainer.spec,
        "device": str(trainer.device),
        "precision": trainer.precision,
        "versions": {"biogans": __version__, "torch": torch.__version__, "python": platform.python_version()},
        "threads": torch.get_num_threads(),
    }
    with atomic_path(path) as tmp:
        tmp.write_text(json.dumps(info, indent=2) + "\n")


def _truncate_log(path: Path, start: int) -> None:
    """Keep the log rows up to the resume iteration (later ones are recomputed); write the header."""
    rows = [row for row in _log_rows(path) if int(row[0]) <= start] if start else []
    with atomic_path(path) as tmp, open(tmp, "w", newline="") as f:
        writer = csv.writer(f)
        writer.writerow(LOG_COLUMNS)
        writer.writerows(rows)


def _log_rows(path: Path) -> list[list[str]]:
    """The whole rows of a training log: complete lines of an increasing iteration and numbers. Reading stops
    at the first other line, the tail a crash leaves (a row cut short, or the NUL bytes a power loss leaves
    where the file grew but its data never reached the disk)."""
    rows: list[list[str]] = []
    for line in read_lines(path)[1:]:  # not the header
        row = line.rstrip("\r").split(",")  # csv ends rows in \r\n
        try:
            iteration, *_ = int(row[0]), *map(float, row[1:])
            whole = len(row) == len(LOG_COLUMNS) and iteration > (int(rows[-1][0]) if rows else 0)
        except ValueError:
            whole = False
        if not whole:
            log.warning("%s: a damaged tail after %d rows (a crash while writing) is dropped", path, len(rows))
            break
        rows.append(row)
    return rows
