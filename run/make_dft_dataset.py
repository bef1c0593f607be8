"""Spin-polarized PBE (GPAW, plane waves) for the project's small Ni / Ni3Al dataset; run by run/make_dft_dataset.

Stages, in the order they run (each configuration is one file configs/<name>.extxyz; an existing file is kept):
  eos_ni/    1-atom fcc Ni at 5 lattice parameters, one k-mesh: the PBE a0 (Birch-Murnaghan) used below
  polytype/  fcc, hcp, dhcp stackings (3, 2, 4 layers) in the hexagonal 1x1 (111) cell: the planar-fault energies
             in the axial Ising (ANNNI) approximation, a cheap first route
  conv/      1-atom fcc Ni: plane-wave cutoff and k-point density, energy per atom against the tightest setting
  fault/     hexagonal 1x1 cells of close-packed (111) layers, one atom per layer, ideal fcc spacing at a0:
             periodic stacking sequences - perfect fcc (12 and 9 layers), intrinsic fault (11), extrinsic fault
             (10), twin (10 layers, two boundaries). All share one k-mesh (in-plane from the density, 2 along c).
  strain_ni/ 1-atom fcc Ni at a0 under small tetragonal, orthorhombic and shear strains (Voigt, +-1-2 %): the stress
             tensor pins C11 - C12 and C44, which the EOS (hydrostatic) frames leave free
  bulk_ni/, bulk_ni3al/, bulk_ni8/   strained (up to 3 %) and rattled 4- and 8-atom cells, seeded
Then collect: ni_pbe.extxyz (every finished frame, config_type in info) and ni_pbe_faults.json (EOS, fault
energies, and C11/C12/C44 from the strain_ni stresses with the EOS bulk modulus: see elastic_constants).

Fault energies by the periodic stacking-sequence method: gamma = (E_fault - N e_fcc) / (n_faults A), with
e_fcc the energy per atom of the perfect 12-layer cell (same in-plane cell and k-mesh), A the cell's (111) area.
The 9-layer perfect cell gives a second e_fcc: the spread is the stated k-point / cell-length uncertainty.
Energies are the smearing free energies (consistent with the forces); Marzari-Vanderbilt smearing keeps them
close to the zero-width limit.
"""
from __future__ import annotations

import argparse
import json
import math
import time
from pathlib import Path

import numpy as np
from ase import Atoms
from ase.build import bulk
from ase.calculators.calculator import kptdensity2monkhorstpack
from ase.calculators.singlepoint import SinglePointCalculator
from ase.eos import EquationOfState
from ase.io import read, write

ECUT_EV = 500.0  # 400 eV left a Pulay stress of about -2.5 GPa in fcc Ni (conv/ stage)
KDENSITY = 3.5  # k-points per reciprocal Angstrom (ASE convention: n_i = ceil(2 pi density |b_i|))
SMEARING_EV = 0.1
CONV_ECUTS = [300.0, 400.0, 500.0, 600.0]
CONV_KDENSITIES = [2.5, 3.5, 4.5]
EOS_A = [3.46, 3.49, 3.52, 3.55, 3.58]
J_PER_EV_A2 = 16021.766  # eV/A^2 -> mJ/m^2
# stacking sequences as layer-to-layer steps: +1 = A->B->C->A (fcc), -1 the reverse; the sum must be 0 mod 3
# In the order they run: the intrinsic fault first (the fine-tuning target). The perfect 12-layer cell with k_c = 2
# samples exactly the k-points of the 3-layer fcc polytype with k_c = 8 (band folding), so polytype/fcc_3 is the
# reference when perfect_12 has not run; perfect_12 and perfect_9 are checks of that.
FAULTS = {
    "isf_11": ([1] * 10 + [-1], 1),              # ...ABCA|CABC...: one reversed step
    "twin_10": ([1] * 5 + [-1] * 5, 2),          # ABCABC|BACB|: two twin boundaries per cell, 5 layers apart
    "esf_10": ([1] * 8 + [-1, -1], 1),           # ...ABCA|C|BCAB...: a twin lamella two layers thick
    "perfect_12": ([1] * 12, 0),
    "perfect_9": ([1] * 9, 0),
}
# fcc (ABC), hcp (AB), dhcp (ABAC) in the same hexagonal cell, k_c x layers = 24 in all three (same k spacing along c).
# Axial Ising model (ANNNI) to second-neighbour layers, energies per atom, A = area per atom of a (111) layer:
#   gamma_isf = (dE_hcp + 2 dE_dhcp) / A,  gamma_esf = 4 dE_dhcp / A,  gamma_tb = 2 dE_dhcp / A
POLYTYPES = {"fcc_3": [1, 1, 1], "hcp_2": [1, -1], "dhcp_4": [1, 1, -1, -1]}
# Voigt strains (e1..e6, engineering shears) of the strain_ni cells
STRAINS = {"tet+1": [0.01, 0, 0, 0, 0, 0], "tet-1": [-0.01, 0, 0, 0, 0, 0], "tet+2": [0.02, 0, 0, 0, 0, 0],
           "orth1": [0.01, -0.01, 0, 0, 0, 0], "shear1": [0, 0, 0, 0, 0, 0.01], "shear2": [0, 0, 0, 0, 0, 0.02]}


