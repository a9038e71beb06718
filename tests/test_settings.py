"""Settings defined once: every `biogans <stage>` option that the workflow sets from the config has the
same description, default and range in the config schema; the workflow's model list is the zoo's; the
demo config and the paper presets agree with the schema's defaults (the paper's protocol)."""

from __future__ import annotations

import dataclasses
import re
from pathlib import Path

import pytest
import yaml

from biogans.data.options import (
    ImportLinOptions,
    NeighbourOptions,
    PreprocessOptions,
    SimulateOptions,
    SplitOptions,
)
from biogans.evaluate.options import C2STOptions, ReconstructOptions
from biogans.models.zoo import PAPER_MODELS
from biogans.options import REQUIRED, declaration, option_fields, value_type
from biogans.train.options import PAPER_CHECKPOINTS, PAPER_ITERATIONS, TrainOptions

ROOT = Path(__file__).resolve().parents[1]
SCHEMA = yaml.safe_load((ROOT / "workflow/schemas/config.schema.yaml").read_text())
OPTIONS = (SimulateOptions, PreprocessOptions, ImportLinOptions, SplitOptions, NeighbourOptions, TrainOptions,
           C2STOptions, ReconstructOptions)
JSON_TYPES = {int: "integer", float: "number", str: "string", bool: "boolean"}


def resolve(node: dict) -> dict:
    """A schema node with its $ref merged in (the node's own keys win)."""
    if "$ref" not in node:
        return node
    name = node["$ref"].rsplit("/", 1)[1]
    return {**resolve(SCHEMA["$defs"][name]), **{k: v for k, v in node.items() if k != "$ref"}}


def schema_node(path: str) -> dict:
    node = SCHEMA
    for key in path.split("."):
        node = resolve(node["additionalProperties"] if key == "*" else node["properties"][key])
    return node


def mapped_options() -> list:
    return [pytest.param(cls, field, id=f"{cls.__name__}.{field.name}")
            for cls in OPTIONS for field in option_fields(cls) if declaration(field).config]


def default_of(field: dataclasses.Field):
    if field.default is not REQUIRED:
        return field.default
    return None if field.default_factory is REQUIRED else field.default_factory()


def plain(value):
    return list(value) if isinstance(value, tuple) else value


@pytest.mark.parametrize("cls, field", mapped_options())
def test_schema_key_equals_the_option_declaration(cls, field):
    spec, kind = declaration(field), value_type(cls, field)
    path = spec.config
    parent = schema_node(path.removesuffix(".*"))
    assert parent["description"] == spec.help, path
    keys = [f"{path[:-2]}.{child}" for child in parent["properties"]] if path.endswith(".*") else [path]
    for key in keys:
        node = schema_node(key)
        types = node.get("type") if "type" in node else node.get("items", {}).get("type")
        types = [types] if isinstance(types, str) else list(types or [])
        scalar = node.get("items", node) if kind.sequence else node
        nullable_as_declared = path.endswith(".*") or ("null" in types) == kind.optional  # per-kind keys: set
        if kind.sequence:
            assert "array" in types and nullable_as_declared, key
            scalar = resolve(node["items"])
        else:
            assert JSON_TYPES[kind.scalar] in types or "enum" in scalar, key
            assert nullable_as_declared, key
        if spec.minimum is not None:
            bound = "exclusiveMinimum" if spec.exclusive_minimum else "minimum"
            assert scalar.get(bound) == spec.minimum, key
        if spec.maximum is not None:
            bound = "exclusiveMaximum" if spec.exclusive_maximum else "maximum"
            assert scalar.get(bound) == spec.maximum, key
        if spec.choices is not None and kind.scalar is str and "enum" in scalar:
            assert tuple(scalar["enum"]) == tuple(spec.choices) or set(scalar["enum"]) <= set(spec.choices), key
        if key.startswith("models."):
            assert "default" not in node, key  # a model's override: absent means the training setting
        elif key.startswith("training.iterations."):
            assert node["default"] == PAPER_ITERATIONS[key.rsplit(".", 1)[1]], key
        elif key.startswith("training.checkpoints."):
            kind_name = key.rsplit(".", 1)[1]
            assert node["default"] == [c for c in PAPER_CHECKPOINTS if c <= PAPER_ITERATIONS[kind_name]], key
        elif field.default is REQUIRED and field.default_factory is REQUIRED:
            pass  # given by the workflow every time (e.g. the proteins)
        elif default_of(field) is not None or "default" in node:
            assert node["default"] == plain(default_of(field)), key


