"""Command line: `pylmp run|render STUDY`, `pylmp analyze DUMP ...`, `pylmp report RUN_DIR`, `pylmp potentials [list|show NAME|deploy NAME FILE]`,
`pylmp dataset summary|split FILE`, `pylmp finetune CONFIG`.

Every user-facing failure is one line `error: ...` and exit code 2; nothing already computed is removed.
"""
from __future__ import annotations

import argparse
import sys
from pathlib import Path

from pylmp import api, cluster, potentials, report, study
from pylmp.errors import PylmpError


class _Parser(argparse.ArgumentParser):
    def error(self, message):  # argparse's own usage errors follow the same one-line convention
        raise PylmpError(f"{message}; see `pylmp {self.prog.split()[-1]} --help`" if " " in self.prog else message)


def _parser() -> argparse.ArgumentParser:
    p = _Parser(prog="pylmp", description="Templated LAMMPS studies with classical and ML potentials.")
    sub = p.add_subparsers(dest="command", required=True, parser_class=_Parser)
    for name, helptext in (("run", "run (or resume) a study"), ("render", "write task folders (in.lmp, data.lmp) without running")):
        s = sub.add_parser(name, help=helptext)
        s.add_argument("study", help="study file, e.g. inputs/ni_eos.yaml")
        s.add_argument("--potential", "-p", action="append", metavar="NAME", help="potential(s) to use instead of the study's list")
        s.add_argument("--np", type=int, metavar="N", help="MPI ranks per task (mpirun lmp; under an mpirun task farm: ranks per group)")
        s.add_argument("--mode", choices=["inprocess", "lmp"], help="in-process LAMMPS (default) or an `lmp` subprocess per task")
        s.add_argument("--out", type=Path, metavar="DIR", help="output folder (default runs/<study name>)")
        if name == "run":
            s.add_argument("-j", "--jobs", type=int, metavar="N",
                           help="tasks at a time, each its own process with one LAMMPS (default: the cores available / --np; 1: serial)")
        if name == "render":
            s.add_argument("--target", choices=["local", "cluster"], default="local",
                           help="cluster: each potential's pair style for a cluster LAMMPS build (Kokkos/GPU) + submit.slurm")
            s.add_argument("--gpus", type=int, metavar="N", help="--target cluster: GPUs (one MPI rank each) per task; default 1 for ML pair styles")
            s.add_argument("--time", default="02:00:00", metavar="HH:MM:SS", help="--target cluster: Slurm time limit of each task")
    ana = sub.add_parser("analyze", help="defect analysis of LAMMPS dumps (CNA, PTM, CSP, planar faults, DXA, SRO)")
    ana.add_argument("dumps", nargs="+", metavar="DUMP", help="LAMMPS text dump(s), one frame or many")
    ana.add_argument("--what", metavar="LIST", help="comma-separated: cna,ptm,csp,faults,dxa,sro (default cna,faults,dxa)")
    ana.add_argument("--out", type=Path, metavar="DIR", help="output folder (default: next to each dump)")
    ana.add_argument("--render", action="store_true", help="also an OVITO picture of the last frame (<stem>.render.png)")
    rep = sub.add_parser("report", help="(re)write report.md and report.html of a finished study folder")
    rep.add_argument("run_dir", type=Path, metavar="RUN_DIR", help="a study's output folder (holds results.json)")
    ds = sub.add_parser("dataset", help="summary or train/valid/test split of a DFT dataset (extxyz, OUTCAR, vasprun.xml; ASE)")
    ds.add_argument("action", choices=["summary", "split"])
    ds.add_argument("file", type=Path, metavar="FILE")
    ds.add_argument("--json", action="store_true", help="summary: print JSON instead of the text table")
    ds.add_argument("--out", type=Path, metavar="DIR", help="split: folder for train/valid/test.extxyz and split.json")
    ds.add_argument("--seed", type=int, default=0, help="split: random seed (per config_type draws)")
    ft = sub.add_parser("finetune", help="fine-tune an ML potential on a DFT dataset, deploy it to LAMMPS, score before/after")
    ft.add_argument("config", type=Path, metavar="CONFIG", help="fine-tuning config, e.g. inputs/finetune_nequip_ni.yaml")
    ft.add_argument("--out", type=Path, metavar="DIR", help="run folder (default runs/finetune/<name>)")
    ft.add_argument("--only", choices=["prepare", "train", "deploy", "score"], help="run one step (default: all, resuming)")
    pot = sub.add_parser("potentials", help="list the registry (ready or missing weights), show an entry, deploy downloaded weights")
    pot.add_argument("action", nargs="?", choices=["list", "show", "deploy"], default="list")
    pot.add_argument("name", nargs="?", help="registry entry (or the path of an entry's YAML)")
    pot.add_argument("file", nargs="?", type=Path, help="deploy: the weights file you downloaded (see the entry's `weights:`)")
    return p


