"""The app image copies every Python package the project installs (a new layer folder that the
Dockerfile forgets would only fail at the first import inside the container)."""

from __future__ import annotations

import re
import tomllib
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def _packages() -> set[str]:
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())
    include = project["tool"]["setuptools"]["packages"]["find"]["include"]
    return {name.rstrip("*") for name in include}


def test_the_image_copies_every_package():
    dockerfile = (ROOT / "docker" / "Dockerfile.app").read_text()
    copied = set(re.findall(r"^COPY (\w+) \./\1$", dockerfile, re.MULTILINE))
    assert copied == _packages()


def test_the_build_context_lets_every_package_in():
    ignore = (ROOT / "docker" / "Dockerfile.app.dockerignore").read_text().split()
    allowed = {line[1:] for line in ignore if line.startswith("!") and "/" not in line}
    assert _packages() <= allowed
