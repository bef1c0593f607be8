"""Shared helpers: write a study file, run it through the real CLI (real LAMMPS), read results.json."""
from __future__ import annotations

import json
import textwrap
from pathlib import Path

import pytest

from pylmp.cli import main

REPO = Path(__file__).resolve().parent.parent


@pytest.fixture
def study_file(tmp_path):
    """study_file(yaml_text, name="study") -> Path of a study YAML in tmp_path."""
    def write(text: str, name: str = "study") -> Path:
        path = tmp_path / f"{name}.yaml"
        path.write_text(textwrap.dedent(text))
        return path
    return write


@pytest.fixture
def run_cli(capsys):
    """run_cli(*args) -> (exit code, stdout, stderr) of `pylmp ARGS` in this process."""
    def call(*args):
        code = main([str(a) for a in args])
        captured = capsys.readouterr()
        return code, captured.out, captured.err
    return call


def run_study(folder: Path, text: str, name: str = "study", out: str | None = None) -> Path:
    """Write `text` as folder/<name>.yaml, run it through the CLI (must succeed), return the output folder."""
    (folder / f"{name}.yaml").write_text(textwrap.dedent(text))
    target = folder / (out or name)
    assert main(["run", str(folder / f"{name}.yaml"), "--out", str(target)]) == 0
    return target


def read_results(out: Path) -> dict:
    return json.loads((out / "results.json").read_text())
