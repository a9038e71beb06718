"""Bad input, as a careless or hostile user gives it: every case ends with the documented exit status,
one line on stderr naming the problem, and no new file; killed commands leave nothing a later run
does not clean; random and truncated files give clean errors only."""

from __future__ import annotations

import argparse
import os
import re
import signal
import subprocess
import sys
import time
from pathlib import Path

import h5py
import numpy as np
import pytest
import torch
from conftest import random_cells, write_random_store

from biogans.cli import build_parser, main
from biogans.data.neighbours import find_neighbours, read_neighbours
from biogans.data.options import NeighbourOptions, SplitOptions
from biogans.data.splits import make_splits, read_splits
from biogans.data.store import META_COLUMNS, empty_meta, read_store, write_store
from biogans.errors import BiogansError
from biogans.models import build, spec_for
from biogans.stages.arguments import Paths
from biogans.train.checkpoints import (
    RESUME_FORMAT,
    load_file,
    load_generator,
    save_generator,
)

PROTEINS = ["Alp14", "Arp3", "Sid2"]


@pytest.fixture(scope="module")
def inputs(tmp_path_factory) -> Path:
    """Good inputs, and bad ones beside them, in one folder (the cases must not add files to it)."""
    root = tmp_path_factory.mktemp("inputs")
    write_random_store(root / "cells.h5", PROTEINS, n=24, seed=1)
    make_splits(root / "cells.h5", root / "splits.h5", SplitOptions(n_splits=2))
    find_neighbours(root / "cells.h5", root / "nn.h5", NeighbourOptions(k=2))
    torch.manual_seed(0)
    save_generator(root / "gen.pt", build(spec_for("wgangp", ["Alp14"], ngf=4)), 3)
    (root / "folder").mkdir()
    (root / "folder.png").mkdir()
    (root / "file").write_text("a file")
    (root / "hello.pt").write_text("hello")
    (root / "random.pt").write_bytes(np.random.default_rng(0).bytes(3000))
    (root / "text.h5").write_text("not HDF5")
    torch.save({"some": "dict"}, root / "foreign.pt")
    payload = torch.load(root / "gen.pt", weights_only=True)
    torch.save({**payload, "spec": {**payload["spec"], "ngf": 200_000}}, root / "huge.pt")
    torch.save({k: v for k, v in payload.items() if k != "state_dict"}, root / "no_weights.pt")
    _foreign_pickles(root, payload)
    _bad_stores(root)
    _bad_splits_and_neighbours(root)
    _files_reading_outside(root)
    _inputs_under_other_names(root)
    _bad_csvs(root)
    return root


class _CallsAFunction:
    """Pickled as a call of os.getcwd (harmless, were it ever called): what a hostile file would do."""

    def __reduce__(self):
        return os.getcwd, ()


def _foreign_pickles(root: Path, payload: dict) -> None:
    """Generator files whose pickle calls a function or builds a class, a plain pickle, and a torch file
    whose pickle is damaged in a global's name."""
    import fractions
    import pickle

    torch.save({**payload, "spec": _CallsAFunction()}, root / "calls.pt")
    torch.save({**payload, "iteration": fractions.Fraction(3)}, root / "fraction.pt")
    (root / "plain_pickle.pt").write_bytes(pickle.dumps({"format": "biogans-generator/1"}, protocol=4))
    data = (root / "gen.pt").read_bytes()
    assert data.count(b"collections") >= 1
    (root / "damaged_pickle.pt").write_bytes(data.replace(b"collections", b"collectionz", 1))


def _store(path: Path, images: np.ndarray, channels=("Bgs4", "Alp14"), n_meta: int | None = None) -> None:
    """A cell store written field by field, so that it can be wrong in any one way."""
    meta = empty_meta(len(images) if n_meta is None else n_meta)
    meta["role"] = "train"
    with h5py.File(path, "w") as f:
        f.attrs["format"] = "biogans-cells/1"
        group = f.create_group("Alp14")
        group.create_dataset("images", data=images)
        group.attrs["channels"] = list(channels)
        for name, dtype in META_COLUMNS.items():
            if dtype == "str":
                group.create_dataset(f"meta/{name}", data=np.array(list(meta[name].astype(str)), dtype=object),
                                     dtype=h5py.string_dtype())
            else:
                group.create_dataset(f"meta/{name}", data=meta[name].to_numpy(dtype=dtype))


