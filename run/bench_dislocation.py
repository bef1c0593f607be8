#!/usr/bin/env python
"""Timing benchmark (not a test): the 1,020,000-atom dissociated screw dislocation of inputs/ni_dislocation_1M.yaml,
run through `pylmp run --np N` (each task under `mpirun -np N lmp`), the minimization capped at --iterations.

  .venv/bin/python run/bench_dislocation.py [--np 2] [--iterations 150] [--out runs/bench_dislocation]

Prints atoms, wall times (whole study, the dislocation task, its minimization loop), atom-steps/s (atoms x force
evaluations / minimization loop time) and the partial separation measured by DXA and CNA against the elastic estimate.
"""
from __future__ import annotations

import argparse
import json
import re
import subprocess
import sys
import time
from pathlib import Path

import yaml

REPO = Path(__file__).resolve().parent.parent


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--np", type=int, default=2, help="MPI ranks per task")
    parser.add_argument("--iterations", type=int, default=150, help="cap on conjugate-gradient iterations")
    parser.add_argument("--study", type=Path, default=REPO / "inputs" / "ni_dislocation_1M.yaml")
    parser.add_argument("--out", type=Path, default=Path("runs/bench_dislocation"))
    args = parser.parse_args()
    study = yaml.safe_load(args.study.read_text())
    study["settings"]["max_iterations"] = args.iterations
    args.out.mkdir(parents=True, exist_ok=True)
    path = args.out / "study.yaml"
    path.write_text(yaml.safe_dump(study, sort_keys=False))
    start = time.perf_counter()
    subprocess.run([sys.executable, "-m", "pylmp", "run", str(path), "--np", str(args.np), "--out", str(args.out / "run")],
                   check=True)
    wall = time.perf_counter() - start
    pot = study["potentials"][0]
    res = json.loads((args.out / "run" / "results.json").read_text())[pot]
    folder = args.out / "run" / pot / "dislocation"
    log = (folder / "log.lammps").read_text()
    loop = [float(t) for t in re.findall(r"Loop time of ([\d.eE+-]+) on", log)][-1]  # the minimization
    iters, evals = map(int, re.findall(r"Iterations, force evaluations = (\d+) (\d+)", log)[-1])
    task_s = float((folder / "seconds.txt").read_text()) if (folder / "seconds.txt").exists() else float("nan")
    n = res["natoms"]
    print(f"atoms                       {n}")
    print(f"MPI ranks                   {args.np}")
    print(f"study wall (all tasks + analysis)  {wall:.1f} s")
    print(f"dislocation task wall       {task_s:.1f} s")
    print(f"minimization loop           {loop:.1f} s, {iters} iterations, {evals} force evaluations")
    print(f"atom-steps/s                {n * evals / loop:.3g}  (atoms x force evaluations / loop time)")
    print(f"fmax at stop                {res['fmax_eV_A']:.2g} eV/A")
    print(f"separation DXA / CNA        {res['separation_dxa_A']:.2f} / {res['separation_cna_A']:.2f} A "
          f"(started at {res['start_separation_A']:.1f} A)")
    print(f"elastic estimate iso/aniso  {res['separation_elastic_A']:.2f} / {res['separation_elastic_aniso_A']:.2f} A"
          f"   ratio DXA/iso {res['ratio_dxa_to_elastic']:.2f}")


if __name__ == "__main__":
    main()
