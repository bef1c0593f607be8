"""A single-node Slurm (Debian slurm-wlm + munge) in a scratch folder, for tests and run/bench_farm.py.

start(folder) installs the packages when they are missing and this is root with apt-get, then starts munged (as
user munge, own socket), slurmctld and slurmd (as root) on free ports with a slurm.conf in `folder`. Clients find
it through the SLURM_CONF that `env()` returns. stop() ends exactly the daemons it started, by pid.
Nothing here touches a Slurm or munge the machine may already run: socket, ports, state and logs are all in `folder`.
"""
from __future__ import annotations

import os
import shutil
import signal
import socket
import subprocess
import tempfile
import time
from pathlib import Path

PACKAGES = ("slurm-wlm", "munge")
DAEMONS = ("/usr/sbin/munged", "/usr/sbin/slurmctld", "/usr/sbin/slurmd")


class Unavailable(Exception):
    """Slurm cannot start here; the message says why (the tests skip with it)."""


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def install() -> None:
    if all(Path(d).exists() for d in DAEMONS) and shutil.which("sbatch"):
        return
    if os.geteuid() != 0 or not shutil.which("apt-get"):
        raise Unavailable("slurm-wlm and munge are not installed and this is not root with apt-get "
                          "(install them: apt-get install slurm-wlm munge)")
    env = {**os.environ, "DEBIAN_FRONTEND": "noninteractive"}
    cmd = ["apt-get", "install", "-y", "-q", *PACKAGES]
    if subprocess.run(cmd, env=env, capture_output=True).returncode != 0:  # a stale package list: update once
        subprocess.run(["apt-get", "update", "-q"], env=env, capture_output=True)
        proc = subprocess.run(cmd, env=env, capture_output=True, text=True)
        if proc.returncode != 0:
            raise Unavailable(f"apt-get install {' '.join(PACKAGES)} failed: {proc.stderr.strip().splitlines()[-1:]}")


class Cluster:
    def __init__(self, folder: Path, cpus: int):
        self.folder, self.cpus, self.pids = Path(folder), cpus, []
        self.conf = self.folder / "slurm.conf"
        # munged runs as user munge, which may not enter `folder` (pytest's tmp is root-only): its own /tmp folder
        self.munge_dir = Path(tempfile.mkdtemp(prefix="pylmp-munge-"))
        self.munge_socket = self.munge_dir / "munge.socket"

    def env(self) -> dict[str, str]:
        return {**os.environ, "SLURM_CONF": str(self.conf)}

    def _write_conf(self) -> None:
        f = self.folder
        # the settings measured to work on one machine without systemd/cgroups (STACK-NOTES "Checked later")
        lines = [
            "ClusterName=pylmptest", "SlurmctldHost=localhost", f"SlurmctldPort={_free_port()}", f"SlurmdPort={_free_port()}",
            "AuthType=auth/munge", f"AuthInfo=socket={self.munge_socket}", "SlurmUser=root", "SlurmdUser=root",
            f"StateSaveLocation={f}/state", f"SlurmdSpoolDir={f}/spool", f"SlurmctldPidFile={f}/slurmctld.pid",
            f"SlurmdPidFile={f}/slurmd.pid", f"SlurmctldLogFile={f}/slurmctld.log", f"SlurmdLogFile={f}/slurmd.log",
            "ProctrackType=proctrack/linuxproc", "TaskPlugin=task/none", "SelectType=select/cons_tres",
            "SelectTypeParameters=CR_Core", "ReturnToService=2", "MpiDefault=none", "JobAcctGatherType=jobacct_gather/none",
            "AccountingStorageType=accounting_storage/none", "SchedulerType=sched/backfill", "SchedulerParameters=sched_interval=1",
            "MessageTimeout=30", "InactiveLimit=0", "KillWait=5", "MinJobAge=300",
            f"NodeName=localhost CPUs={self.cpus} State=UNKNOWN",
            "PartitionName=debug Nodes=localhost Default=YES MaxTime=INFINITE State=UP",
        ]
        self.conf.write_text("\n".join(lines) + "\n")

    def _spawn(self, cmd: list[str], pidfile: Path) -> None:
        proc = subprocess.run(cmd, env=self.env(), capture_output=True, text=True)
        for _ in range(100):  # the daemons fork; their pid file names the process to stop later
            if pidfile.exists() and pidfile.read_text().strip():
                self.pids.append(int(pidfile.read_text().split()[0]))
                return
            time.sleep(0.05)
        raise Unavailable(f"{Path(cmd[0]).name} did not start: {(proc.stderr or proc.stdout).strip()[-300:]}")

    def start(self) -> "Cluster":
        install()
        if os.geteuid() != 0:
            raise Unavailable("slurmctld/slurmd need root here (SlurmUser=root on one machine)")
        for sub in ("state", "spool"):
            (self.folder / sub).mkdir(parents=True, exist_ok=True)
        munge_dir = self.munge_dir
        shutil.chown(munge_dir, "munge", "munge")
        munge_dir.chmod(0o700)
        self._write_conf()
        # munged refuses a socket folder others may write; its own folder, owned by munge, passes its checks
        self._spawn(["runuser", "-u", "munge", "--", DAEMONS[0], f"--socket={self.munge_socket}",
                     f"--pid-file={munge_dir}/munged.pid", f"--log-file={munge_dir}/munged.log",
                     f"--seed-file={munge_dir}/munged.seed", "--force"], munge_dir / "munged.pid")
        self._spawn([DAEMONS[1]], self.folder / "slurmctld.pid")
        self._spawn([DAEMONS[2], "-N", "localhost"], self.folder / "slurmd.pid")
        deadline = time.time() + 30
        while time.time() < deadline:  # the node registers with the controller within a few seconds
            out = subprocess.run(["sinfo", "-h", "-o", "%T"], env=self.env(), capture_output=True, text=True).stdout
            if out.strip().startswith("idle"):
                return self
            time.sleep(0.3)
        log = (self.folder / "slurmd.log").read_text(errors="replace")[-400:] if (self.folder / "slurmd.log").exists() else ""
        self.stop()
        raise Unavailable(f"the Slurm node did not come up within 30 s (sinfo: {out.strip() or 'nothing'}; slurmd.log: {log})")

    def stop(self) -> None:
        for pid in reversed(self.pids):  # slurmd, slurmctld, then munged
            try:
                os.kill(pid, signal.SIGTERM)
            except ProcessLookupError:
                continue
            for _ in range(100):
                try:
                    os.kill(pid, 0)
                except ProcessLookupError:
                    break
                time.sleep(0.05)
        self.pids = []
        shutil.rmtree(self.munge_dir, ignore_errors=True)
