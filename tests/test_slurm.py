"""The scale-out path for real: the workflow through snakemake-executor-plugin-slurm on a
single-node Slurm cluster that the fixture sets up from the distribution's packages (munge,
slurmctld, slurmd; no accounting database) and tears down. Skipped, saying why, where Slurm
is not installed or the tests do not run as root (test.sh installs it when it runs as root).
"""

from __future__ import annotations

import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest
import yaml
from conftest import CASE1, SHORT_TRAINING, report_line
from test_workflow import workdir

BINARIES = ("munged", "munge", "slurmctld", "slurmd", "sbatch", "squeue", "sinfo", "scontrol")
# Slurm's default configuration path: the jobs' own srun calls (the plugin's job steps) read
# it, since the plugin drops SLURM_* variables such as SLURM_CONF from their environment.
SLURM_CONF = Path("/etc/slurm/slurm.conf")

# A small workflow: one case, one N, MSE only, one training job (both stages, with Table 7's
# penalty forms), the tables, a figure and the report (no case studies, no studies beyond the
# paper).
SMALL = {
    "base_seed": 3,
    "device": "cpu",
    "replicates": 2,
    "replicate_block": 2,
    "metrics": ["mse"],
    "methods": ["ffn", "soft", "adaptive"],
    "penalty_methods": ["l2_only", "adaptive"],
    "focus_size": 200,
    "simulation": {
        "sizes": [200],
        "cases": {"case1": CASE1},
    },
    "case_studies": {"sets": {}},
    "training": SHORT_TRAINING,
    "hyperparameters": {
        "source": "paper",
        "paper": {"case1": {"mse": {"lambda": 0.001, "lambda_star": 0.0005, "theta": 0.5}}},
    },
}
TRAINING_RULES = ("train",)  # one N, which is focus_size: one training rule


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _node_line() -> str:
    """This host as a Slurm node (slurmd -C), with a little memory left to the system."""
    out = subprocess.run(["slurmd", "-C"], capture_output=True, text=True, check=True).stdout
    line = out.splitlines()[0]
    mem = int(re.search(r"RealMemory=(\d+)", line)[1])
    return re.sub(r"RealMemory=\d+", f"RealMemory={int(mem * 0.9)}", line)


def _conf(root: Path, host: str) -> str:
    # No accounting database: job states come from squeue, which keeps finished jobs for
    # MinJobAge seconds (the profile's status command; see the README's SLURM section).
    return f"""ClusterName=asptest
SlurmctldHost={host}
SlurmUser=root
SlurmdUser=root
AuthType=auth/munge
SlurmctldPort={_free_port()}
SlurmdPort={_free_port()}
StateSaveLocation={root}/state
SlurmdSpoolDir={root}/spool
SlurmctldPidFile={root}/slurmctld.pid
SlurmdPidFile={root}/slurmd.pid
SlurmctldLogFile={root}/slurmctld.log
SlurmdLogFile={root}/slurmd.log
ProctrackType=proctrack/linuxproc
TaskPlugin=task/none
SelectType=select/cons_tres
SelectTypeParameters=CR_Core_Memory
ReturnToService=2
MinJobAge=3600
JobAcctGatherType=jobacct_gather/none
AccountingStorageType=accounting_storage/none
MpiDefault=none
{_node_line()} State=UNKNOWN
PartitionName=main Nodes=ALL Default=YES MaxTime=INFINITE State=UP
"""


def _munge_running() -> bool:
    return subprocess.run("munge -n | unmunge", shell=True, capture_output=True).returncode == 0


@pytest.fixture(scope="module")
def slurm(tmp_path_factory):
    """The environment (SLURM_CONF) of a running single-node cluster with a partition main."""
    missing = [b for b in BINARIES if shutil.which(b) is None]
    if missing:
        pytest.skip(
            f"Slurm is not installed ({', '.join(missing)} not found); test.sh installs "
            "Debian's slurmctld, slurmd, slurm-client and munge when it runs as root"
        )
    if os.geteuid() != 0:
        pytest.skip("a single-node Slurm cluster needs root (slurmd runs the jobs)")
    if SLURM_CONF.exists():
        pytest.skip(f"{SLURM_CONF} exists: this host has a Slurm cluster of its own")
    root = tmp_path_factory.mktemp("slurm")
    for sub in ("state", "spool"):
        (root / sub).mkdir()
    host = socket.gethostname().split(".")[0]
    conf = SLURM_CONF
    conf.parent.mkdir(parents=True, exist_ok=True)
    conf.write_text(_conf(root, host))
    env = {**os.environ, "SLURM_CONF": str(conf)}
    started_munge = None
    if not _munge_running():
        Path("/run/munge").mkdir(parents=True, exist_ok=True)
        shutil.chown("/run/munge", "munge", "munge")
        if not Path("/etc/munge/munge.key").exists():
            subprocess.run(["mungekey", "--create"], check=True)
            shutil.chown("/etc/munge/munge.key", "munge", "munge")
        subprocess.run(["runuser", "-u", "munge", "--", shutil.which("munged")], check=True)
        started_munge = Path("/run/munge/munged.pid")
    subprocess.run(["slurmctld", "-f", str(conf)], env=env, check=True)
    subprocess.run(["slurmd", "-f", str(conf)], env=env, check=True)
    try:
        for _ in range(60):
            state = subprocess.run(
                ["sinfo", "-h", "-o", "%t"], env=env, capture_output=True, text=True
            ).stdout.strip()
            if state == "idle":
                break
            time.sleep(0.5)
        else:
            log = (root / "slurmctld.log").read_text()[-2000:]
            pytest.fail(f"the test cluster did not come up (sinfo: {state!r}):\n{log}")
        yield env
    finally:
        subprocess.run(["scontrol", "shutdown"], env=env, capture_output=True)
        for pid_file in ("slurmctld.pid", "slurmd.pid"):
            _wait_gone(root / pid_file)
        conf.unlink()
        if started_munge is not None and started_munge.exists():
            os.kill(int(started_munge.read_text()), signal.SIGTERM)