def gpaw_calc(atoms: Atoms, label: Path, ecut=ECUT_EV, kdensity=KDENSITY, kpts=None):
    from gpaw import GPAW, PW, MixerSum

    kpts = kpts or tuple(int(k) for k in kptdensity2monkhorstpack(atoms, kdensity, even=False))
    # Long stacking cells (c ~ 20-25 A, one atom per layer) slosh charge along c with the default mixer: the 12-layer
    # SCF jumped between -80 and -82 eV for 40 iterations. A small step with a strong long-wavelength damping converges.
    long_cell = atoms.cell.lengths()[2] > 12.0
    mixer = {"mixer": MixerSum(beta=0.02, nmaxold=8, weight=100.0)} if long_cell else {}
    calc = GPAW(mode=PW(ecut), xc="PBE", kpts={"size": kpts, "gamma": True},
                occupations={"name": "marzari-vanderbilt", "width": SMEARING_EV},
                convergence={"energy": 1e-5, "density": 3e-5},  # energy: eV per valence electron
                maxiter=300, txt=f"{label}.txt", **mixer)
    return calc, kpts


def compute(name: str, atoms: Atoms, config_type: str, folder: Path, **calc_kw) -> Atoms:
    """One DFT single point, written as configs/<name>.extxyz; a file already there is read instead."""
    path = folder / "configs" / f"{name}.extxyz"
    if path.exists() and read(path).info.get("ecut_eV") == calc_kw.get("ecut", ECUT_EV):
        return read(path)  # finished before with the same settings
    path.parent.mkdir(parents=True, exist_ok=True)
    atoms = atoms.copy()
    atoms.set_initial_magnetic_moments([0.7 if s == "Ni" else 0.0 for s in atoms.get_chemical_symbols()])
    (folder / "logs").mkdir(exist_ok=True)
    calc, kpts = gpaw_calc(atoms, folder / "logs" / name.replace("/", "_"), **calc_kw)
    atoms.calc = calc
    start = time.perf_counter()
    energy = atoms.get_potential_energy(force_consistent=True)
    forces, stress = atoms.get_forces(), atoms.get_stress()
    magmom = float(calc.get_magnetic_moment())
    seconds = time.perf_counter() - start
    out = atoms.copy()
    out.set_initial_magnetic_moments(None)
    out.calc = SinglePointCalculator(out, energy=energy, free_energy=energy, forces=forces, stress=stress)
    out.info.update({"config_type": config_type, "name": name, "magmom_muB": magmom, "kpts": " ".join(map(str, kpts)),
                     "ecut_eV": calc_kw.get("ecut", ECUT_EV), "dft_seconds": round(seconds, 1)})
    tmp = path.with_suffix(".tmp")
    write(tmp, out, format="extxyz")
    tmp.replace(path)  # only a complete file counts as finished
    print(f"{name}: E = {energy:.6f} eV ({len(out)} atoms), m = {magmom:.2f} muB, k = {kpts}, {seconds:.0f} s", flush=True)
    return out