def _bad_stores(root: Path) -> None:
    good = random_cells(6, np.random.default_rng(2), ["Bgs4", "Alp14"]).images
    _store(root / "three_channels.h5", np.concatenate([good, good[:, :1]], 1))
    _store(root / "short_meta.h5", good, n_meta=4)
    _store(root / "small_images.h5", good[:, :, :24, :40].copy())
    _store(root / "no_cells.h5", good[:0])
    _store(root / "float_values.h5", good.astype(np.float64) * 1000)
    with h5py.File(root / "no_images.h5", "w") as f:
        f.attrs["format"] = "biogans-cells/1"
        f.create_group("Alp14/meta")
    with h5py.File(root / "no_format.h5", "w") as f:
        f.create_dataset("x", data=[1])
    cells = random_cells(6, np.random.default_rng(3), ["Bgs4", "Alp14"])
    cells.meta["role"] = ["train", "test", "validation", "train", "test", "train"]
    write_store(root / "bad_roles.h5", {"Alp14": cells}, source="test")


def _bad_splits_and_neighbours(root: Path) -> None:
    import shutil

    shutil.copy(root / "splits.h5", root / "splits_out_of_range.h5")
    with h5py.File(root / "splits_out_of_range.h5", "r+") as f:
        rows = f["Alp14/test"][()]
        rows[0, 0] = 10_000
        f["Alp14/test"][...] = rows
    write_random_store(root / "other_cells.h5", PROTEINS, n=24, seed=9)
    shutil.copy(root / "nn.h5", root / "nn_bad_rows.h5")
    with h5py.File(root / "nn_bad_rows.h5", "r+") as f:
        rows = f["Alp14/Arp3/index"][()]
        rows[0, 0] = 10_000
        f["Alp14/Arp3/index"][...] = rows


def _files_reading_outside(root: Path) -> None:
    """HDF5 files of each kind whose data lie (in part) in another file, and one declaring terabytes."""
    import shutil

    good = random_cells(1, np.random.default_rng(4), ["Bgs4", "Alp14"]).images
    (root / "secret.txt").write_bytes(b"root:x:0:0:root:/root:/bin/bash\n".ljust(good.nbytes, b"#"))
    _store(root / "external_storage.h5", good)
    with h5py.File(root / "external_storage.h5", "r+") as f:
        del f["Alp14/images"]
        f.create_dataset("Alp14/images", shape=good.shape, dtype="u1",
                         external=[(str(root / "secret.txt"), 0, good.nbytes)])
    with h5py.File(root / "external_link.h5", "w") as f:
        f.attrs["format"] = "biogans-cells/1"
        f["Alp14"] = h5py.ExternalLink(str(root / "cells.h5"), "/Alp14")
    shutil.copy(root / "cells.h5", root / "virtual.h5")
    with h5py.File(root / "virtual.h5", "r+") as f:
        shape = f["Alp14/images"].shape
        del f["Alp14/images"]
        layout = h5py.VirtualLayout(shape=shape, dtype="u1")
        layout[:] = h5py.VirtualSource(str(root / "cells.h5"), "Alp14/images", shape=shape)
        f.create_virtual_dataset("Alp14/images", layout)
    n = 10**9
    with h5py.File(root / "terabytes.h5", "w") as f:
        f.attrs["format"] = "biogans-cells/1"
        group = f.create_group("Alp14")
        group.attrs["channels"] = ["Bgs4", "Alp14"]
        group.create_dataset("images", shape=(n, 2, 48, 80), dtype="u1", chunks=(1, 2, 48, 80), compression="gzip")
        for name, dtype in META_COLUMNS.items():
            kind = h5py.string_dtype() if dtype == "str" else dtype
            group.create_dataset(f"meta/{name}", shape=(n,), dtype=kind, chunks=(1024,), compression="gzip")
    shutil.copy(root / "splits.h5", root / "splits_external.h5")
    with h5py.File(root / "splits_external.h5", "r+") as f:
        del f["Alp14/test"]
        f["Alp14/test"] = h5py.ExternalLink(str(root / "splits.h5"), "/Alp14/test")
    shutil.copy(root / "nn.h5", root / "nn_external.h5")
    with h5py.File(root / "nn_external.h5", "r+") as f:
        shape, dtype = f["Alp14/Arp3/index"].shape, f["Alp14/Arp3/index"].dtype
        del f["Alp14/Arp3/index"]
        layout = h5py.VirtualLayout(shape=shape, dtype=dtype)
        layout[:] = h5py.VirtualSource(str(root / "nn.h5"), "Alp14/Arp3/index", shape=shape)
        f.create_virtual_dataset("Alp14/Arp3/index", layout)


