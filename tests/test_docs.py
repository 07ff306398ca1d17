"""The docs that are generated or quoted stay true."""

from __future__ import annotations

from pathlib import Path

from acsync.clidoc import BEGIN, DOC, END, ENV_BEGIN, ENV_END, environment_reference, reference

ROOT = Path(__file__).resolve().parent.parent


def test_operations_command_reference_matches_the_commands():
    text = DOC.read_text()
    section = text[text.index(BEGIN) : text.index(END) + len(END)]
    assert section == reference(), "run: .venv/bin/python -m acsync.clidoc"


def test_operations_environment_table_matches_the_settings():
    text = DOC.read_text()
    section = text[text.index(ENV_BEGIN) : text.index(ENV_END) + len(ENV_END)]
    assert section == environment_reference(), "run: .venv/bin/python -m acsync.clidoc"


def test_readme_opens_with_the_two_commands_and_ci_runs_the_test_one():
    readme = (ROOT / "README.md").read_text()
    first_block = readme.split("```")[1]
    assert [line.split("#")[0].strip() for line in first_block.strip().splitlines()[1:]] == ["make run", "make test"]
    assert "make test" in (ROOT / ".ci" / "run").read_text().splitlines()[-1]
