"""Markdown written from Jinja templates: the PR comment, the model card and the release notes.

Each part keeps its templates beside its code (`review/templates/`, `release/templates/`), where a
user reads and edits them like any Markdown; the code hands them typed values, the templates do the
layout. Every value a template prints is escaped (`escape`), unless it is `Markdown` already: a
column name, a group label or a commit subject cannot open a link, an image, raw HTML or a new
table cell, whatever the data holds (the PR comment is posted from an untrusted artifact:
`review/pr_artifact.py`).
"""

from __future__ import annotations

from functools import cache

import jinja2

ESCAPES = str.maketrans(
    {"\\": "\\\\", "|": "\\|", "[": "\\[", "]": "\\]", "<": "&lt;", ">": "&gt;", "\n": " ", "\r": " "}
)
CELL_CHARS = 60
MISSING = "—"


class Markdown(str):
    """Text that is Markdown already (built by a filter below): printed as it is."""


def escape(text: str) -> str:
    """Plain text as Markdown that reads the same: no link, image, HTML tag, cell break or new line."""
    return text.translate(ESCAPES)


def _finalize(value: object) -> object:
    """Applied by Jinja to every `{{ ... }}`: text is escaped unless it is `Markdown`."""
    if isinstance(value, str) and not isinstance(value, Markdown):
        return escape(value)
    return value


def number(value: object) -> str:
    """1,234 for counts and 0.1234 for rates (the model card's and release notes' figures)."""
    if isinstance(value, bool) or value is None:
        return str(value)
    if isinstance(value, int):
        return f"{value:,}"
    if isinstance(value, float):
        return f"{value:.4f}"
    return str(value)


def cell(value: object) -> Markdown:
    """A table cell of the PR comment: numbers formatted, text escaped and cut to `CELL_CHARS`."""
    if value is None:
        return Markdown(MISSING)
    if isinstance(value, bool):
        return Markdown("yes" if value else "no")
    if isinstance(value, int):
        return Markdown(f"{value:,}")
    if isinstance(value, float):
        return Markdown(f"{value:,.0f}" if value.is_integer() and abs(value) >= 1000 else f"{value:.4f}")
    text = escape(str(value))
    return Markdown(text if len(text) <= CELL_CHARS else text[: CELL_CHARS - 1] + "…")


def code(value: object, chars: int = CELL_CHARS) -> Markdown:
    """A code span (inside it nothing is Markdown): backticks become quotes, pipes stay in the cell."""
    if value is None:
        return Markdown(MISSING)
    text = str(value).replace("`", "'").replace("\n", " ").replace("\r", " ")
    shown = (text[:chars] + ("…" if len(text) > chars else "")).replace("|", "\\|")
    return Markdown(f"`{shown}`")


def percent(value: object) -> Markdown:
    return Markdown(f"{value:.1%}" if isinstance(value, int | float) else MISSING)


def environment(loader: jinja2.BaseLoader) -> jinja2.Environment:
    """The Jinja set-up every template of the project is rendered with (filters, escaping, strictness)."""
    templates = jinja2.Environment(
        loader=loader,
        # Markdown, not HTML: `finalize` escapes for Markdown (only an `.html` template would get HTML's).
        autoescape=jinja2.select_autoescape(["html"]),
        finalize=_finalize,
        undefined=jinja2.StrictUndefined,  # a misspelt value in an edited template is an error, not ""
        trim_blocks=True,
        lstrip_blocks=True,
        keep_trailing_newline=True,
    )
    templates.filters |= {"number": number, "cell": cell, "code": code, "percent": percent}
    return templates


@cache
def templates(package: str) -> jinja2.Environment:
    """The templates shipped in `package`'s `templates/` folder (`lastmile.review`, `lastmile.release`)."""
    return environment(jinja2.PackageLoader(package, "templates"))
