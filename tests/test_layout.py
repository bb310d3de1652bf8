"""The package layout: imports only point down, and CONTRIBUTING's layout section matches the tree.

Each part of `src/lastmile/` has a rank; a module may import its own part or a part of lower rank.
Parts of the same rank do not know each other, and no stage imports another stage.
"""

from __future__ import annotations

import ast
import re
from pathlib import Path

import pytest

PACKAGE = Path(__file__).resolve().parents[1] / "src" / "lastmile"
CONTRIBUTING = PACKAGE.parents[1] / "CONTRIBUTING.md"

# part -> rank. `ground` is every module at the top of the package except the CLI.
RANKS = {
    "ground": 0,
    "evaluation": 1,
    "monitoring": 1,
    "stages": 2,
    "review": 2,
    "serving": 2,
    "release": 3,
    "project": 3,
    "cli": 4,
}


def _modules() -> list[Path]:
    return sorted(PACKAGE.rglob("*.py"))


def _name(path: Path) -> str:
    parts = path.relative_to(PACKAGE.parent).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def _part(module: str) -> str:
    parts = module.split(".")[1:]
    if not parts:
        return "ground"
    if (PACKAGE / parts[0]).is_dir():
        return parts[0]
    return "cli" if parts[0] == "cli" else "ground"


def _imports(path: Path) -> set[str]:
    """The lastmile modules `path` imports (`from lastmile.x import y` names module y when it is one)."""
    found: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names if alias.name.split(".")[0] == "lastmile")
        elif isinstance(node, ast.ImportFrom) and node.module and node.module.split(".")[0] == "lastmile":
            for alias in node.names:
                candidate = f"{node.module}.{alias.name}"
                relative = Path(*candidate.split(".")[1:])
                is_module = (PACKAGE / relative).with_suffix(".py").exists() or (PACKAGE / relative).is_dir()
                found.add(candidate if is_module else node.module)
    return found


def _violations() -> list[str]:
    problems = []
    for path in _modules():
        importer = _name(path)
        mine = _part(importer)
        for target in sorted(_imports(path)):
            theirs = _part(target)
            if mine not in RANKS or theirs not in RANKS:
                problems.append(f"{importer}: {mine!r} or {theirs!r} has no rank in tests/test_layout.py")
            elif mine == theirs == "stages" and target != "lastmile.stages" and importer != target:
                problems.append(f"{importer} imports {target}: stages meet only through dvc.yaml's files")
            elif mine != theirs and RANKS[theirs] >= RANKS[mine]:
                problems.append(f"{importer} ({mine}) imports {target} ({theirs}): imports only point down")
    return problems


def test_imports_only_point_down() -> None:
    assert _violations() == []


def test_the_rule_catches_an_upward_import(tmp_path: Path) -> None:
    """The checker itself: an evaluation module importing the review part is reported."""
    assert _part("lastmile.review.gate") == "review"
    assert _part("lastmile.params") == "ground"
    assert _part("lastmile.cli") == "cli"
    assert RANKS[_part("lastmile.review.gate")] > RANKS[_part("lastmile.evaluation.slices")]
    probe = tmp_path / "probe.py"
    probe.write_text("from lastmile.review import gate\nfrom lastmile import paths\n")
    assert _imports(probe) == {"lastmile.review.gate", "lastmile.paths"}


@pytest.mark.parametrize("package", sorted(p.parent for p in PACKAGE.rglob("__init__.py")), ids=str)
def test_every_package_says_what_it_is_for(package: Path) -> None:
    docstring = ast.get_docstring(ast.parse((package / "__init__.py").read_text(encoding="utf-8")))
    assert docstring, f"{package.relative_to(PACKAGE.parent)}/__init__.py needs a one-line docstring"


def test_contributing_layout_names_every_part_and_module() -> None:
    layout = CONTRIBUTING.read_text(encoding="utf-8").split("## Layout", 1)[1].split("\n## ", 1)[0]
    missing = [
        str(path.relative_to(PACKAGE))
        for path in _modules()
        if path.name != "__init__.py" and not re.search(rf"\b{re.escape(path.stem)}\b", layout)
    ]
    missing += [
        f"{d.name}/"
        for d in PACKAGE.iterdir()
        if d.is_dir() and (d / "__init__.py").exists()
        if f"{d.name}/" not in layout
    ]
    assert missing == [], f"CONTRIBUTING.md's layout section does not mention {missing}"


def test_the_longest_test_files_listed_to_start_first_exist() -> None:
    """A renamed long file would silently drop back to the end of the suite (tests/conftest.py)."""
    from tests.conftest import LONGEST_FILES, ROOT

    assert [name for name in LONGEST_FILES if not (ROOT / name).is_file()] == []
