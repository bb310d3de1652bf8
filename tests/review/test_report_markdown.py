"""A fork's report Markdown cannot make CML upload a file from the runner.

Each hostile form below is injected into a real report (`tests/review/fixtures/pr-report/`, written by
`lastmile report`) and must be refused with its line. `tests/review/fixtures/cml-nodes.json` records, for
every form, the nodes that remark 13 (the parser inside CML 0.20.6) visits: the check must see each
of them. Regenerate it after changing the corpus (remark@13.0.0 and unist-util-visit@2.0.3 from npm):
`python -m tests.review.test_report_markdown | NODE_PATH=<their node_modules>
node tests/review/fixtures/cml-nodes.js > tests/review/fixtures/cml-nodes.json`.
"""

from __future__ import annotations

import json
import shutil
import sys
from pathlib import Path

import pytest

from lastmile.review.pr_artifact import ArtifactError, pack, validate
from lastmile.review.report_markdown import is_allowed, problems, references

FIXTURES = Path(__file__).resolve().parent / "fixtures"
REAL_REPORT = FIXTURES / "pr-report"
ENVIRON = "/proc/self/environ"
CLIMB = "../" * 12

# (name, Markdown): every way CommonMark (what CML parses) and GitHub's HTML turn text into a link,
# an image or a definition that names a file of the runner.
HOSTILE = [
    ("definition in a blockquote", f"> [x]: {ENVIRON}\n"),
    ("definition in a list item", f"- [x]: {ENVIRON}\n"),
    ("autolink with a made-up scheme", f"<made-up:{CLIMB}proc/self/environ>\n"),
    ("inline image, absolute path", f"![x]({ENVIRON})\n"),
    ("inline link, ../ traversal", f"[x]({CLIMB}etc/passwd)\n"),
    ("destination in angle brackets", "![x](<../secret file.png>)\n"),
    ("definition in angle brackets with a title", '[x]: <../x.png> "title"\n'),
    ("duplicate definition behind an allowed one", f"[a]: roc.png\n[a]: {ENVIRON}\n"),
    ("footnote-style definition", f"[^1]: {ENVIRON}\n"),
    ("entity-encoded slashes", "![x](&#47;proc&#47;self&#x2F;environ)\n"),
    ("backslash-escaped slashes", "![x](\\/proc\\/self\\/environ)\n"),
    ("percent-encoding", "[x](%2e%2e/%2e%2e/etc/passwd)\n"),
    ("file:// URL", f"![x](file://{ENVIRON})\n"),
    ("web address that climbs out", f"[x](https://github.com/{CLIMB}proc/self/environ)\n"),
    ("https autolink that climbs out", f"<https://x/{CLIMB}proc/self/environ>\n"),
    ("data URL", "![x](data:image/png;base64,iVBORw0KGgo=)\n"),
    ("email autolink", "<someone@example.com>\n"),
    ("image inside a link", f"[![x](roc.png)]({ENVIRON})\n"),
    ("link inside an image description", f"![a [x]({ENVIRON}) b](roc.png)\n"),
    ("nested containers", f"> 1. > - [x]: {ENVIRON}\n"),
    ("definition after a list item's blank line", f"1. item\n\n   [x]: {ENVIRON}\n"),
    ("destination on the next line", f"[x]:\n{ENVIRON}\n"),
    ("definition with a title on the next line", f"[x]: {ENVIRON}\n'title'\n"),
    ("full reference link", f"[x][y]\n\n[y]: {ENVIRON}\n"),
    ("tab after a list marker", f"-\t[x]: {ENVIRON}\n"),
    ("link in a heading", f"# [x]({ENVIRON})\n"),
    ("link in emphasis", f"*[x]({ENVIRON} 'title')*\n"),
    ("destination padded with spaces", f"[x](  {ENVIRON}  )\n"),
    ("definition under a setext underline", f"[x]: {ENVIRON}\n===\n"),
    ("an image name followed by traversal", f"[x]: roc.png/{CLIMB}proc/self/environ\n"),
    ("empty destination", "[x]: <>\n"),
    ("an escaped '!' leaves a link", f"\\![y]({ENVIRON})\n"),
    ("deep nesting", ">" * 60 + f" [x]: {ENVIRON}\n"),
    ("raw HTML image", f'<img src="{ENVIRON}">\n'),
    ("raw HTML link inline", 'text <a href="../../x">x</a>\n'),
    ("raw HTML srcset", f'<picture><source srcset="{ENVIRON}"></picture>\n'),
    ("raw HTML link element", "<link rel=stylesheet href=x.css>\n"),
    ("raw HTML: an allowed tag with an attribute", '<details open onclick="x"><summary>s</summary>\n'),
    ("raw HTML block hiding a definition", f"<details><summary>s</summary>\n[x]: {ENVIRON}\n</details>\n"),
]

