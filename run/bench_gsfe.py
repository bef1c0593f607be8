#!/usr/bin/env python
"""Timing benchmark (not a test): a 21-point GSFE curve, perfect -> usf -> isf along [11-2] in the tilted periodic
cell (the first stage of the gsfe workflow's 112 path), for a classical and a machine-learning potential.

  .venv/bin/python run/bench_gsfe.py [-p Ni_u3 -p sevennet-0] [--layers 24] [--out runs/bench_gsfe]

One gsfe.lmp.j2 task per potential, in-process: relax the perfect crystal, then 21 shifts 0 .. b_p, each relaxed
along z (atoms) with lz relaxing to pzz = 0. Prints wall time, seconds per point, gamma_usf and gamma_isf.
"""
from __future__ import annotations

import argparse
import os
import shutil
import time
from pathlib import Path

os.environ.setdefault("OMP_NUM_THREADS", "1")

import numpy as np  # noqa: E402

from pylmp import faults, launch, lammps_env, potentials  # noqa: E402
from pylmp.workflows import gsfe_pure, gsfe_shifts  # noqa: E402

POINTS = 21


def gsfe_task(potential_name: str, layers: int) -> launch.Task:
    settings = {"layers": layers, "repeat": [1, 1], "points": POINTS, "dumps": False}
    points = [p for p in gsfe_pure.path_points("112", "periodic", settings) if p["stage"] == 1]
    variables = {"construction": "periodic", "path_title": f"{POINTS}-point usf/isf stage along [11-2]", "layers": layers,
                 "nx": 1, "ny": 1, "per_plane": 2, "vacuum_A": 0.0, "points": points, "groups": {}, "crystal": "fcc",
                 "box_mode": "iso"}
    return launch.Task(potential_name, "gsfe.lmp.j2", faults.fcc111_cell("Ni", 3.52, layers), potentials.get(potential_name),
                       ["Ni"], variables)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("-p", "--potential", action="append", help="registry names (default Ni_u3 and sevennet-0)")
    parser.add_argument("--layers", type=int, default=24, help="(111) planes of the cell (2 atoms each)")
    parser.add_argument("--out", type=Path, default=Path("runs/bench_gsfe"))
    args = parser.parse_args()
    names = args.potential or ["Ni_u3", "sevennet-0"]
    shutil.rmtree(args.out, ignore_errors=True)
    print(f"LAMMPS {lammps_env.lammps_version()}, {os.cpu_count()} cores; {POINTS}-point GSFE (usf/isf stage), "
          f"tilted periodic cell of {2 * args.layers} atoms, in-process, 1 rank")
    print(f"{'potential':<14} {'wall s':>8} {'s/point':>8} {'usf mJ/m2':>10} {'isf mJ/m2':>10}")
    for name in names:
        task = gsfe_task(name, args.layers)
        start = time.perf_counter()
        outcome = launch.run_tasks([task], args.out)[name]
        wall = time.perf_counter() - start
        if outcome.error:
            print(f"{name:<14} error: {outcome.error}")
            continue
        x = np.linspace(0.0, 1.0, POINTS)
        g = gsfe_shifts.gamma_of(outcome.result, range(POINTS))
        print(f"{name:<14} {wall:8.1f} {wall / POINTS:8.2f} {gsfe_shifts.peak(x, g):10.1f} {g[-1]:10.1f}")


if __name__ == "__main__":
    main()