def _potentials(args) -> None:
    from pylmp import deploy

    if args.action == "list":
        reg = potentials.registry()
        width = max(len(n) for n in reg)
        missing = []
        for name, pot in reg.items():
            elements = " ".join(pot.elements) if len(pot.elements) <= 8 else f"{len(pot.elements)} elements"
            ready, why = deploy.readiness(pot)
            missing += [] if ready else [why]
            print(f"{name:<{width}}  {'ready' if ready else 'missing':<8} {elements:<22} {pot.pair_style:<12} {pot.description}")
        if missing:
            print(f"\n{len(missing)} entries cannot run here yet:")
            print("\n".join(f"  {line}" for line in missing))
        return
    if not args.name:
        raise PylmpError(f"`pylmp potentials {args.action}` needs a NAME; see `pylmp potentials list`")
    if args.action == "deploy":
        if args.file is None:
            pot = potentials.get(args.name)
            raise PylmpError(f"`pylmp potentials deploy {args.name}` needs the weights FILE"
                             + (f" (get it from {pot.weights})" if pot.weights else ""))
        deploy.deploy(args.name, args.file)
        return
    pot = potentials.get(args.name)
    print(pot.source.read_text().rstrip())
    print(f"# files resolve to: {pot.files_dir}")
    print(f"# LAMMPS lines for types {' '.join(pot.elements)}:")
    for line in pot.lammps_lines(list(pot.elements) if "{elements}" in pot.pair_coeff else [pot.elements[0]]):
        print("#   " + line.replace("${potdir}", str(pot.files_dir)))


def main(argv: list[str] | None = None) -> int:
    try:
        args = _parser().parse_args(argv)
        if args.command == "analyze":
            from pylmp import analyze
            analyze.analyze_dumps(args.dumps, analyze.parse_names(args.what), args.out, args.render)
            return 0
        if args.command == "dataset":
            from pylmp import datasets
            if args.action == "summary":
                print(datasets.summarize_file(args.file, args.json))
                return 0
            parts = datasets.write_split(args.file, args.out or Path(args.file).with_suffix(""), seed=args.seed)
            print(", ".join(f"{k} {len(v)}" for k, v in parts.items()) + f" frames -> {args.out or Path(args.file).with_suffix('')}")
            return 0
        if args.command == "finetune":
            from pylmp import finetune
            cfg = finetune.load(args.config)
            finetune.run(cfg, args.out or Path("runs") / "finetune" / cfg.name, args.only)
            return 0
        if args.command == "potentials":
            _potentials(args)
            return 0
        if args.command == "report":
            print(f"wrote {report.write(args.run_dir)} and report.html")
            return 0
        if args.command == "render" and args.target == "cluster":
            out, folders = cluster.render_cluster(args.study, args.potential, args.np, args.out, args.gpus, args.time)
            print(f"wrote {len(folders)} task folders, tasks.txt and submit.slurm under {out}; "
                  f"edit the EDIT lines of submit.slurm, copy the folder to the cluster and `sbatch submit.slurm` there")
            return 0
        st = api.load(args.study, potentials=args.potential, np=args.np, mode=args.mode)
        out = args.out or api.default_out(st)
        if args.command == "render":
            folders = study.render_only(st, out)
            how = ("bridge potentials run through `pylmp run` only" if any(potentials.get(n).bridge for n in st.potentials)
                   else f"run one with: cd {folders[0]} && lmp -in in.lmp")
            print(f"wrote {len(folders)} task folders under {out}; {how}")
            return 0
        summary = api.run(st, out, jobs=args.jobs)
        if summary is not None:  # None: a task-farm rank other than 0
            print(study.scalar_table(summary))
            print(f"\nresults: {out / 'results.json'}  table: {out / (st.workflow + '.csv')}  figure: {out / (st.workflow + '.png')}"
                  f"  report: {out / 'report.md'}")
        return 0
    except PylmpError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
