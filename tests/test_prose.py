"""The Jinja set-up of every Markdown template: values are escaped unless a filter made them Markdown."""

from __future__ import annotations

import re

import jinja2
import pytest

from lastmile import prose
from lastmile.review.report_markdown import html, references


def _render(source: str, **values: object) -> str:
    return prose.environment(jinja2.DictLoader({"t.md.j2": source})).get_template("t.md.j2").render(**values)


@pytest.mark.parametrize(
    "hostile",
    [
        "![x](/proc/self/environ)",
        "[x](../../etc/passwd)",
        "<img src=x onerror=alert(1)>",
        "<https://example.com/../../x>",
        "a\\|b",
        "line\n[d]: /etc/passwd",
    ],
)
def test_printed_text_cannot_open_a_link_an_image_html_or_a_cell(hostile: str) -> None:
    rendered = _render(
        "| {{ v }} | {{ v | cell }} | {{ v | code }} |\n\n**{{ v }}**: {{ [v, v] | join(', ') }}\n", v=hostile
    )
    assert list(references(rendered)) == [] and list(html(rendered)) == []
    first = rendered.splitlines()[0]  # GitHub splits a table row at every pipe not right after a backslash
    assert len(re.findall(r"(?<!\\)\|", first)) == 4, first


def test_filters_format_as_the_comment_shows_them() -> None:
    assert [prose.cell(v) for v in (None, True, 1234, 0.91234, 12345.0, "<=50K")] == [
        "—",
        "yes",
        "1,234",
        "0.9123",
        "12,345",
        "&lt;=50K",
    ]
    assert prose.cell("x" * 100) == "x" * 59 + "…"
    assert prose.code("a`b|c") == "`a'b\\|c`" and prose.code("abcdef", 3) == "`abc…`"
    assert prose.percent(0.255) == "25.5%" and prose.percent(None) == "—"
    assert prose.number(1234) == "1,234" and prose.number(0.5) == "0.5000"


def test_markdown_built_by_a_filter_is_printed_as_it_is() -> None:
    assert _render("{{ v | code }} {{ v }}", v="x|y") == "`x\\|y` x\\|y"
    assert _render("{{ v }}", v=prose.Markdown("**bold** [link](https://example.com)")) == (
        "**bold** [link](https://example.com)"
    )


def test_a_misspelt_value_is_an_error() -> None:
    with pytest.raises(jinja2.UndefinedError):
        _render("{{ comment.verdikt }}", comment={})
