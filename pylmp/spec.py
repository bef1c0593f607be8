"""Study files (inputs/*.yaml): read, check every key, and fill defaults, before any LAMMPS starts."""
from __future__ import annotations

import dataclasses
import difflib
from pathlib import Path

import yaml

from pylmp import lammps_env, potentials, structures
from pylmp.errors import PylmpError
from pylmp.launch import MODES

# Allowed keys with their defaults (REQUIRED: no default). Workflow settings are checked against the workflow's own DEFAULTS.
REQUIRED = object()
TOP = {"name": "", "workflow": REQUIRED, "material": REQUIRED, "potentials": [], "settings": {}, "launch": {}, "analyze": []}
# composition is required unless `structure` (a file ASE reads, or ASE Atoms from the Python API) gives the atoms
MATERIAL = {"lattice": "fcc", "composition": None, "a": None, "atoms": 256, "seed": 1, "structure": None, "types": None, "format": None}
OWN_STRUCTURE_LATTICE = "structure"  # Study.lattice of a user's own structure
LAUNCH = {"mode": "inprocess", "np": 1}


@dataclasses.dataclass
class Study:
    name: str
    workflow: str
    lattice: str
    composition: dict[str, float]  # at.%, in type-map order
    a: float  # starting lattice parameter (A)
    atoms: int  # target cell size
    seed: int
    potentials: list[str]  # registry names, or absolute paths of users' potential YAML files
    settings: dict
    mode: str
    np: int
    source: Path
    analyze: list[str] = dataclasses.field(default_factory=list)  # defect analyses of every task's dumps (pylmp.analyze)
    structure: object = None  # the user's own crystal (ase Atoms at lattice parameter `a`), or None: built from lattice

    @property
    def present_elements(self) -> list[str]:
        """Elements with a non-zero share (the type map may hold more, e.g. Al at the pure-Ni end of a scan)."""
        return [el for el, pct in self.composition.items() if pct > 0]

    @property
    def elements(self) -> list[str]:
        """The LAMMPS type map shared by every task of the study."""
        return list(self.composition)


def _check_keys(section: dict, allowed: dict, where: str, path: Path) -> dict:
    if not isinstance(section, dict):
        raise PylmpError(f"{path}: '{where}' must be a mapping of keys to values")
    for key in section:
        if key not in allowed:
            close = difflib.get_close_matches(str(key), allowed, n=1)
            hint = f"did you mean '{close[0]}'?" if close else f"allowed: {', '.join(allowed)}"
            raise PylmpError(f"{path}: unknown key '{key}' in {where}; {hint}")
    missing = [k for k, v in allowed.items() if v is REQUIRED and k not in section]
    if missing:
        raise PylmpError(f"{path}: {where} is missing '{missing[0]}'")
    return {**allowed, **section}


def _number(value, what: str, path: Path, kind=float, minimum=None):
    try:
        out = kind(value)
    except (TypeError, ValueError):
        raise PylmpError(f"{path}: {what} must be a number, got {value!r}") from None
    if minimum is not None and out < minimum:
        raise PylmpError(f"{path}: {what} must be at least {minimum}, got {value!r}")
    return out


def _typed_settings(settings: dict, defaults: dict, path: Path) -> dict:
    """Give each setting the type of its default, so a workflow never compares a string with a number."""
    out = dict(settings)
    for key, default in defaults.items():
        value = settings[key]
        if isinstance(default, bool):
            if not isinstance(value, bool):
                raise PylmpError(f"{path}: settings.{key} must be true or false, got {value!r}")
        elif isinstance(default, (int, float)):
            out[key] = _number(value, f"settings.{key}", path, type(default))
        elif isinstance(default, list) and default and isinstance(default[0], (int, float)):
            items = value if isinstance(value, list) else [value]
            out[key] = [_number(v, f"each of settings.{key}", path, type(default[0])) for v in items]
    return out


def _analyses(names, composition: dict[str, float], path: Path) -> list[str]:
    """The `analyze:` list: known names (did-you-mean otherwise); sro only for an alloy."""
    from pylmp.analysis.defects import check_names

    if not names:
        return []
    names = check_names([names] if isinstance(names, str) else list(names), f"{path}: analyze")
    if "sro" in names and sum(1 for pct in composition.values() if pct > 0) < 2:
        raise PylmpError(f"{path}: analyze: sro (Warren-Cowley short-range order) needs an alloy; drop it for a pure metal")
    return names


