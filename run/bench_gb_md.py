"""Million-atom MD benchmark: NPT anneal of a >= 1,000,000-atom Ni bicrystal (inputs/ni_gb_1M.yaml, Ni_u3 EAM).

Renders the study once (pylmp render; the data file is reused on later calls), runs the same in.lmp under
`mpirun -np N lmp` for each N of --np, and prints per run: MD atom-steps/s (from LAMMPS's "Loop time" of the
NPT run), the peak resident memory of the ranks (VmHWM from /proc, polled while they run) per atom, and the
grain-boundary atoms found by OVITO's adaptive CNA (non-fcc) in the annealed dump.

    .venv/bin/python run/bench_gb_md.py                  # 1 and 2 ranks, 50 NPT steps (the study's anneal_steps)
    .venv/bin/python run/bench_gb_md.py --np 2 --out runs/bench_gb_md
"""
from __future__ import annotations

import argparse
import os
import re
import shutil
import subprocess
import sys
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

from pylmp import lammps_env, render, spec, study  # noqa: E402
from pylmp.workflows import gb  # noqa: E402

LOOP = re.compile(r"Loop time of ([\d.eE+-]+) on (\d+) procs for (\d+) steps with (\d+) atoms")


def descendants(pid: int) -> list[int]:
    out = subprocess.run(["ps", "-o", "pid=", "--ppid", str(pid)], capture_output=True, text=True).stdout.split()
    kids = [int(p) for p in out]
    return kids + [g for k in kids for g in descendants(k)]


def vm_hwm_kb(pid: int) -> int:
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmHWM:"):
                return int(line.split()[1])
    except OSError:
        pass
    return 0


def is_lammps(pid: int) -> bool:
    """A LAMMPS rank: the lmp binary itself, not the wheel's Python launcher script of the same name."""
    try:
        return Path(os.readlink(f"/proc/{pid}/exe")).name == "lmp"
    except OSError:
        return False


def run(folder: Path, np: int) -> dict:
    """mpirun -np N lmp -in in.lmp; returns wall time, the MD loop, and the peak memory of each rank."""
    log = f"log.np{np}.lammps"
    cmd = [lammps_env.mpirun_executable(), "-np", str(np), lammps_env.lmp_executable(), "-in", "in.lmp", "-log", log,
           "-screen", "none", "-nocite"]
    env = {**lammps_env.subprocess_env(), "OMP_NUM_THREADS": "1"}
    start = time.perf_counter()
    proc = subprocess.Popen(cmd, cwd=folder, env=env)
    peak: dict[int, int] = {}
    while proc.poll() is None:
        for pid in descendants(proc.pid):
            if is_lammps(pid):
                peak[pid] = max(peak.get(pid, 0), vm_hwm_kb(pid))
        time.sleep(0.5)
    wall = time.perf_counter() - start
    if proc.returncode != 0:
        raise SystemExit(f"error: mpirun -np {np} failed (exit {proc.returncode}); see {folder / log}")
    loops = [x for x in LOOP.findall((folder / log).read_text()) if int(x[2]) > 0]
    seconds, _, steps, atoms = loops[-1]  # the last run with steps is the NPT anneal (a `run 0` writes the dump)
    return {"np": np, "wall_s": wall, "md_s": float(seconds), "steps": int(steps), "atoms": int(atoms),
            "rank_peak_kb": sorted(peak.values())}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--study", default=str(REPO / "inputs" / "ni_gb_1M.yaml"))
    parser.add_argument("--np", type=int, nargs="+", default=[1, 2])
    parser.add_argument("--out", default=str(REPO / "runs" / "bench_gb_md"))
    args = parser.parse_args()
    st = spec.load(args.study)
    out = Path(args.out)
    task = study.build_tasks(st)[0]
    folder = out / task.name
    if not (folder / "data.lmp").is_file():
        t0 = time.perf_counter()
        study.render_only(st, out)
        print(f"rendered {folder} ({len(task.atoms)} atoms) in {time.perf_counter() - t0:.0f} s", flush=True)
    else:  # the data file (85 MB, slow to write) is kept; the input follows the current template
        (folder / "in.lmp").write_text(render.render(task.template, task=task, **task.variables))
    rows = []
    for np in args.np:
        r = run(folder, np)
        shutil.copy(folder / "annealed.dump", folder / f"annealed.np{np}.dump")
        rows.append(r)
        print(f"np {np}: {r['atoms']} atoms, {r['steps']} NPT steps in {r['md_s']:.1f} s (run {r['wall_s']:.0f} s wall)", flush=True)
    counts = gb.cna_counts(folder / "annealed.dump")
    n = sum(counts.values())
    print(f"\nNi_u3 EAM, Sigma5(310) bicrystal, NPT {st.settings['temperature_K']:g} K, {rows[0]['steps']} steps (2-core VM)")
    print(f"{'ranks':>5} {'MD s':>8} {'atom-steps/s':>13} {'speed-up':>8} {'peak MB/rank':>14} {'peak B/atom':>11}")
    for r in rows:
        rate = r["atoms"] * r["steps"] / r["md_s"]
        base = rows[0]["atoms"] * rows[0]["steps"] / rows[0]["md_s"]
        total_kb = sum(r["rank_peak_kb"])
        per_rank = "/".join(f"{kb / 1024:.0f}" for kb in r["rank_peak_kb"])
        print(f"{r['np']:>5} {r['md_s']:>8.1f} {rate:>13.3g} {rate / base:>8.2f} {per_rank:>14} {total_kb * 1024 / r['atoms']:>11.0f}")
    print(f"\nOVITO adaptive CNA of the annealed cell ({n} atoms): " + ", ".join(f"{k} {v}" for k, v in counts.items()))
    print(f"grain-boundary (non-fcc) atoms: {n - counts['FCC']} = {(n - counts['FCC']) / n:.2%} of the cell")


if __name__ == "__main__":
    main()