def convergence(folder: Path) -> dict:
    ni = bulk("Ni", "fcc", a=3.52)
    for ecut in CONV_ECUTS:
        compute(f"conv/ecut{ecut:.0f}_k{KDENSITY}", ni, "conv", folder, ecut=ecut)
    for kd in CONV_KDENSITIES:
        if kd != KDENSITY:
            compute(f"conv/ecut{ECUT_EV:.0f}_k{kd}", ni, "conv", folder, kdensity=kd)
    # an energy difference (compression by 1.7 %) at the tightest cutoff: what the data's users see
    kpts = tuple(int(k) for k in kptdensity2monkhorstpack(ni, KDENSITY, even=False))
    compute(f"conv/ecut{max(CONV_ECUTS):.0f}_a{EOS_A[0]:.3f}", bulk("Ni", "fcc", a=EOS_A[0]), "conv", folder, ecut=max(CONV_ECUTS), kpts=kpts)
    return convergence_summary(folder)


def convergence_summary(folder: Path) -> dict:
    """Energy per atom of 1-atom fcc Ni (a = 3.52 A) at each setting, and the error of the chosen one against the
    tightest cutoff and k-point density computed so far."""
    e = {p.stem: read(p).get_potential_energy() for p in sorted((folder / "configs" / "conv").glob("*.extxyz"))}
    chosen = f"ecut{ECUT_EV:.0f}_k{KDENSITY}"
    out = {"energy_per_atom_eV": e}
    tight_ecut, tight_k = f"ecut{max(CONV_ECUTS):.0f}_k{KDENSITY}", f"ecut{ECUT_EV:.0f}_k{max(CONV_KDENSITIES)}"
    if chosen in e and tight_ecut in e:
        out["ecut_error_meV_per_atom"] = 1000 * (e[chosen] - e[tight_ecut])
    if chosen in e and tight_k in e:
        out["k_error_meV_per_atom"] = 1000 * (e[chosen] - e[tight_k])
    compressed = folder / "configs" / "conv" / f"ecut{max(CONV_ECUTS):.0f}_a{EOS_A[0]:.3f}.extxyz"
    eos_point = folder / "configs" / "eos_ni" / f"a{EOS_A[0]:.3f}.extxyz"
    if compressed.exists() and eos_point.exists() and tight_ecut in e:  # the same difference at both cutoffs
        out[f"dE_a{EOS_A[0]:.2f}_minus_a3.52_meV"] = {f"{ECUT_EV:.0f}": 1000 * (read(eos_point).get_potential_energy() - e[chosen]),
                                                     f"{max(CONV_ECUTS):.0f}": 1000 * (read(compressed).get_potential_energy() - e[tight_ecut])}
    pressures = {k: -read(folder / "configs" / "conv" / f"{k}.extxyz").get_stress()[:3].mean() * 160.21766 for k in (chosen, tight_ecut) if k in e}
    out["pressure_a3.52_GPa"] = pressures  # the cutoff's effect on stresses (and so on a0)
    return out


def lattice_parameter(folder: Path) -> dict:
    kpts = tuple(int(k) for k in kptdensity2monkhorstpack(bulk("Ni", "fcc", a=3.52), KDENSITY, even=False))  # one mesh for all
    frames = [compute(f"eos_ni/a{a:.3f}", bulk("Ni", "fcc", a=a), "eos_ni", folder, kpts=kpts) for a in EOS_A]
    eos = EquationOfState([f.get_volume() for f in frames], [f.get_potential_energy() for f in frames], eos="birchmurnaghan")
    v0, e0, b = eos.fit()
    return {"a0_A": (4 * v0) ** (1 / 3), "B_GPa": b * 160.21766, "E0_eV_per_atom": e0,
            "magmom_muB_per_atom": frames[2].info["magmom_muB"]}


