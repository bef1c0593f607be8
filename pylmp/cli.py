"""Command line: `pylmp run|render STUDY`, `pylmp potentials [list|show NAME]`.

Every user-facing failure is one line `error: ...` and exit code 2; nothing already computed is removed.
"""
from __future__ import annotations

import argparse
import sys
from pathlib import Path

from pylmp import potentials, spec, study
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
    pot = sub.add_parser("potentials", help="list the potentials registry or show one entry")
    pot.add_argument("action", nargs="?", choices=["list", "show"], default="list")
    pot.add_argument("name", nargs="?")
    return p


def _potentials(args) -> None:
    if args.action == "list":
        reg = potentials.registry()
        width = max(len(n) for n in reg)
        for name, pot in reg.items():
            elements = " ".join(pot.elements) if len(pot.elements) <= 8 else f"{len(pot.elements)} elements"
            print(f"{name:<{width}}  {elements:<22} {pot.pair_style:<12} {pot.description}")
        return
    if not args.name:
        raise PylmpError("`pylmp potentials show` needs a NAME; see `pylmp potentials list`")
    pot = potentials.get(args.name)
    print(pot.source.read_text().rstrip())
    print(f"# files resolve to: {pot.files_dir}")
    print(f"# LAMMPS lines for types {' '.join(pot.elements)}:")
    for line in pot.lammps_lines(list(pot.elements) if "{elements}" in pot.pair_coeff else [pot.elements[0]]):
        print("#   " + line.replace("${potdir}", str(pot.files_dir)))


def main(argv: list[str] | None = None) -> int:
    try:
        args = _parser().parse_args(argv)
        if args.command == "potentials":
            _potentials(args)
            return 0
        st = spec.load(args.study, potential_override=args.potential, np=args.np, mode=args.mode)
        out = args.out or Path("runs") / st.name
        if args.command == "render":
            folders = study.render_only(st, out)
            how = ("bridge potentials run through `pylmp run` only" if any(potentials.get(n).bridge for n in st.potentials)
                   else f"run one with: cd {folders[0]} && lmp -in in.lmp")
            print(f"wrote {len(folders)} task folders under {out}; {how}")
            return 0
        summary = study.run(st, out)
        if summary is not None:  # None: a task-farm rank other than 0
            print(study.scalar_table(summary))
            print(f"\nresults: {out / 'results.json'}  table: {out / (st.workflow + '.csv')}  figure: {out / (st.workflow + '.png')}")
        return 0
    except PylmpError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
