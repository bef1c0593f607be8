#!/usr/bin/env python
"""Timing benchmark (not a test): NVE MD of fcc Ni with ML models on CPU, three ways into the same model.

  .venv/bin/python run/bench_ml.py [--model sevennet-0|allegro-tiny|nequip-tiny] [--sizes 108 500 2048 4000]
                                   [--steps 3] [--warmup 1] [--max-step-s 20]

Routes (one torch thread each, as LAMMPS ranks and the plugin use by default), for --model sevennet-0:
  plugin   sevennet-0      LAMMPS in-process, pair_style pylmp/torch (the C++ plugin, AOTInductor package)
  plugin   sevennet-0-torchscript   the same plugin with `sevenn get_model`'s TorchScript file (the fallback)
  bridge   sevennet-0-ase  LAMMPS in-process, fix external -> SevenNet's ASE calculator (pylmp.bridge)
  bridge   chgnet          the same bridge with CHGNet 0.3.0
  ase      7net-0          the model's own ASE MD: ase.md.VelocityVerlet + SevenNetCalculator (no LAMMPS)
and for the project's tiny NequIP/Allegro models: plugin (AOTInductor package) vs nequip's own ASE calculator.
Each measurement: build the cell, `warmup` MD steps (model load, first-call compilation), then `steps` timed
steps. Prints atom-steps/s per route and size and the ratios plugin/ASE (goal >= 2) and plugin/bridge.
"""
from __future__ import annotations

import argparse
import json
import os
import platform
import subprocess
import tempfile
import time
from pathlib import Path

os.environ.setdefault("OMP_NUM_THREADS", "1")  # before torch/LAMMPS load: one thread per route

import numpy as np
from ase.build import bulk

from pylmp import bridge, lammps_env, paths, potentials, structures

A_NI = 3.50  # near the lattice parameter of SevenNet-0 and CHGNet (3.504 A)
TIMESTEP_PS = 0.001
ROUTES = {
    "sevennet-0": (("plugin", "sevennet-0"), ("plugin", "sevennet-0-torchscript"), ("bridge", "sevennet-0-ase"),
                   ("bridge", "chgnet"), ("ase", "7net-0")),
    "allegro-tiny": (("plugin", "allegro-tiny"), ("ase", "allegro-tiny")),
    "nequip-tiny": (("plugin", "nequip-tiny"), ("ase", "nequip-tiny")),
}


def cell(n_atoms: int):
    """Cubic fcc Ni supercell with n_atoms = 4 k^3 atoms, thermal-like displacements (seeded)."""
    k = round((n_atoms / 4) ** (1 / 3))
    atoms = bulk("Ni", "fcc", a=A_NI, cubic=True).repeat(k)
    atoms.positions += np.random.default_rng(1).normal(0, 0.03, atoms.positions.shape)
    return atoms


def lammps_md(atoms, pot_name: str, warmup: int, steps: int, folder: Path) -> float:
    """Seconds for `steps` NVE steps in an in-process LAMMPS after `warmup` steps."""
    pot = potentials.get(pot_name)
    calc = bridge.calculator(pot) if pot.bridge else None
    structures.write_data(atoms, folder / "data.lmp", ["Ni"])
    lmp = lammps_env.new_lammps(["-log", "none", "-screen", "none", "-nocite"])
    try:
        lmp.commands_string("\n".join([
            "units metal", "atom_style atomic", "boundary p p p", f"read_data {folder / 'data.lmp'}",
            f"variable potdir index {pot.files_dir}", *pot.lammps_lines(["Ni"]),
            "neighbor 1.0 bin", "velocity all create 300 1 mom yes rot yes", "fix nve all nve",
            f"timestep {TIMESTEP_PS}", "thermo 0"]))
        if calc is not None:
            lmp.set_fix_external_callback(bridge.FIX_ID, bridge.Callback(lmp, calc, ["Ni"]))
        lmp.command(f"run {warmup}")
        start = time.perf_counter()
        # pre no: continue without the set-up's extra force call (the ASE route, too, reuses the forces it has)
        lmp.command(f"run {steps} pre no post no")
        return time.perf_counter() - start
    finally:
        lmp.close()


def ase_calculator(model: str):
    """The model's own ASE calculator: SevenNet's for a sevenn model name, nequip's for the tiny test models."""
    if model in ROUTES and model.endswith("-tiny"):
        from nequip.integrations.ase import NequIPCalculator

        from pylmp import plugin
        return NequIPCalculator._from_saved_model(str(plugin.TEST_MODELS / f"{model}.nequip.zip"), device="cpu",
                                                  chemical_species_to_atom_type_map=True)
    from sevenn.calculator import SevenNetCalculator
    return SevenNetCalculator(model, device="cpu")


