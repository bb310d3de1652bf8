"""Every URL that CML would try to upload from a report's Markdown, with its line.

`cml comment` (CML 0.20.6, `publishLocalFiles` in its `src/cml.js`) parses the comment with remark 13
(CommonMark, no GitHub extensions) and visits every `definition`, `image` and `link` node of the tree,
wherever it sits: in blockquotes, list items, link text and image descriptions. For each URL that does
not start with `data:image/` it uploads the file at `path.resolve(dirname(report.md), url)` when that
file exists. It has no notion of a "local" link: `https://host/../../../../proc/self/environ` is a path
too. So a URL is safe only when it names one of the artifact's own images exactly, or when it resolves
to a path inside the artifact's flat folder that cannot exist (a web address without `.` or `..`
segments: `<folder>/https:/host/...`).

markdown-it-py in CommonMark mode builds the same tree (both parsers pass the CommonMark spec), set up
here to hide nothing from the check: every reference definition is reported, duplicates and unused
ones included (`inline_definitions`); no URL is dropped (`validateLink`) or rewritten
(`normalizeLink`), so the URL checked is the one CML resolves (escapes and entities decoded, nothing
percent-decoded); and no nesting limit cuts a document short (too deep a document is refused instead).
Raw HTML never makes a node CML uploads, but GitHub renders it, so only the few attribute-free tags the
report writes are allowed, and the text inside an HTML block is checked as Markdown as well.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass

from markdown_it import MarkdownIt
from markdown_it.token import Token

# Tags `lastmile report` writes; anything else (attributes, <img>, <a>, <source srcset>) is refused.
ALLOWED_TAG = re.compile(r"</?(?:details|summary|sub)>|<details open>")
WEB_ADDRESS = re.compile(r"https://[A-Za-z0-9.-]+(?::[0-9]{1,5})?(?:[/?#][A-Za-z0-9._~!$&'()*+,;=:@%/?#-]*)?")
ANCHOR = re.compile(r"#[A-Za-z0-9_-]+")


@dataclass(frozen=True)
class Reference:
    """A node CML visits: its kind (`definition`, `image`, `link`), URL and 1-based line."""

    kind: str
    url: str
    line: int


def _parser() -> MarkdownIt:
    # maxNesting: markdown-it stops parsing silently past it, remark never does; a document too deep
    # for Python's recursion raises RecursionError instead, which the caller refuses.
    md = MarkdownIt("commonmark", {"inline_definitions": True, "maxNesting": 1_000_000})
    md.validateLink = lambda url: True  # type: ignore[method-assign]
    md.normalizeLink = lambda url: url  # type: ignore[method-assign]
    return md


_MD = _parser()


def _inline(tokens: list[Token], line: int) -> Iterator[tuple[Token, int]]:
    """Inline tokens in order with their line; link text and image descriptions included."""
    for token in _flatten(tokens):
        yield token, line
        if token.type in ("softbreak", "hardbreak"):
            line += 1


def _flatten(tokens: list[Token]) -> Iterator[Token]:
    for token in tokens:
        yield token
        yield from _flatten(token.children or [])


def references(markdown: str, first_line: int = 1) -> Iterator[Reference]:
    """Every definition, image and link of the Markdown, as CML's tree walk would see them."""
    for token in _MD.parse(markdown):
        line = first_line + (token.map[0] if token.map else 0)
        if token.type == "definition":
            yield Reference("definition", str(token.meta["url"]), line)
        elif token.type == "html_block":
            # Inside an HTML block CommonMark sees no Markdown; check the lines after its first as if
            # it did, in case another parser ends the block sooner.
            yield from references(token.content.partition("\n")[2], line + 1)
        elif token.type == "inline":
            for child, child_line in _inline(token.children or [], line):
                if child.type == "link_open":
                    yield Reference("link", str(child.attrs.get("href", "")), child_line)
                elif child.type == "image":
                    yield Reference("image", str(child.attrs.get("src", "")), child_line)


def html(markdown: str) -> Iterator[tuple[str, int]]:
    """Each raw HTML tag of the Markdown that is not one the report writes, with its line."""
    for token in _MD.parse(markdown):
        line = 1 + (token.map[0] if token.map else 0)
        pieces = [(token, line)] if token.type == "html_block" else []
        if token.type == "inline":
            pieces = [(c, ln) for c, ln in _inline(token.children or [], line) if c.type == "html_inline"]
        for piece, piece_line in pieces:
            for start in (m.start() for m in re.finditer("<", piece.content)):
                if not ALLOWED_TAG.match(piece.content, start):
                    tag = piece.content[start:].split(">", 1)[0][:80] + ">"
                    yield tag, piece_line + piece.content.count("\n", 0, start)


def is_allowed(url: str, images: set[str]) -> bool:
    """Whether CML may see `url`: one of the artifact's images, a web address or an anchor."""
    if url in images or ANCHOR.fullmatch(url):
        return True
    return bool(WEB_ADDRESS.fullmatch(url)) and not {".", ".."} & set(url.split("/"))


def problems(markdown: str, images: set[str]) -> list[str]:
    """One line per refused reference or tag: `line N: ...`; empty when the Markdown is safe to post."""
    try:
        found = [
            f"line {ref.line}: {'an' if ref.kind == 'image' else 'a'} {ref.kind} to {ref.url[:200]!r}"
            for ref in references(markdown)
            if not is_allowed(ref.url, images)
        ]
        found += [f"line {line}: raw HTML {tag!r}" for tag, line in html(markdown)]
    except RecursionError:
        return ["nested too deeply to check"]
    return found
