"""Editing params.yaml and dvc.yaml in place: the values change, the comments and layout stay.

ruamel.yaml's round trip keeps comments, key order, quoting and flow lists, so loading and
dumping an untouched file gives it back byte for byte (a test checks it); that is what makes
`lastmile init` idempotent and its diffs small.
"""

from __future__ import annotations

import io
from collections.abc import Callable
from pathlib import Path
from typing import Any

from ruamel.yaml import YAML
from ruamel.yaml.comments import CommentedMap, CommentedSeq
from ruamel.yaml.representer import RoundTripRepresenter

from lastmile.errors import LastmileError
from lastmile.files import write_text


class _Representer(RoundTripRepresenter):
    """ruamel's, but None is written `null`: `comment_prefix:` with nothing after it read as a blank
    left to fill in. A subclass, so DVC's own ruamel dumps in the same process are unchanged."""


_Representer.add_representer(
    type(None), lambda representer, _: representer.represent_scalar("tag:yaml.org,2002:null", "null")
)


def _yaml() -> YAML:
    yaml = YAML()
    yaml.Representer = _Representer
    yaml.preserve_quotes = True
    yaml.width = 4096  # long flow lists stay on one line
    yaml.indent(mapping=2, sequence=4, offset=2)
    return yaml


def load(path: Path) -> CommentedMap:
    try:
        document = _yaml().load(path.read_text(encoding="utf-8"))
    except FileNotFoundError as exc:
        raise LastmileError(f"{path} not found: run this from the project's root folder.") from exc
    except Exception as exc:  # ruamel's parser and scanner errors share no public base class
        raise LastmileError(f"{path} is not valid YAML: {exc}") from exc
    if not isinstance(document, CommentedMap):
        raise LastmileError(f"{path} must be a YAML mapping.")
    return document


def dump(document: CommentedMap) -> str:
    buffer = io.StringIO()
    _yaml().dump(document, buffer)
    return buffer.getvalue()


def save(path: Path, document: CommentedMap) -> bool:
    """Write `document` to `path` if it differs from what is there; return whether it changed."""
    text = dump(document)
    if path.exists() and path.read_text(encoding="utf-8") == text:
        return False
    write_text(path, text)
    return True


def flow_list(items: list[Any]) -> CommentedSeq:
    """A list written `[a, b]` on one line, as params.yaml writes its feature lists."""
    seq = CommentedSeq(items)
    seq.fa.set_flow_style()
    return seq


def parse(text: str) -> Any:
    """A YAML snippet as ruamel nodes, comments included, to put into a document."""
    return _yaml().load(text)


def prune(parent: CommentedMap, key: str, keep: Callable[[str], bool]) -> None:
    """Drop the entries of `parent[key]` not to `keep`; an emptied mapping is written `{}`."""
    node = parent.get(key)
    if not isinstance(node, CommentedMap):
        return
    for name in [name for name in node if not keep(name)]:
        del node[name]
    if not node:
        parent[key] = CommentedMap()  # ruamel would write an emptied block mapping on its own line


def set_comment(node: CommentedMap, key: str, text: str) -> None:
    """Make the end-of-line comment of `node[key]` say `text`, keeping the blank lines after it."""
    token = node.ca.items.get(key, [None, None, None, None])[2]
    if token is None:
        node.yaml_add_eol_comment(text, key)
        return
    # The token runs from the comment (if any) to the next key: keep what follows its first line.
    after = token.value.partition("\n")[2]
    token.value = f"# {text}\n{after}"


def replace(document: CommentedMap, key: str, node: CommentedMap) -> None:
    """Put `node` at `document[key]`, keeping the comment lines that followed the old value (they
    belong to the next section, but ruamel stores them on the old value's last key)."""
    trailing = _last_comment(document.get(key))
    document[key] = node
    if trailing is not None:
        parent, last = _last_key(node)
        if parent is not None and parent.ca.items.get(last, [None, None, None])[2] is None:
            parent.ca.items[last] = [None, None, trailing, None]


def _last_key(node: Any) -> tuple[CommentedMap | None, Any]:
    parent, last = None, None
    while isinstance(node, CommentedMap) and node:
        parent, last = node, next(reversed(node))
        node = node[last]
    return parent, last


def _last_comment(node: Any) -> Any:
    parent, last = _last_key(node)
    if parent is None:
        return None
    return parent.ca.items.get(last, [None, None, None])[2]


def section(document: CommentedMap, key: str) -> CommentedMap:
    node = document.get(key)
    if not isinstance(node, CommentedMap):
        node = CommentedMap()
        document[key] = node
    return node
