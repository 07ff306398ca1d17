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


def top_level_imports(directory: str) -> set[str]:
    """The top-level names ``directory``'s modules import (at any depth, in functions too)."""
    names: set[str] = set()
    for path in (ROOT / directory).rglob("*.py"):
        for node in ast.walk(ast.parse(path.read_text(), str(path))):
            if isinstance(node, ast.Import):
                names.update(alias.name.split(".")[0] for alias in node.names)
            elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
                names.add(node.module.split(".")[0])
    return names


def imported_modules(*directories: str) -> set[str]:
    """The third-party modules ``directories`` import."""
    names = set().union(*(top_level_imports(d) for d in directories))
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


def package_imports(package: str) -> set[str]:
    """The first-party packages ``package``'s modules import."""
    return top_level_imports(package) & set(PACKAGES) - {package}


def test_imports_go_one_way_between_the_packages():
    # the shared core imports none of ours; ingest only the core; the workers the core and the client
    assert package_imports("acsync_core") == set()
    assert package_imports("ingest") == {"acsync_core"}
    assert package_imports("workers") <= {"acsync_core", "acclient"}
    assert package_imports("acclient") == set()


def test_ingest_starts_without_the_workers_celery_application(tmp_path):
    import subprocess

    from acsync_core.settings import render_stores_toml
    from tests.factories import store_table

    stores = tmp_path / "stores.toml"
    stores.write_text(render_stores_toml({"mystore": store_table("mystore")}))
    script = (
        "import sys, ingest\n"
        "app = ingest.create_app()\n"
        "assert app.test_client().get('/healthz').status_code == 200\n"
        "print(sorted(m for m in sys.modules if m == 'workers' or m.startswith('workers.')))\n"
    )
    env = {
        "ACSYNC_STORES": str(stores),
        "REDIS_URL": "redis://127.0.0.1:1/0",
        "ACSYNC_SPOOL_PATH": "",
        "PATH": "/usr/bin:/bin",
    }
    done = subprocess.run([sys.executable, "-c", script], cwd=ROOT, env=env, capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == "[]"
