"""Every third-party package the project imports is declared in pyproject.toml, with an upper bound."""

from __future__ import annotations

import ast
import re
import sys
import tomllib
from importlib.metadata import packages_distributions
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
PACKAGES = ("acclient", "acsync", "acsync_core", "console", "ingest", "workers")


def imported_modules(*directories: str) -> set[str]:
    names: set[str] = set()
    for directory in directories:
        for path in (ROOT / directory).rglob("*.py"):
            for node in ast.walk(ast.parse(path.read_text(), str(path))):
                if isinstance(node, ast.Import):
                    names.update(alias.name.split(".")[0] for alias in node.names)
                elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
                    names.add(node.module.split(".")[0])
    return names - set(sys.stdlib_module_names) - set(PACKAGES) - {"__future__", "tests", "bench"}


def declared(*groups: str) -> dict[str, str]:
    """Normalized distribution name -> its requirement, from the project's dependencies and ``groups``."""
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    requirements = list(project["dependencies"])
    for group in groups:
        requirements += project["optional-dependencies"][group]
    out = {}
    for requirement in requirements:
        name = re.split(r"[\[<>=!~; ]", requirement, maxsplit=1)[0]
        out[normalize(name)] = requirement
    return out


def normalize(name: str) -> str:
    return re.sub(r"[-_.]+", "-", name).lower()


def distributions_of(module: str) -> set[str]:
    return {normalize(d) for d in packages_distributions().get(module, [module])}


def test_every_package_the_code_imports_is_a_declared_dependency():
    deps = declared("ops")  # flower is imported only by the local run, when installed
    missing = {
        m: sorted(distributions_of(m)) for m in imported_modules(*PACKAGES) if not distributions_of(m) & set(deps)
    }
    assert missing == {}


def test_every_package_the_tests_and_benchmarks_import_is_declared_for_them():
    deps = declared("test", "ops")
    missing = {
        m: sorted(distributions_of(m))
        for m in imported_modules("tests", "bench", "docs")
        if not distributions_of(m) & set(deps)
    }
    assert missing == {}


def test_every_dependency_has_an_upper_bound_at_the_tested_major():
    # tzdata is the IANA time zone data, versioned by year: a newer release is newer data, never an API change
    unbounded = [
        r for name, r in declared("test", "ops").items() if "<" not in r and "==" not in r and name != "tzdata"
    ]
    assert unbounded == []
