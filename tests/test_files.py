from pathlib import Path

import pytest

from lastmile.errors import LastmileError
from lastmile.files import atomic_path, read_json, write_json


def test_atomic_path_leaves_nothing_on_failure(tmp_path: Path) -> None:
    target = tmp_path / "out.json"
    write_json(target, {"v": 1})
    with pytest.raises(RuntimeError), atomic_path(target) as tmp:
        tmp.write_text("half")
        raise RuntimeError("boom")
    assert read_json(target) == {"v": 1}
    assert sorted(p.name for p in tmp_path.iterdir()) == ["out.json"]


def test_reading_a_missing_report_says_what_to_run(tmp_path: Path) -> None:
    with pytest.raises(LastmileError, match="dvc repro"):
        read_json(tmp_path / "x.json")


def test_atomic_writes_get_ordinary_permissions(tmp_path: Path) -> None:
    write_json(tmp_path / "out.json", {})
    assert (tmp_path / "out.json").stat().st_mode & 0o044 == 0o044  # group and others may read