# Text that looks like a link but is not one for CommonMark (nor for CML): must not be flagged.
HARMLESS = [
    ("indented code", f"    [x]: {ENVIRON}\n    ![x]({ENVIRON})\n"),
    ("fenced code", f"```\n[x]: {ENVIRON}\n```\n"),
    ("inline code", f"`![x]({ENVIRON})`\n"),
    ("escaped brackets", f"\\[x]({ENVIRON}) !\\[y]({ENVIRON})\n"),
    ("setext heading", "Title\n=====\n"),
    ("escaped HTML", f"&lt;img src={ENVIRON}&gt;\n"),
    ("angle brackets in text", "a < b and c > d\n"),
    ("a definition cannot interrupt a paragraph", f"text\n[x]: {ENVIRON}\n"),
]


def _corpus() -> list[str]:
    return [markdown for _, markdown in HOSTILE + HARMLESS]


@pytest.fixture
def folder(tmp_path: Path) -> Path:
    out = tmp_path / "pr-report"
    shutil.copytree(REAL_REPORT, out)
    pack(out, 7)
    return out


def test_the_real_report_is_accepted(folder: Path) -> None:
    markdown = (folder / "report.md").read_text(encoding="utf-8")
    images = {ref.url for ref in references(markdown) if ref.kind == "image"}
    assert {"roc.png", "precision_recall.png", "calibration.png", "confusion.png"} <= images
    assert "<details" in markdown and "<sub>" in markdown  # the HTML the report writes is allowed
    assert validate(folder).pr_number == 7


@pytest.mark.parametrize(("name", "markdown"), HOSTILE, ids=[name for name, _ in HOSTILE])
def test_hostile_forms_are_refused_with_their_line(folder: Path, name: str, markdown: str) -> None:
    report = folder / "report.md"
    text = report.read_text(encoding="utf-8")
    report.write_text(text + "\n" + markdown, encoding="utf-8")
    first_line = text.count("\n") + 2
    with pytest.raises(ArtifactError, match=f"line ({'|'.join(str(first_line + i) for i in range(3))}):"):
        validate(folder)


@pytest.mark.parametrize(("name", "markdown"), HARMLESS, ids=[name for name, _ in HARMLESS])
def test_text_that_is_not_a_link_is_not_flagged(folder: Path, name: str, markdown: str) -> None:
    report = folder / "report.md"
    report.write_text(report.read_text(encoding="utf-8") + "\n" + markdown, encoding="utf-8")
    assert validate(folder).pr_number == 7


def test_the_check_sees_every_node_that_cml_visits() -> None:
    """Differential: remark 13's nodes (recorded from the real parser) are a subset of ours."""
    recorded: dict[str, list[list[object]]] = json.loads((FIXTURES / "cml-nodes.json").read_text())
    assert set(recorded) == set(_corpus()), "the corpus changed: regenerate fixtures/cml-nodes.json"
    for markdown, nodes in recorded.items():
        ours = [(ref.kind, ref.url) for ref in references(markdown)]
        for kind, url, _line in nodes:
            assert (kind, url) in ours, f"remark sees a {kind} to {url!r} in {markdown!r}; the check does not"
    # Every hostile form gives remark a node that the check refuses, but raw HTML (GitHub renders it,
    # CML makes no node of it) and a link in an image description (remark flattens it to the alt text).
    for name, markdown in HOSTILE:
        refused = [url for _, url, _ in recorded[markdown] if not is_allowed(str(url), {"roc.png"})]
        assert refused or "HTML" in name or name == "link inside an image description", name


@pytest.mark.parametrize(
    ("url", "allowed"),
    [
        ("roc.png", True),
        ("https://github.com/acme/app/actions/runs/12", True),
        ("#verdict", True),
        ("./roc.png", False),
        ("ROC.png", False),
        ("http://example.com/", False),
        ("https://example.com/./x", False),
        ("https://example.com/a/..", False),
        ("https://example.com\\..\\x", False),
        ("https://exa mple.com/", False),
        ("", False),
    ],
)
def test_allowed_urls(url: str, allowed: bool) -> None:
    assert is_allowed(url, {"roc.png"}) is allowed


def test_every_problem_is_listed_with_its_line() -> None:
    found = problems(f"ok\n\n> [a]: {ENVIRON}\n\n- ![b](/etc/passwd)\n<img src=x>\n", {"roc.png"})
    assert found == [
        f"line 3: a definition to '{ENVIRON}'",
        "line 5: an image to '/etc/passwd'",
        "line 6: raw HTML '<img src=x>'",
    ]


if __name__ == "__main__":  # the corpus as JSON, for tests/review/fixtures/cml-nodes.js
    sys.stdout.write(json.dumps(_corpus()))
