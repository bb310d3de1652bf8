"""The one exception type users see: a message that says what is wrong and what to do."""

from __future__ import annotations

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


def load_config(path: Path, model: type[Config], missing: str) -> Config:
    """A YAML configuration file (params.yaml, contract.yaml) as its pydantic model.

    Every failure is a `LastmileError` of one paragraph: `missing` (what to do) when the file is
    absent, the parser's message for bad YAML, and the key, the rule and the value for a bad value.
    """
    import yaml
    from pydantic import ValidationError

    try:
        raw = yaml.safe_load(path.read_text(encoding="utf-8"))
    except FileNotFoundError as exc:
        raise LastmileError(f"{path} not found: {missing}") from exc
    except yaml.YAMLError as exc:
        raise LastmileError(f"{path} is not valid YAML: {one_line(exc)}") from exc
    try:
        return model.model_validate(raw)
    except ValidationError as exc:
        raise config_error(path, exc.errors(), model) from None
