# Shared helpers and input functions; the config is validated here, at start-up.

from pathlib import Path

import yaml
from snakemake.exceptions import WorkflowError
from snakemake.utils import validate

SCHEMA = Path(workflow.basedir) / "workflow" / "schemas" / "config.schema.yaml"


def typed_leaves(value, schema):
    """`--config key='{a: 1}'` arrives with its nested values as strings (Snakemake reads it with
    YAML's BaseLoader): read as YAML each string the schema does not type as a string."""
    if isinstance(value, dict):
        properties, other = schema.get("properties", {}), schema.get("additionalProperties")
        return {
            key: typed_leaves(item, properties.get(key, other if isinstance(other, dict) else {}))
            for key, item in value.items()
        }
    if isinstance(value, list):
        return [typed_leaves(item, schema.get("items", {})) for item in value]
    types = schema.get("type", [])
    types = [types] if isinstance(types, str) else types
    if isinstance(value, str) and types and "string" not in types:
        try:
            parsed = yaml.safe_load(value)
        except yaml.YAMLError:
            return value
        return typed_leaves(parsed, schema) if isinstance(parsed, (dict, list)) else parsed
    return value


def validate_config(config):
    """Validate (and fill in defaults of) the config; a violation is one line naming the key."""
    config.update(typed_leaves(config, yaml.safe_load(SCHEMA.read_text())))
    try:
        validate(config, str(SCHEMA))
    except WorkflowError as error:
        lines = str(error).splitlines()
        problem = [l.split(": ", 1)[1] for l in lines if l.startswith("ValidationError: ")]
        where = [l[len("On instance") :].rstrip(":") for l in lines if l.startswith("On instance")]
        if not problem:
            raise
        raise WorkflowError(f"config{where[0] if where else ''}: {problem[0]}") from None


validate_config(config)

DATASET = config["dataset"]
SOURCE = DATASET["source"]
PROTEINS = DATASET["proteins"]
MODELLED = DATASET["modelled"]

if not set(MODELLED) <= set(PROTEINS):
    raise WorkflowError(
        f"config: dataset.modelled has proteins not in dataset.proteins: "
        f"{', '.join(sorted(set(MODELLED) - set(PROTEINS)))}"
    )
if SOURCE != "synthetic":
    if not DATASET["path"]:
        raise WorkflowError(f"config: dataset.source is {SOURCE}, so dataset.path must be set")
    if SOURCE == "tiff" and not Path(DATASET["path"]).is_dir():
        raise WorkflowError(f"config: dataset.path {DATASET['path']} is not a folder")
    if SOURCE == "lin" and not (
        Path(DATASET["path"]).is_dir()
        or Path(DATASET["path"] + "_train").is_dir()
    ):
        raise WorkflowError(
            f"config: dataset.path {DATASET['path']} is neither a folder nor the prefix of a "
            f"{DATASET['path']}_train / _test pair"
        )
    if DATASET["masks"] and not Path(DATASET["masks"]).is_dir():
        raise WorkflowError(f"config: dataset.masks {DATASET['masks']} is not a folder")


def log_path(name):
    """The log file of a job: results/logs/<name>.log."""
    return f"results/logs/{name}.log"


def benchmark_path(name):
    """The benchmark table of a job: results/benchmarks/<name>.tsv."""
    return f"results/benchmarks/{name}.tsv"


def field_folders(wildcards):
    """The fields the cell store is made from: simulated per protein, or the user's folder."""
    if SOURCE == "synthetic":
        return expand("results/raw/{protein}", protein=PROTEINS)
    return DATASET["path"]


def fields_root():
    return "results/raw" if SOURCE == "synthetic" else DATASET["path"]


def preprocess_options():
    """Command-line options of `biogans preprocess` from the config."""
    p = config["preprocess"]
    options = [
        f"--cell-pixel-size {p['cell_pixel_size']}",
        f"--percentiles {p['percentiles'][0]} {p['percentiles'][1]}",
        f"--test-fraction {p['test_fraction']}",
        f"--seed {p['seed']}",
    ]
    if SOURCE == "tiff":
        options.append(f"--channels {' '.join(DATASET['channels'])}")
        if DATASET["pixel_size"]:
            options.append(f"--pixel-size {DATASET['pixel_size']}")
        if DATASET["masks"]:
            options.append(f"--masks {DATASET['masks']}")
    return " ".join(options)


def data_targets():
    """Everything `rule data` builds."""
    targets = [
        "results/data/cells.h5",
        "results/data/splits.h5",
        "results/data/red_neighbours.h5",
    ]
    if SOURCE == "synthetic":
        targets.append("results/data/joint_truth.h5")
    return targets


# ----------------------------------------------------------------------------- models

from biogans.models.zoo import PAPER_MODELS  # noqa: E402  (name -> architecture, objective, regime)

TRAINING = config["training"]
MODELS = list(config["models"])


def model_kind(model):
    """joint (proteins merged, the paper's 500k iterations) or conditional (50k)."""
    return "joint" if PAPER_MODELS[model].regime == "joint" else "conditional"


def models_of(*regimes):
    return [m for m in MODELS if PAPER_MODELS[m].regime in regimes]


def iterations(model):
    return TRAINING["iterations"][model_kind(model)]


