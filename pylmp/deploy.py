"""`pylmp potentials deploy NAME FILE`: make an ML registry entry runnable from a weights file the user downloaded.

An entry names the form its weights come in (`model_format:`). Deploying converts that file for this machine,
writes the result where the entry reads it (the plugin file of `files:`, or the bridge's `model:` path), then runs
the entry in LAMMPS on two small rattled cells and compares energy, forces and stress with the model's own ASE
calculator on the file the user gave (printed; outside the model dtype's tolerance it is an error, and the
deployed file is moved aside to NAME.failed-check). Formats:
  nequip     NequIP/Allegro package (.nequip.zip) or training checkpoint (.ckpt) -> `nequip-compile` AOTInductor for
             this CPU: target pair_allegro (Allegro) or pylmp_nequip (NequIP) for the plugin, target ase for a bridge
  sevennet   SevenNet checkpoint (.pth) -> AOTInductor package (pylmp.sevennet_export) or sevenn's TorchScript (.pt)
             for the plugin, the checkpoint itself for a bridge entry
  mace       MACE model (.model, e.g. MACE-MP) -> `mace_create_lammps_model --format libtorch` (float64) for the plugin,
             in MACE's own environment .venv-mace, where MACE's ASE calculator also gives the reference values
  metatomic  exported metatomic model (.pt, e.g. PET-MAD's), copied as it is, or a metatrain checkpoint (.ckpt), exported
             with `mtt export` in .venv-pet; metatomic's ASE calculator is the reference
  fairchem   fairchem inference checkpoint (.pt, e.g. UMA's uma-s-1p1.pt) -> the same file where the bridge entry reads
             it, after fairchem's loader has read it; FAIRChemCalculator on the given file is the reference
A converter returns the reference (frames -> energy, forces, stress of each) and the model's dtype.
"""
from __future__ import annotations

import importlib.util
import shutil
import tempfile
from pathlib import Path

import numpy as np

from pylmp import bridge, plugin, potentials
from pylmp.errors import PylmpError

# |LAMMPS - ASE calculator| bounds by model dtype: energy per atom (eV), forces (eV/A), stress (eV/A^3).
# float32: the two sides sum the same terms in different orders; float64: only summation order differs.
TOLERANCES = {"float32": (1e-5, 1e-4, 1e-6), "float64": (1e-8, 1e-6, 1e-8)}


def target_path(pot) -> Path:
    """Where the entry reads its model: the plugin's file (`files:`), or the bridge's weights path (`model:`)."""
    if pot.bridge:
        return bridge.model_file(pot)
    if not pot.files:
        raise PylmpError(f"{pot.source}: `model_format` is set but `files:` names no model file to deploy to")
    return pot.files_dir / pot.files[0]


def ase_reference(calc):
    """frames -> [(energy, forces, stress)] from an ASE calculator in this process."""
    def evaluate(frames):
        out = []
        for atoms in frames:
            atoms = atoms.copy()
            atoms.calc = calc
            out.append((atoms.get_potential_energy(), atoms.get_forces(), atoms.get_stress()))
        return out
    return evaluate


def _nequip(pot, source: Path, out: Path):
    from pylmp import finetune_nequip

    info = finetune_nequip.model_info(source)  # also the clear error for a file that is not a nequip model
    target = "ase" if pot.bridge else "pair_allegro" if info["allegro"] else "pylmp_nequip"
    plugin.compile_nequip(str(source), target=target, out=out, force=True)
    calc = finetune_nequip.calculator(source)
    return ase_reference(calc), calc.model.metadata.get("model_dtype", "float64")


def _sevennet(pot, source: Path, out: Path):
    from sevenn.calculator import SevenNetCalculator

    if pot.bridge:
        shutil.copyfile(source, out)
        bridge.forget_calculators()
    else:
        plugin.deploy_sevennet(str(source), out=out, force=True, fmt="aoti" if out.suffix == ".pt2" else "torchscript")
    return ase_reference(SevenNetCalculator(str(source), device="cpu")), "float32"


def _mace(pot, source: Path, out: Path):
    from pylmp import finetune_mace

    if pot.bridge:
        raise PylmpError(f"{pot.source}: model_format mace deploys for the plugin (pair_style pylmp/torch); drop `bridge:`")
    finetune_mace.export(source, out)
    return lambda frames: finetune_mace.reference_values(source, frames), "float64"