def ase_md(atoms, model: str, warmup: int, steps: int) -> float:
    """Seconds for `steps` velocity-Verlet steps with the model's own ASE calculator after `warmup` steps."""
    import torch
    from ase import units
    from ase.md.velocitydistribution import MaxwellBoltzmannDistribution
    from ase.md.verlet import VelocityVerlet

    torch.set_num_threads(int(os.environ["OMP_NUM_THREADS"]))
    atoms = atoms.copy()
    atoms.calc = ase_calculator(model)
    MaxwellBoltzmannDistribution(atoms, temperature_K=300, rng=np.random.default_rng(1))
    dyn = VelocityVerlet(atoms, timestep=TIMESTEP_PS * 1000 * units.fs)
    dyn.run(warmup)
    start = time.perf_counter()
    dyn.run(steps)
    return time.perf_counter() - start


def table(rows: list[dict], sizes: list[int], routes) -> str:
    cols = [f"{kind} {name}" for kind, name in routes]
    first = {kind: f"{kind} {name}" for kind, name in reversed(routes)}  # the first route of each kind
    rate = {(r["route"], r["atoms"]): r["atom_steps_per_s"] for r in rows}
    fallback = next((c for c in cols if c.startswith("plugin") and c.endswith("-torchscript")), None)
    lines = [f"{'atoms':>6}  " + "  ".join(f"{c:>20}" for c in cols) + f"  {'plugin/ASE':>10}  {'plugin/bridge':>13}"
             + (f"  {'plugin/TorchScript':>18}" if fallback else "")]
    for n in sizes:
        vals = [rate.get((c, n)) for c in cols]
        plug, br, ase = (rate.get((first.get(kind), n)) for kind in ("plugin", "bridge", "ase"))
        ratio = lambda a, b: f"{a / b:.2f}x" if a and b else "-"
        lines.append(f"{n:>6}  " + "  ".join(f"{v:>20.4g}" if v else f"{'-':>20}" for v in vals)
                     + f"  {ratio(plug, ase):>10}  {ratio(plug, br):>13}"
                     + (f"  {ratio(plug, rate.get((fallback, n))):>18}" if fallback else ""))
    return "\n".join(lines)


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--model", choices=sorted(ROUTES), default="sevennet-0", help="which model's routes to time")
    ap.add_argument("--sizes", type=int, nargs="+", default=[108, 500, 2048, 4000], help="atoms (4 k^3)")
    ap.add_argument("--steps", type=int, default=3, help="timed MD steps per measurement")
    ap.add_argument("--warmup", type=int, default=1, help="untimed MD steps first (model load, first calls)")
    ap.add_argument("--chgnet-max", type=int, default=2048, help="largest cell for CHGNet")
    ap.add_argument("--max-step-s", type=float, default=20.0,
                    help="a route slower than this per step skips the larger sizes (keeps the whole run to minutes)")
    ap.add_argument("--routes", nargs="+", help="subset of the model's routes, e.g. 'plugin sevennet-0'")
    ap.add_argument("--out", type=Path, help="JSON of the measurements (default runs/bench_ml/<model>.json)")
    args = ap.parse_args()
    routes = ROUTES[args.model]
    args.routes = args.routes or [f"{k} {n}" for k, n in routes]
    args.out = args.out or paths.ROOT / f"runs/bench_ml/{args.model}.json"
    if args.model.endswith("-tiny"):
        from pylmp import plugin as deploy
        deploy.compile_nequip(args.model)  # AOTInductor package for this CPU (cached in potentials/deployed/)
    commit = subprocess.run(["git", "rev-parse", "--short", "HEAD"], cwd=paths.ROOT, capture_output=True, text=True, check=False).stdout.strip()
    plugin = paths.ROOT / "pylmp/plugin_lib/pylmptorchplugin.so"
    print(f"bench_ml: commit {commit}, plugin built {time.ctime(plugin.stat().st_mtime) if plugin.exists() else 'missing'}, "
          f"{platform.processor() or platform.machine()}, {os.cpu_count()} cores, OMP_NUM_THREADS={os.environ['OMP_NUM_THREADS']}, "
          f"load average {os.getloadavg()[0]:.1f}", flush=True)
    rows, too_slow = [], set()
    with tempfile.TemporaryDirectory() as tmp:
        for n in args.sizes:
            atoms = cell(n)
            for kind, name in routes:
                route = f"{kind} {name}"
                if route not in args.routes or route in too_slow or (name == "chgnet" and len(atoms) > args.chgnet_max):
                    continue
                seconds = (ase_md(atoms, name, args.warmup, args.steps) if kind == "ase"
                           else lammps_md(atoms, name, args.warmup, args.steps, Path(tmp)))
                rows.append({"route": f"{kind} {name}", "atoms": len(atoms), "steps": args.steps, "seconds": seconds,
                             "atom_steps_per_s": len(atoms) * args.steps / seconds})
                print(f"  {kind:>6} {name:<15} {len(atoms):>5} atoms: {seconds / args.steps:8.3f} s/step, "
                      f"{rows[-1]['atom_steps_per_s']:10.4g} atom-steps/s", flush=True)
                if seconds / args.steps > args.max_step_s:
                    too_slow.add(route)
    print("\natom-steps/s (higher is better); ratios of the plugin to the model's own ASE MD and to the bridge")
    print(table(rows, [len(cell(n)) for n in args.sizes], routes))
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps({"commit": commit, "rows": rows}, indent=1) + "\n")
    print(f"\n{args.out}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
