# The config (checked at start-up: config.smk), path helpers, input functions and target lists. Parsing
# the workflow imports neither torch nor biogans: every rule calls `biogans <stage>` in its shell command,
# with each value in it quoted (cli_options, `{...:q}`), so that no config value reaches a shell as code.

import shlex
from pathlib import Path

import yaml


include: "config.smk"


SCHEMA = yaml.safe_load(open(workflow.source_path("../schemas/config.schema.yaml")))
check_config(config, SCHEMA)

DATASET = config["dataset"]
SOURCE = DATASET["source"]
PROTEINS = DATASET["proteins"]
MODELLED = DATASET["modelled"]
TRAINING = config["training"]
C2ST = config["c2st"]
RECONSTRUCTION = config["reconstruction"]
REPORT = config["report"]
#: Sample sets of generators the workflow did not train: name -> file.
EXTERNAL = config["external"]
#: The critic objectives a C2ST can use.
EVALUATORS = SCHEMA["properties"]["c2st"]["properties"]["evaluators"]["items"]["enum"]
#: The one conda environment of every rule (for --software-deployment-method conda).
ENV = "../../envs/biogans.yaml"


# ----------------------------------------------------------------------------- paths

CELLS = "results/data/cells.h5"
SPLITS = "results/data/splits.h5"
NEIGHBOURS = "results/data/red_neighbours.h5"
JOINT_TRUTH = "results/data/joint_truth.h5"


def log_path(name):
    return f"results/logs/{name}.log"


def benchmark_path(name):
    return f"results/benchmarks/{name}.tsv"


def one_of(names):
    """A wildcard constraint matching exactly these names (nothing if empty)."""
    return "|".join(names) if names else "(?!)"


def stage_resources(section):
    """The resources a stage's config sets (training, c2st, reconstruction): GPUs, minutes and memory, and a
    `gpu_slots` unit per GPU job, which the local profile limits (jobs that share the GPUs at once).
    """
    gpus = section["gpu"]
    return {
        "gpu": gpus,
        "gpu_slots": 1 if gpus else 0,
        "runtime": section["runtime"],
        "mem_mb": section["mem_mb"],
    }


#: Resources of the rules that need more than the profiles' default-resources (mem_mb 1000, runtime 10).
RESOURCES = {
    "preprocess": {"mem_mb": 4000, "runtime": 30},
    "import_lin": {"mem_mb": 2000},
    "splits": {"mem_mb": 2000},
    "neighbours": {"mem_mb": 4000},
    "figure": {"mem_mb": 2000},
    "train": stage_resources(TRAINING),
    "c2st": stage_resources(C2ST),
    "reconstruct": stage_resources(RECONSTRUCTION),
    "metrics": {"mem_mb": 4000, "runtime": 30},
}


def fields_root(wildcards, input):
    """The folder `biogans preprocess` reads: the simulator's root above its per-protein folders, or
    the user's TIFF folder."""
    first = input.fields[0]
    return str(Path(first).parent) if SOURCE == "synthetic" else first


# ----------------------------------------------------------------------------- models

ARCHITECTURE = {
    name: architecture
    for architecture in ("joint", "star", "independent", "multichannel")
    for name in SCHEMA["$defs"][f"{architecture}_model"]["enum"]
}
MODEL_SETTINGS = config["models"] or {name: {} for name in ARCHITECTURE}
MODELS = list(MODEL_SETTINGS)


def kind(model):
    """joint (the proteins merged) or conditional (one green per protein for one red)."""
    return "joint" if ARCHITECTURE[model] == "joint" else "conditional"


def models_of(*architectures):
    return [m for m in MODELS if ARCHITECTURE[m] in architectures]


def separable(model):
    """Models with a red part of z: the separable variants and the star-shaped models."""
    return model.endswith("-sep") or ARCHITECTURE[model] == "star"


def checkpoint_iterations(model_kind):
    """Iterations at which a kind of model writes generator files: the configured ones, and the last."""
    last = TRAINING["iterations"][model_kind]
    return sorted(
        {c for c in TRAINING["checkpoints"][model_kind] if c <= last} | {last}
    )


def generator_file(model, iteration=None):
    """results/models/<model>/generator_<iteration>.pt (the last one by default)."""
    return f"results/models/{model}/generator_{iteration or checkpoint_iterations(kind(model))[-1]}.pt"


def model_setting(model, key):
    """A training setting of a model: its override in `models`, else the `training` value."""
    return (MODEL_SETTINGS[model] or {}).get(key, TRAINING.get(key))


def cli_options(values):
    """`biogans` options from config values, each word shell-quoted (so a rule uses `{params.options}`, not
    `:q`): key_name -> --key-name, lists spread, True a bare flag, None and False left out. One string, not
    a list of words, so that Snakemake's params records keep the options in order."""
    words = []
    for key, value in values.items():
        flag = f"--{key.replace('_', '-')}"
        if value is True:
            words.append(flag)
        elif isinstance(value, list):
            words += [flag, *map(str, value)]
        elif value is not None and value is not False:
            words += [flag, str(value)]
    return shlex.join(words)


