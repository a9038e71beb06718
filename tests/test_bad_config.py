"""Bad config, as a careless or hostile user gives it: every value is refused at start-up, before any job,
in one line naming the key, or reaches `biogans` literally, as one quoted word and never as shell code;
nested values given with `--config` are read as the schema's types.

The checks of workflow/rules/config.smk run in-process over every text key of the schema; real Snakemake
runs show the same refusals at start-up, and hostile folder names passed through a real run."""

from __future__ import annotations

import copy
import importlib.machinery
import importlib.util
import re
import shlex
import shutil

import pytest
import yaml
from cellfields import write_screen
from snakemake.exceptions import WorkflowError
from test_workflow import ROOT, snakemake, workflow_copy

from biogans.data.store import store_attrs


def load_checks():
    """workflow/rules/config.smk, which is plain Python, as a module."""
    loader = importlib.machinery.SourceFileLoader("config_checks", str(ROOT / "workflow/rules/config.smk"))
    module = importlib.util.module_from_spec(importlib.util.spec_from_loader(loader.name, loader))
    loader.exec_module(module)
    return module


CHECKS = load_checks()
SCHEMA = yaml.safe_load((ROOT / "workflow/schemas/config.schema.yaml").read_text())


def merged(base: dict, extra: dict) -> dict:
    """``extra`` over ``base``, mappings merged key by key (as Snakemake applies --configfile)."""
    out = copy.deepcopy(base)
    for key, value in extra.items():
        out[key] = merged(out[key], value) if isinstance(value, dict) and isinstance(out.get(key), dict) else value
    return out


def config_file(name: str) -> dict:
    return yaml.safe_load((ROOT / name).read_text())


SMOKE = merged(config_file("config.yaml"), config_file("workflow/presets/smoke.yaml"))

#: Shell metacharacters, quotes, spaces, newlines, braces, a leading dash, NUL, very long and empty text.
HOSTILE = ["x;touch pwned;#", "$(touch pwned)", "`touch pwned`", "a b", "it's \"quoted\"", "Alp14\n",
           "Alp14\nTea1", "{protein}", "}{", "-rf", "x" * 5000, "a\x00b", "a|b&c>d<e*?~!", "back\\slash", ""]
PATH_KEYS = {("dataset", "path"), ("dataset", "masks")}


def text_keys(node: dict, path: tuple = ()) -> list[tuple]:
    """Every key of the schema that takes text; '*' stands for an item of a list, '<name>' for a key name and
    '<value>' for the text value of a named entry (an external sample set's file)."""
    node = CHECKS.schema_node(node, SCHEMA)
    types = node.get("type", [])
    if "properties" in node:
        return [key for name, child in node["properties"].items() for key in text_keys(child, (*path, name))]
    if "propertyNames" in node:
        values = node.get("additionalProperties")
        text_values = isinstance(values, dict) and values.get("type") == "string"
        return [(*path, "<name>"), *([(*path, "<value>")] if text_values else [])]
    if "items" in node:
        return text_keys(node["items"], (*path, "*"))
    return [path] if "string" in types or {"enum", "anyOf", "allOf"} & set(node) else []


#: An existing file, named by external sample sets whose name is under test.
A_FILE = str(ROOT / "config.yaml")


def with_value(config: dict, key: tuple, value) -> dict:
    """A copy of the config with ``value`` at ``key``: for '*' in place of a list's first item, for '<name>'
    as the name of a model or of an external sample set (of an existing file), for '<value>' as the file of
    the external sample set `set`."""
    config = copy.deepcopy(config)
    *parents, last = key[:-1] if key[-1] in ("*", "<name>", "<value>") else key
    section = config
    for name in parents:
        section = section.setdefault(name, {})
    if key[-1] == "*":
        value = [value, *(section.get(last) or [])[1:]]
    elif key[-1] == "<name>":
        value = {value: A_FILE if last == "external" else {}}
    elif key[-1] == "<value>":
        value = {"set": value}
    section[last] = value
    return config


