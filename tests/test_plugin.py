"""pair_style pylmp/torch (the native plugin) with the real SevenNet-0 foundation model, in both deployments:
the AOTInductor package (registry entry sevennet-0, pylmp/sevennet_export.py) and sevenn's TorchScript file
(sevennet-0-torchscript, the fallback).

SevenNet-0 is a float32 model, so plugin and ASE are compared at float32 precision, not at the 1e-6 eV/atom
of the float64 models:
- energy: both sides sum float32 atomic energies of the same graph; they may differ by rounding of that sum,
  a few units in the last place of the total (2**-23 relative each). Bound: 8 ulp of |E_total|.
- forces: each force is a sum of ~80 float32 edge gradients of size <~1 eV/A, accumulated in a different
  order by LAMMPS (double) and ASE (float32): ~1e-6 eV/A is expected (measured <1e-6); bound 1e-5 eV/A.
- stress: the same edge sums divided by the volume: measured <1e-8 eV/A^3; bound 1e-7 eV/A^3 (16 kPa).
"""
from __future__ import annotations

import re
import subprocess
import sys
from importlib import metadata

import numpy as np
import pytest

from ase import Atoms
from ase.build import bulk, fcc111
from ase.io import write

from plugin_helpers import NKTV2P, box, mpirun_single_point, new_lammps, registry_lines, run_expecting_error, single_point
from pylmp import lammps_env, plugin, potentials

F32_EPS = 2.0**-23


@pytest.fixture(scope="module")
def model():
    """The AOTInductor package (run/setup compiles it: ~3 min; gitignored potentials/deployed/)."""
    plugin.plugin_path()  # a clear failure naming run/build_plugin when the plugin is not built
    return plugin.deploy_sevennet(fmt="aoti")


@pytest.fixture(scope="module")
def torchscript():
    return plugin.deploy_sevennet(fmt="torchscript")  # offline, ~10 s the first time


@pytest.fixture(scope="module")
def ase_calc():
    import torch
    from sevenn.calculator import SevenNetCalculator

    # nequip's loader (other test modules, same process) leaves float64 as torch's default, once per process;
    # SevenNet's loader fails under it, nequip's models need it kept
    dtype = torch.get_default_dtype()
    torch.set_default_dtype(torch.float32)
    try:
        return SevenNetCalculator("7net-0", device="cpu")
    finally:
        torch.set_default_dtype(dtype)


def cells():
    rng = np.random.default_rng(7)
    ni = bulk("Ni", "fcc", a=3.52, cubic=True).repeat(2)
    ni.rattle(0.05, seed=1)
    slab = fcc111("Ni", (3, 4, 4), a=3.52, vacuum=6.0, orthogonal=True)
    slab.pbc = True
    slab.rattle(0.03, seed=2)
    alloy = bulk("Ni", "fcc", a=3.56, cubic=True).repeat(2)
    symbols = np.array(alloy.get_chemical_symbols())
    symbols[rng.choice(len(alloy), 10, replace=False)] = "Al"
    alloy.set_chemical_symbols(symbols)
    alloy.rattle(0.05, seed=3)
    return {"bulk": (ni, ["Ni"]), "slab": (slab, ["Ni"]), "alloy": (alloy, ["Ni", "Al"])}


@pytest.mark.parametrize("entry", ["sevennet-0", "sevennet-0-torchscript"])
@pytest.mark.parametrize("name", ["bulk", "slab", "alloy"])
def test_plugin_equals_sevennet_ase_calculator(model, torchscript, ase_calc, tmp_path, name, entry):
    atoms, elements = cells()[name]
    energy, forces, stress = single_point(entry, atoms, elements, tmp_path)
    atoms.calc = ase_calc
    e_ref, f_ref, s_ref = atoms.get_potential_energy(), atoms.get_forces(), atoms.get_stress()
    assert abs(energy - e_ref) <= 8 * F32_EPS * abs(e_ref), (energy, e_ref)
    assert np.abs(forces - f_ref).max() < 1e-5
    assert np.abs(stress - s_ref).max() < 1e-7
    assert np.abs(f_ref).max() > 0.1 and np.abs(s_ref).max() > 1e-3  # the cells really are off equilibrium


