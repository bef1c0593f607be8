#!/usr/bin/env python
"""GPU benchmark (not a test): SevenNet-0 and an Allegro model through pair_style pylmp/torch on CUDA.

  python run/bench_gpu.py [--sizes 4000 32000 108000 256000 500000 1048576] [--steps 5] [--out runs/bench_gpu]

Run it with a Python whose torch has CUDA and which holds lammps, mpich, sevenn and nequip (run/setup's .venv
with a CUDA build of torch 2.13). It builds what it needs, in this order, skipping what is already there:
  1. the plugin (run/build_plugin) against this torch;
  2. SevenNet-0 compiled for the GPU (python -m pylmp.sevennet_export 7net-0 ... --device cuda) and the
     committed tiny Allegro (nequip-compile --device cuda --target pair_allegro), in --out;
  3. CPU == GPU: energy and forces of a 256-atom rattled fcc Ni cell on both devices (float32: 1e-5 relative);
  4. NVE MD of fcc Ni at each size (4 k^3 atoms) until one does not fit in GPU memory: atom-steps/s and the
     peak GPU memory per atom (torch's allocator, which the plugin's libtorch shares with this process).
Prints one table and writes --out/bench_gpu.json. Without a GPU it stops at once with a one-line error.
"""
from __future__ import annotations

import argparse
import json
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import torch
from ase.build import bulk

from pylmp import lammps_env, paths, plugin, structures

A_NI = 3.50
MODELS = ("sevennet-0", "allegro-tiny")


def build(out: Path) -> dict[str, Path]:
    """The plugin and the two CUDA packages (kept in `out` between runs)."""
    subprocess.run([str(paths.ROOT / "run/build_plugin")], check=True, env={**lammps_env.subprocess_env(), "PYTHON": sys.executable})
    out.mkdir(parents=True, exist_ok=True)
    files = {"sevennet-0": out / "sevennet-0.cuda.pt2", "allegro-tiny": out / "allegro-tiny.cuda.nequip.pt2"}
    if not files["sevennet-0"].is_file():
        subprocess.run([sys.executable, "-m", "pylmp.sevennet_export", "7net-0", str(files["sevennet-0"]), "--device", "cuda"], check=True)
    if not files["allegro-tiny"].is_file():
        exe = lammps_env.venv_executable("nequip-compile", install="pip install nequip nequip-allegro")
        subprocess.run([exe, str(plugin.TEST_MODELS / "allegro-tiny.nequip.zip"), str(files["allegro-tiny"]), "--mode",
                        "aotinductor", "--device", "cuda", "--target", "pair_allegro"], check=True)
    return files


def cell(n_atoms: int):
    k = round((n_atoms / 4) ** (1 / 3))
    atoms = bulk("Ni", "fcc", a=A_NI, cubic=True).repeat(k)
    atoms.positions += np.random.default_rng(1).normal(0, 0.03, atoms.positions.shape)
    return atoms


def lammps(atoms, model: Path, device: str, folder: Path, threads: int = 1):
    structures.write_data(atoms, folder / "data.lmp", ["Ni"])
    lmp = lammps_env.new_lammps(["-log", "none", "-screen", "none", "-nocite"])
    plugin.ensure_loaded(lmp)
    lmp.commands_string("\n".join([
        "units metal", "atom_style atomic", "boundary p p p", f"read_data {folder / 'data.lmp'}",
        f"pair_style pylmp/torch device {device} threads {threads}", f"pair_coeff * * {model} Ni",
        "neighbor 1.0 bin", "thermo_style custom step pe", "thermo 0"]))
    return lmp


def cpu_equals_gpu(name: str, gpu_model: Path, folder: Path) -> tuple[float, float]:
    """Relative energy and largest force difference (eV/A) between the CPU and CUDA packages on 256 atoms."""
    cpu_model = (plugin.deploy_sevennet(fmt="aoti") if name == "sevennet-0" else plugin.compile_nequip(name))
    atoms = cell(256)
    out = []
    for model, device in ((cpu_model, "cpu"), (gpu_model, "cuda")):
        lmp = lammps(atoms, model, device, folder, threads=4)
        try:
            lmp.command("run 0")
            out.append((lmp.get_thermo("pe"), np.array(lmp.gather_atoms("f", 1, 3)).reshape(-1, 3)))
        finally:
            lmp.close()
    (e_cpu, f_cpu), (e_gpu, f_gpu) = out
    return abs(e_gpu - e_cpu) / abs(e_cpu), float(np.abs(f_gpu - f_cpu).max())


def md_rate(atoms, model: Path, steps: int, folder: Path) -> tuple[float, float]:
    """atom-steps/s over `steps` NVE steps (after 2 untimed ones) and peak GPU bytes per atom."""
    torch.cuda.reset_peak_memory_stats()
    lmp = lammps(atoms, model, "cuda", folder)
    try:
        lmp.commands_string("velocity all create 300 1 mom yes rot yes\nfix nve all nve\ntimestep 0.001\nrun 2")
        torch.cuda.synchronize()
        start = time.perf_counter()
        lmp.command(f"run {steps}")
        torch.cuda.synchronize()
        seconds = time.perf_counter() - start
    finally:
        lmp.close()
    return len(atoms) * steps / seconds, torch.cuda.max_memory_allocated() / len(atoms)


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--sizes", type=int, nargs="+", default=[4000, 32000, 108000, 256000, 500000, 1048576])
    ap.add_argument("--steps", type=int, default=5)
    ap.add_argument("--models", nargs="+", choices=MODELS, default=list(MODELS))
    ap.add_argument("--out", type=Path, default=paths.ROOT / "runs/bench_gpu")
    args = ap.parse_args()
    if not torch.cuda.is_available():
        print("error: no CUDA device visible to torch (torch.cuda.is_available() is False); run this on a GPU "
              "machine with a CUDA build of torch", file=sys.stderr)
        return 2
    card = torch.cuda.get_device_name(0)
    print(f"bench_gpu: {card}, torch {torch.__version__}", flush=True)
    files = build(args.out)
    rows = []
    for name in args.models:
        de, df = cpu_equals_gpu(name, files[name], args.out)
        print(f"  {name}: CPU vs GPU, 256 atoms: energy {de:.1e} relative, forces {df:.1e} eV/A", flush=True)
        rows.append({"model": name, "check_atoms": 256, "energy_rel_diff": de, "force_max_diff_eV_A": df})
        for n in args.sizes:
            atoms = cell(n)
            try:
                rate, mem = md_rate(atoms, files[name], args.steps, args.out)
            except Exception as err:  # CUDA out of memory (LAMMPS passes the model's error on): the largest size is found
                print(f"  {name} {len(atoms):>8} atoms: stopped ({str(err).splitlines()[0][:160]})", flush=True)
                break
            rows.append({"model": name, "atoms": len(atoms), "atom_steps_per_s": rate, "gpu_bytes_per_atom": mem})
            print(f"  {name} {len(atoms):>8} atoms: {rate:10.4g} atom-steps/s, {mem / 1024:8.2f} KiB GPU memory per atom", flush=True)
    (args.out / "bench_gpu.json").write_text(json.dumps({"card": card, "torch": torch.__version__, "rows": rows}, indent=1) + "\n")
    print(f"\n{args.out / 'bench_gpu.json'}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
