"""The one exception type users see: a message that says what is wrong and what to do."""

from __future__ import annotations

import functools
import re
import typing
from collections.abc import Iterable, Mapping, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any, TypeVar

if TYPE_CHECKING:
    from pydantic import BaseModel

# Only the standard library at import time: the PR comment job imports this module (through
# review/pr_artifact.py) with nothing but markdown-it-py installed.
Config = TypeVar("Config", bound="BaseModel")

# A value quoted in a message or a report is cut to this many characters: a 200,000-character
# cell must not become a 200,000-character line.
SHOWN_CHARS = 60


class LastmileError(Exception):
    """A problem with the user's data, parameters or environment, explained in plain words.

    The CLI prints the message without a traceback and exits with ``exit_code``.
    """

    exit_code = 1


def shorten(value: object, limit: int = SHOWN_CHARS) -> str:
    """`value` as text, cut to `limit` characters with the number of characters left out."""
    text = str(value)
    if len(text) <= limit:
        return text
    return f"{text[:limit]}… ({len(text) - limit:,} more characters)"


def quoted(values: Iterable[object], limit: int = 10) -> str:
    """`'a', 'b', ... and 3 more`: a short list of shortened, quoted values."""
    items = [f"'{shorten(v)}'" for v in values]
    more = f" and {len(items) - limit} more" if len(items) > limit else ""
    return ", ".join(items[:limit]) + more


def _keys_at(model: Any, loc: Sequence[str]) -> list[str]:
    """The keys a pydantic model accepts at `loc` (through fields and dict values), or none."""
    free_key = False
    for part in loc:
        if free_key:  # a dict's own key (a column, a feature): its values have the model
            free_key = False
            continue
        fields = getattr(model, "model_fields", None)
        if fields is None or part not in fields:
            return []
        model = fields[part].annotation
        if typing.get_origin(model) is dict:
            model, free_key = typing.get_args(model)[1], True
    return [] if free_key else list(getattr(model, "model_fields", {}))


def one_line(text: object, limit: int = 300) -> str:
    """A multi-line message (a YAML parser's, with its caret drawing) as one shortened line."""
    return shorten(" ".join(str(text).split()), limit)


def config_error(path: object, problems: Sequence[Mapping[str, Any]], model: Any = None) -> LastmileError:
    """One paragraph from pydantic-style problems (`loc`, `msg`, `input`): file, key, what is allowed.

    Takes `ValidationError.errors()`, whose messages carry no documentation links (`str(error)` does);
    `model` (the root pydantic model) lets an unknown key be answered with the keys allowed there.
    """
    described = []
    for problem in problems:
        loc = [str(part) for part in problem["loc"] if part != "[key]"]
        key = ".".join(loc) or "(top level)"
        message = str(problem["msg"]).removeprefix("Value error, ")
        if problem.get("type") == "extra_forbidden":
            allowed = _keys_at(model, loc[:-1])
            message = "unknown key" + (f"; allowed here: {', '.join(allowed)}" if allowed else "")
        shown = problem.get("input")
        got = "" if isinstance(shown, dict | list) or shown is None else f" (found '{shorten(shown)}')"
        described.append(f"`{key}`: {shorten(message, 300)}{got}")
    return LastmileError(f"{path} is invalid: {'; '.join(described)}.")


# YAML 1.2's core schema, as DVC reads (ruamel.yaml) and rewrites params.yaml (`dvc exp run -S`):
# only true/false are booleans, so DVC writes the label "yes" unquoted. PyYAML alone reads YAML 1.1,
# where yes, no, on and off are booleans and 1:20 is a number. Patterns are ruamel.yaml's for 1.2.
_CORE_SCHEMA = {
    "bool": (r"true|True|TRUE|false|False|FALSE", "tTfF"),
    "int": (r"[-+]?0b[0-1_]+|[-+]?0o?[0-7_]+|[-+]?[0-9_]+|[-+]?0x[0-9a-fA-F_]+", "-+0123456789"),
    "float": (
        r"[-+]?[0-9][0-9_]*\.[0-9_]*(?:[eE][-+]?[0-9]+)?|[-+]?[0-9][0-9_]*[eE][-+]?[0-9]+"
        r"|[-+]?\.[0-9_]+(?:[eE][-+][0-9]+)?|[-+]?\.(?:inf|Inf|INF)|\.(?:nan|NaN|NAN)",
        "-+0123456789.",
    ),
}


@functools.cache
def _core_schema_loader() -> Any:
    import yaml

    class CoreSchemaLoader(yaml.SafeLoader):
        def construct_yaml_int(self, node: Any) -> int:
            # YAML 1.2: 010 is ten (1.1: eight); 0o, 0x and 0b prefixes; no sexagesimal.
            text = str(self.construct_scalar(node)).replace("_", "")
            sign = -1 if text.startswith("-") else 1
            digits = text.lstrip("+-")
            base = {"0b": 2, "0o": 8, "0x": 16}.get(digits[:2], 10)
            return sign * int(digits[2:] if base != 10 else digits, base)

    replaced = {f"tag:yaml.org,2002:{kind}" for kind in _CORE_SCHEMA}
    CoreSchemaLoader.yaml_implicit_resolvers = {
        first: [(tag, pattern) for tag, pattern in resolvers if tag not in replaced]
        for first, resolvers in yaml.SafeLoader.yaml_implicit_resolvers.items()
    }
    for kind, (pattern, first_chars) in _CORE_SCHEMA.items():
        CoreSchemaLoader.add_implicit_resolver(
            f"tag:yaml.org,2002:{kind}", re.compile(f"^(?:{pattern})$"), list(first_chars)
        )
    CoreSchemaLoader.add_constructor("tag:yaml.org,2002:int", CoreSchemaLoader.construct_yaml_int)
    return CoreSchemaLoader


def read_yaml(text: str) -> Any:
    """YAML text as DVC reads it (YAML 1.2): the one reader of params.yaml and contract.yaml.

    Raises `yaml.YAMLError` on text that is not YAML.
    """
    import yaml

    return yaml.load(text, Loader=_core_schema_loader())  # noqa: S506 (a SafeLoader)


def load_config(path: Path, model: type[Config], missing: str) -> Config:
    """A YAML configuration file (params.yaml, contract.yaml) as its pydantic model.

    Every failure is a `LastmileError` of one paragraph: `missing` (what to do) when the file is
    absent, the parser's message for bad YAML, and the key, the rule and the value for a bad value.
    """
    import yaml
    from pydantic import ValidationError

    try:
        raw = read_yaml(path.read_text(encoding="utf-8"))
    except FileNotFoundError as exc:
        raise LastmileError(f"{path} not found: {missing}") from exc
    except yaml.YAMLError as exc:
        raise LastmileError(f"{path} is not valid YAML: {one_line(exc)}") from exc
    try:
        return model.model_validate(raw)
    except ValidationError as exc:
        raise config_error(path, exc.errors(), model) from None
