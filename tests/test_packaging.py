"""The install metadata: pyproject's [project] matches requirements*.txt and ships the packages."""
from __future__ import annotations

import re
import tomllib
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def pins(path: Path) -> set[str]:
    lines = (ln.split("#")[0].strip() for ln in path.read_text().splitlines())
    return {ln for ln in lines if ln and not ln.startswith("-")}


def test_the_dependencies_are_the_requirements_pins():
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    assert set(project["dependencies"]) == pins(ROOT / "requirements.txt")
    assert set(project["optional-dependencies"]["dev"]) == pins(ROOT / "requirements-dev.txt")
    assert all(re.fullmatch(r"[A-Za-z0-9_.-]+==[0-9][\w.]*", p) for p in project["dependencies"])


def test_every_importable_package_is_installed():
    """`pip install -e .` makes core, viz and ui importable from any folder: each of their
    folders holding Python files is matched by the package list (pages/ and tests/ are not;
    viz is a namespace package, which setuptools' find of pyproject includes)."""
    include = tomllib.loads((ROOT / "pyproject.toml").read_text())["tool"]["setuptools"][
        "packages"]["find"]["include"]
    found = {str(p.parent.relative_to(ROOT)).replace("/", ".")
             for top in ("core", "viz", "ui") for p in (ROOT / top).rglob("*.py")
             if "__pycache__" not in p.parts}
    for package in found:
        assert package in include or package.split(".")[0] + ".*" in include, package
    assert {"core", "viz", "ui"} <= found
    assert not any(name.split(".")[0] in ("tests", "pages", "bench") for name in include)