def _inputs_under_other_names(root: Path) -> None:
    """Inputs reachable under a second name (a hard link, a symbolic link), and inputs where a command
    would write: a field and a LIN PNG in their folders, cell stores named as a model's or a reconstruction's
    output files."""
    import shutil

    import tifffile
    from PIL import Image

    os.link(root / "cells.h5", root / "cells_hard.h5")
    os.symlink(root / "gen.pt", root / "gen_link.h5")
    (root / "fields/Alp14").mkdir(parents=True)
    tifffile.imwrite(root / "fields/Alp14/field_000.tif", np.ones((2, 32, 32), np.uint16))
    (root / "lin/Alp14").mkdir(parents=True)
    Image.new("RGB", (80, 48)).save(root / "lin/Alp14/cell_0.png")
    for folder, name in (("model", "resume.pt"), ("model", "train_log.csv"), ("reconstruction", "examples.h5")):
        (root / folder).mkdir(exist_ok=True)
        shutil.copy(root / "cells.h5", root / folder / name)


def _bad_csvs(root: Path) -> None:
    header = "evaluator,iteration,protein,versus,split,score,accuracy,p_value\n"
    (root / "text_score.csv").write_text(header + "wgangp,,Alp14,Alp14,0,high,0.5,0.5\n")
    (root / "no_score.csv").write_text("evaluator,iteration,protein,versus,split\nwgangp,,Alp14,Alp14,0\n")
    (root / "cells_no_nll.csv").write_text("protein,row,rmse,nn_rmse,nn_row\nAlp14,0,0.1,0.2,3\n")


def run(argv: list[str]) -> tuple[int, str]:
    """main() as the console runs it: (exit status, stderr text)."""
    from contextlib import redirect_stderr
    from io import StringIO

    err = StringIO()
    with redirect_stderr(err):
        try:
            status = main(argv)
        except SystemExit as exit:
            status = exit.code
    return status, err.getvalue()


def files_under(root: Path) -> dict[Path, tuple[int, int, int]]:
    """Every path under ``root`` with what would show a change: its inode, size and modification time."""
    return {p: (p.lstat().st_ino, p.lstat().st_size, p.lstat().st_mtime_ns) for p in root.rglob("*")}


TRAIN = ["--model", "wgangp", "--proteins", "Alp14", "--iterations", "3", "--ngf", "4", "--ndf", "4",
         "--batch-size", "4"]
C2ST = ["--steps", "2", "--ndf", "4", "--batch-size", "4", "--passes", "1"]

