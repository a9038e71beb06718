"""Stage options declared once: each is a dataclass field carrying its default, type, range and help.

A stage's options live in a frozen dataclass next to the code that uses them (for example
:class:`biogans.train.options.TrainOptions`). From that one declaration:

- ``biogans <stage>`` builds its command-line arguments (:func:`add_options`, :func:`from_args`);
- the library refuses values out of range when the dataclass is built (:func:`check_options`,
  called from ``__post_init__``), so a call from Python gets the same checks as the command line;
- a test compares the workflow's config schema with the declarations, key by key (``config`` names
  the config key an option comes from).

The modules that declare options import neither torch nor the heavy parts of the package, so that
``biogans --help`` stays instant.
"""

from __future__ import annotations

import argparse
import dataclasses
import math
import re
import types
import typing
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from biogans.errors import BiogansError

#: Seeds are non-negative 63-bit integers in every command (numpy and torch both accept them).
SEED_MAX = 2**63 - 1
#: The default of an option that must be given (``option(REQUIRED, ...)``).
REQUIRED = dataclasses.MISSING


@dataclass(frozen=True)
class Declaration:
    """What an option is besides its default: help, range, choices and where the workflow sets it."""

    help: str
    minimum: float | None = None
    maximum: float | None = None
    #: the minimum itself is not allowed (e.g. a learning rate > 0)
    exclusive_minimum: bool = False
    exclusive_maximum: bool = False
    choices: tuple | None = None
    #: regular expression a text value must match in full
    pattern: str | None = None
    metavar: str | None = None
    #: short flag used instead of the derived ``--long-name`` (e.g. ``-k``)
    flag: str | None = None
    #: config key (dotted path) the workflow passes as this option; ``a.b.*`` = one key per child
    config: str | None = None


def option(default: Any, help: str, **declaration: Any) -> Any:
    """A dataclass field for one option: ``batch_size: int = option(64, "cells per batch", minimum=1)``."""
    meta = {"option": Declaration(help, **declaration)}
    if default is REQUIRED:
        return dataclasses.field(metadata=meta)
    if isinstance(default, (list, dict, set)):
        return dataclasses.field(default_factory=lambda: type(default)(default), metadata=meta)
    return dataclasses.field(default=default, metadata=meta)


def seed_option(help: str = "random seed", **declaration: Any) -> Any:
    """The one seed convention of every command: an integer in [0, 2**63 - 1], default 0."""
    return option(0, help, minimum=0, maximum=SEED_MAX, **declaration)


def device_option(help: str = "torch device: auto (CUDA if available, else CPU), cpu, cuda or cuda:N",
                  **declaration: Any) -> Any:
    """The one device convention of every command that runs networks."""
    return option("auto", help, pattern=r"auto|cpu|cuda(:[0-9]+)?", **declaration)


#: The arithmetic choices of the commands that train networks.
PRECISIONS = ("float32", "bfloat16", "auto")


def precision_option(help: str, **declaration: Any) -> Any:
    """The one precision convention: float32 (the paper's), bfloat16 autocast, or auto (measured)."""
    return option("float32", f"{help}: float32, bfloat16 (autocast), or auto: the faster of the two on this "
                  "machine, measured when the job starts", choices=PRECISIONS, **declaration)


#: The CUDA graph choices of the commands that train networks.
CUDA_GRAPHS = ("auto", "on", "off")


def cuda_graphs_option(what: str, **declaration: Any) -> Any:
    """The one CUDA graphs convention: replay ``what`` as CUDA graphs on a GPU (on), never (off), or auto:
    whichever is faster, measured when the job starts. Ignored on the CPU."""
    return option("auto", f"replay {what} as CUDA graphs on a GPU: on, off, or auto: the faster, measured when "
                  "the job starts (ignored on the CPU)", choices=CUDA_GRAPHS, **declaration)


def declaration(field: dataclasses.Field) -> Declaration:
    return field.metadata["option"]