def _fairchem(pot, source: Path, out: Path):
    if importlib.util.find_spec(bridge.ROUTES["fairchem"].module) is None:
        raise PylmpError(f"model_format fairchem needs fairchem-core, which is not installed: {bridge.ROUTES['fairchem'].install}")
    from fairchem.core import FAIRChemCalculator

    if not pot.bridge:
        raise PylmpError(f"{pot.source}: model_format fairchem runs through the ASE bridge; add `bridge: fairchem`")
    try:  # loaded before anything is written, so that a wrong file never lands where the entry reads its model
        unit = bridge.fairchem_predict_unit(str(source))
    except ValueError as exc:
        raise PylmpError(f"cannot load {source}: {exc}") from None
    if bridge.FAIRCHEM_TASK not in unit.dataset_to_tasks:
        raise PylmpError(f"cannot deploy {source} as '{pot.name}': its tasks are {', '.join(unit.dataset_to_tasks)}, "
                         f"not '{bridge.FAIRCHEM_TASK}' (a UMA checkpoint has it); get one from {pot.weights}")
    if source != out.resolve():
        shutil.copyfile(source, out)
    bridge.forget_calculators()
    dtype = str(unit.inference_settings.base_precision_dtype).replace("torch.", "")
    return ase_reference(FAIRChemCalculator(unit, task_name=bridge.FAIRCHEM_TASK)), dtype


def metatomic_evaluate(model: Path, frames) -> tuple[list, str]:
    """[(energy, forces, stress)] of each frame and the model's dtype, from metatomic's ASE calculator. Cells go in
    as LAMMPS holds them (a along x, b in the xy plane) and the results are turned back, because PET learns
    rotational invariance rather than having it exactly."""
    try:
        calc = bridge.import_metatomic_ase().MetatomicCalculator(str(model), device="cpu")
    except Exception as exc:  # torch's loader raises RuntimeError/ValueError with a multi-line message
        why = (str(exc).strip().splitlines() or [type(exc).__name__])[0]
        raise PylmpError(f"metatomic's ASE calculator cannot run {model} ({why}); a metatomic model is the .pt "
                         "that `mtt export` writes") from None
    values = []
    for atoms in frames:
        atoms = atoms.copy()
        cell, q = atoms.cell.standard_form()
        atoms.positions = atoms.positions @ q.T
        atoms.set_cell(cell)
        atoms.calc = calc
        s = atoms.get_stress(voigt=False)
        values.append((float(atoms.get_potential_energy()), atoms.get_forces() @ q,
                       (q.T @ s @ q)[[0, 1, 2, 1, 0, 0], [0, 1, 2, 2, 2, 1]]))
    return values, calc._model.capabilities().dtype


def _metatomic(pot, source: Path, out: Path):
    if importlib.util.find_spec("metatomic_ase") is None:
        raise PylmpError("model_format metatomic needs metatomic-torch and metatomic-ase: pip install metatomic-torch metatomic-ase")
    if source.suffix == ".ckpt":  # a metatrain checkpoint (PET-MAD's download): exported where metatrain lives
        import subprocess

        from pylmp import finetune_pet

        proc = subprocess.run([str(finetune_pet.exe("mtt")), "export", str(source), "-o", str(out)], capture_output=True, text=True)
        if proc.returncode != 0:
            raise PylmpError(f"mtt export {source} failed: {(proc.stderr.strip().splitlines() or ['?'])[-1]}")
        _, dtype = metatomic_evaluate(out, [check_cells(pot)[0][1]])
    else:  # evaluated before it is copied: a wrong file never lands where the entry reads its model
        _, dtype = metatomic_evaluate(source, [check_cells(pot)[0][1]])
        if source != out.resolve():
            shutil.copyfile(source, out)
    bridge.forget_calculators()
    return lambda frames: metatomic_evaluate(out, frames)[0], dtype


CONVERTERS = {"nequip": _nequip, "sevennet": _sevennet, "mace": _mace, "metatomic": _metatomic, "fairchem": _fairchem}


