"""dvc.yaml and dvc.lock against the code: complete code dependencies, and no stale lock.

A stage's code is the stage module and every `lastmile` module it imports, directly or not
(derived here from the source, so dvc.yaml cannot drift from it). A commit that changes that
code, a configuration file or a parameter without re-running the pipeline leaves dvc.lock stale:
a fresh clone's `make run` would then re-run stages and rewrite tracked files.
"""

from __future__ import annotations

import ast
import hashlib
import re
import shutil
from pathlib import Path
from typing import Any

from lastmile.errors import read_yaml
from tests.conftest import ROOT, run

SRC = ROOT / "src"
STALE_HINT = "run make run and commit dvc.lock"


def _module_file(module: str) -> Path | None:
    base = SRC.joinpath(*module.split("."))
    for candidate in (base.with_suffix(".py"), base / "__init__.py"):
        if candidate.is_file():
            return candidate
    return None


def _imports(module: str) -> set[str]:
    """The `lastmile` modules `module` imports (at any depth of its code, type-checking ones too)."""
    file = _module_file(module)
    assert file is not None, module
    found: set[str] = set()
    for node in ast.walk(ast.parse(file.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            found |= {alias.name for alias in node.names}
        elif isinstance(node, ast.ImportFrom) and node.module:
            package = node.module
            if node.level:  # relative: resolve against this module's package
                parts = module.split(".")[: -node.level if file.name != "__init__.py" else None]
                package = ".".join([*parts, node.module])
            found.add(package)
            # `from lastmile import paths` imports the submodule lastmile.paths.
            found |= {f"{package}.{a.name}" for a in node.names if _module_file(f"{package}.{a.name}")}
    return {name for name in found if name.split(".")[0] == "lastmile" and _module_file(name)}


def stage_code(stage: str) -> set[str]:
    """Source files Python runs for `lastmile.stages.<stage>`: its imports' closure, packages included."""
    seen: set[str] = set()
    todo = [f"lastmile.stages.{stage}"]
    while todo:
        module = todo.pop()
        if module in seen:
            continue
        seen.add(module)
        parts = module.split(".")
        # Importing a.b.c runs a/__init__.py and a/b/__init__.py first.
        todo += [".".join(parts[:i]) for i in range(1, len(parts))]
        todo += sorted(_imports(module))
    return {str(path.relative_to(ROOT)) for path in map(_module_file, seen) if path is not None}


def _entries(stage: dict[str, Any], key: str) -> list[str]:
    return [next(iter(e)) if isinstance(e, dict) else e for e in stage.get(key, [])]


def _stages() -> dict[str, Any]:
    stages: dict[str, Any] = read_yaml((ROOT / "dvc.yaml").read_text(encoding="utf-8"))["stages"]
    return stages


def test_each_stage_depends_on_exactly_the_code_it_runs() -> None:
    for name, stage in _stages().items():
        assert stage["cmd"] == f"lastmile {name}", "one `lastmile <stage>` command per stage"
        declared = {d for d in _entries(stage, "deps") if d.startswith("src/")}
        expected = stage_code(name)
        missing, extra = sorted(expected - declared), sorted(declared - expected)
        assert not missing and not extra, f"dvc.yaml stage {name!r}: add {missing}, remove {extra}"


def test_every_stage_runs_after_the_configuration_check() -> None:
    checked = _entries(_stages()["check"], "outs")
    for name, stage in _stages().items():
        if name != "check":
            assert set(checked) <= set(_entries(stage, "deps")), f"stage {name!r} must depend on {checked}"


def _md5(path: Path) -> str:
    return hashlib.md5(path.read_bytes(), usedforsecurity=False).hexdigest()


def _param(params: dict[str, Any], dotted: str) -> object:
    """A section (`split`) or a dotted key (`evaluation.seed`), as dvc.yaml names parameters."""
    node: object = params
    for part in dotted.split("."):
        node = node.get(part) if isinstance(node, dict) else None
    return node


def stale_entries(root: Path) -> list[str]:
    """What in `root`'s dvc.yaml, params and source files differs from what its dvc.lock records."""
    stages = read_yaml((root / "dvc.yaml").read_text(encoding="utf-8"))["stages"]
    locked = read_yaml((root / "dvc.lock").read_text(encoding="utf-8"))["stages"]
    params = read_yaml((root / "params.yaml").read_text(encoding="utf-8"))
    produced = {
        out
        for stage in stages.values()
        for key in ("outs", "metrics", "plots")
        for out in _entries(stage, key)
    }
    stale = []
    for name, stage in stages.items():
        lock = locked.get(name)
        if lock is None:
            stale.append(f"stage {name!r} has never run")
            continue
        deps = {d["path"]: d for d in lock.get("deps", [])}
        for path in _entries(stage, "deps"):
            if path in produced or "${" in path:
                continue  # another stage's output (hashed when that stage ran), or a parameter
            entry = deps.get(path)
            if entry is None:
                stale.append(f"{path} is a dependency of {name!r} that dvc.lock does not record")
            elif (root / path).is_file() and _md5(root / path) != entry.get("md5"):
                stale.append(f"{path} changed since {name!r} last ran")
        for key, value in lock.get("params", {}).get("params.yaml", {}).items():
            if _param(params, key) != value:
                stale.append(f"params.yaml `{key}` changed since {name!r} last ran")
    return stale


def test_dvc_lock_records_the_committed_code_and_configuration() -> None:
    stale = stale_entries(ROOT)
    assert not stale, f"dvc.lock is stale ({'; '.join(stale)}): {STALE_HINT}."


def test_a_change_committed_without_its_lock_is_caught(repo_copy: Path) -> None:
    assert stale_entries(repo_copy) == []
    model = repo_copy / "src/lastmile/model.py"
    model.write_text(model.read_text(encoding="utf-8") + "\n# a change\n", encoding="utf-8")
    params = repo_copy / "params.yaml"
    params.write_text(params.read_text(encoding="utf-8").replace("seed: 42", "seed: 7", 1), encoding="utf-8")
    stale = stale_entries(repo_copy)
    assert "src/lastmile/model.py changed since 'train' last ran" in stale
    assert "src/lastmile/model.py changed since 'evaluate' last ran" in stale
    assert "params.yaml changed since 'check' last ran" in stale
    assert "params.yaml `split` changed since 'split' last ran" in stale


def test_a_label_dvc_writes_unquoted_in_the_lock_is_no_change(trained_repo: Path, tmp_path: Path) -> None:
    """DVC records parameters in dvc.lock with its YAML 1.2 writer: the label "yes" unquoted, which a
    YAML 1.1 reader takes for True. A project whose positive label is "yes" is not stale."""
    repo = tmp_path / "repo"
    shutil.copytree(trained_repo, repo, symlinks=True)
    params = repo / "params.yaml"
    params.write_text(re.sub(r"(?m)^  positive: .*$", '  positive: "yes"', params.read_text()))
    run(["dvc", "commit", "--force", "--quiet"], cwd=repo)  # DVC writes dvc.lock, as `dvc repro` would
    assert "positive: yes\n" in (repo / "dvc.lock").read_text()
    assert stale_entries(repo) == []