#: (name, argv with {} for the inputs folder, exit status, a regular expression the one line must match)
CASES = [
    # output paths the system refuses
    ("splits into a folder", ["splits", "{}/cells.h5", "{}/folder"], 1, r"folder: is a folder; give a file name"),
    ("splits under a file", ["splits", "{}/cells.h5", "{}/file/out.h5"], 1, r"file.*cannot write .*out\.h5"),
    ("splits under /proc", ["splits", "{}/cells.h5", "/proc/biogans/out.h5"], 1, r"/proc/biogans.*cannot write"),
    ("neighbours into a folder", ["neighbours", "{}/cells.h5", "{}/folder"], 1, r"is a folder"),
    ("sample into a folder", ["sample", "{}/gen.pt", "--n", "2", "--out", "{}/folder.png"], 1, r"is a folder"),
    ("train into a file", ["train", "{}/cells.h5", "{}/file", *TRAIN], 1, r"file: exists and is not a folder"),
    ("simulate into a file", ["simulate", "{}/file", "--proteins", "Alp14", "--cells-per-protein", "5"], 1,
     r"file: exists and is not a folder"),
    ("table output not csv", ["table", "table3", "--reconstruction", "regular/a={}/cells_no_nll.csv",
                              "--out", "{}/table.txt"], 1, r"must end in \.csv"),
    # malformed cell stores
    ("store of three channels", ["splits", "{}/three_channels.h5", "{}/s.h5"], 1,
     r"group Alp14: images are uint8 \[6, 3, 48, 80\], expected uint8 \[N, 2, 48, 80\]"),
    ("store with short metadata", ["splits", "{}/short_meta.h5", "{}/s.h5"], 1,
     r"6 images but metadata column\(s\) source \(4,\)"),
    ("store without images", ["splits", "{}/no_images.h5", "{}/s.h5"], 1, r"group Alp14: not a cell group"),
    ("store of 24x40 cells", ["splits", "{}/small_images.h5", "{}/s.h5"], 1, r"\[6, 2, 24, 40\], expected"),
    ("store of no cells", ["splits", "{}/no_cells.h5", "{}/s.h5"], 1, r"group Alp14: no cells"),
    ("store of float64 values", ["splits", "{}/float_values.h5", "{}/s.h5"], 1, r"images are float64"),
    ("store with a third role", ["splits", "{}/bad_roles.h5", "{}/s.h5"], 1, r"roles 'validation'"),
    ("store that is text", ["splits", "{}/text.h5", "{}/s.h5"], 1, r"text\.h5: not a readable HDF5 file"),
    ("store of another format", ["splits", "{}/no_format.h5", "{}/s.h5"], 1, r"not a biogans cell store"),
    ("store that is missing", ["neighbours", "{}/absent.h5", "{}/n.h5"], 1, r"absent\.h5: no such file"),
    ("train on a bad store", ["train", "{}/float_values.h5", "{}/m", *TRAIN], 1, r"images are float64"),
    # HDF5 files that read data from other files, or declare terabytes
    ("store stored in a text file", ["splits", "{}/external_storage.h5", "{}/s.h5"], 1,
     r"external_storage\.h5: dataset /Alp14/images is stored in another file \(.*secret\.txt\); refused"),
    ("store linking another file", ["neighbours", "{}/external_link.h5", "{}/n.h5"], 1,
     r"external_link\.h5: /Alp14 is a link to another file \(.*cells\.h5\); refused"),
    ("store of a virtual dataset", ["train", "{}/virtual.h5", "{}/m", *TRAIN], 1,
     r"virtual\.h5: dataset /Alp14/images is virtual \(its data lie in other files\); refused"),
    ("store declaring terabytes", ["splits", "{}/terabytes.h5", "{}/s.h5"], 1,
     r"terabytes\.h5: group Alp14: meta/\w+: a \w+ array of 1000000000 needs [\d,]+ bytes, above the limit of "
     r"8,589,934,592 \(set BIOGANS_MAX_ARRAY_BYTES to allow more\)"),
    ("reconstruct from a linking store", ["reconstruct", "{}/gen.pt", "{}/external_link.h5", "{}/r"], 1,
     r"external_link\.h5: /Alp14 is a link to another file"),
    ("splits linking another file", ["c2st", "real-vs-real", "{}/cells.h5", "{}/splits_external.h5", "--protein",
                                     "Alp14", *C2ST, "--out", "{}/x.csv"], 1,
     r"splits_external\.h5: /Alp14/test is a link to another file \(.*splits\.h5\); refused"),
    ("neighbours of a virtual dataset", ["train", "{}/cells.h5", "{}/m", "--model", "wgangp-multichannel",
                                         "--proteins", *PROTEINS, "--iterations", "2", "--ngf", "4", "--neighbours",
                                         "{}/nn_external.h5"], 1,
     r"nn_external\.h5: dataset /Alp14/Arp3/index is virtual"),
    # garbage generator files
    ("generator of text", ["sample", "{}/hello.pt", "--n", "2", "--out", "{}/x.png"], 1, r"corrupted or truncated"),
    ("generator of random bytes", ["sample", "{}/random.pt", "--n", "2", "--out", "{}/x.png"], 1,
     r"corrupted or truncated"),
    ("generator of another format", ["sample", "{}/foreign.pt", "--n", "2", "--out", "{}/x.png"], 1,
     r"not a biogans-generator/1 file"),
    ("generator 200000 wide", ["sample", "{}/huge.pt", "--n", "2", "--out", "{}/x.png"], 1,
     r"ngf 200000 is above the limit of 1024"),
    ("generator without weights", ["sample", "{}/no_weights.pt", "--n", "2", "--out", "{}/x.png"], 1,
     r"entry 'state_dict' missing"),
    ("generator calling a function", ["sample", "{}/calls.pt", "--n", "2", "--out", "{}/x.png"], 1,
     r"calls\.pt: holds objects other than tensors and plain metadata; refused"),
    ("generator holding a class", ["assemble", "{}/fraction.pt", "--out", "{}/x.pt"], 1,
     r"fraction\.pt: holds objects other than tensors and plain metadata; refused"),
    ("generator of a plain pickle", ["sample", "{}/plain_pickle.pt", "--n", "2", "--out", "{}/x.png"], 1,
     r"plain_pickle\.pt: corrupted or truncated checkpoint \(not a torch file\)$"),
    ("generator of a damaged pickle", ["c2st", "fake-vs-real", "{}/damaged_pickle.pt", "--cells", "{}/cells.h5",
                                       "--splits", "{}/splits.h5", *C2ST, "--out", "{}/x.csv"], 1,
     r"damaged_pickle\.pt: corrupted or truncated checkpoint \(not a torch file\)$"),
    ("assemble of text", ["assemble", "{}/hello.pt", "--out", "{}/x.pt"], 1, r"hello\.pt: corrupted"),
    ("c2st of a bad generator", ["c2st", "fake-vs-real", "{}/random.pt", "--cells", "{}/cells.h5", "--splits",
                                 "{}/splits.h5", *C2ST, "--out", "{}/x.csv"], 1, r"random\.pt: corrupted"),
    # numeric options out of range or malformed (the command line: status 2)
    ("learning rate nan", ["train", "{}/cells.h5", "{}/m", *TRAIN, "--lr", "nan"], 2, r"--lr: .*finite number"),
    ("negative learning rate", ["train", "{}/cells.h5", "{}/m", *TRAIN, "--lr", "-1"], 2, r"--lr: must be > 0"),
    ("seed of 1e23", ["train", "{}/cells.h5", "{}/m", *TRAIN, "--seed", "100000000000000000000000"], 2,
     r"--seed: must be <= 9223372036854775807"),
    ("seed as a float", ["sample", "{}/gen.pt", "--n", "2", "--seed", "1e3", "--out", "{}/x.png"], 2,
     r"--seed: expected an integer"),
    ("negative splits seed", ["splits", "{}/cells.h5", "{}/s.h5", "--seed", "-5"], 2, r"--seed: must be >= 0"),
    ("a billion splits", ["splits", "{}/cells.h5", "{}/s.h5", "--n-splits", "1000000000"], 2,
     r"--n-splits: must be <= 1000"),
    ("block size 0", ["neighbours", "{}/cells.h5", "{}/n.h5", "--block-size", "0"], 2, r"--block-size: must be >= 1"),
    ("no latents in figure 1", ["figure", "figure1", "--generator", "a={}/gen.pt", "--cells", "{}/cells.h5",
                                "--latents", "0", "--out", "{}/f.png"], 2, r"--latents: must be >= 1"),
    ("bench with no threads", ["bench", "--threads", "0"], 2, r"--threads: must be >= 1"),
    ("batch of zero cells", ["c2st", "real-vs-real", "{}/cells.h5", "{}/splits.h5", "--protein", "Alp14",
                             "--batch-size", "0", "--out", "{}/x.csv"], 2, r"--batch-size: must be >= 1"),
    ("no restarts", ["reconstruct", "{}/gen.pt", "{}/cells.h5", "{}/r", "--restarts", "0"], 2,
     r"--restarts: must be >= 1"),
    ("no cells to simulate", ["simulate", "{}/sim", "--cells-per-protein", "0"], 2,
     r"--cells-per-protein: must be >= 1"),
    ("a huge batch", ["train", "{}/cells.h5", "{}/m", *TRAIN, "--batch-size", "100000"], 2,
     r"--batch-size: must be <= 4096"),
    ("a huge width", ["train", "{}/cells.h5", "{}/m", *TRAIN, "--ngf", "200000"], 2, r"--ngf: must be <= 1024"),
    ("test fraction above 1", ["preprocess", "{}/folder", "{}/c.h5", "--test-fraction", "1.5"], 2,
     r"--test-fraction: must be <= 0.95"),
    ("unknown simulated protein", ["simulate", "{}/sim", "--proteins", "Foo"], 2, r"invalid choice: 'Foo'"),
    ("unknown device", ["sample", "{}/gen.pt", "--n", "2", "--device", "gpu", "--out", "{}/x.png"], 2,
     r"--device: 'gpu' is not of the form"),
    ("unknown option", ["splits", "{}/cells.h5", "{}/s.h5", "--folds", "3"], 2, r"unrecognized arguments: --folds"),
    ("missing argument", ["splits", "{}/cells.h5"], 2, r"the following arguments are required: OUT\.h5"),
    # an output that is one of the inputs, under its name or another
    ("splits over its store", ["splits", "{}/cells.h5", "{}/cells.h5"], 1,
     r"cells\.h5: is also an input; give another output name$"),
    ("splits over ./store", ["splits", "{}/cells.h5", "{}/./cells.h5"], 1, r"cells\.h5: is also an input"),
    ("neighbours over a hard link", ["neighbours", "{}/cells.h5", "{}/cells_hard.h5"], 1,
     r"cells_hard\.h5: is the input .*cells\.h5 under another name; give another output name$"),
    ("sample over a symbolic link", ["sample", "{}/gen.pt", "--n", "2", "--out", "{}/gen_link.h5"], 1,
     r"gen_link\.h5: is the input .*gen\.pt under another name"),
    ("assemble over its part", ["assemble", "{}/gen.pt", "--out", "{}/gen.pt"], 1, r"gen\.pt: is also an input"),
    ("c2st over its splits", ["c2st", "real-vs-real", "{}/cells.h5", "{}/splits.h5", "--protein", "Alp14", *C2ST,
                              "--out", "{}/splits.h5"], 1, r"splits\.h5: is also an input"),
    ("table over its C2ST file", ["table", "table1", "--real", "{}/text_score.csv", "--out", "{}/text_score.csv"], 1,
     r"text_score\.csv: is also an input"),
    ("figure 8 table over its C2ST file", ["figure", "figure8", "--c2st", "a={}/text_score.csv", "--table",
                                          "{}/text_score.csv", "--out", "{}/f.png"], 1, r"text_score\.csv: is also"),
    ("preprocess over a field", ["preprocess", "{}/fields", "{}/fields/Alp14/field_000.tif"], 1,
     r"field_000\.tif: is the input .*field_000\.tif under another name|field_000\.tif: is also an input"),
    ("import-lin over a PNG", ["import-lin", "{}/lin", "{}/lin/Alp14/cell_0.png"], 1, r"cell_0\.png: is "),
    ("train over its store", ["train", "{}/model/resume.pt", "{}/model", *TRAIN], 1,
     r"model/resume\.pt: is also an input"),
    ("train over its neighbours", ["train", "{}/cells.h5", "{}/model", "--model", "wgangp-multichannel",
                                   "--proteins", *PROTEINS, "--iterations", "2", "--neighbours",
                                   "{}/model/train_log.csv"], 1, r"model/train_log\.csv: is also an input"),
    ("reconstruct over its store", ["reconstruct", "{}/gen.pt", "{}/reconstruction/examples.h5",
                                    "{}/reconstruction"], 1, r"reconstruction/examples\.h5: is also an input"),
    # inputs that do not fit together
    ("split index out of range", ["c2st", "real-vs-real", "{}/cells.h5", "{}/splits_out_of_range.h5", "--protein",
                                  "Alp14", *C2ST, "--out", "{}/x.csv"], 1,
     r"splits of Alp14 \(test\): a split is not a permutation"),
    ("splits of another store", ["c2st", "real-vs-real", "{}/other_cells.h5", "{}/splits.h5", "--protein", "Alp14",
                                 *C2ST, "--out", "{}/x.csv"], 1, r"made for a different cell store"),
    ("neighbours outside training", ["train", "{}/cells.h5", "{}/m", "--model", "wgangp-multichannel", "--proteins",
                                     *PROTEINS, "--iterations", "2", "--ngf", "4", "--neighbours", "{}/nn_bad_rows.h5"],
     1, r"neighbours of Alp14 in Arp3: rows that are not training cells"),
    ("unknown model", ["train", "{}/cells.h5", "{}/m", *TRAIN[2:], "--model", "wgan-gp"], 1,
     r"unknown model 'wgan-gp'"),
    ("protein of a joint model", ["sample", "{}/gen.pt", "--n", "2", "--protein", "Alp14", "--out", "{}/x.png"], 1,
     r"need a conditional model"),
    ("LIN folder missing", ["import-lin", "{}/no_LIN", "{}/c.h5"], 1, r"no_LIN: not found"),
    ("fields folder missing", ["preprocess", "{}/no_fields", "{}/c.h5"], 1, r"no_fields: fields folder not found"),
    # result tables that are not
    ("C2ST scores as text", ["table", "table1", "--real", "{}/text_score.csv", "--out", "{}/t.csv"], 1,
     r"text_score\.csv: column score holds text"),
    ("C2ST file without scores", ["table", "table1", "--real", "{}/no_score.csv", "--out", "{}/t.csv"], 1,
     r"no_score\.csv: not a C2ST result table \(no column score"),
    ("cells file without NLL", ["table", "table3", "--reconstruction", "regular/a={}/cells_no_nll.csv", "--out",
                                "{}/t.csv"], 1, r"cells_no_nll\.csv: not a reconstruction cells table"),
    ("a model given twice", ["table", "table2", "--c2st", "a={}/text_score.csv", "a={}/no_score.csv", "--out",
                             "{}/t.csv"], 1, r"--c2st a given twice"),
]


