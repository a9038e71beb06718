"""The Snakemake workflow itself: config validation at start-up, and one real end-to-end run of the
whole DAG (data, training, evaluation, every table and figure, the HTML report) on the smoke preset."""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

import h5py
import pandas as pd
import pytest

ROOT = Path(__file__).resolve().parents[1]
SNAKEMAKE = [sys.executable, "-m", "snakemake"]

TABLE_COLUMNS = {
    "table1_real_vs_real.csv": ["protein_a", "protein_b", "mean", "std", "n_splits"],
    "table2_conditional.csv": ["model", "protein", "mean", "std", "n_splits"],
    "table3_reconstruction.csv": ["mode", "model", "protein", "nll_median", "nll_mad", "l2_median", "l2_mad"],
    "table4_joint.csv": ["model", "mean", "std", "n_splits"],
    "figure8_c2st_vs_iterations.csv": ["model", "evaluator", "iteration", "split", "score"],
    "table5_metrics.csv": ["model", "protein", "kid_mean", "kid_std", "fid", "precision", "recall", "memorisation"],
    "claims.csv": ["id", "claim", "paper", "ours", "test", "held"],
}
FIGURES = ["figure1_teaser.png", "figure3_training_progress.png", "figure4_separable_samples.png",
           "figure6_reconstructions.png", "figure7_cell_cycle.png", "figure7_cell_cycle.gif",
           "figure8_c2st_vs_iterations.png"]


def workflow_copy(tmp_path: Path) -> Path:
    """The workflow files in a fresh folder, so a run there starts from nothing."""
    work = tmp_path / "work"
    work.mkdir()
    shutil.copy(ROOT / "Snakefile", work)
    shutil.copy(ROOT / "config.yaml", work)
    shutil.copytree(ROOT / "workflow", work / "workflow")
    shutil.copytree(ROOT / "envs", work / "envs")
    return work


def snakemake(work: Path, *args: str, timeout: int = 900) -> subprocess.CompletedProcess:
    env_path = str(Path(sys.executable).parent)
    env = {"PATH": f"{env_path}:/usr/bin:/bin", "HOME": str(work)}
    return subprocess.run([*SNAKEMAKE, *args], cwd=work, capture_output=True, text=True, timeout=timeout, env=env)


@pytest.mark.parametrize("override, message", [
    (["--config", "dataset={'sorce': 'synthetic'}"], "config.dataset: Additional properties are not allowed ('sorce'"),
    (["--config", "typo_key=1"], "Additional properties are not allowed ('typo_key'"),
    (["--config", "dataset={'source': 'tiff', 'path': 'no/such/folder'}"], "no/such/folder is not a folder"),
    (["--config", "dataset={'source': 'lin', 'path': 'no/such/LIN'}"], "no/such/LIN is neither a folder"),
])
def test_bad_config_is_refused_at_start_up(tmp_path, override, message):
    result = snakemake(workflow_copy(tmp_path), "-n", *override, timeout=120)
    assert result.returncode != 0
    assert message in result.stdout + result.stderr


@pytest.mark.parametrize("setting, message", [
    ("splits: {n_splits: 0}", "config.splits.n_splits: 0 is less than the minimum of 1"),
    ("training: {lr: {gan: .nan}}", "config.training.lr.gan: not a finite number"),
    ("dataset: {proteins: [Alp14, Foo], modelled: [Alp14]}", "config.dataset.proteins.1: 'Foo' is not one of"),
    ("models: {wgangp: {}}", "config.report.table2: models not defined in `models`: wgangp-independent"),
    ("report: {table4: [wgangp]}", "config.report.table4.0: 'wgangp' is not valid under any of the given schemas"),
    ("report: {figure8: [wgangp-star]}", "config.report.figure8.0: 'wgangp-star' is not one of"),
])
def test_bad_config_files_are_refused_with_one_line_naming_the_key(tmp_path, setting, message):
    work = workflow_copy(tmp_path)
    (work / "bad.yaml").write_text(setting + "\n")
    result = snakemake(work, "-n", "--configfile", "bad.yaml", timeout=120)
    assert result.returncode != 0
    assert message in result.stdout + result.stderr


