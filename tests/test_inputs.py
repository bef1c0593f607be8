"""Every example study in inputs/ passes validation (keys, elements, files named), so none rots unnoticed."""
from pathlib import Path

import pytest

from pylmp import paths, spec

STUDIES = sorted(p for p in (paths.ROOT / "inputs").glob("*.yaml") if not p.name.startswith("finetune_"))


@pytest.mark.parametrize("path", STUDIES, ids=lambda p: p.name)
def test_example_study_validates(path: Path):
    study = spec.load(path, local_files=False)  # model files may be absent here (weights users download)
    assert study.potentials and study.workflow in path.read_text()
