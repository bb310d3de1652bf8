"""What the image installs and its CycloneDX SBOM."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from lastmile.release import ReleaseError, sbom


def test_image_requirements_keep_what_installs_on_linux_cpython() -> None:
    pins = "\n".join(
        [
            "# generated",
            "--index-url https://pypi.org/simple",
            'numpy==2.4.6 ; python_full_version < "3.12"',
            'numpy==2.5.5 ; python_full_version >= "3.12"',
            'pywin32==311 ; sys_platform == "win32"',
            "scikit-learn==1.9.1  # via lastmile",
        ]
    )
    assert sbom.image_requirements(pins, "3.11").split() == ["numpy==2.4.6", "scikit-learn==1.9.1"]
    assert sbom.image_requirements(pins, "3.13").split() == ["numpy==2.5.5", "scikit-learn==1.9.1"]
    with pytest.raises(ReleaseError, match="Unreadable requirement"):
        sbom.image_requirements("numpy=2", "3.11")


def test_sbom_names_the_image_and_each_pinned_package(tmp_path: Path) -> None:
    requirements = tmp_path / "requirements.txt"
    requirements.write_text("scikit-learn==1.9.1\nnumpy==2.4.6\n")
    out = tmp_path / "sbom.cdx.json"
    sbom.write_sbom(requirements, out, "ghcr.io/acme/lastmile", "1.2.3")
    bom = json.loads(out.read_text())
    assert bom["metadata"]["component"]["name"] == "ghcr.io/acme/lastmile"
    assert bom["metadata"]["component"]["version"] == "1.2.3"
    purls = sorted(c["purl"] for c in bom["components"])
    assert purls == ["pkg:pypi/numpy@2.4.6", "pkg:pypi/scikit-learn@1.9.1"]
    assert sorted(p.name for p in tmp_path.iterdir()) == ["requirements.txt", "sbom.cdx.json"]
    with pytest.raises(ReleaseError, match="Could not write the SBOM"):
        sbom.write_sbom(tmp_path / "missing.txt", tmp_path / "other.json", "x", "1.0.0")