def option_fields(cls: type) -> list[dataclasses.Field]:
    """The declared options of an options dataclass, in declaration order."""
    return [f for f in dataclasses.fields(cls) if "option" in f.metadata]


def flag_of(field: dataclasses.Field) -> str:
    """The command-line flag of an option: ``batch_size`` -> ``--batch-size`` (or its short flag)."""
    return declaration(field).flag or "--" + field.name.replace("_", "-")


@dataclass(frozen=True)
class ValueType:
    """The parts of a field's annotation the checks need: scalar type, optional, sequence length."""

    scalar: type
    optional: bool = False
    sequence: type | None = None  # list or tuple
    length: int | None = None  # fixed length of a tuple, None for any


def value_type(cls: type, field: dataclasses.Field) -> ValueType:
    """Read a field's annotation: int, float, str, bool, ``X | None``, ``list[X]``, ``tuple[X, X]``,
    ``tuple[X, ...]``."""
    annotation = typing.get_type_hints(cls)[field.name]
    optional = False
    if isinstance(annotation, types.UnionType) or typing.get_origin(annotation) is typing.Union:
        members = [a for a in typing.get_args(annotation) if a is not type(None)]
        optional, annotation = len(members) < len(typing.get_args(annotation)), members[0]
    origin = typing.get_origin(annotation)
    if origin in (list, tuple):
        args = typing.get_args(annotation)
        length = None if origin is list or args[-1] is Ellipsis else len(args)
        return ValueType(args[0], optional, origin, length)
    return ValueType(annotation, optional)


def check_value(name: str, value: Any, kind: ValueType, spec: Declaration) -> Any:
    """``value`` checked against the declaration; BiogansError naming ``name`` otherwise."""
    if value is None:
        if kind.optional:
            return None
        raise BiogansError(f"{name}: a value is required")
    if kind.sequence is not None:
        if isinstance(value, (str, bytes)) or not isinstance(value, Sequence):
            raise BiogansError(f"{name}: expected a list, got {value!r}")
        if kind.length is not None and len(value) != kind.length:
            raise BiogansError(f"{name}: expected {kind.length} values, got {len(value)}")
        if not value and kind.length is None:
            raise BiogansError(f"{name}: expected at least one value")
        return kind.sequence(check_value(name, item, ValueType(kind.scalar), spec) for item in value)
    return _check_scalar(name, value, kind.scalar, spec)


def _check_scalar(name: str, value: Any, scalar: type, spec: Declaration) -> Any:
    if scalar is bool:
        if not isinstance(value, bool):
            raise BiogansError(f"{name}: expected true or false, got {value!r}")
        return value
    if scalar is int:
        if isinstance(value, bool) or not isinstance(value, int):
            raise BiogansError(f"{name}: expected an integer, got {value!r}")
    elif scalar is float:
        if isinstance(value, bool) or not isinstance(value, (int, float)):
            raise BiogansError(f"{name}: expected a number, got {value!r}")
        if not math.isfinite(value):
            raise BiogansError(f"{name}: expected a finite number, got {value}")
        value = float(value)
    elif not isinstance(value, scalar):
        raise BiogansError(f"{name}: expected {scalar.__name__}, got {value!r}")
    if spec.choices is not None and value not in spec.choices:
        raise BiogansError(f"{name}: {value!r} is not one of {', '.join(map(str, spec.choices))}")
    if spec.pattern is not None and not re.fullmatch(spec.pattern, value):
        raise BiogansError(f"{name}: {value!r} is not of the form {spec.pattern}")
    if spec.minimum is not None and (value < spec.minimum or (spec.exclusive_minimum and value == spec.minimum)):
        relation = ">" if spec.exclusive_minimum else ">="
        raise BiogansError(f"{name}: must be {relation} {_number(spec.minimum)}, got {_number(value)}")
    if spec.maximum is not None and (value > spec.maximum or (spec.exclusive_maximum and value == spec.maximum)):
        relation = "<" if spec.exclusive_maximum else "<="
        raise BiogansError(f"{name}: must be {relation} {_number(spec.maximum)}, got {_number(value)}")
    return value