@pytest.mark.parametrize("name", ["dimer and lone atom", "lone atom"])
def test_sparse_graphs_equal_sevennet_ase_calculator(model, ase_calc, tmp_path, name):
    """The package takes the graph padded to a few sizes (plugin/model_sevennet.cpp): a Ni-Al dimer beside a lone
    Ni atom (2 edges, padded to 64) and a lone atom (no edge, below the package's smallest graph) still give
    the ASE calculator's energy and forces. Energy bound: the package's atomic energies differ from the eager
    model's by ~1e-6 of themselves (float32, fused in another order; measured 9.5e-7 eV on the lone atom's
    0.86 eV), which on a total of ~1 eV is more than 8 ulp: 2e-6 eV per atom."""
    if name == "lone atom":
        atoms = Atoms("Ni", positions=[[5.0, 5.0, 5.0]], cell=[12.0] * 3, pbc=True)
    else:
        atoms = Atoms("NiAlNi", positions=[[5.0, 5.0, 5.0], [7.3, 5.4, 5.0], [15.0, 15.0, 15.0]], cell=[20.0] * 3, pbc=True)
    energy, forces, _ = single_point("sevennet-0", atoms, ["Ni", "Al"], tmp_path)
    atoms.calc = ase_calc
    e_ref, f_ref = atoms.get_potential_energy(), atoms.get_forces()
    assert abs(energy - e_ref) <= 2e-6 * len(atoms), (energy, e_ref)
    assert np.abs(forces - f_ref).max() < 1e-5
    if name != "lone atom":
        assert np.abs(f_ref).max() > 0.1  # the dimer is off its bond length


def test_two_and_three_mpi_ranks_equal_one(model, tmp_path):
    """Message passing across ranks: the plugin widens the ghost shell to 5 layers x 5 A + skin = 27 A (the
    package's num_layers metadata); 3 ranks cut the 2x2x2 cell unevenly."""
    atoms, elements = cells()["alloy"]
    out = {np_: mpirun_single_point("sevennet-0", atoms, elements, tmp_path, np_) for np_ in (1, 2, 3)}
    e1, v1, f1, log1 = out[1]
    assert "SevenNet AOTInductor model" in log1
    for np_ in (2, 3):
        e, v, f, log = out[np_]
        assert "ghost cutoff set to 27 A" in log
        # float32 model: the graphs hold the same edges in another order, so sums round differently
        assert abs(e - e1) <= 8 * F32_EPS * abs(e1)
        assert np.abs(f - f1).max() < 1e-5
        assert np.abs(v - v1).max() < 1e-7 * NKTV2P


def test_nve_conserves_energy(model, tmp_path):
    """500 velocity-Verlet steps of 1 fs, L1_2 Ni3Al (4 atoms) started at 1500 K (~800 K mean).

    Bound: with forces that are the exact gradient of the energy, Verlet's total energy only oscillates, with an
    amplitude ~ dt^2 (measured 7.9e-5 eV/atom at 1 fs and 3.2e-4 at 2 fs: ratio 4.06) and no drift beyond
    float32 noise (measured 2.5e-6 eV/atom). Wrong ghost forces or a sign error give drifts of 1e-2 eV/atom and
    more. Bounds: oscillation < 2e-4 eV/atom, drift (mean of the last vs first 100 fs) < 2e-5 eV/atom.
    """
    atoms = bulk("Ni", "fcc", a=3.57, cubic=True)
    atoms[0].symbol = "Al"
    write(tmp_path / "data.lmp", atoms, format="lammps-data", specorder=["Ni", "Al"], masses=True)
    lmp = new_lammps()
    try:
        for line in ["units metal", "atom_style atomic", f"read_data {tmp_path / 'data.lmp'}",
                     *registry_lines("sevennet-0", ["Ni", "Al"]), "velocity all create 1500 42 mom yes rot no dist gaussian",
                     "timestep 0.001", "fix nve all nve", "variable e equal etotal", "variable t equal temp",
                     f"fix out all print 5 '${{e}} ${{t}}' file {tmp_path / 'e.txt'} screen no", "run 500"]:
            lmp.command(line)
    finally:
        lmp.close()
    e, temp = np.loadtxt(tmp_path / "e.txt", unpack=True)
    assert temp.mean() > 400  # atoms really moved
    assert np.abs(e - e[0]).max() / 4 < 2e-4
    assert abs(e[-20:].mean() - e[:20].mean()) / 4 < 2e-5


def test_error_element_not_in_model(model):
    msg = run_expecting_error(box() + [f"pair_coeff * * {model} Ni Po"])
    assert "element 'Po' (type 2) is not covered by SevenNet model" in msg


def test_error_missing_file_says_how_to_make_it(tmp_path):
    msg = run_expecting_error(box() + [f"pair_coeff * * {tmp_path / 'nope.pt'} Ni Al"])
    assert "not found" in msg and "python -m pylmp.sevennet_export CKPT FILE.pt2" in msg