@pytest.mark.parametrize("name, argv, status, message", CASES, ids=[case[0] for case in CASES])
def test_bad_input_is_one_line_with_the_status_and_leaves_nothing(inputs, name, argv, status, message):
    before = files_under(inputs)
    code, err = run([a.replace("{}", str(inputs)) for a in argv])
    lines = err.strip().splitlines()
    assert code == status, err
    assert len(lines) == 1 and lines[0].startswith("error: "), err
    assert __import__("re").search(message, lines[0]), lines[0]
    after = files_under(inputs)
    assert after == before, sorted(str(p) for p in after.keys() | before.keys() if after.get(p) != before.get(p))


def leaf_parsers(parser: argparse.ArgumentParser, name: str = "biogans"):
    """(command, parser) of every command line that runs a stage (``biogans c2st real-vs-real``, ...)."""
    for action in parser._actions:
        if isinstance(action, argparse._SubParsersAction):
            for sub, child in action.choices.items():
                yield from leaf_parsers(child, f"{name} {sub}")
            return
    yield name, parser


def test_every_command_declares_its_input_and_output_paths():
    """Every argument that names a file or folder is among the command's declared inputs or outputs, which
    the command line checks against each other before the stage runs."""
    commands = dict(leaf_parsers(build_parser()))
    assert len(commands) >= 25
    for name, parser in commands.items():
        paths = parser.get_default("paths")
        assert isinstance(paths, Paths), name
        declared = {source if isinstance(source, str) else source.dest for source in (*paths.inputs, *paths.outputs)
                    if isinstance(source, str) or hasattr(source, "dest")}
        named = {action.dest for action in parser._actions
                 if re.search(r"\.\w+$|PATH|DIR|FILE|ROOT", str(action.metavar or action.dest.upper()))}
        assert named <= declared, (name, named - declared)
        assert declared <= {action.dest for action in parser._actions}, name