def config_name(key: tuple) -> str:
    """How the start-up checks name a key: list items by index 0, the external sample set `set` by name."""
    parts = {"*": "0", "<value>": "set"}
    return "config." + ".".join(parts.get(part, part) for part in key if part != "<name>")


def refusal(config: dict) -> str | None:
    """The one-line start-up error for a config, or None when it is accepted."""
    try:
        CHECKS.check_config(config, SCHEMA)
    except WorkflowError as error:
        return str(error)
    return None


def test_the_fuzz_covers_every_text_key_of_the_schema():
    keys = {".".join(key) for key in text_keys(SCHEMA)}
    assert {"dataset.source", "dataset.path", "dataset.masks", "dataset.channels.*", "dataset.proteins.*",
            "dataset.modelled.*", "training.device", "training.precision", "models.<name>", "c2st.evaluators.*",
            "c2st.device", "reconstruction.device", "report.figure1", "report.figure4.*", "external.<name>",
            "external.<value>"} <= keys
    assert len(keys) == 23


@pytest.mark.parametrize("source", ["synthetic", "tiff"])
def test_every_text_key_refuses_hostile_text_in_one_line_or_keeps_it_literally(source, tmp_path):
    dataset = {"source": source, "path": str(tmp_path) if source == "tiff" else "", "channels": ["red", "green"],
               "proteins": ["Alp14", "Arp3", "Cki2", "Mkh1", "Sid2", "Tea1", "Fim1", "Tea4"]}
    base = with_value(SMOKE, ("dataset",), dataset)
    for key in text_keys(SCHEMA):
        named = config_name(key)
        for value in HOSTILE:
            config = with_value(base, key, value)
            problem = refusal(config)
            if problem is None:  # only folder names, which the rules quote (the real runs below show it)
                assert key in PATH_KEYS and config[key[0]][key[1]] == value, (key, value)
                assert source == "synthetic" or key == ("dataset", "masks") and value == "", (key, value)
            else:
                assert "\n" not in problem and len(problem) < 500, (key, value, problem)
                assert problem.startswith(f"{named}:"), problem


def integer_keys(node: dict, path: tuple = ()) -> list[tuple[tuple, list]]:
    """Every key of the schema that takes an integer, with the types it takes."""
    node = CHECKS.schema_node(node, SCHEMA)
    if "properties" in node:
        return [key for name, child in node["properties"].items() for key in integer_keys(child, (*path, name))]
    if "items" in node:
        return integer_keys(node["items"], (*path, "*"))
    types = node.get("type", [])
    return [(path, [types] if isinstance(types, str) else types)] if "integer" in types else []


def test_every_count_refuses_a_float_naming_the_key():
    keys = integer_keys(SCHEMA)
    assert len(keys) >= 30
    for key, types in keys:
        named = config_name(key)
        expected = f"{named}: 3.0 is not of type {', '.join(map(repr, types))}"
        assert refusal(with_value(SMOKE, key, 3.0)) == expected


def test_text_from_the_command_line_is_read_as_the_schemas_types():
    """As Snakemake hands `--config c2st='{steps: 500, lr: {gan: 1e-3}}'` over: every nested value as text."""
    given = {"c2st": {"steps": "500", "lr": {"gan": "1e-3"}, "device": "cpu"},
             "training": {"channels_last": "true", "checkpoints": {"joint": ["2", "6"]}, "ngf": "null"},
             "dataset": {"source": "tiff", "path": "007", "proteins": ["1234", "Alp14"], "modelled": ["Alp14"]},
             "models": {"wgangp": "null", "gan": {"nz": "8"}}, "report": "{}"}
    typed = CHECKS.read_as_typed(given, SCHEMA, SCHEMA)
    assert typed == {"c2st": {"steps": 500, "lr": {"gan": 0.001}, "device": "cpu"},
                     "training": {"channels_last": True, "checkpoints": {"joint": [2, 6]}, "ngf": None},
                     "dataset": {"source": "tiff", "path": "007", "proteins": ["1234", "Alp14"],
                                 "modelled": ["Alp14"]},
                     "models": {"wgangp": None, "gan": {"nz": 8}}, "report": {}}


