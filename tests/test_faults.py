"""Faults while writing: a full disk under every writer (h5py, torch.save, PIL, tifffile, matplotlib,
pandas, json) ends with status 1, one line naming the output and nothing left behind; output names as
long as the file system allows get temporary names it allows too."""

from __future__ import annotations

import os
import resource
import signal
import subprocess
import sys
from pathlib import Path

import pytest
import torch
from conftest import write_random_store
from test_bad_input import run

from biogans.cli import main
from biogans.data.options import SplitOptions
from biogans.data.splits import make_splits
from biogans.files import NAME_MAX, atomic_path, remove_stale_temporaries
from biogans.models import build, spec_for
from biogans.train.checkpoints import GENERATOR_FORMAT, save_file, save_generator

PROTEINS = ["Alp14", "Arp3"]


@pytest.fixture(scope="module")
def inputs(tmp_path_factory) -> Path:
    root = tmp_path_factory.mktemp("inputs")
    write_random_store(root / "cells.h5", PROTEINS, n=16, seed=1)
    make_splits(root / "cells.h5", root / "splits.h5", SplitOptions(n_splits=2))
    torch.manual_seed(0)
    save_generator(root / "gen.pt", build(spec_for("wgangp", ["Alp14"], ngf=4)), 3)
    return root


#: (writer, argv with {i} for the inputs folder and {o} for the output folder, the output's name)
WRITES = [
    ("h5py: splits", ["splits", "{i}/cells.h5", "{o}/s.h5"], "s.h5"),
    ("h5py: neighbours", ["neighbours", "{i}/cells.h5", "{o}/n.h5", "-k", "2"], "n.h5"),
    ("h5py: sample", ["sample", "{i}/gen.pt", "--n", "4", "--out", "{o}/x.h5"], "x.h5"),
    ("PIL: sample", ["sample", "{i}/gen.pt", "--n", "4", "--out", "{o}/x.png"], "x.png"),
    ("tifffile: sample", ["sample", "{i}/gen.pt", "--n", "4", "--out", "{o}/x.ome.tif"], "x.ome.tif"),
    ("torch.save: assemble", ["assemble", "{i}/gen.pt", "--out", "{o}/g.pt"], "g.pt"),
    ("matplotlib: figure 3", ["figure", "figure3", "--generator", "a={i}/gen.pt", "--cells", "{i}/cells.h5",
                              "--samples", "2", "--out", "{o}/f.png"], "f.png"),
    ("pandas: c2st", ["c2st", "real-vs-real", "{i}/cells.h5", "{i}/splits.h5", "--protein", "Alp14", "--steps", "1",
                      "--ndf", "4", "--batch-size", "2", "--passes", "1", "--out", "{o}/c.csv"], "c.csv"),
    ("json: train options", ["train", "{i}/cells.h5", "{o}/m", "--model", "wgangp", "--proteins", "Alp14",
                             "--iterations", "1", "--ngf", "4", "--ndf", "4", "--batch-size", "2"],
     "m/train_options.json"),
]


@pytest.mark.parametrize("writer, argv, name", WRITES, ids=[w[0] for w in WRITES])
def test_a_full_disk_is_one_line_with_status_1_and_leaves_nothing(inputs, tmp_path, full_disk, writer, argv, name):
    before = set(inputs.rglob("*"))
    status, err = run([a.replace("{i}", str(inputs)).replace("{o}", str(tmp_path)) for a in argv])
    lines = [line for line in err.splitlines() if "INFO" not in line]
    assert status == 1, err
    assert lines == [f"error: {tmp_path}/{name}: cannot write {tmp_path}/{name} (No space left on device)"], err
    assert list(tmp_path.rglob("*")) == [], list(tmp_path.rglob("*"))
    assert set(inputs.rglob("*")) == before


def test_torch_save_on_a_full_disk_is_a_one_line_error(tmp_path, full_disk):
    from biogans.errors import BiogansError

    with pytest.raises(BiogansError, match=r"g\.pt: cannot write .*g\.pt \(No space left on device\)$"):
        save_file(tmp_path / "g.pt", {"format": GENERATOR_FORMAT, "weights": torch.zeros(100_000)})
    assert list(tmp_path.iterdir()) == []


def _fill_at(size: int):
    """For a child process: files larger than ``size`` bytes cannot be written (EFBIG, as a quota)."""
    def limit() -> None:
        signal.signal(signal.SIGXFSZ, signal.SIG_IGN)
        resource.setrlimit(resource.RLIMIT_FSIZE, (size, size))
    return limit


def test_training_that_runs_out_of_space_for_its_resume_state_ends_with_status_1(inputs, tmp_path):
    """The run writes its options, log, generator file and samples, then cannot write resume.pt (torch.save
    raises a RuntimeError there); failing before its first resume state, it removes the folder it made."""
    out = tmp_path / "m"
    argv = [sys.executable, "-m", "biogans", "train", str(inputs / "cells.h5"), str(out), "--model", "wgangp",
            "--proteins", "Alp14", "--iterations", "2", "--checkpoints", "1", "--ngf", "4", "--ndf", "4",
            "--batch-size", "2", "--precision", "float32"]
    done = subprocess.run(argv, capture_output=True, text=True, preexec_fn=_fill_at(500_000), timeout=300)
    assert done.returncode == 1, done.stderr
    assert done.stderr.splitlines()[-1] == f"error: {out}/resume.pt: cannot write {out}/resume.pt (File too large)"
    assert "Traceback" not in done.stderr
    assert list(tmp_path.iterdir()) == []


