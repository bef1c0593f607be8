"""Folders of the project that the package reads: templates, the potentials registry, data files named in studies."""
from __future__ import annotations

from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
TEMPLATES = ROOT / "templates"
POTENTIALS = ROOT / "potentials"


def project_file(path: str | Path) -> Path:
    """A data file named in a study (e.g. data/dft/ni_pbe_faults.json): relative paths are from the project root."""
    p = Path(path)
    return p if p.is_absolute() else ROOT / p
