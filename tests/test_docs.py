"""References in the code and the documentation: every file of the repository they cite exists, nothing
refers to a file outside the repository, and every source key the simulator cites is in docs/biology.md."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
BIOLOGY = ROOT / "docs" / "biology.md"
SIMULATOR = ROOT / "biogans" / "data" / "simulate"
#: Where project files (code, workflow, documentation) live, as globs from the repository root.
SOURCES = ("biogans/**/*.py", "tests/**/*.py", "workflow/**/*", "docs/**/*.md", "*.md", "Snakefile", "config.yaml",
           "pyproject.toml", "envs/*", ".ci/*")
#: A path cited from the repository root starts with one of these folders or is one of these files.
TOP_FOLDERS = ("biogans", "workflow", "docs", "tests", "envs", ".ci")
TOP_FILES = ("README.md", "Snakefile", "config.yaml", "pyproject.toml")
#: Files whose relative paths are resolved from somewhere else than their own folder: Snakemake installs
#: the conda environment from .snakemake/conda/ (the default --conda-prefix), see the file's comment.
RELATIVE_BASE = {"envs/biogans.yaml": ".snakemake/conda"}

_TOKEN = r"[\w./{},*-]*"
_ROOTED = re.compile(r"(?<![\w./~-])((?:%s)/%s|(?:%s)(?![\w.-]))" % (
    "|".join(map(re.escape, TOP_FOLDERS)), _TOKEN, "|".join(map(re.escape, TOP_FILES))))
_RELATIVE = re.compile(r"(?<![\w./~-])((?:\.\./)+%s|\.\.(?![\w./]))" % _TOKEN)
#: A path written by a command (``-o PATH``, ``--out PATH``) need not exist yet.
_OUTPUT_FLAG = re.compile(r"(?:^|\s)(?:-o|--out|--output)\s+$")
_KEY = re.compile(r"\[([A-Z][A-Z0-9]+)\]")


def project_files() -> list[Path]:
    """The files to check; not this one, whose examples of wrong references are deliberate."""
    files = {path for pattern in SOURCES for path in ROOT.glob(pattern) if path.is_file()}
    return sorted(path for path in files if "__pycache__" not in path.parts and path != Path(__file__).resolve())


def read(path: Path) -> str:
    return path.read_text(encoding="utf-8")


def expand_braces(text: str) -> list[str]:
    """Shell-style brace expansion: ``a/{b,c}/d`` -> ``a/b/d``, ``a/c/d``."""
    match = re.search(r"\{([^{}]*)\}", text)
    if not match:
        return [text]
    head, tail = text[:match.start()], text[match.end():]
    return [out for part in match.group(1).split(",") for out in expand_braces(head + part + tail)]


def trim(written: str) -> str:
    """A path without the punctuation that ends its sentence (``docs/biology.md.`` -> ``docs/biology.md``)."""
    while written[-1:] in (",", ";", ":") or (written.endswith(".") and not written.endswith("..")):
        written = written[:-1]
    return written


def exists(path: str) -> bool:
    """Whether a repository path exists; a path with ``*`` must match at least one file."""
    return any(ROOT.glob(path)) if "*" in path else (ROOT / path).exists()


def cited_paths(text: str) -> list[tuple[str, str]]:
    """(repository path, as written) for each path cited from the repository root in ``text``."""
    cited = []
    for match in _ROOTED.finditer(text):
        if _OUTPUT_FLAG.search(text[max(0, match.start() - 20):match.start()]):
            continue
        written = trim(match.group(1))
        cited += [(expanded, written) for expanded in expand_braces(written)]
    return cited


def relative_paths(path: Path) -> list[tuple[Path, str]]:
    """(resolved path, as written) for each ``../`` path in ``path``, from the folder it is relative to."""
    relative = path.relative_to(ROOT).as_posix()
    base = ROOT / RELATIVE_BASE.get(relative, path.parent.relative_to(ROOT).as_posix())
    return [((base / trim(match.group(1))).resolve(), match.group(1))
            for match in _RELATIVE.finditer(read(path))]


def test_the_project_files_are_found():
    files = {path.relative_to(ROOT).as_posix() for path in project_files()}
    assert {"README.md", "docs/biology.md", "biogans/data/simulate/cells.py", "workflow/rules/data.smk",
            "envs/biogans.yaml", "Snakefile"} <= files


def test_every_cited_repository_path_exists():
    missing = [f"{path.relative_to(ROOT)}: {written}" + (f" ({expanded})" if expanded != written else "")
               for path in project_files() for expanded, written in cited_paths(read(path)) if not exists(expanded)]
    assert not missing, "cited but missing:\n" + "\n".join(missing)


def test_relative_paths_stay_inside_the_repository_and_exist():
    wrong = []
    for path in project_files():
        for resolved, written in relative_paths(path):
            if not resolved.is_relative_to(ROOT):
                wrong.append(f"{path.relative_to(ROOT)}: {written} leaves the repository")
            elif not resolved.exists():
                wrong.append(f"{path.relative_to(ROOT)}: {written} ({resolved.relative_to(ROOT)}) does not exist")
    assert not wrong, "\n".join(wrong)


#: What no project file may mention: files outside the repository, and the biology notes anywhere
#: but at docs/biology.md.
FORBIDDEN = {
    "a design document outside the repository": re.compile(r"design\.md", re.IGNORECASE),
    "a shared folder outside the repository": re.compile(r"(?<![\w-])shared/"),
    "an absolute path into the machine's work area": re.compile(r"/work/"),
    "a biology notes file other than docs/biology.md": re.compile(r"(?<!docs/)(?<![\w.-])biology\.md"),
}


@pytest.mark.parametrize("what", sorted(FORBIDDEN))
def test_nothing_refers_outside_the_repository(what):
    hits = [f"{path.relative_to(ROOT)}:{read(path)[:match.start()].count(chr(10)) + 1}: {match.group(0)}"
            for path in project_files() for match in FORBIDDEN[what].finditer(read(path))]
    assert not hits, f"{what}:\n" + "\n".join(hits)


def reference_keys() -> set[str]:
    """The keys defined in the references section of docs/biology.md (lines ``- [KEY] ...``)."""
    references = read(BIOLOGY).split("\n## References\n", 1)[1]
    return set(re.findall(r"^- \[([A-Z][A-Z0-9]+)\]", references, flags=re.MULTILINE))


def test_the_simulator_cites_docs_biology_and_only_keys_it_defines():
    keys = reference_keys()
    assert len(keys) >= 20
    for path in sorted(SIMULATOR.glob("*.py")):
        used = set(_KEY.findall(read(path)))
        assert used <= keys, f"{path.relative_to(ROOT)} cites undefined keys {sorted(used - keys)}"
        if used:
            assert "docs/biology.md" in read(path), f"{path.relative_to(ROOT)} cites keys but not docs/biology.md"


def test_docs_biology_cites_only_defined_keys_and_uses_every_reference():
    body = read(BIOLOGY).split("\n## References\n", 1)[0]
    used, keys = set(_KEY.findall(body)), reference_keys()
    assert used <= keys, f"undefined keys: {sorted(used - keys)}"
    assert keys <= used, f"references never cited: {sorted(keys - used)}"


def test_the_path_checks_catch_mistakes(tmp_path):
    assert expand_braces("biogans/{data,train}/options.py") == ["biogans/data/options.py", "biogans/train/options.py"]
    assert trim("docs/biology.md.") == "docs/biology.md" and trim("../..") == "../.."
    assert exists("docs/biology.md") and exists("workflow/presets/*.yaml")
    assert not exists("docs/nothing.md") and not exists("workflow/presets/*.nothing")
    text = "see docs/biology.md. and workflow/presets/smoke.yaml, github.com/aosokin/biogans/code/x.py; " \
           "generate -o workflow/profiles/slurm/partitions.yaml; ../../envs/biogans.yaml"
    assert cited_paths(text) == [("docs/biology.md", "docs/biology.md"),
                                 ("workflow/presets/smoke.yaml", "workflow/presets/smoke.yaml")]
    assert [match.group(1) for match in _RELATIVE.finditer(text)] == ["../../envs/biogans.yaml"]
    assert FORBIDDEN["a biology notes file other than docs/biology.md"].search("the notes in notes/biology.md")
    assert not FORBIDDEN["a biology notes file other than docs/biology.md"].search("see docs/biology.md")
