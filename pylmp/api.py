"""The Python API: the same studies as the command line, from a script or a notebook.

    import pylmp
    results = pylmp.run("inputs/ni_eos.yaml", potentials=["Ni_u3"])          # a study file
    results = pylmp.run({"workflow": "eos", "material": {"structure": atoms},  # a dict with the YAML's keys,
                         "potentials": ["NiAlH_jea"]}, out="runs/mine")       # ASE Atoms as material.structure

Errors raise pylmp.errors.PylmpError with the one-line message the CLI prints; finished tasks stay in `out`, so
calling run again resumes.
"""
from __future__ import annotations

from pathlib import Path

from pylmp import spec, study as study_run
from pylmp.spec import Study


def load(study: str | Path | dict | Study, potentials: list[str] | None = None, np: int | None = None,
         mode: str | None = None) -> Study:
    """The validated Study of a YAML path, a dict with the YAML's keys, or a Study (returned as it is)."""
    if isinstance(study, Study):
        return study
    if isinstance(study, dict):
        return spec.from_dict(study, potential_override=potentials, np=np, mode=mode)
    return spec.load(study, potential_override=potentials, np=np, mode=mode)


def default_out(st: Study) -> Path:
    return Path("runs") / st.name


def run(study: str | Path | dict | Study, out: str | Path | None = None, potentials: list[str] | None = None,
        np: int | None = None, mode: str | None = None, jobs: int | None = None) -> dict | None:
    """Run (or resume) a study; returns results.json's content, one entry per potential (None on the other ranks of
    an mpirun task farm). out defaults to runs/<study name>; jobs: tasks at a time (default the cores available)."""
    if isinstance(potentials, str):
        potentials = [potentials]
    st = load(study, potentials, np, mode)
    return study_run.run(st, Path(out) if out is not None else default_out(st), jobs=jobs)
