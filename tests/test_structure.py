"""The shape of the code: lower layers never import upper ones, one module per stage, small functions
and modules, a command line that starts without torch, and a workflow that parses without biogans."""

from __future__ import annotations

import ast
import subprocess
import sys
import venv
from pathlib import Path

import pytest

from biogans.cli import STAGES

ROOT = Path(__file__).resolve().parents[1]
PACKAGE = ROOT / "biogans"
#: Layers, lowest first: a module may import from its own layer and the ones before it.
LAYERS = ("base", "data", "models", "train", "evaluate", "report", "top")
TOP = {"stages", "bench", "cli", "__main__"}


def layer_of(module: str) -> str:
    """The layer of a dotted module name inside biogans (``biogans.data.store`` -> data)."""
    parts = module.split(".")
    if len(parts) == 1:
        return "base"
    name = parts[1]
    if name in TOP:
        return "top"
    return name if name in LAYERS else "base"


def imports_of(path: Path, module: str) -> list[str]:
    """Every biogans module a source file imports, at the top or inside functions."""
    found = []
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.Import):
            found += [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom) and node.module:
            base = node.module
            if node.level:  # relative import
                base = ".".join(module.split(".")[:-node.level] + [node.module])
            found.append(base)
    return [name for name in found if name == "biogans" or name.startswith("biogans.")]


def modules():
    for path in sorted(PACKAGE.rglob("*.py")):
        name = ".".join(path.relative_to(ROOT).with_suffix("").parts).removesuffix(".__init__")
        yield path, name


def test_lower_layers_never_import_upper_ones():
    wrong = []
    for path, module in modules():
        own = LAYERS.index(layer_of(module))
        for imported in imports_of(path, module):
            if LAYERS.index(layer_of(imported)) > own:
                wrong.append(f"{module} imports {imported}")
    assert not wrong, "\n".join(wrong)


def test_each_stage_has_its_module_and_nothing_else_registers_commands():
    stages = {path.stem for path in (PACKAGE / "stages").glob("*.py")} - {"__init__", "arguments"}
    assert stages == set(STAGES)
    for path, _ in modules():
        if path.parent.name != "stages":
            assert "add_parser(" not in path.read_text(), path


@pytest.mark.parametrize("limit, what", [(50, "function"), (350, "module")])
def test_functions_and_modules_stay_small(limit, what):
    long = []
    for path, _ in modules():
        source = path.read_text()
        if what == "module" and len(source.splitlines()) > limit:
            long.append(f"{path.relative_to(ROOT)}: {len(source.splitlines())} lines")
        if what == "function":
            for node in ast.walk(ast.parse(source)):
                if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)):
                    length = node.end_lineno - node.lineno + 1
                    if length > limit:
                        long.append(f"{path.relative_to(ROOT)}:{node.lineno} {node.name}: {length} lines")
    assert not long, "\n".join(long)


def test_the_command_line_builds_without_importing_torch():
    code = "import sys; from biogans.cli import build_parser; build_parser(); print('torch' in sys.modules)"
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert result.stdout.strip() == "False"


@pytest.fixture(scope="session")
def snakemake_only(tmp_path_factory) -> Path:
    """A fresh virtual environment holding only snakemake (and what it needs): no torch, no biogans."""
    env = tmp_path_factory.mktemp("snakemake-only") / "venv"
    venv.EnvBuilder(with_pip=True).create(env)
    python = env / "bin" / "python"
    snakemake = next(line for line in (ROOT / "pyproject.toml").read_text().splitlines() if '"snakemake' in line)
    requirement = snakemake.strip().strip(",").strip('"')
    subprocess.run([python, "-m", "pip", "install", "--quiet", "--disable-pip-version-check", requirement],
                   check=True, capture_output=True, timeout=600)
    return python


def test_the_workflow_parses_in_an_environment_without_torch_or_biogans(snakemake_only, tmp_path):
    check = subprocess.run([snakemake_only, "-c", "import importlib.util as u; "
                            "print(u.find_spec('torch'), u.find_spec('biogans'))"], capture_output=True, text=True,
                           cwd=tmp_path)
    assert check.stdout.split() == ["None", "None"]
    work = tmp_path / "work"
    work.mkdir()
    for name in ("Snakefile", "config.yaml"):
        (work / name).write_text((ROOT / name).read_text())
    for folder in ("workflow", "envs"):
        subprocess.run(["cp", "-r", ROOT / folder, work / folder], check=True)
    env = {"PATH": f"{snakemake_only.parent}:/usr/bin:/bin", "HOME": str(tmp_path)}
    result = subprocess.run([snakemake_only, "-m", "snakemake", "-n", "--configfile", "workflow/presets/smoke.yaml"],
                            cwd=work, capture_output=True, text=True, env=env, timeout=300)
    assert result.returncode == 0, result.stderr[-2000:]
    assert "total" in result.stdout and "table1" in result.stdout and "train" in result.stdout