def checkpoints(model):
    """Checkpoint iterations of a model: the configured ones up to its iterations, plus the last."""
    last = iterations(model)
    return sorted({c for c in TRAINING["checkpoints"][model_kind(model)] if c <= last} | {last})


def kind_checkpoints(kind):
    last = TRAINING["iterations"][kind]
    return sorted({c for c in TRAINING["checkpoints"][kind] if c <= last} | {last})


def one_of(names):
    """A wildcard constraint matching exactly these names (nothing if empty)."""
    return "|".join(names) if names else "(?!)"


def generator_file(model, iteration=None):
    """results/models/<model>/generator_<iteration>.pt (the final one by default)."""
    return f"results/models/{model}/generator_{iteration or iterations(model)}.pt"


def model_setting(model, key):
    """A training setting of a model: its override in `models`, else the `training` default."""
    return (config["models"][model] or {}).get(key, TRAINING.get(key))


def train_options(wildcards):
    """The resolved hyperparameters of a model as `biogans train` options (params: a change re-runs it)."""
    model = wildcards.model
    options = [
        f"--iterations {iterations(model)}",
        f"--checkpoints {' '.join(map(str, checkpoints(model)))}",
        f"--seed {TRAINING['seed']}",
        f"--device {TRAINING['device']}",
        f"--resume-every {TRAINING['resume_every']}",
    ]
    if TRAINING["bf16"]:
        options.append("--bf16")
    if TRAINING["channels_last"]:
        options.append("--channels-last")
    for key in ("batch_size", "ngf", "ndf", "nz", "red_portion", "critic_steps"):
        value = model_setting(model, key)
        if value is not None:
            options.append(f"--{key.replace('_', '-')} {value}")
    lr = (config["models"][model] or {}).get("lr") or TRAINING["lr"][PAPER_MODELS[model].objective]
    if lr is not None:
        options.append(f"--lr {lr}")
    return " ".join(options)


def all_generators():
    """The final generator file of every configured model."""
    return [generator_file(m) for m in MODELS]


# ----------------------------------------------------------------------------- evaluation

C2ST = config["c2st"]
RECONSTRUCTION = config["reconstruction"]
REPORT = config["report"]
MODES = ["regular", "separable"]

for _item, _names in REPORT.items():
    _missing = [m for m in ([_names] if isinstance(_names, str) else _names) if m not in MODELS]
    if _missing:
        raise WorkflowError(
            f"config: report.{_item} asks for models not defined in `models`: {', '.join(_missing)}"
        )


def c2st_options(evaluator):
    """`biogans c2st` options from the config, for one evaluator."""
    options = (
        f"--evaluator {evaluator} --steps {C2ST['steps']} --batch-size {C2ST['batch_size']} "
        f"--ndf {C2ST['ndf']} --passes {C2ST['passes']} --seed {C2ST['seed']} --device {C2ST['device']}"
    )
    if C2ST["lr"][evaluator] is not None:
        options += f" --lr {C2ST['lr'][evaluator]}"
    return options


def fake_c2st_generators(wildcards):
    """Generator files a fake-vs-real C2ST job evaluates: every checkpoint of the joint models that
    Figure 8 shows (for the curve against iterations), else the final one."""
    model = wildcards.model
    if model in REPORT["figure8"]:
        return [generator_file(model, i) for i in checkpoints(model)]
    return [generator_file(model)]


def fake_c2st_file(model, evaluator="wgangp"):
    return f"results/c2st/fake/{model}/{evaluator}.csv"


def reconstruction_modes(model):
    """Both modes for separable models (red part of z first), the regular one otherwise."""
    return MODES if PAPER_MODELS[model].separable else ["regular"]


def reconstruction_runs(name):
    """MODE/MODEL=PATH arguments for Table 3 (cells.csv) or Figure 6 (examples.h5)."""
    return [
        f"{mode}/{model}=results/reconstruction/{mode}/{model}/{name}"
        for model in REPORT["table3"]
        for mode in reconstruction_modes(model)
    ]


def reconstruction_files(name):
    return [run.split("=", 1)[1] for run in reconstruction_runs(name)]


def figure3_generators(wildcards=None):
    """MODEL=PATH at the first, middle and last checkpoint of each Figure 3 model."""
    runs = []
    for model in REPORT["figure3"]:
        steps = checkpoints(model)
        for i in sorted({steps[0], steps[len(steps) // 2], steps[-1]}):
            runs.append(f"{model}={generator_file(model, i)}")
    return runs


def named_files(runs):
    """The paths of NAME=PATH arguments."""
    return [run.split("=", 1)[1] for run in runs]


def report_targets():
    """Every table and figure (Table 4 only on synthetic data)."""
    targets = [
        "results/tables/table1_real_vs_real.csv",
        "results/tables/table2_conditional.csv",
        "results/tables/table3_reconstruction.csv",
        "results/figures/figure1_teaser.png",
        "results/figures/figure3_training_progress.png",
        "results/figures/figure4_separable_samples.png",
        "results/figures/figure6_reconstructions.png",
        "results/figures/figure7_cell_cycle.png",
        "results/figures/figure8_c2st_vs_iterations.png",
    ]
    if SOURCE == "synthetic":
        targets.append("results/tables/table4_joint.csv")
    return targets