def default_lattice_parameter(element: str) -> float:
    """A starting guess from ASE's reference data, scaled to the fcc cube of the same volume per atom."""
    from ase.data import atomic_numbers, reference_states

    ref = reference_states[atomic_numbers[element]] or {}
    if ref.get("symmetry") == "fcc":
        return ref["a"]
    if ref.get("symmetry") == "bcc":
        return ref["a"] * 2 ** (1 / 3)  # same volume per atom: 4 atoms per fcc cube vs 2 per bcc cube
    return 3.6  # a sane fcc-metal value; every workflow relaxes from it


def load(path: str | Path, potential_override: list[str] | None = None, np: int | None = None,
         mode: str | None = None, local_files: bool = True) -> Study:
    """The validated study of a YAML file. local_files=False skips the model-file checks: inputs rendered for another
    machine (a cluster) that holds the files."""
    path = Path(path)
    if not path.is_file():
        raise PylmpError(f"study file {path} not found; examples are in inputs/")
    try:
        raw = yaml.safe_load(path.read_text())
    except yaml.YAMLError as exc:
        raise PylmpError(f"{path}: not valid YAML ({str(exc).splitlines()[0]})") from None
    return from_dict(raw or {}, path, potential_override, np, mode, local_files)


def from_dict(raw: dict, path: Path = Path("<study dict>"), potential_override: list[str] | None = None, np: int | None = None,
              mode: str | None = None, local_files: bool = True) -> Study:
    """The validated study of a mapping with the YAML's keys. `path` names it in messages; relative file paths in it
    (potential YAML files, material.structure, datasets) are taken from path's folder (the cwd for a dict)."""
    from pylmp.workflows import WORKFLOWS

    top = _check_keys(raw, TOP, "the study", path)
    workflow = top["workflow"]
    if workflow not in WORKFLOWS:
        raise PylmpError(f"{path}: unknown workflow '{workflow}'; choose one of {', '.join(WORKFLOWS)}")
    given = top["material"] if isinstance(top["material"], dict) else {}
    mat = _check_keys(top["material"], MATERIAL, "material", path)
    if mat["structure"] is not None:
        if not getattr(WORKFLOWS[workflow], "OWN_STRUCTURE", False):
            if getattr(WORKFLOWS[workflow], "NO_STRUCTURE", None):  # the workflow's own word on where structures go
                raise PylmpError(f"{path}: {WORKFLOWS[workflow].NO_STRUCTURE}")
            takes = ", ".join(n for n, w in WORKFLOWS.items() if getattr(w, "OWN_STRUCTURE", False))
            raise PylmpError(f"{path}: workflow '{workflow}' builds its own cells from material.lattice and composition; "
                             f"material.structure works with {takes}")
        lattice, comp, a, structure = _own_structure(mat, given, path)
        atoms = len(structure)
    else:
        lattice, comp, a = _built_material(mat, given, path)
        structure, atoms = None, _number(mat["atoms"], "material.atoms", path, int, 1)

    # a user's own potential is a YAML path: relative to the cwd on the command line, to the study file in it
    names, base = (potential_override, Path.cwd()) if potential_override else (top["potentials"], path.parent)
    names = [names] if isinstance(names, str) else list(names or [])
    if not names:
        raise PylmpError(f"{path}: no potentials: add `potentials: [Ni_u3]` (see `pylmp potentials list`) or pass --potential NAME")
    names = [str((base / n).resolve()) if str(n).endswith((".yaml", ".yml")) else str(n) for n in names]
    for name in names:
        potentials.get(name).check_elements(list(comp))
        if local_files:
            potentials.get(name).check_files()

    defaults = WORKFLOWS[workflow].DEFAULTS
    settings = _check_keys(top["settings"] or {}, defaults, f"settings of workflow '{workflow}'", path)
    settings = _typed_settings(settings, defaults, path)
    launch = _check_keys(top["launch"] or {}, LAUNCH, "launch", path)
    mode = mode or launch["mode"]
    if mode not in MODES:
        raise PylmpError(f"{path}: unknown launch mode '{mode}'; choose one of {', '.join(MODES)}")
    np = np if np is not None else _number(launch["np"], "launch.np", path, int, 1)
    bridged = [potentials.get(n).name for n in names if potentials.get(n).bridge]
    if bridged and (mode == "lmp" or (np > 1 and lammps_env.world_size() == 1)):
        raise PylmpError(f"potential '{bridged[0]}' is an ASE calculator called from Python (fix external): it runs only in-process; "
                         "drop --mode lmp/--np, or spread tasks with `mpirun -np K python -m pylmp run ...` (mpi4py task farm)")
    study = Study(
        name=top["name"] or (path.stem if path.suffix else workflow), workflow=workflow, lattice=lattice, composition=comp, a=a,
        atoms=atoms, seed=_number(mat["seed"], "material.seed", path, int),
        potentials=list(names), settings=settings, mode=mode,
        np=np, source=path, analyze=_analyses(top["analyze"], comp, path), structure=structure,
    )
    WORKFLOWS[workflow].check(study)
    return study


