# Start-up checks of the config: every value read as the schema's type, the whole config validated
# strictly, and everything that would otherwise fail mid-run refused, each problem in one line naming
# the key. Plain Python without rules or workflow globals, so that the tests load this file as a module.

import copy
import math
import re
import reprlib
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import yaml
from jsonschema import Draft202012Validator, ValidationError, validators
from jsonschema.exceptions import best_match
from snakemake.exceptions import WorkflowError

# ----------------------------------------------------------------------------- values given as text


def schema_node(node: dict, schema: dict) -> dict:
    """A schema node with its local $ref followed (the node's own keys win)."""
    while "$ref" in node:
        target = schema["$defs"][node["$ref"].rsplit("/", 1)[1]]
        node = {
            **target,
            **{key: value for key, value in node.items() if key != "$ref"},
        }
    return node


def typed(text: str) -> Any:
    """Text read as Snakemake reads a top-level --config value: an integer, a float, else YAML (true,
    null, [1, 2]); text that is none of these stays text, for the validator to refuse.
    """
    for parse in (int, float):
        try:
            return parse(text)
        except ValueError:
            pass
    try:
        return yaml.safe_load(text)
    except yaml.YAMLError:
        return text


def read_as_typed(value: Any, node: dict, schema: dict) -> Any:
    """The value with text read as the schema's type wherever the schema takes no text: Snakemake hands
    a nested `--config c2st='{steps: 500}'` over as {'steps': '500'}. Text the schema takes stays as is.
    """
    node = schema_node(node, schema)
    if isinstance(value, dict):
        children = node.get("properties", {})
        other = node.get("additionalProperties")
        return {
            key: read_as_typed(
                item,
                children.get(key, other if isinstance(other, dict) else {}),
                schema,
            )
            for key, item in value.items()
        }
    if isinstance(value, list):
        return [read_as_typed(item, node.get("items", {}), schema) for item in value]
    types = node.get("type", "string")
    if isinstance(value, str) and "string" not in (
        [types] if isinstance(types, str) else types
    ):
        return typed(value)
    return value


# ----------------------------------------------------------------------------- the schema, strictly


def non_finite_key(value: Any, key: str = "config") -> str | None:
    """The first key holding NaN or an infinity (YAML .nan, .inf), which JSON schema cannot refuse."""
    if isinstance(value, float) and not math.isfinite(value):
        return key
    items = (
        value.items()
        if isinstance(value, dict)
        else enumerate(value) if isinstance(value, list) else ()
    )
    for name, item in items:
        found = non_finite_key(item, f"{key}.{name}")
        if found:
            return found
    return None


SHORT = reprlib.Repr()
SHORT.maxstring = SHORT.maxother = 80


def whole_pattern(
    validator: Any, pattern: str, instance: Any, schema: dict
) -> Iterator[ValidationError]:
    """`pattern`, matched against the whole string: JSON schema searches, and Python's `$` also matches
    before a final newline, so '^[A-Za-z0-9]+$' alone would take 'Alp14\\n'."""
    if validator.is_type(instance, "string") and not re.fullmatch(pattern, instance):
        yield ValidationError(f"{SHORT.repr(instance)} does not match {pattern!r}")


def properties_with_defaults(
    validator: Any, properties: dict, instance: Any, schema: dict
) -> Iterator[ValidationError]:
    """`properties`, filling in each absent key's default first (as snakemake.utils.validate does)."""
    if validator.is_type(instance, "object"):
        for name, node in properties.items():
            if "default" in node:
                instance.setdefault(name, copy.deepcopy(node["default"]))
    yield from Draft202012Validator.VALIDATORS["properties"](
        validator, properties, instance, schema
    )


StrictValidator = validators.extend(
    Draft202012Validator,
    validators={"pattern": whole_pattern, "properties": properties_with_defaults},
    # 3.0 is no count: JSON schema would take it as an integer, and `biogans` would refuse it mid-run
    type_checker=Draft202012Validator.TYPE_CHECKER.redefine(
        "integer",
        lambda checker, value: isinstance(value, int) and not isinstance(value, bool),
    ),
)


def schema_problem(config: dict, schema: dict) -> str | None:
    """The config's first violation of the schema as one line naming the key, or None; fills in defaults."""
    bad = non_finite_key(config)
    if bad:
        return f"{bad}: not a finite number"
    error = best_match(StrictValidator(schema).iter_errors(config))
    if error is None:
        return None
    where = ".".join(map(str, ["config", *error.absolute_path]))
    return f"{where}: {error.message.replace(repr(error.instance), SHORT.repr(error.instance))}"