def train_options(wildcards):
    """The resolved hyperparameters of a model as `biogans train` options (params: a change re-runs it)."""
    model = wildcards.model
    objective = model.split("-")[0]
    values = {
        "proteins": (
            [wildcards.protein] if ARCHITECTURE[model] == "independent" else MODELLED
        ),
        "iterations": checkpoint_iterations(kind(model))[-1],
        "checkpoints": checkpoint_iterations(kind(model)),
        "neighbours": NEIGHBOURS if ARCHITECTURE[model] == "multichannel" else None,
        **{
            key: model_setting(model, key)
            for key in ("batch_size", "ngf", "ndf", "nz", "red_portion", "critic_steps")
        },
        "lr": (MODEL_SETTINGS[model] or {}).get("lr") or TRAINING["lr"][objective],
        **{
            key: TRAINING[key]
            for key in (
                "seed",
                "device",
                "precision",
                "channels_last",
                "compile",
                "resume_every",
            )
        },
    }
    return cli_options(values)


def train_inputs(wildcards):
    inputs = {"cells": CELLS}
    if ARCHITECTURE[wildcards.model] == "multichannel":
        inputs["neighbours"] = NEIGHBOURS
    return inputs


# ----------------------------------------------------------------------------- evaluation


def c2st_options(evaluator):
    """`biogans c2st` options from the config, for one evaluator."""
    keys = (
        "steps",
        "batch_size",
        "ndf",
        "passes",
        "seed",
        "device",
        "precision",
        "max_groups",
    )
    values = {key: C2ST[key] for key in keys}
    return cli_options({"evaluator": evaluator, **values, "lr": C2ST["lr"][evaluator]})


def reconstruct_options(wildcards):
    keys = (
        "n_cells",
        "outer_steps",
        "inner_iterations",
        "restarts",
        "lr",
        "batch_size",
        "seed",
        "device",
    )
    return cli_options(
        {"mode": wildcards.mode, **{key: RECONSTRUCTION[key] for key in keys}}
    )


def fake_c2st_generators(wildcards):
    """The generator files a fake-vs-real job evaluates: every checkpoint of the models Figure 8 shows
    (its curve against iterations), else the last one."""
    model = wildcards.model
    if model in REPORT["figure8"]:
        return [generator_file(model, i) for i in checkpoint_iterations(kind(model))]
    return [generator_file(model)]


def fake_c2st_file(model, evaluator="wgangp"):
    return f"results/c2st/fake/{model}/{evaluator}.csv"


def external_c2st_file(name, against="real"):
    """An external sample set's C2ST: against the real test cells (Table 2) or the all-proteins truth (Table 4)."""
    return (
        f"results/c2st/external/{name}.csv"
        if against == "real"
        else f"results/c2st/all-proteins/external/{name}.csv"
    )


def metrics_options():
    """`biogans evaluate-samples` options from the config (its neighbour count is -k, as `biogans neighbours`)."""
    values = dict(config["metrics"])
    return f"-k {values.pop('k')} {cli_options(values)}"


def metrics_file(name):
    """The Table 5 rows of a model, of an external sample set, or (`real`) of the real cells."""
    return f"results/metrics/{name}.csv"


def table2_runs():
    """(name, C2ST file) of Table 2's models and of every external sample set."""
    return [(m, fake_c2st_file(m)) for m in REPORT["table2"]] + [
        (n, external_c2st_file(n)) for n in EXTERNAL
    ]


def table4_runs():
    """(name, C2ST file) of Table 4's models and of every external sample set (no row for one of other cells)."""
    return [(m, f"results/c2st/all-proteins/{m}.csv") for m in REPORT["table4"]] + [
        (n, external_c2st_file(n, "truth")) for n in EXTERNAL
    ]


def table5_runs():
    """(name, metrics file) of the real cells, every model and every external sample set."""
    return [(name, metrics_file(name)) for name in ["real", *MODELS, *EXTERNAL]]


def reconstruction_modes(model):
    """Both modes for models with a red part of z (red first, then green), the regular one otherwise."""
    return ["regular", "separable"] if separable(model) else ["regular"]


# ----------------------------------------------------------------------------- tables and figures


def named(pairs):
    """NAME=PATH arguments of `biogans table` / `biogans figure` from (name, path) pairs."""
    return [f"{name}={path}" for name, path in pairs]


def paths(pairs):
    return [path for _, path in pairs]


def reconstruction_runs(name):
    """(mode/model, file) of every reconstruction of Table 3's models: cells.csv or examples.h5."""
    return [
        (f"{mode}/{model}", f"results/reconstruction/{mode}/{model}/{name}")
        for model in REPORT["table3"]
        for mode in reconstruction_modes(model)
    ]


def figure3_generators():
    """(model, file) at the first, middle and last checkpoint of each Figure 3 model."""
    runs = []
    for model in REPORT["figure3"]:
        steps = checkpoint_iterations(kind(model))
        runs += [
            (model, generator_file(model, i))
            for i in sorted({steps[0], steps[len(steps) // 2], steps[-1]})
        ]
    return runs


def figure8_runs():
    return [
        (m, fake_c2st_file(m, e)) for m in REPORT["figure8"] for e in C2ST["evaluators"]
    ]


def data_targets():
    """Everything `rule data` builds."""
    targets = [CELLS, SPLITS, NEIGHBOURS]
    if SOURCE == "synthetic":
        targets.append(JOINT_TRUTH)
    return targets


#: The rules of the paper's tables and figures and the scorecard (Table 4: synthetic data only).
REPORT_RULES = (
    "table1",
    "table2",
    "table3",
    "table5",
    "figure1",
    "figure3",
    "figure4",
    "figure6",
    "figure7",
    "figure8",
    "claims",
)


def report_targets():
    """Every table and figure: each report rule's main output."""
    names = [*REPORT_RULES, "table4"] if SOURCE == "synthetic" else REPORT_RULES
    return [getattr(rules, name).output.out for name in names]