@pytest.mark.parametrize("setting, message", [
    ({"preprocess": {"percentiles": [99.5, 0.5]}}, "config.preprocess.percentiles: [99.5, 0.5]: the first must"),
    ({"preprocess": {"percentiles": [50, 50]}}, "config.preprocess.percentiles: [50, 50]: the first must be"),
    ({"dataset": {"proteins": ["Alp14", "Arp3", "Cki2", "Mkh1", "Sid2", "Tea1"]}},
     "config.dataset.proteins: the all-proteins truth of synthetic data (the data target, Table 4) normalises "
     "every simulated protein by its cells; add Fim1, Tea4"),
    ({"dataset": {"modelled": ["Alp14", "Tea4"], "proteins": ["Alp14", "Arp3"], "source": "tiff", "path": "."}},
     "config.dataset.modelled: proteins not in dataset.proteins: Tea4"),
    ({"c2st": {"device": "cuda:0\n"}}, "config.c2st.device: 'cuda:0\\n' does not match"),
    ({"training": {"channels_last": 1}}, "config.training.channels_last: 1 is not of type 'boolean'"),
    ({"report": {"figure4": ["wgangp-sep\n"]}}, "config.report.figure4.0: 'wgangp-sep\\n' is not"),
    ({"dataset": {"source": "tiff", "path": "x" * 300}}, "config.dataset.path: " + "x" * 300 + " is not a folder"),
])
def test_values_a_job_would_fail_on_are_refused_at_start_up(setting, message):
    problem = refusal(merged(SMOKE, setting))
    assert problem is not None and problem.startswith(message), problem


SHIPPED = ["config.yaml", "workflow/presets/smoke.yaml", "workflow/presets/paper-synthetic.yaml"]


@pytest.mark.parametrize("name", SHIPPED)
def test_the_shipped_configs_pass_the_start_up_checks(name):
    config = merged(config_file("config.yaml"), config_file(name))
    assert refusal(config) is None
    assert config["c2st"]["seed"] == 0 and config["dataset"]["source"] == "synthetic"  # defaults filled in


# --------------------------------------------------------------------------- real Snakemake runs

FIELDS = "fields dir;touch pwned1;#$(touch pwned2)`touch pwned3`"
MASKS = "masks 'q' \"dq\" &|<>*?~!\\;touch pwned4;#$(touch pwned5)"


def files_of(folder) -> set:
    """Every path under the folder, but Snakemake's own: its cache in $HOME (the run folder in these tests)
    and its records in .snakemake."""
    paths = {p.relative_to(folder) for p in folder.rglob("*")}
    return {p for p in paths if not {".cache", ".snakemake"} & set(p.parts)}


def start_up_error(result) -> str:
    """The one line naming a key in Snakemake's output (its traceback lines name files, not keys)."""
    lines = [line for line in (result.stdout + result.stderr).splitlines() if line.startswith("config.")]
    assert result.returncode == 1 and len(lines) == 1, (result.returncode, result.stdout + result.stderr)
    return lines[0]


TIFF = {"dataset": {"source": "tiff", "path": "fields", "proteins": ["Alp14", "Tea1"], "modelled": ["Alp14"]}}