def _wait_gone(pid_file: Path, seconds: float = 20) -> None:
    """Wait for the daemon of ``pid_file`` to exit (kill it after ``seconds``)."""
    if not pid_file.exists():
        return
    pid = int(pid_file.read_text())
    end = time.monotonic() + seconds
    while time.monotonic() < end:
        try:
            os.kill(pid, 0)
        except ProcessLookupError:
            return
        time.sleep(0.2)
    os.kill(pid, signal.SIGKILL)


# Status checks 2 s after submission and every 2 s (Snakemake's defaults, 40 s and 10 s, suit
# a real cluster's queue, not a test's jobs of a few seconds).
QUICK_STATUS = (
    "--slurm-init-seconds-before-status-checks",
    "2",
    "--seconds-between-status-checks",
    "2",
)


def _snakemake(cwd: Path, env: dict, *args: str) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "snakemake", "--profile", "profiles/slurm", *args],
        cwd=cwd,
        env=env,
        capture_output=True,
        text=True,
        timeout=900,
    )


@pytest.fixture(scope="module")
def slurm_run(slurm, tmp_path_factory):
    """The small workflow run through the profile: (workdir, Snakemake's output, seconds)."""
    cwd = workdir(tmp_path_factory.mktemp("slurm_run"))
    (cwd / "config.yaml").write_text(yaml.safe_dump(SMALL, sort_keys=False))  # the whole config
    start = time.monotonic()
    out = _snakemake(
        cwd,
        slurm,
        "--slurm-keep-successful-logs",
        *QUICK_STATUS,
        "--verbose",
    )
    return cwd, out, time.monotonic() - start


def test_the_workflow_runs_through_slurm(slurm, slurm_run):
    cwd, out, seconds = slurm_run
    text = out.stdout + out.stderr
    assert out.returncode == 0, text[-6000:]
    assert (cwd / "reports/report.html").exists()
    # Every job but the target `all` went through sbatch, to the cluster's default partition,
    # and left its Slurm log; Slurm saw each of them.
    calls = re.findall(r"sbatch call: (sbatch .*)", text)
    rules = [re.search(r"--job-name \S+ .*?rule_(\w+)", c) for c in calls]
    submitted = sorted(r[1] for r in rules if r)
    done = re.findall(r"Finished jobid: \d+ \(Rule: (\w+)\)", text)
    assert sorted(r for r in done if r != "all") == submitted
    assert all(" -p main" in c for c in calls) and not any("--gpus" in c for c in calls)
    # No accounting here: no account is guessed, and job states come from squeue.
    assert "Unable to guess SLURM account. Trying to proceed without." in text
    assert "command=squeue" in text and "command=sacct" not in text
    logs = list((cwd / ".snakemake/slurm_logs").rglob("*.log"))
    assert len(logs) == len(submitted)
    for rule in TRAINING_RULES:
        assert list((cwd / ".snakemake/slurm_logs" / f"rule_{rule}").rglob("*.log")), rule
    seen = subprocess.run(
        ["squeue", "-h", "-t", "all", "-o", "%i %T"], env=slurm, capture_output=True, text=True
    ).stdout.split("\n")
    completed = [line for line in seen if line.endswith("COMPLETED")]
    assert len(completed) >= len(submitted)
    counts = {r: submitted.count(r) for r in dict.fromkeys(submitted)}
    report_line(
        f"slurm: {len(submitted)} jobs ran as Slurm jobs in {seconds:.0f} s "
        f"({', '.join(f'{r} {c}' for r, c in counts.items())}); "
        f"squeue lists {len(completed)} completed"
    )


def test_a_cuda_config_asks_slurm_for_a_gpu(slurm, slurm_run):
    """With device: cuda the training rules declare gpu=1, which the plugin submits as
    --gpus=1; this cluster has no GPU (no gres), so Slurm refuses the job at submission. (In the
    finished run's folder: only the training job, whose device changed, is submitted; the jobs
    Slurm runs merge the overlay over config.yaml as the run does.)"""
    cwd, _, _ = slurm_run
    (cwd / "config/cuda.yaml").write_text("device: cuda\n")  # an overlay of one key
    target = "results/fits/case1/N200/mse/ffn/block0.parquet"
    out = _snakemake(
        cwd, slurm, "--configfile", "config/cuda.yaml", *QUICK_STATUS, "--verbose", target
    )
    text = out.stdout + out.stderr
    assert out.returncode != 0
    calls = re.findall(r"sbatch call: (sbatch .*)", text)
    assert len(calls) == 1 and "rule_train" in calls[0], text[-4000:]
    assert "--gpus=1" in calls[0] and "Invalid generic resource (gres) specification" in text
    train = calls
    report_line(f"slurm: the training job's sbatch line carries --gpus=1 ({train[0][:60]}...)")
