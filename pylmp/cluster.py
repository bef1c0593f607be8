"""Task folders for a GPU cluster: each potential's cluster pair style in in.lmp, plus a Slurm job-array script.

`pylmp render STUDY --target cluster` writes the same tasks as `pylmp render`, but every in.lmp switches the
potential on with the lines the cluster's own LAMMPS build understands (registry block `cluster:`: official
`pair_style allegro`, `mliap unified`, `metatomic`, `e3gnn`, ...); classical potentials keep their own lines.
Beside the folders: tasks.txt (one folder per line) and submit.slurm (one array element per task, the Kokkos
command line per potential). `bash submit.slurm` outside Slurm runs every task in turn, e.g. on a workstation.
"""
from __future__ import annotations

import dataclasses
from pathlib import Path

from pylmp import launch, potentials, render, spec, study as study_mod
from pylmp.errors import PylmpError
from pylmp.potentials import Potential


def route(pot: Potential) -> Potential:
    """The potential as the cluster's LAMMPS runs it, or a PylmpError when it has no LAMMPS route there."""
    cl = pot.cluster
    if cl.get("pair_style"):
        deployed = pot.source.parent / "deployed"  # where the registry keeps generated model files
        return dataclasses.replace(pot, pair_style=cl["pair_style"], pair_coeff=cl["pair_coeff"],
                                   files=tuple(cl.get("files", ())), files_dir=deployed, bridge="", packages=())
    if pot.bridge or pot.cluster or "pylmp/" in pot.pair_style:
        why = cl.get("note") or f"{pot.source} has no `cluster:` block with the pair style of a cluster build"
        raise PylmpError(f"potential '{pot.name}' has no cluster route: {why}; render it without --target cluster")
    return pot  # a classical pair style: every LAMMPS build has it


def lmp_args(pot: Potential, gpus: int) -> str:
    """The LAMMPS command-line switches of the potential's tasks (Kokkos: one MPI rank per GPU)."""
    kokkos = pot.cluster.get("kokkos")
    if not kokkos:
        return ""
    device = f"g {gpus}" if gpus else "t 1"
    return f"-k on {device} -sf kk -pk kokkos {kokkos}"


def check_gpus(pots: list[Potential], gpus: int) -> None:
    if gpus < 0:
        raise PylmpError(f"--gpus must be 0 or more, got {gpus}")
    for pot in pots:
        most = pot.cluster.get("max_gpus")
        if most is not None and gpus > most:
            raise PylmpError(f"potential '{pot.name}': its cluster pair style '{pot.cluster['pair_style']}' runs on at most "
                             f"{most} GPU(s) per task; use --gpus {most}")


def render_cluster(study_file, potential_override=None, np: int | None = None, out: Path | None = None,
                   gpus: int | None = None, time: str = "02:00:00") -> tuple[Path, list[Path]]:
    """Write the task folders with cluster pair styles, tasks.txt and submit.slurm; returns (out, folders)."""
    # the model files live on the cluster, not here
    st = spec.load(study_file, potential_override=potential_override, np=np, local_files=False)
    out = out or Path("runs") / f"{st.name}-cluster"
    pots = [route(potentials.get(n)) for n in st.potentials]
    if gpus is None:
        gpus = 1 if any(p.cluster.get("pair_style") for p in pots) else 0
    check_gpus(pots, gpus)
    by_name = {p.name: p for p in pots}
    tasks = study_mod.build_tasks(st)
    folders = []
    for task in tasks:
        task.potential = by_name[task.potential.name]
        launch.write_task(task, out / task.name)
        if task.partitions > 1:  # submit.slurm runs it as `lmp -partition PxN` (one partition per neb replica)
            (out / task.name / "partitions").write_text(f"{task.partitions}\n")
        folders.append(out / task.name)
    # every array element gets the same ranks: enough for the widest multi-replica task, split evenly among its partitions
    ranks = max(gpus, st.np, 1) * max(t.partitions for t in tasks)
    (out / "tasks.txt").write_text("".join(f"{t.name}\n" for t in tasks))
    script = render.render("slurm.sh.j2", study=st, potentials=pots, ntasks=ranks, gpus=gpus, time=time,
                           ntask_folders=len(tasks), args={p.name: lmp_args(p, gpus) for p in pots},
                           files=sorted({f for p in pots for f in p.files}))
    (out / "submit.slurm").write_text(script)
    (out / "submit.slurm").chmod(0o755)
    return out, folders
