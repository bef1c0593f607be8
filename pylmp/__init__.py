"""pylmp: templated LAMMPS studies of Ni and Ni alloys with classical and machine-learning potentials.

Python API (pylmp.api): pylmp.run(study, out=...) -> results dict; pylmp.load(study) -> pylmp.Study.
"""

__version__ = "0.1.0"


def __getattr__(name):
    # the API is imported on first use, so `import pylmp` (and the CLI's start) stays light
    if name in ("run", "load", "Study"):
        from pylmp import api

        return getattr(api, name)
    raise AttributeError(f"module 'pylmp' has no attribute {name!r}")