def check_self_describing_files(results: Path) -> None:
    """Every HDF5 file says what it is without the code; every model keeps an OME-TIFF of samples."""
    from biogans.ome import read_ome_metadata

    files = [results / "data" / name for name in ("cells.h5", "joint_truth.h5", "splits.h5", "red_neighbours.h5")]
    files += sorted(results.glob("reconstruction/*/*/examples.h5"))
    for path in files:
        with h5py.File(path) as f:
            attrs = dict(f.attrs)
            assert {"format_name", "format_version", "biogans_version", "description"} <= set(attrs), path
            assert attrs["format"] == f"{attrs['format_name']}/{attrs['format_version']}"
            for name, group in f.items():
                if path.parent.name == "data":
                    assert group.attrs["protein"] == name, path
    for name in ("cells.h5", "joint_truth.h5"):
        with h5py.File(results / "data" / name) as f:
            assert f.attrs["source"] == "synthetic" and f.attrs["simulator_seed"] == 0
            assert f.attrs["pixel_size"] == 0.19 and f.attrs["pixel_size_unit"] == "µm"
            assert all(group.attrs["channels"][0] == "Bgs4" for group in f.values())
    with h5py.File(results / "data/splits.h5") as f:
        assert f.attrs["source"].endswith("cells.h5") and f.attrs["n_splits"] == 3
    samples = sorted(results.glob("models/*/samples.ome.tif"))
    assert len(samples) == 14
    star = read_ome_metadata(results / "models/wgangp-star/samples.ome.tif")
    assert star.channel_names == ("Bgs4", "Alp14", "Arp3", "Cki2", "Mkh1", "Sid2", "Tea1")
    assert star.pixel_size_um == 0.19 and star.shape[0] == 64


def test_smoke_preset_builds_data_then_every_target_and_the_report(tmp_path):
    work = workflow_copy(tmp_path)
    smoke = ["--cores", "2", "--configfile=workflow/presets/smoke.yaml"]

    result = snakemake(work, *smoke, "data")
    assert result.returncode == 0, result.stderr[-3000:]
    for name in ("cells.h5", "splits.h5", "red_neighbours.h5", "joint_truth.h5"):
        assert (work / "results/data" / name).stat().st_size > 0
    assert not (work / "results/models").exists()

    result = snakemake(work, *smoke)
    assert result.returncode == 0, result.stderr[-3000:]
    for name, columns in TABLE_COLUMNS.items():
        table = pd.read_csv(work / "results/tables" / name)
        assert list(table.columns) == columns and len(table) > 0
        assert (work / "results/tables" / name).with_suffix(".md").stat().st_size > 0
    for name in FIGURES:
        assert (work / "results/figures" / name).stat().st_size > 1000
    assert len(pd.read_csv(work / "results/tables/table1_real_vs_real.csv")) == 64
    assert (work / "results/models/wgangp-star/resume.pt").is_file()
    check_self_describing_files(work / "results")

    result = snakemake(work, *smoke, "--report", "results/report.html", timeout=300)
    assert result.returncode == 0, result.stderr[-3000:]
    assert (work / "results/report.html").stat().st_size > 100_000

    # every named target is up to date now; naming one rebuilds nothing
    result = snakemake(work, *smoke, "-n", "table2", "figure7", timeout=120)
    assert result.returncode == 0 and "Nothing to be done" in result.stdout + result.stderr
    check_table5_and_claims(work / "results")
    check_an_external_sample_set(work, smoke)


def check_table5_and_claims(results: Path) -> None:
    """Table 5 has a row per (model, protein) and `all` for the 14 models and `real`; the KID claim is scored."""
    table5 = pd.read_csv(results / "tables/table5_metrics.csv")
    assert set(table5["model"]) == {"real", *(p.parent.name for p in results.glob("models/*/samples.ome.tif"))}
    assert set(table5[table5["model"] == "wgangp-star"]["protein"]) == {"Alp14", "Arp3", "Cki2", "Mkh1", "Sid2",
                                                                        "Tea1", "all"}
    assert "held-out protein accuracy" in (results / "tables/table5_metrics.md").read_text()
    claims = pd.read_csv(results / "tables/claims.csv").set_index("id")
    assert claims.loc["table5-kid-wgangp-beats-gan", "held"] in ("held", "not held")


def check_an_external_sample_set(work: Path, smoke: list[str]) -> None:
    """Samples of another generator (here the star model's, drawn anew) named in `external` get rows in
    Tables 2, 4 (all-protein cells, synthetic data) and 5."""
    sample = [sys.executable, "-m", "biogans", "sample", "results/models/wgangp-star/generator_4.pt", "--n", "64",
              "--seed", "7", "--out", "mine.ome.tif"]
    assert subprocess.run(sample, cwd=work, capture_output=True).returncode == 0
    result = snakemake(work, *smoke, "table2", "table4", "table5", "--config", "external={mine: mine.ome.tif}")
    assert result.returncode == 0, result.stderr[-3000:]
    for table in ("table2_conditional", "table4_joint", "table5_metrics"):
        rows = pd.read_csv(work / f"results/tables/{table}.csv")
        assert "mine" in set(rows["model"]), table
    table2 = pd.read_csv(work / "results/tables/table2_conditional.csv")
    assert set(table2[table2["model"] == "mine"]["protein"]) == {"Alp14", "Arp3", "Cki2", "Mkh1", "Sid2", "Tea1",
                                                                  "all"}