def test_an_hdf5_write_that_fails_half_way_prints_one_line(inputs, tmp_path):
    """HDF5 reports a failed write while closing, with tracebacks of its own: none may reach the user."""
    argv = [sys.executable, "-m", "biogans", "splits", str(inputs / "cells.h5"), str(tmp_path / "s.h5"),
            "--n-splits", "1000"]
    done = subprocess.run(argv, capture_output=True, text=True, preexec_fn=_fill_at(20_000), timeout=120)
    assert (done.returncode, done.stderr) == (1, f"error: {tmp_path}/s.h5: cannot write {tmp_path}/s.h5 "
                                                 "(File too large)\n")
    assert list(tmp_path.iterdir()) == []


def test_simulated_fields_that_cannot_be_written_end_with_status_1(tmp_path):
    """tifffile writing into a temporary folder (atomic_dir): the folder goes, and one line says why."""
    out = tmp_path / "raw"
    argv = [sys.executable, "-m", "biogans", "simulate", str(out), "--proteins", "Alp14", "--cells-per-protein", "5"]
    done = subprocess.run(argv, capture_output=True, text=True, preexec_fn=_fill_at(20_000), timeout=120)
    assert done.returncode == 1 and done.stderr.startswith(f"error: {out}/Alp14: cannot write {out}/Alp14 ("), \
        done.stderr
    assert len(done.stderr.splitlines()) == 1 and not [p for p in out.rglob("*") if p.is_file()]


@pytest.mark.parametrize("name", ["a" * 245, "b" * NAME_MAX, "é" * (NAME_MAX // 2), "c" * 200 + ".h5"])
def test_output_names_up_to_the_name_limit_are_written(tmp_path, name):
    out = tmp_path / name
    with atomic_path(out) as tmp:
        assert len(os.fsencode(tmp.name)) <= NAME_MAX
        tmp.write_text("whole")
    assert out.read_text() == "whole" and [p.name for p in tmp_path.iterdir()] == [name]


def test_a_long_output_name_is_written_by_the_command_line(inputs, tmp_path):
    out = tmp_path / ("s" * 242 + ".h5")
    assert main(["splits", str(inputs / "cells.h5"), str(out)]) == 0
    assert [p.name for p in tmp_path.iterdir()] == [out.name]


def test_a_killed_runs_temporary_of_a_long_name_is_removed_by_the_next_write(tmp_path):
    name, other = "x" * 250, "x" * 249 + "y"  # temporary names cut to the same start
    dead = subprocess.run([sys.executable, "-c", "print(__import__('os').getpid())"], capture_output=True, text=True)
    stale = {}
    for target in (name, other):
        with atomic_path(tmp_path / target) as tmp:
            stale[target] = tmp.with_name(tmp.name.replace(f".{os.getpid()}.", f".{dead.stdout.strip()}.", 1))
            tmp.write_text("whole")
        stale[target].write_text("left by a killed run")
    with atomic_path(tmp_path / name) as tmp:
        tmp.write_text("again")
    assert not stale[name].exists() and stale[other].exists()
    assert remove_stale_temporaries(tmp_path) == [stale[other]]


TRAIN = ["--model", "wgangp", "--proteins", "Alp14", "--ngf", "4", "--ndf", "4", "--batch-size", "2",
         "--log-every", "1", "--resume-every", "2", "--precision", "float32"]


@pytest.mark.parametrize("crash", ["NUL bytes", "a row cut short", "garbage then a row", "NUL rows",
                                   "all NUL bytes"])
def test_a_training_log_torn_or_padded_by_a_crash_is_cut_back_on_resume(inputs, tmp_path, crash):
    out = tmp_path / "m"
    assert main(["train", str(inputs / "cells.h5"), str(out), *TRAIN, "--iterations", "4"]) == 0
    log = out / "train_log.csv"
    whole = log.read_bytes()
    lines = whole.split(b"\r\n")  # the header, four rows, and b"" after the last
    damaged = {"NUL bytes": whole + b"\0" * 4096, "a row cut short": whole + b"5,0.25,-0.",
               "garbage then a row": whole + b"5,0.1,\0\0\0\r\n6,1,2,3,4\r\n",
               # a power loss: the file grew, but the data of its last rows (or of all) never reached the disk
               "NUL rows": b"\r\n".join(lines[:3]) + b"\r\n" + b"\0" * len(b"\r\n".join(lines[3:])),
               "all NUL bytes": b"\0" * len(whole)}
    log.write_bytes(damaged[crash])
    assert main(["train", str(inputs / "cells.h5"), str(out), *TRAIN, "--iterations", "6"]) == 0
    rows = log.read_text().splitlines()
    assert rows[0] == "iteration,loss_critic,loss_generator,wasserstein,seconds"
    kept = {"all NUL bytes": [], "NUL rows": [1, 2]}.get(crash, [1, 2, 3, 4])
    assert [int(row.split(",")[0]) for row in rows[1:]] == [*kept, 5, 6]
    assert all(len(row.split(",")) == 5 for row in rows[1:])
    assert log.read_bytes().startswith(b"\r\n".join(lines[:1 + len(kept)]))  # kept as they were written


def test_a_training_log_that_cannot_grow_ends_with_status_1(inputs, tmp_path):
    out = tmp_path / "m"
    argv = [sys.executable, "-m", "biogans", "train", str(inputs / "cells.h5"), str(out), *TRAIN[:-4],
            "--iterations", "60", "--checkpoints", "60", "--precision", "float32"]
    done = subprocess.run(argv, capture_output=True, text=True, preexec_fn=_fill_at(1500), timeout=300)
    assert done.returncode == 1, done.stderr
    log = out / "train_log.csv"
    assert done.stderr.splitlines()[-1] == f"error: {log}: cannot write {log} (File too large)"
    assert "Traceback" not in done.stderr and not out.exists()