def _number(x: float) -> str:
    return f"{x:g}" if isinstance(x, float) else str(x)


def check_options(options: Any) -> None:
    """Check every declared option of an options dataclass instance (call from ``__post_init__``)."""
    cls = type(options)
    for field in option_fields(cls):
        value = check_value(flag_of(field), getattr(options, field.name), value_type(cls, field),
                            declaration(field))
        object.__setattr__(options, field.name, value)  # normalised: int -> float, list -> tuple


# --------------------------------------------------------------------------- the command line

class ArgumentParser(argparse.ArgumentParser):
    """argparse with the project's error convention: one line ``error: ...`` and exit status 2."""

    def error(self, message: str) -> typing.NoReturn:
        self.exit(2, f"error: {self.prog}: {message} (see {self.prog} --help)\n")


def _argument_type(name: str, kind: ValueType, spec: Declaration):
    """An argparse ``type`` that parses one item and checks it against the declaration."""
    def parse(text: str) -> Any:
        if kind.scalar is bool:
            raise argparse.ArgumentTypeError("flags take no value")
        try:
            value = kind.scalar(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"expected {'an integer' if kind.scalar is int else 'a number'}"
                                             f", got {text!r}") from None
        try:
            return _check_scalar(name, value, kind.scalar, spec)
        except BiogansError as error:
            raise argparse.ArgumentTypeError(str(error).split(": ", 1)[1]) from None
    parse.__name__ = kind.scalar.__name__  # argparse names the type in its messages
    return parse


def add_options(parser: argparse.ArgumentParser, cls: type, skip: Sequence[str] = (),
                required: Sequence[str] = ()) -> None:
    """Add every declared option of ``cls`` (except ``skip``) to ``parser``, with its help and default."""
    for field in option_fields(cls):
        if field.name in skip:
            continue
        spec, kind, flag = declaration(field), value_type(cls, field), flag_of(field)
        if field.default is not REQUIRED:
            default = field.default
        elif field.default_factory is not REQUIRED:
            default = field.default_factory()
        else:
            default, required = None, (*required, field.name)
        if kind.scalar is bool and kind.sequence is None:
            parser.add_argument(flag, dest=field.name, action=argparse.BooleanOptionalAction, default=default,
                                help=f"{spec.help} (default: {'on' if default else 'off'})")
            continue
        arguments: dict[str, Any] = dict(dest=field.name, metavar=spec.metavar, help=_help(spec, default))
        if field.name in required:
            arguments.update(required=True, help=spec.help)
        else:
            arguments["default"] = default
        if kind.scalar is str and spec.choices is not None:
            arguments["choices"] = spec.choices
            arguments.pop("metavar")
        else:
            arguments["type"] = _argument_type(flag, kind, spec)
        if kind.sequence is not None:
            arguments["nargs"] = kind.length or "+"
        parser.add_argument(flag, **arguments)


THREADS = Declaration("worker processes / torch threads to use", minimum=1, maximum=1024, metavar="N")


def add_threads(parser: argparse.ArgumentParser, default: int = 1) -> None:
    """``--threads N``: the one threads convention of every command (1 to 1024)."""
    parser.add_argument("--threads", type=_argument_type("--threads", ValueType(int), THREADS), default=default,
                        metavar=THREADS.metavar, help=_help(THREADS, default))


def _help(spec: Declaration, default: Any) -> str:
    if default is None:
        return spec.help
    shown = " ".join(map(str, default)) if isinstance(default, (list, tuple)) else default
    return f"{spec.help} (default: {shown})"


def from_args(cls: type, args: argparse.Namespace, **values: Any) -> Any:
    """An options instance from parsed arguments (plus ``values`` for fields set otherwise)."""
    names = {f.name for f in dataclasses.fields(cls)}
    found = {name: getattr(args, name) for name in names if hasattr(args, name) and name not in values}
    return cls(**found, **values)