def test_the_paper_preset_needs_the_lin_data_and_says_so_in_one_line(tmp_path):
    result = snakemake(workflow_copy(tmp_path), "-n", "--configfile", "workflow/presets/paper.yaml", timeout=120)
    assert result.returncode != 0
    error = [line for line in (result.stdout + result.stderr).splitlines() if "config.dataset.path" in line]
    assert error == ["config.dataset.path: dataset.source is lin, so give the data's folder, e.g. "
                     "--config dataset='{path: /data/LIN_Normalized_WT_size-48-80}'"]


def test_the_paper_preset_plans_the_full_dag_on_a_lin_layout(tmp_path):
    """The published _train/_test pair (a few PNGs per protein suffice for planning)."""
    from test_lin import write_lin

    proteins = ("Alp14", "Arp3", "Cki2", "Mkh1", "Sid2", "Tea1", "Fim1", "Tea4")
    prefix = tmp_path / "LIN_Normalized_WT_size-48-80"
    for role in ("train", "test"):
        write_lin(tmp_path / f"{prefix.name}_{role}", proteins=proteins, n=2)
    result = snakemake(workflow_copy(tmp_path), "-n", "--configfile", "workflow/presets/paper.yaml",
                       "--config", f"dataset={{path: {prefix}}}", timeout=300)
    assert result.returncode == 0, result.stderr[-2000:]
    counts = dict(line.split() for line in result.stdout.splitlines()
                  if len(line.split()) == 2 and line.split()[1].isdigit())
    assert counts["import_lin"] == "1" and "simulate" not in counts and "table4" not in counts
    assert counts["train"] == "6" and counts["train_independent"] == str(4 * 6)
    assert counts["c2st_fake"] == str(5 + 6 * 3)  # Table 2's five models; Figure 8's six, three evaluators each
    assert counts["c2st_train_vs_test"] == "3"
    assert counts["reconstruct"] == "8"  # Table 3: four models, both modes for the separable ones
    assert counts["metrics"] == "14" and counts["features"] == counts["metrics_real"] == counts["table5"] == "1"
    assert counts["total"] == "125" and counts["model_samples"] == "14" and counts["claims"] == "1"


@pytest.mark.parametrize("args", [[], ["--configfile", "workflow/presets/smoke.yaml"]], ids=["default", "smoke"])
def test_the_workflow_is_lint_clean(tmp_path, args):
    result = snakemake(workflow_copy(tmp_path), "--lint", *args, timeout=120)
    output = result.stdout + result.stderr
    assert result.returncode == 0 and "good condition" in output and "Lints for" not in output, output[-3000:]


CONDA_NAMES = {"torch": "pytorch", "matplotlib": "matplotlib-base", "snakemake": "snakemake-minimal"}


def test_conda_environment_names_every_runtime_dependency_and_installs_this_checkout():
    """envs/biogans.yaml (the rules' conda env) carries pyproject.toml's dependencies with the same bounds,
    and its pip path, read from the folder Snakemake copies the file into, is this checkout."""
    import re
    import tomllib

    import yaml

    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    wanted = {}
    for requirement in project["dependencies"]:
        name, bounds = re.fullmatch(r"([A-Za-z0-9_.-]+)\s*(.*)", requirement).groups()
        wanted[CONDA_NAMES.get(name.lower(), name.lower())] = bounds.replace(" ", "")
    environment = yaml.safe_load((ROOT / "envs" / "biogans.yaml").read_text())
    conda, pip = {}, []
    for dependency in environment["dependencies"]:
        if isinstance(dependency, dict):
            pip += dependency["pip"]
        else:
            name, bounds = re.fullmatch(r"([A-Za-z0-9_.-]+)\s*(.*)", dependency).groups()
            conda[name] = bounds
    assert {name: conda.get(name) for name in wanted} == wanted
    version = lambda text: tuple(int(part) for part in text.strip("=<>").split("."))  # noqa: E731
    assert version(conda["python"]) >= version(project["requires-python"])
    editable = [p.split()[-1] for p in pip if p.startswith("-e")]
    snakemake_copy = ROOT / ".snakemake" / "conda"  # where Snakemake copies the file for conda
    assert len(editable) == 1 and (snakemake_copy / editable[0]).resolve() == ROOT
