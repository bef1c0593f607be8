"""Wall time of one mixed-cost study, serial vs `-j 2` vs the mpirun task farm, each from empty folders.

    .venv/bin/python run/bench_farm.py [--study inputs/ni_properties.yaml] [-p Ni_u3 -p Ni_snap] [--repeat 1]

The default study is the Ni property benchmark with an EAM and the SNAP potential: 36 tasks whose costs differ by
~1000x (a 255-atom SNAP vacancy relaxation vs a single EAM atom). Each route is the real command line in a fresh
process (start-up and analysis included); every route must give the serial run's numbers (checked). Also printed,
from the serial run's per-task seconds: the makespan a fixed round-robin share over 2 groups (pylmp's farm before the
dynamic queue) would have had, next to the costliest-first queue's, to show what the dynamic farm gains.
"""
from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from pylmp import lammps_env, launch, spec, study as study_mod  # noqa: E402


def run(cmd: list[str], out: Path) -> float:
    start = time.perf_counter()
    proc = subprocess.run(cmd + ["--out", str(out)], cwd=ROOT, capture_output=True, text=True, env=lammps_env.subprocess_env())
    if proc.returncode != 0:
        raise SystemExit(f"{' '.join(cmd)} failed:\n{proc.stderr[-2000:]}")
    return time.perf_counter() - start


def task_numbers(out: Path) -> dict:
    return {str(p.parent.relative_to(out)): json.loads(p.read_text()) for p in out.rglob("result.json") if p.parent != out}


def makespan(seconds: list[float], groups: int) -> float:
    loads = [0.0] * groups
    for s in seconds:  # each task to the group that is free first
        loads[loads.index(min(loads))] += s
    return max(loads)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--study", default="inputs/ni_properties.yaml")
    ap.add_argument("-p", "--potential", action="append", default=None)
    ap.add_argument("--repeat", type=int, default=1, help="runs per route; the fastest counts (the machine may be shared)")
    args = ap.parse_args()
    pots = args.potential or ["Ni_u3", "Ni_snap"]
    base = [sys.executable, "-m", "pylmp", "run", args.study] + [x for p in pots for x in ("-p", p)]
    routes = {
        "serial (-j 1)": base + ["-j", "1"],
        "-j 2 (process pool)": base + ["-j", "2"],
        "mpirun -np 2 (farm)": [lammps_env.mpirun_executable(), "-np", "2"] + base,
    }
    print(f"study {args.study} with {', '.join(pots)}; {len(os.sched_getaffinity(0))} cores, "
          f"load average {os.getloadavg()[0]:.2f} at start")
    with tempfile.TemporaryDirectory() as tmp:
        walls, outs = {}, {}
        for name, cmd in routes.items():
            times = []
            for k in range(args.repeat):
                outs[name] = Path(tmp) / f"{len(walls)}_{k}"
                times.append(run(cmd, outs[name]))
            walls[name] = min(times)
        ref = task_numbers(outs["serial (-j 1)"])
        for name, out in outs.items():
            got = task_numbers(out)
            bad = [k for k in ref if any(abs(got[k][q] - v) > 1e-9 for q, v in ref[k].items() if isinstance(v, (int, float)))]
            assert got.keys() == ref.keys() and not bad, (name, bad[:3])
        # per-task seconds of the serial run, for the schedules of 2 groups
        st = spec.load(ROOT / args.study, potential_override=pots)
        tasks = study_mod.build_tasks(st)
        serial_out = outs["serial (-j 1)"]
        secs = {t.name: float((serial_out / t.name / "seconds.txt").read_text()) for t in tasks}
        in_order = [secs[t.name] for t in tasks]
        round_robin = max(sum(in_order[g::2]) for g in range(2))
        first = [secs[t.name] for t in launch.largest_first(tasks, serial_out)]
        print(f"{len(tasks)} tasks, LAMMPS time {sum(in_order):.1f} s, longest task {max(in_order):.1f} s; all routes gave the same numbers")
        print(f"{'route':<24}{'wall s':>8}{'speed-up':>10}")
        for name, wall in walls.items():
            print(f"{name:<24}{wall:>8.1f}{walls['serial (-j 1)'] / wall:>10.2f}")
        print(f"task time on 2 groups (from the serial run's task seconds): fixed round-robin share {round_robin:.1f} s, "
              f"next task to the free group in study order {makespan(in_order, 2):.1f} s, costliest first {makespan(first, 2):.1f} s")


if __name__ == "__main__":
    main()
