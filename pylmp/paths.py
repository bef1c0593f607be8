"""Folders of the project that the package reads: templates and the potentials registry."""
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
TEMPLATES = ROOT / "templates"
POTENTIALS = ROOT / "potentials"