def test_every_config_key_of_a_stage_option_is_declared():
    """The other way round: a schema key named like an option of its stage is mapped to that option."""
    mapped = {declaration(f).config for cls in OPTIONS for f in option_fields(cls)}
    mapped = {key.removesuffix(".*") for key in mapped if key}
    for section, cls in (("splits", SplitOptions), ("neighbours", NeighbourOptions), ("c2st", C2STOptions),
                         ("reconstruction", ReconstructOptions)):
        names = {f.name for f in option_fields(cls)}
        for key in SCHEMA["properties"][section]["properties"]:
            if key in names:
                assert f"{section}.{key}" in mapped, f"{section}.{key}"


def test_the_workflow_model_lists_are_the_zoo():
    defs = SCHEMA["$defs"]
    by_architecture = {name: architecture for architecture in ("joint", "star", "independent", "multichannel")
                       for name in defs[f"{architecture}_model"]["enum"]}
    assert list(by_architecture) == list(PAPER_MODELS)
    for name, model in PAPER_MODELS.items():
        expected = "joint" if model.kind == "joint" else model.architecture
        assert by_architecture[name] == expected, name
        # common.smk derives the objective and the red part of z from the name
        assert name.split("-")[0] == model.objective
        assert (name.endswith("-sep") or model.architecture == "star") == (model.red_portion is not None)


def test_paper_presets_restore_every_value_the_demo_changes():
    demo = yaml.safe_load((ROOT / "config.yaml").read_text())

    def leaves(tree, prefix=""):
        for key, value in tree.items():
            if isinstance(value, dict):
                yield from leaves(value, f"{prefix}{key}.")
            else:
                yield f"{prefix}{key}", value

    for preset in ("paper.yaml", "paper-synthetic.yaml"):
        paper = yaml.safe_load((ROOT / "workflow/presets" / preset).read_text())
        for key, value in leaves(demo):
            section = paper
            for part in key.split("."):
                assert part in section, f"{preset} does not set {key} (config.yaml's demo sets it to {value})"
                section = section[part]
            if not key.endswith(("runtime", "mem_mb")):
                assert section == schema_node(key).get("default"), f"{preset}: {key}"


def config_comments() -> list[tuple[str, str, str]]:
    """(dotted key, kind, value text) of each `# paper: ...` / `# paper scale: ...` comment in config.yaml."""
    found, path = [], []
    for line in (ROOT / "config.yaml").read_text().splitlines():
        key = re.match(r"^( *)([a-z_0-9]+):", line)
        if key:
            depth = len(key.group(1)) // 2
            path = [*path[:depth], key.group(2)]
        comment = re.search(r"#.*?\bpaper( scale)?: (.+)$", line)
        if key and comment:
            value = re.sub(r" \(.*\)$", "", comment.group(2))  # an explanation in parentheses follows some values
            value = value.removesuffix(")") if value.count(")") > value.count("(") else value  # "(paper scale: 1)"
            found.append((".".join(path), "scale" if comment.group(1) else "paper", value))
    return found


def test_config_comments_give_the_paper_values_the_schema_and_presets_hold():
    """config.yaml writes the paper's value beside each demo value: its comments agree with the one declaration
    of the paper's protocol (the schema's defaults) and, for cluster sizes, with the paper-synthetic preset."""
    preset = yaml.safe_load((ROOT / "workflow/presets/paper-synthetic.yaml").read_text())
    comments = config_comments()
    assert len(comments) >= 20
    for key, kind, text in comments:
        value = yaml.safe_load(text)
        if kind == "paper":
            node = schema_node(key)
            expected = node.get("default")
            if "properties" in node:  # a per-objective map: the comment gives the default of every entry
                defaults = {resolve(child).get("default") for child in node["properties"].values()}
                expected = defaults.pop() if len(defaults) == 1 else defaults
        else:
            expected = preset
            for part in key.split("."):
                expected = expected[part]
        assert value == expected, f"config.yaml: {key}: the comment says {text}, the {kind} value is {expected}"