# ----------------------------------------------------------------------------- what would fail mid-run


def path_problem(path: str) -> str | None:
    """Why a folder named in the config cannot reach a rule intact, or None."""
    if re.search(r"[\x00-\x1f\x7f]", path):
        return "holds a control character (a newline, a tab, ...); rename the folder"
    if "{" in path or "}" in path:
        return "holds { or }, which Snakemake reads as a wildcard; rename the folder"
    if path.startswith("-"):
        return f"starts with '-', which a command reads as an option; write ./{path}"
    return None


def is_folder(path: str) -> bool:
    """Whether the path is a folder; a name the system cannot take (too long) is none."""
    try:
        return Path(path).is_dir()
    except (OSError, ValueError):
        return False


def dataset_problem(dataset: dict, simulated: list[str]) -> str | None:
    """The first dataset setting a job would fail on, as one line naming the key, or None."""
    for key in ("path", "masks"):
        problem = dataset[key] and path_problem(dataset[key])
        if problem:
            return f"config.dataset.{key}: {problem}"
    unknown = sorted(set(dataset["modelled"]) - set(dataset["proteins"]))
    if unknown:
        return f"config.dataset.modelled: proteins not in dataset.proteins: {', '.join(unknown)}"
    source, path, masks = dataset["source"], dataset["path"], dataset["masks"]
    if source == "synthetic":
        missing = [p for p in simulated if p not in dataset["proteins"]]
        if missing:
            return (
                f"config.dataset.proteins: the all-proteins truth of synthetic data (the data target, "
                f"Table 4) normalises every simulated protein by its cells; add {', '.join(missing)}"
            )
        return None
    if not path:
        return (
            f"config.dataset.path: dataset.source is {source}, so give the data's folder, "
            "e.g. --config dataset='{path: /data/LIN_Normalized_WT_size-48-80}'"
        )
    if source == "tiff" and not is_folder(path):
        return f"config.dataset.path: {path} is not a folder"
    if source == "lin" and not (is_folder(path) or is_folder(f"{path}_train")):
        return f"config.dataset.path: {path} is neither a folder nor the prefix of a {path}_train / _test pair"
    if masks and not is_folder(masks):
        return f"config.dataset.masks: {masks} is not a folder"
    return None


def settings_problem(config: dict, schema: dict) -> str | None:
    """The first setting outside the dataset that a job would fail on, as one line naming the key, or None."""
    low, high = config["preprocess"]["percentiles"]
    if not low < high:
        return f"config.preprocess.percentiles: [{low:g}, {high:g}]: the first must be below the second"
    kinds = ("joint", "star", "independent", "multichannel")
    models = config["models"] or {
        name for kind in kinds for name in schema["$defs"][f"{kind}_model"]["enum"]
    }
    for item, names in config["report"].items():
        missing = [
            m for m in ([names] if isinstance(names, str) else names) if m not in models
        ]
        if missing:
            return f"config.report.{item}: models not defined in `models`: {', '.join(missing)}"
    all_models = {
        name for kind in kinds for name in schema["$defs"][f"{kind}_model"]["enum"]
    }
    return external_problem(config["external"], all_models)


def external_problem(external: dict, models: set[str]) -> str | None:
    """The first external sample set a job would fail on, as one line naming the key, or None."""
    for name, path in external.items():
        if name in models or name in ("real", "all"):
            return f"config.external.{name}: the name of a model or of Table 5's `real` rows; choose another"
        problem = path_problem(path)
        if problem:
            return f"config.external.{name}: {problem.replace('folder', 'file')}"
        try:
            found = Path(path).is_file()
        except (OSError, ValueError):
            found = False
        if not found:
            return f"config.external.{name}: {path} is not a file"
    return None


def check_config(config: dict, schema: dict) -> None:
    """Read text values as the schema's types, fill in the defaults and refuse, in one line naming the
    key, any value the schema does not take or a job would fail on. Changes `config` in place.
    """
    config.update(read_as_typed(config, schema, schema))
    problem = schema_problem(config, schema)
    if not problem:
        simulated = schema["$defs"]["simulated_protein"]["enum"]
        problem = dataset_problem(config["dataset"], simulated) or settings_problem(
            config, schema
        )
    if problem:
        raise WorkflowError(problem)