@pytest.mark.parametrize("setting, folders, message", [
    # the cases: a protein whose newline would split the shell line, a device likewise
    ({"dataset": {**TIFF["dataset"], "proteins": ["Alp14\n", "Tea1"]}}, ["fields"],
     r"config\.dataset\.proteins\.0: 'Alp14\\n' does not match '\^\[A-Za-z0-9\]\+\$'"),
    ({"training": {"device": "cpu\n"}}, [], r"config\.training\.device: 'cpu\\n' does not match"),
    ({"reconstruction": {"device": "cpu;touch pwned"}}, [], r"config\.reconstruction\.device: 'cpu;touch pwned'"),
    # folder names Snakemake or a command would misread
    ({"dataset": {**TIFF["dataset"], "masks": "m{x}"}}, ["fields", "m{x}"], r"config\.dataset\.masks: holds \{"),
    ({"dataset": {"source": "lin", "path": "LIN_{protein}"}}, ["LIN_{protein}"], r"config\.dataset\.path: holds \{"),
    ({"dataset": {**TIFF["dataset"], "path": "fields\n;touch pwned"}}, [], r"config\.dataset\.path: holds a control"),
    ({"dataset": {**TIFF["dataset"], "path": "-fields"}}, ["-fields"], r"config\.dataset\.path: starts with '-'"),
    ({"dataset": {**TIFF["dataset"], "path": "f" * 300}}, [], r"config\.dataset\.path: f{300} is not a folder$"),
    ({"dataset": {**TIFF["dataset"], "masks": "m" * 5000}}, ["fields"], r"config\.dataset\.masks: 'm+\.\.\.m+' is too"),
    # values the schema took that failed mid-run
    ({"splits": {"n_splits": 3.0}}, [], r"config\.splits\.n_splits: 3\.0 is not of type 'integer'$"),
    ({"simulate": {"cells_per_protein": 60.0}}, [], r"config\.simulate\.cells_per_protein: 60\.0 is not of type"),
    ({"preprocess": {"percentiles": [99.5, 0.5]}}, [], r"config\.preprocess\.percentiles: \[99\.5, 0\.5\]: the first"),
    ({"dataset": {"proteins": ["Alp14", "Arp3", "Cki2", "Mkh1", "Sid2", "Tea1"]}}, [],
     r"config\.dataset\.proteins: the all-proteins truth .* add Fim1, Tea4$"),
], ids=["protein newline", "device newline", "device command", "masks braces", "lin braces", "path newline",
        "path dash", "path too long for the system", "masks too long", "float splits", "float cells",
        "reversed percentiles", "synthetic proteins short"])
def test_bad_config_is_refused_before_any_job_in_one_line_leaving_nothing(tmp_path, setting, folders, message):
    work = workflow_copy(tmp_path)
    for folder in folders:
        (work / folder).mkdir()
    (work / "bad.yaml").write_text(yaml.safe_dump(setting))
    before = files_of(tmp_path)
    result = snakemake(work, "-n", "--configfile", "workflow/presets/smoke.yaml", "bad.yaml", timeout=120)
    assert re.search(message, start_up_error(result)), start_up_error(result)
    assert files_of(tmp_path) == before


@pytest.mark.parametrize("value, message", [
    ("c2st={steps: abc}", "config.c2st.steps: 'abc' is not of type 'integer'"),
    ("training={iterations: {joint: 6.5}}", "config.training.iterations.joint: 6.5 is not of type 'integer'"),
])
def test_bad_text_on_the_command_line_is_refused_in_one_line(tmp_path, value, message):
    work = workflow_copy(tmp_path)
    result = snakemake(work, "-n", "--configfile=workflow/presets/smoke.yaml", "--config", value, timeout=120)
    assert start_up_error(result) == message


def shell_commands(result) -> list[str]:
    prefix = "Shell command: "
    return [line[len(prefix):] for line in (result.stdout + result.stderr).splitlines() if line.startswith(prefix)
            and line != f"{prefix}None"]


def words_of(command: str) -> list[str]:
    """The arguments a shell gives `biogans`, after checking that the command is exactly those words, each
    quoted by shlex, then `> LOG 2>&1`: no word is shell code, and none is lost to a split line."""
    words = shlex.split(command)
    assert words[0] == "biogans" and words[-3] == ">" and words[-1] == "2>&1", command
    assert command == f"{shlex.join(words[:-3])} > {shlex.quote(words[-2])} 2>&1"
    return words[:-3]


