"""The image's software bill of materials (CycloneDX), from the bento's pinned requirements."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

from lastmile.release import ReleaseError


def image_requirements(requirements: str, python_version: str) -> str:
    """The requirement lines that install in the image: markers evaluated for CPython on Linux x86-64.

    A lock for several Pythons pins e.g. one numpy for 3.11 and another for 3.12+; only one is installed.
    """
    from packaging.markers import Marker
    from packaging.requirements import InvalidRequirement, Requirement

    environment = {
        "implementation_name": "cpython",
        "platform_python_implementation": "CPython",
        "os_name": "posix",
        "sys_platform": "linux",
        "platform_system": "Linux",
        "platform_machine": "x86_64",
        "python_version": python_version,
        "python_full_version": f"{python_version}.0",
    }
    kept = []
    for line in requirements.splitlines():
        text = line.split(" #", 1)[0].strip()
        if not text or text.startswith(("#", "-")):
            continue
        try:
            requirement = Requirement(text)
        except InvalidRequirement as exc:
            raise ReleaseError(f"Unreadable requirement {text!r} in the bento: {exc}") from exc
        marker: Marker | None = requirement.marker
        if marker is None or marker.evaluate(environment):
            requirement.marker = None
            kept.append(str(requirement))
    return "\n".join(kept) + "\n"


def write_sbom(requirements: Path, out: Path, name: str, version: str) -> None:
    """CycloneDX JSON of the Python packages the image installs (from the bento's pinned requirements)."""
    pyproject = out.parent / ".sbom-component.toml"
    # The SBOM's root component is the serving image, not this repository's Python package.
    pyproject.write_text(f'[project]\nname = "{name}"\nversion = "{version}"\n', encoding="utf-8")
    try:
        result = subprocess.run(
            [
                sys.executable,
                "-m",
                "cyclonedx_py",
                "requirements",
                str(requirements),
                "--pyproject",
                str(pyproject),
                "--mc-type",
                "application",
                "--output-reproducible",
                "--output-format",
                "JSON",
                "--output-file",
                str(out),
            ],
            capture_output=True,
            text=True,
            check=False,
        )
    finally:
        pyproject.unlink(missing_ok=True)
    if result.returncode != 0:
        raise ReleaseError(f"Could not write the SBOM from {requirements}: {result.stderr.strip()}")
