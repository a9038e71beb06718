"""The files of a training run's folder, and resuming from them.

- ``generator_<iter>.pt`` (declared workflow outputs) and ``samples_<iter>.png`` at each checkpoint
  iteration, ``train_log.csv``, ``train_options.json``;
- ``resume.pt`` and ``snapshots/`` (copies of the generator files): not declared outputs, so they
  survive a killed job, whose declared outputs Snakemake deletes. A re-run continues from
  ``resume.pt`` and restores any generator file already passed.
"""

from __future__ import annotations

import csv
import json
import logging
import platform
import shutil
from dataclasses import asdict
from pathlib import Path
from typing import TYPE_CHECKING

import torch

from biogans import __version__
from biogans.errors import BiogansError
from biogans.files import atomic_path, output_dir, read_lines
from biogans.images import cell_sheet, save_png
from biogans.train.checkpoints import RESUME_FORMAT, load_file, save_generator
from biogans.train.options import TrainOptions

if TYPE_CHECKING:
    from biogans.train.loop import Trainer

log = logging.getLogger(__name__)

LOG_COLUMNS = ("iteration", "loss_critic", "loss_generator", "wasserstein", "seconds")


def resume_or_start(trainer: Trainer, out_dir: Path, options: TrainOptions) -> tuple[int, float]:
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


def write_checkpoint(trainer: Trainer, out_dir: Path, snapshots: Path, iteration: int,
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


def write_options(path: Path, trainer: Trainer) -> None:
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


def truncate_log(path: Path, start: int) -> None:
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