def test_error_corrupt_and_wrong_kind_files(tmp_path):
    import torch

    corrupt = tmp_path / "corrupt.pt"
    corrupt.write_bytes(b"not a model at all" * 100)
    assert "nor a readable TorchScript model" in run_expecting_error(box() + [f"pair_coeff * * {corrupt} Ni Al"])
    other = tmp_path / "linear.pt"
    torch.jit.save(torch.jit.script(torch.nn.Linear(3, 1)), str(other))
    assert "is TorchScript but not a model this pair style knows" in run_expecting_error(box() + [f"pair_coeff * * {other} Ni Al"])


def test_error_units_other_than_metal(model):
    msg = run_expecting_error(box("real") + [f"pair_coeff * * {model} Ni Al", "run 0"])
    assert "needs `units metal`" in msg


def test_registry_entries_list_the_models_elements(model, torchscript):
    """Both files name the species in the same index order, and the registry entries list exactly those."""
    import json
    import zipfile

    import torch

    extra = {"chemical_symbols_to_index": ""}
    torch.jit.load(str(torchscript), _extra_files=extra)
    with zipfile.ZipFile(model) as z:
        meta = json.loads(z.read(next(n for n in z.namelist() if n.endswith("_metadata.json"))))
    assert meta["pylmp_family"] == "SevenNet" and meta["num_layers"] == "5" and float(meta["r_max"]) == 5.0
    assert meta["type_names"].split() == extra["chemical_symbols_to_index"].decode().split()
    for name in ("sevennet-0", "sevennet-0-torchscript"):
        pot = potentials.get(name)
        pot.check_files()
        assert list(pot.elements) == meta["type_names"].split()
        assert pot.pair_style == plugin.PAIR_STYLE and "PLUGIN" in pot.packages


def test_plugin_links_neither_lammps_nor_mpi():
    dyn = subprocess.run(["readelf", "-d", str(plugin.plugin_path())], capture_output=True, text=True).stdout
    needed = re.findall(r"NEEDED.*\[(.*)\]", dyn)
    assert "libtorch.so" in needed and not [n for n in needed if "lammps" in n or "mpi" in n]
    assert "$ORIGIN/" in dyn  # torch's lib folder is found relative to the plugin, no LD_LIBRARY_PATH


def test_autoload_through_entry_point(model, tmp_path):
    """What users get: `lmp` and `lammps.lammps()` know pair_style pylmp/torch with no `plugin load` and no env vars."""
    eps = [ep for ep in metadata.entry_points(group="lammps.plugins") if ep.value.startswith("pylmp.plugin")]
    assert eps, "pylmp's `lammps.plugins` entry point is missing from the installed metadata: rerun run/setup"
    env = {k: v for k, v in lammps_env.subprocess_env().items() if k != "LAMMPS_PLUGIN_PATH"}
    code = ("from pylmp.lammps_env import new_lammps\n"
            "l = new_lammps(['-log', 'none', '-screen', 'none'])\n"
            "print('HAS', l.has_style('pair', 'pylmp/torch'))\n")
    proc = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True)
    assert "HAS True" in proc.stdout, proc.stderr[-2000:]
    (tmp_path / "in.lmp").write_text("\n".join(box()[:-1] + ["pair_style pylmp/torch", f"pair_coeff * * {model} Ni Al",
                                                              "run 0", ""]))
    proc = subprocess.run([lammps_env.lmp_executable(), "-in", "in.lmp", "-log", "none"], cwd=tmp_path, env=env,
                          capture_output=True, text=True)
    assert proc.returncode == 0, proc.stdout[-2000:]


def test_a_process_leaves_no_unpacked_package_behind(model, tmp_path):
    """The AOTInductor package is unpacked under TMPDIR while the model is loaded (into the plugin's own pylmp-aoti-*
    folder) and nothing is left there once the process exits; libtorch's own aotinductor_* folders stayed forever
    (4-13 MB per process: 2.5 GB on a machine after a few hundred test runs)."""
    (tmp_path / "tmp").mkdir()
    (tmp_path / "in.lmp").write_text("\n".join(box()[:-1] + ["pair_style pylmp/torch", f"pair_coeff * * {model} Ni Al",
                                                              "run 0", "variable tmp getenv TMPDIR",
                                                              "shell find ${tmp} -name '*.so' > during.txt", ""]))
    env = {**lammps_env.subprocess_env(), "TMPDIR": str(tmp_path / "tmp")}
    proc = subprocess.run([lammps_env.lmp_executable(), "-in", "in.lmp", "-log", "none"], cwd=tmp_path, env=env,
                          capture_output=True, text=True)
    assert proc.returncode == 0, proc.stdout[-2000:]
    during = (tmp_path / "during.txt").read_text().split()
    assert during and all("/pylmp-aoti-" in path for path in during), during  # the model's .so, in the plugin's folder
    assert not list((tmp_path / "tmp").iterdir()), list((tmp_path / "tmp").iterdir())