def _built_material(mat: dict, given: dict, path: Path) -> tuple[str, dict, float]:
    """lattice, composition (at.%) and starting a of a crystal pylmp builds."""
    for key in ("types", "format"):
        if key in given:
            raise PylmpError(f"{path}: material.{key} describes a material.structure file; drop it or add the structure")
    comp = mat["composition"]
    if comp is None:
        raise PylmpError(f"{path}: material is missing 'composition' (e.g. {{Ni: 90, Al: 10}}), or give your own crystal as material.structure")
    if isinstance(comp, str):  # a bare element: "Ni"
        comp = {comp: 100}
    if not isinstance(comp, dict) or not comp:
        raise PylmpError(f"{path}: material.composition must map elements to at.%, e.g. {{Ni: 90, Al: 10}}")
    comp = {str(el): _number(pct, f"composition of {el}", path) for el, pct in comp.items()}
    structures.check_composition(comp)
    if mat["lattice"] not in structures.LATTICES:
        raise PylmpError(f"{path}: unknown lattice '{mat['lattice']}'; choose one of {', '.join(structures.LATTICES)}")
    majority = max(comp, key=comp.get)
    a = _number(mat["a"], "material.a", path, minimum=1.0) if mat["a"] is not None else default_lattice_parameter(majority)
    return mat["lattice"], comp, a


def _own_structure(mat: dict, given: dict, path: Path) -> tuple[str, dict, float, object]:
    """lattice tag, composition, a and Atoms of the user's own crystal (a file ASE reads, or Atoms from the Python API).

    `a` is the structure's lattice parameter (structures.reference_length); material.a rescales the structure to it,
    material.atoms repeats it into a near-cubic supercell of about that many atoms."""
    from ase import Atoms

    for key in ("composition", "lattice"):
        if key in given:
            raise PylmpError(f"{path}: material.{key} comes from material.structure itself; drop material.{key}")
    src, types = mat["structure"], mat["types"]
    if types is not None and (not isinstance(types, list) or not all(isinstance(t, str) for t in types)):
        raise PylmpError(f"{path}: material.types must list element symbols for LAMMPS types 1, 2, ..., e.g. [Ni, Al]")
    for el in types or []:
        structures.check_composition({el: 100.0})  # a real element symbol
    if isinstance(src, Atoms):
        atoms = structures.checked_structure(src, "(ASE Atoms)")
    elif isinstance(src, (str, Path)):
        file = Path(src).expanduser()
        atoms = structures.read_structure(file if file.is_absolute() else path.parent / file, types, mat["format"])
    else:
        raise PylmpError(f"{path}: material.structure must be a file path (CIF, POSCAR, extxyz, LAMMPS data) or ASE Atoms")
    if "atoms" in given:
        atoms = atoms.repeat(structures.near_cubic_repeats(atoms, _number(mat["atoms"], "material.atoms", path, int, 1)))
    a_file = structures.reference_length(atoms)
    a = a_file
    if mat["a"] is not None:
        a = _number(mat["a"], "material.a", path, minimum=1.0)
        atoms.set_cell(atoms.cell[:] * (a / a_file), scale_atoms=True)
    comp = structures.composition_of(atoms, [t for t in types if t in atoms.get_chemical_symbols()] if types else None)
    return OWN_STRUCTURE_LATTICE, comp, a, atoms