def test_there_are_forty_cases_or_more():
    assert len(CASES) >= 40


# --------------------------------------------------------------------------- killed commands

def _command(*args: str) -> list[str]:
    return [sys.executable, "-m", "biogans", *args]


def _wait_for(condition, seconds: float = 60) -> None:
    deadline = time.monotonic() + seconds
    while not condition():
        assert time.monotonic() < deadline, "timed out"
        time.sleep(0.02)


def _temporaries(folder: Path) -> list[Path]:
    return [p for p in folder.rglob(".*") if p.name.endswith(".tmp")]


def test_simulate_cleans_up_on_sigterm_and_after_sigkill(tmp_path):
    out = tmp_path / "raw"
    args = ["simulate", str(out), "--proteins", "Alp14", "--cells-per-protein", "400", "--field-size", "256"]
    process = subprocess.Popen(_command(*args), stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    _wait_for(lambda: out.exists() and _temporaries(out))
    process.send_signal(signal.SIGTERM)
    assert process.wait(60) == 143 and process.stderr.read().strip() == "error: terminated"
    assert not _temporaries(out) and not (out / "Alp14").exists()

    process = subprocess.Popen(_command(*args), stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    _wait_for(lambda: _temporaries(out))
    process.kill()
    process.wait(60)
    assert _temporaries(out)  # SIGKILL cannot be caught...
    assert main(["simulate", str(out), "--proteins", "Alp14", "--cells-per-protein", "5"]) == 0
    assert not _temporaries(out) and (out / "Alp14").is_dir()  # ...so the next run removes what it left


def test_train_cleans_up_on_sigterm_and_removes_a_dead_runs_temporary_files(tiny_store, tmp_path):
    path, _ = tiny_store
    out = tmp_path / "m"
    args = ["train", str(path), str(out), "--model", "wgangp", "--proteins", "Alp14", "--iterations", "100000",
            "--ngf", "4", "--ndf", "4", "--batch-size", "4", "--resume-every", "5"]
    process = subprocess.Popen(_command(*args), stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    _wait_for(lambda: (out / "resume.pt").exists())
    process.send_signal(signal.SIGTERM)
    assert process.wait(60) == 143 and process.stderr.read().strip().endswith("error: terminated")
    assert not _temporaries(out) and load_file(out / "resume.pt", RESUME_FORMAT)["iteration"] >= 5

    dead = subprocess.run([sys.executable, "-c", "import os; print(os.getpid())"], capture_output=True, text=True)
    stale = out / f".generator_2.pt.{dead.stdout.strip()}.abc12345.tmp"  # a write killed by SIGKILL
    stale.write_bytes(b"")
    assert main([*args[:7], "--iterations", "2", *args[9:]]) == 0
    assert not stale.exists() and (out / "generator_2.pt").is_file()


def test_a_failed_training_leaves_no_new_folder(tiny_store, tmp_path):
    path, _ = tiny_store
    out = tmp_path / "m"
    status, err = run(["train", str(path), str(out), "--model", "wgangp-multichannel", "--proteins", "Alp14",
                       "Arp3", "--iterations", "2", "--ngf", "4"])
    assert status == 1 and "--neighbours" in err and not out.exists()


def test_a_fresh_start_removes_the_generator_files_of_another_run(tiny_store, tmp_path):
    path, _ = tiny_store
    out = tmp_path / "m"
    base = ["train", str(path), str(out), "--model", "wgangp", "--proteins", "Alp14", "--ngf", "4", "--ndf", "4",
            "--batch-size", "4"]
    assert main([*base, "--iterations", "3", "--checkpoints", "1", "3"]) == 0
    assert main([*base, "--iterations", "2", "--seed", "1"]) == 0  # other options: a fresh start
    assert sorted(p.name for p in out.glob("generator_*.pt")) == ["generator_2.pt"]


# --------------------------------------------------------------------------- fuzzing

def _mutations(data: bytes, rng: np.random.Generator, n: int) -> list[bytes]:
    """n damaged copies: truncated, with flipped bytes, or random bytes of the same length."""
    out = []
    for i in range(n):
        kind = i % 3
        if kind == 0:
            out.append(data[:int(rng.integers(0, len(data)))])
        elif kind == 1:
            damaged = bytearray(data)
            for position in rng.integers(0, len(data), size=int(rng.integers(1, 20))):
                damaged[position] = int(rng.integers(0, 256))
            out.append(bytes(damaged))
        else:
            out.append(rng.bytes(len(data)))
    return out


def test_damage_found_while_reading_an_open_file_is_one_line_naming_it(tmp_path):
    """h5py raises KeyError and friends only when a damaged part is read; the message must still name the
    file although h5py has closed it by then."""
    from biogans.hdf5 import open_hdf5

    path = tmp_path / "store.h5"
    with h5py.File(path, "w") as f:
        f.attrs["format"] = "biogans-cells/1"
    with (pytest.raises(BiogansError, match=r"store\.h5: damaged HDF5 file \('message not aligned'\)$"),
          open_hdf5(path, "biogans-cells/1", "cell store")):
        raise KeyError("message not aligned")


def test_two_hundred_random_or_truncated_files_give_only_clean_errors(inputs, tmp_path):
    rng = np.random.default_rng(0)
    store = read_store(inputs / "cells.h5")
    loaders = {
        "gen.pt": lambda p: load_generator(p),
        "resume.pt": lambda p: load_file(p, RESUME_FORMAT),
        "cells.h5": lambda p: read_store(p),
        "splits.h5": lambda p: read_splits(p, store),
        "nn.h5": lambda p: read_neighbours(p, store),
    }
    counts = {"gen.pt": 60, "resume.pt": 20, "cells.h5": 60, "splits.h5": 30, "nn.h5": 30}
    (tmp_path / "resume.pt").write_bytes((inputs / "gen.pt").read_bytes())
    checked = 0
    for name, count in counts.items():
        original = ((tmp_path if name == "resume.pt" else inputs) / name).read_bytes()
        for i, data in enumerate(_mutations(original, rng, count)):
            path = tmp_path / f"{i}_{name}"
            path.write_bytes(data)
            try:
                loaders[name](path)  # a damaged file may still be whole enough to load
            except BiogansError as error:
                assert "\n" not in str(error) and str(path) in str(error)
            checked += 1
            os.unlink(path)
    assert checked == 200