def test_nested_values_from_the_command_line_reach_the_commands_as_numbers(tmp_path):
    work = workflow_copy(tmp_path)
    result = snakemake(work, "-n", "-p", "--configfile=workflow/presets/smoke.yaml", "--config",
                       "c2st={steps: 500}", "splits={n_splits: 2}", "training={lr: {gan: 1e-3}}", timeout=120)
    assert result.returncode == 0, result.stderr[-2000:]
    commands = [words_of(command) for command in shell_commands(result)]
    assert len(commands) > 100
    c2st = [words for words in commands if words[1] == "c2st"]
    assert c2st and all(words[words.index("--steps") + 1] == "500" for words in c2st)
    splits = [words for words in commands if words[1] == "splits"]
    assert splits[0][splits[0].index("--n-splits") + 1] == "2"
    gan = [words for words in commands if words[1] == "train" and words[words.index("--model") + 1] == "gan"]
    assert gan[0][gan[0].index("--lr") + 1] == "0.001"


def test_a_lin_prefix_of_shell_code_reaches_import_lin_as_one_word(tmp_path):
    from test_lin import write_lin

    work = workflow_copy(tmp_path)
    prefix = "LIN $(touch pwned1);touch pwned2;#"
    for role in ("train", "test"):
        write_lin(work / f"{prefix}_{role}", proteins=("Alp14", "Tea1"), n=2)
    (work / "lin.yaml").write_text(yaml.safe_dump({"dataset": {"source": "lin", "path": prefix, "proteins": [
        "Alp14", "Tea1"], "modelled": ["Alp14", "Tea1"]}}))
    result = snakemake(work, "data", "-n", "-p", "--configfile", "workflow/presets/smoke.yaml", "lin.yaml",
                       timeout=120)
    assert result.returncode == 0, result.stderr[-2000:]
    [words] = [words_of(command) for command in shell_commands(result) if " import-lin " in command]
    assert words[2:4] == [prefix, "results/data/cells.h5"] and "--seed" in words


def test_hostile_folder_names_reach_preprocess_literally_and_run_nothing_else(tmp_path):
    """A real run: the fields and masks folders are named with shell code, which must stay text."""
    work = workflow_copy(tmp_path)
    write_screen(work / FIELDS, proteins=("Alp14", "Tea1"), fields=1, cells=6, seed=3)
    shutil.copytree(work / FIELDS, work / MASKS)
    (work / "tiff.yaml").write_text(yaml.safe_dump({"dataset": {**TIFF["dataset"], "path": FIELDS, "masks": MASKS}}))
    before = files_of(tmp_path)
    result = snakemake(work, "results/data/cells.h5", "--cores", "1", "-p", "--configfile",
                       "workflow/presets/smoke.yaml", "tiff.yaml", timeout=300)
    assert result.returncode == 0, result.stderr[-3000:]
    [words] = [words_of(command) for command in shell_commands(result)]
    assert words[1:3] == ["preprocess", FIELDS] and words[words.index("--masks") + 1] == MASKS
    assert words[-2:] == ["--threads", "1"]
    params = store_attrs(work / "results/data/cells.h5")["params"]
    assert params["fields_dir"] == FIELDS and params["masks_dir"] == MASKS
    new = {path for path in files_of(tmp_path) - before if path.parts[1] != "results"}
    assert not new and not [p for p in tmp_path.rglob("pwned*")], sorted(map(str, new))


def test_an_external_sample_file_named_with_shell_code_reaches_its_commands_as_one_word(tmp_path):
    work = workflow_copy(tmp_path)
    samples = "samples $(touch pwned1);touch pwned2;#.ome.tif"
    (work / samples).write_bytes(b"")  # a dry run only checks that the file is there
    (work / "external.yaml").write_text(yaml.safe_dump({"external": {"mine": samples}}))
    result = snakemake(work, "table2", "table5", "-n", "-p", "--configfile", "workflow/presets/smoke.yaml",
                       "external.yaml", timeout=120)
    assert result.returncode == 0, result.stderr[-2000:]
    named = f"mine={samples}"  # how evaluate-samples takes a set: NAME=FILE
    commands = [words_of(command) for command in shell_commands(result) if samples in command]
    assert sorted(words[1] for words in commands) == ["c2st", "evaluate-samples"], commands
    for words in commands:
        assert samples in words or named in words, words
    assert not [p for p in tmp_path.rglob("pwned*")]