def stacking_cell(steps: list[int], a0: float) -> Atoms:
    """One atom per close-packed layer at the A/B/C site its step sequence gives, ideal fcc spacing a0/sqrt(3)."""
    if sum(steps) % 3:
        raise ValueError(f"stacking steps {steps} do not close periodically")
    ah, d = a0 / math.sqrt(2), a0 / math.sqrt(3)
    cell = [[ah, 0, 0], [ah / 2, ah * math.sqrt(3) / 2, 0], [0, 0, d * len(steps)]]
    sites = np.cumsum([0] + steps[:-1]) % 3
    frac = [[s / 3, s / 3, (k + 0.5) / len(steps)] for k, s in enumerate(sites)]
    return Atoms(f"Ni{len(steps)}", scaled_positions=frac, cell=cell, pbc=True)


def fault_kpts(a0: float) -> tuple[int, int, int]:
    n = int(kptdensity2monkhorstpack(stacking_cell([1, 1, 1], a0), KDENSITY, even=False)[0])
    return (n, n, 2)


def polytypes(folder: Path, a0: float) -> dict:
    n = fault_kpts(a0)[0]
    frames = {name: compute(f"polytype/{name}", stacking_cell(steps, a0), "polytype", folder, kpts=(n, n, 24 // len(steps)))
              for name, steps in POLYTYPES.items()}
    return annni(frames, a0)


def annni(frames: dict, a0: float) -> dict:
    if len(frames) < len(POLYTYPES):
        return {}
    e = {k: f.get_potential_energy() / len(f) for k, f in frames.items()}
    d_hcp, d_dhcp = e["hcp_2"] - e["fcc_3"], e["dhcp_4"] - e["fcc_3"]
    area = math.sqrt(3) / 4 * a0 ** 2
    return {"dE_hcp_meV_per_atom": 1000 * d_hcp, "dE_dhcp_meV_per_atom": 1000 * d_dhcp,
            "gamma_isf_mJ_m2": (d_hcp + 2 * d_dhcp) / area * J_PER_EV_A2, "gamma_esf_mJ_m2": 4 * d_dhcp / area * J_PER_EV_A2,
            "gamma_tb_mJ_m2": 2 * d_dhcp / area * J_PER_EV_A2,
            "method": "ANNNI to second-neighbour layers from fcc/hcp/dhcp energies (ideal stacking, unrelaxed)"}


def faults(folder: Path, a0: float, names=None) -> dict:
    kpts = fault_kpts(a0)
    frames = {name: compute(f"fault/{name}", stacking_cell(steps, a0), "fault", folder, kpts=kpts)
              for name, (steps, _) in FAULTS.items() if not names or name in names}
    fcc_3 = folder / "configs" / "polytype" / "fcc_3.extxyz"
    return fault_energies(frames, a0, read(fcc_3) if fcc_3.exists() else None)


def fault_energies(frames: dict, a0: float, fcc_3: Atoms | None = None) -> dict:
    area = math.sqrt(3) / 4 * a0 ** 2  # (111) area of the 1x1 hexagonal cell: (a0/sqrt 2)^2 sqrt(3)/2
    e_fcc = {k: f.get_potential_energy() / len(f) for k, f in frames.items() if k.startswith("perfect")}
    if fcc_3 is not None:  # same k-points as perfect_12 (see FAULTS)
        e_fcc["fcc_3"] = fcc_3.get_potential_energy() / len(fcc_3)
    ref = "perfect_12" if "perfect_12" in e_fcc else "fcc_3"
    if ref not in e_fcc:
        return {}
    out = {"a0_A": a0, "area_A2": area, "e_fcc_eV_per_atom": e_fcc, "reference": ref, "relaxed": False, "faults": {}}
    for name, (steps, count) in FAULTS.items():
        if count and name in frames:
            e = frames[name].get_potential_energy()
            gammas = {ref: (e - len(steps) * e_ref) / (count * area) * J_PER_EV_A2 for ref, e_ref in e_fcc.items()}
            out["faults"][name] = {"layers": len(steps), "faults_per_cell": count, "gamma_mJ_m2": gammas[ref],
                                   "gamma_by_reference_mJ_m2": gammas}
    return out


def strained(atoms: Atoms, rng, max_strain=0.03, rattle=0.05) -> Atoms:
    eps = rng.uniform(-max_strain, max_strain, (3, 3))
    eps = (eps + eps.T) / 2
    out = atoms.copy()
    out.set_cell(out.cell @ (np.eye(3) + eps), scale_atoms=True)
    out.positions += rng.normal(0, rattle, out.positions.shape)
    return out


def strain_cells(folder: Path, a0: float) -> None:
    ni = bulk("Ni", "fcc", a=a0)
    for name, e in STRAINS.items():
        atoms = ni.copy()
        atoms.set_cell(ni.cell @ (np.eye(3) + voigt_matrix(e)), scale_atoms=True)
        compute(f"strain_ni/{name}", atoms, "strain_ni", folder)


def bulk_cells(folder: Path, a0: float) -> None:
    rng = np.random.default_rng(2024)
    ni4 = bulk("Ni", "fcc", a=a0, cubic=True)
    ni3al = bulk("Ni", "fcc", a=a0 * 1.013, cubic=True)  # PBE a(Ni3Al)/a(Ni) ~ 3.57/3.52
    ni3al.symbols[0] = "Al"
    ni8 = ni4.repeat((2, 1, 1))
    plan = [("bulk_ni", ni4, 6, 0.1), ("bulk_ni3al", ni3al, 4, 0.1), ("bulk_ni8", ni8, 2, 0.08)]
    cells = [(f"{kind}/{k}", kind, strained(base, rng, rattle=rattle * rng.uniform(0.3, 1)))
             for kind, base, n, rattle in plan for k in range(n)]
    # drawn first, so every cell is the same whatever finished before; computed Ni, Ni3Al, Ni8 in turn so that a
    # partial run already covers every kind
    cells.sort(key=lambda c: (int(c[0].rsplit("/", 1)[1]), [p[0] for p in plan].index(c[1])))
    for name, kind, atoms in cells:
        compute(name, atoms, kind, folder)


def voigt_matrix(e) -> np.ndarray:
    """The symmetric small-strain tensor of Voigt strains e1..e6 (engineering shears)."""
    e1, e2, e3, e4, e5, e6 = e
    return np.array([[e1, e6 / 2, e5 / 2], [e6 / 2, e2, e4 / 2], [e5 / 2, e4 / 2, e3]])


def elastic_constants(frames: dict, bulk_modulus_GPa: float) -> dict:
    """Cubic C11, C12, C44 of the strain_ni frames ({STRAINS name: Atoms}) and the EOS bulk modulus.

    Stress route (the values): the stress at zero strain is not zero (Pulay stress of the fixed plane-wave cutoff,
    ~0.5 GPa, isotropic), so C11 - C12 comes from the deviatoric parts of stress and strain, where an isotropic
    offset drops out: per normal-strain frame the secant dev(s).dev(e) / dev(e).dev(e), extrapolated linearly in
    the volume strain tr(e) to zero strain (the +-1 % pair then cancels the second-order term; orth1 has none by
    symmetry). C44: per shear frame s_shear.e_shear / |e_shear|^2, odd in the strain, so extrapolated in |e|^2.
    C11 = B + 2/3 (C11 - C12), C12 = B - 1/3 (C11 - C12) with B of the energy EOS (free of the Pulay stress).
    Checks: the mean stress against tr(e) (quadratic) gives the offset and a stress-route B; energy route: the
    energies fitted by E0 + V0 p tr(eta) + V0/2 eta.C.eta (Lagrangian strain eta, cubic C), which does not use
    the stresses at all."""
    to_gpa = 160.21766
    dev = lambda x: x[:3] - x[:3].mean()
    normal, shear, hydro, rows, energies = [], [], [], [], []
    for name, atoms in frames.items():
        e, s = np.array(STRAINS[name], float), atoms.get_stress() * to_gpa  # both Voigt xx yy zz yz xz xy
        hydro.append((e[:3].sum(), s[:3].mean()))
        if dev(e) @ dev(e) > 0:
            normal.append((e[:3].sum(), dev(s) @ dev(e) / (dev(e) @ dev(e)), name))
        if e[3:] @ e[3:] > 0:
            shear.append((e[3:] @ e[3:], s[3:] @ e[3:] / (e[3:] @ e[3:]), name))
        f = np.eye(3) + voigt_matrix(e)
        eta = (f.T @ f - np.eye(3)) / 2
        h = np.array([eta[0, 0], eta[1, 1], eta[2, 2], 2 * eta[1, 2], 2 * eta[0, 2], 2 * eta[0, 1]])
        v0 = atoms.get_volume() / np.linalg.det(f)
        rows.append([1.0, v0 * h[:3].sum(), v0 / 2 * h[:3] @ h[:3], v0 * (h[0] * h[1] + h[0] * h[2] + h[1] * h[2]), v0 / 2 * h[3:] @ h[3:]])
        energies.append(atoms.get_potential_energy())
    if len({t for t, _, _ in normal}) < 2 or len(shear) < 2 or len(rows) < 5:
        return {}
    cp = float(np.polyfit([t for t, _, _ in normal], [c for _, c, _ in normal], 1)[1])
    c44 = float(np.polyfit([q for q, _, _ in shear], [c for _, c, _ in shear], 1)[1])
    _, b_stress, offset = np.polyfit(*zip(*hydro), 2)
    (_, p, c11_e, c12_e, c44_e), *_ = np.linalg.lstsq(np.array(rows), np.array(energies), rcond=None)
    b = bulk_modulus_GPa
    return {"C11_GPa": b + 2 * cp / 3, "C12_GPa": b - cp / 3, "C44_GPa": c44, "C11_minus_C12_GPa": cp, "B_GPa": b,
            "secant_C11_minus_C12_GPa": {n: c for _, c, n in normal}, "secant_C44_GPa": {n: c for _, c, n in shear},
            "stress_offset_GPa": offset, "B_from_stress_GPa": b_stress,
            "energy_route": {"C11_GPa": c11_e * to_gpa, "C12_GPa": c12_e * to_gpa, "C44_GPa": c44_e * to_gpa,
                             "C11_minus_C12_GPa": (c11_e - c12_e) * to_gpa, "B_GPa": (c11_e + 2 * c12_e) / 3 * to_gpa,
                             "linear_term_GPa": p * to_gpa},
            "method": "stress route: C11 - C12 from deviatoric stress/strain secants, C44 from shear secants, both "
                      "extrapolated to zero strain; B from the Birch-Murnaghan EOS; 1-atom cells at the PBE a0, "
                      "ions fixed (no internal relaxation in a 1-atom fcc cell), 0 K static"}


def collect(folder: Path, summary: dict) -> None:
    frames = [read(p) for p in sorted((folder / "configs").glob("*/*.extxyz"))]
    # conv/ holds settings tests (other cutoffs and k-meshes); a file from an earlier cutoff is stale
    frames = [f for f in frames if f.info["config_type"] != "conv" and f.info.get("ecut_eV") == ECUT_EV]
    write(folder / "ni_pbe.extxyz", frames, format="extxyz")
    a0 = summary.get("eos", {}).get("a0_A")
    fault_frames = {p.stem: read(p) for p in (folder / "configs" / "fault").glob("*.extxyz")}
    fcc_3 = folder / "configs" / "polytype" / "fcc_3.extxyz"
    if a0 and fault_frames:
        summary["faults"] = fault_energies(fault_frames, a0, read(fcc_3) if fcc_3.exists() else None)
    poly_frames = {p.stem: read(p) for p in (folder / "configs" / "polytype").glob("*.extxyz")}
    if a0 and poly_frames:
        summary["annni"] = annni(poly_frames, a0)
    strain_frames = {p.stem: read(p) for p in sorted((folder / "configs" / "strain_ni").glob("*.extxyz")) if p.stem in STRAINS}
    if "B_GPa" in summary.get("eos", {}) and strain_frames:
        summary["elastic"] = elastic_constants(strain_frames, summary["eos"]["B_GPa"])
    settings = {"code": "GPAW (plane waves)", "xc": "PBE", "spin_polarized": True, "ecut_eV": ECUT_EV,
                "kpoint_density_per_A": KDENSITY, "kpoint_mesh": "Gamma-centred, n_i = ceil(2 pi density |b_i|)",
                "smearing": f"Marzari-Vanderbilt {SMEARING_EV} eV", "energy": "free energy (force consistent)",
                "initial_magmom_muB": {"Ni": 0.7, "Al": 0.0}}
    summary["settings"] = settings
    summary["frames"] = {t: sum(f.info["config_type"] == t for f in frames) for t in dict.fromkeys(f.info["config_type"] for f in frames)}
    (folder / "ni_pbe_faults.json").write_text(json.dumps(summary, indent=2) + "\n")
    print(f"collected {len(frames)} frames -> {folder / 'ni_pbe.extxyz'}: {summary['frames']}", flush=True)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--out", type=Path, required=True)
    ap.add_argument("--collect", action="store_true", help="only collect finished configurations")
    ap.add_argument("--only", choices=["eos", "polytype", "conv", "fault", "strain", "bulk"], help="compute one stage only (a0 from eos)")
    ap.add_argument("--fault", action="append", choices=list(FAULTS), help="with --only fault: these cells only (a second process)")
    args = ap.parse_args()
    folder = args.out
    folder.mkdir(parents=True, exist_ok=True)
    summary = {}
    if not args.collect:
        stages = [args.only] if args.only else ["eos", "polytype", "conv", "fault", "strain", "bulk"]
        if "conv" in stages:  # needs no a0
            summary["convergence"] = convergence(folder)
        if stages != ["conv"]:
            summary["eos"] = lattice_parameter(folder)
        if "polytype" in stages:  # cheap cells first: a fault-energy estimate early
            polytypes(folder, summary["eos"]["a0_A"])
        if "fault" in stages:  # then the planar-fault cells: the dataset's main purpose
            faults(folder, summary["eos"]["a0_A"], args.fault)
        if "strain" in stages:  # cheap 1-atom cells: the elastic constants
            strain_cells(folder, summary["eos"]["a0_A"])
        if "bulk" in stages:
            bulk_cells(folder, summary["eos"]["a0_A"])
    else:
        try:
            summary = {k: v for k, v in json.loads((folder / "ni_pbe_faults.json").read_text()).items() if k in ("convergence", "eos")}
        except (OSError, ValueError):
            pass
        if (folder / "configs" / "conv").is_dir():
            summary["convergence"] = convergence_summary(folder)
        eos_frames = sorted((folder / "configs" / "eos_ni").glob("*.extxyz"))
        if len(eos_frames) == len(EOS_A):
            frames = [read(p) for p in eos_frames]
            v0, e0, b = EquationOfState([f.get_volume() for f in frames], [f.get_potential_energy() for f in frames],
                                        eos="birchmurnaghan").fit()
            summary["eos"] = {"a0_A": (4 * v0) ** (1 / 3), "B_GPa": b * 160.21766, "E0_eV_per_atom": e0,
                              "magmom_muB_per_atom": frames[2].info["magmom_muB"]}
    collect(folder, summary)


if __name__ == "__main__":
    main()