def check_cells(pot) -> list:
    """A rattled, sheared 32-atom fcc cell (an alloy when the model covers a second element) and a rattled
    27-atom primitive (triclinic) fcc cell: forces and stress well away from zero, both cell shapes of LAMMPS."""
    from ase.build import bulk

    wanted = [e for e in ("Ni", "Al") if e in pot.elements] or list(pot.elements[:2])
    alloy = bulk(wanted[0], "fcc", a=3.55, cubic=True).repeat(2)
    if len(wanted) > 1:
        symbols = np.array(alloy.get_chemical_symbols())
        symbols[np.random.default_rng(0).choice(len(alloy), 8, replace=False)] = wanted[1]
        alloy.set_chemical_symbols(symbols)
    alloy.set_cell(alloy.cell @ np.array([[1, 0.02, 0], [0, 1, 0], [0.01, 0, 0.99]]), scale_atoms=True)
    alloy.rattle(0.05, seed=1)
    prim = bulk(wanted[0], "fcc", a=3.50).repeat(3)
    prim.rattle(0.05, seed=2)
    return [("alloy" if len(wanted) > 1 else "cubic", alloy, wanted), ("primitive", prim, wanted[:1])]


def compare(name: str, reference, dtype: str, folder: Path) -> list[dict]:
    """The entry in LAMMPS (pylmp.single_point) vs `reference` on check_cells: max differences, within bounds or not."""
    from pylmp.single_point import single_point

    pot = potentials.get(name)
    tol = TOLERANCES.get(dtype, TOLERANCES["float32"])
    cells = check_cells(pot)
    rows = []
    for (label, atoms, elements), (e_ref, f_ref, s_ref) in zip(cells, reference([atoms for _, atoms, _ in cells])):
        sub = folder / label
        sub.mkdir(parents=True, exist_ok=True)
        energy, forces, stress = single_point(name, atoms, elements, sub)
        diff = (abs(energy - e_ref) / len(atoms), float(np.abs(forces - f_ref).max()), float(np.abs(stress - s_ref).max()))
        rows.append({"cell": label, "atoms": len(atoms), "energy": energy, "energy_ref": float(e_ref),
                     "de_per_atom": diff[0], "df_max": diff[1], "ds_max": diff[2],
                     "ok": all(d <= t for d, t in zip(diff, tol))})
    return rows


def deploy(name: str, source: Path, log=print) -> list[dict]:
    """Convert `source` for the entry `name` (a registry name or an entry's YAML path), then check it in LAMMPS."""
    pot = potentials.get(name)
    if not pot.model_format:
        raise PylmpError(f"potential '{pot.name}' has no model_format, so there is nothing to deploy "
                         f"(classical potentials ship with LAMMPS); ML entries that take weights: {', '.join(deployable())}")
    if pot.model_format not in CONVERTERS:
        raise PylmpError(f"{pot.source}: unknown model_format '{pot.model_format}'; choose one of {', '.join(CONVERTERS)}")
    source = Path(source).expanduser()
    if not source.is_file():
        raise PylmpError(f"weights file {source} not found; get it from {pot.weights or 'the model authors'}")
    out = target_path(pot)
    out.parent.mkdir(parents=True, exist_ok=True)
    log(f"deploying {source} as '{pot.name}' ({pot.model_format}) -> {out}")
    reference, dtype = CONVERTERS[pot.model_format](pot, source.resolve(), out)
    log(f"checking '{pot.name}' in LAMMPS against the model's own ASE calculator ({dtype}; bounds "
        f"{'/'.join(f'{t:g}' for t in TOLERANCES.get(dtype, TOLERANCES['float32']))} eV/atom, eV/A, eV/A^3)")
    with tempfile.TemporaryDirectory(prefix="pylmp-deploy-") as tmp:
        rows = compare(name, reference, dtype, Path(tmp))
    for r in rows:
        log(f"  {r['cell']:<9} {r['atoms']:>3} atoms  E {r['energy']:.6f} eV  |dE|/atom {r['de_per_atom']:.1e}  "
            f"max|dF| {r['df_max']:.1e}  max|dS| {r['ds_max']:.1e}  {'ok' if r['ok'] else 'OUT OF BOUNDS'}")
    bad = [r["cell"] for r in rows if not r["ok"]]
    if bad:  # moved aside, so that the entry does not run a model that failed its check
        kept = out.replace(out.with_name(out.name + ".failed-check"))
        raise PylmpError(f"'{pot.name}' as deployed disagrees with its ASE calculator on the {', '.join(bad)} cell "
                         f"(differences above); the file is kept as {kept} for inspection, not where the entry reads it")
    log(f"'{pot.name}' is ready: pylmp run STUDY -p {pot.name}")
    return rows


def deployable() -> list[str]:
    return [n for n, p in potentials.registry().items() if p.model_format]


def readiness(pot) -> tuple[bool, str]:
    """(ready to run here, the fix when not): files and bridge packages present."""
    try:
        pot.check_files()
    except PylmpError as exc:
        return False, str(exc)
    return True, ""
