"""The SLURM profile (workflow/profiles/slurm) against a real Slurm controller, and both profiles'
parsing without one.

The tests marked `slurm` need a controller that answers (`sinfo`); `.ci/slurm.sh up` starts a
single-node one on a Debian machine (as root), `.ci/slurm.sh down` stops it. Without one they are
skipped with the reason. Run only them with `pytest -m slurm`, or leave them out with
`pytest -m "not slurm"`. The partition is the cluster's default one unless BIOGANS_SLURM_PARTITION
names another; BIOGANS_SLURM_SMOKE_TIMEOUT (seconds, default 900) bounds the smoke run.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
import threading
import time
from pathlib import Path

import pandas as pd
import pytest
from test_workflow import FIGURES, TABLE_COLUMNS, workflow_copy

SNAKEMAKE = [sys.executable, "-m", "snakemake"]
SMOKE = ["--configfile=workflow/presets/smoke.yaml"]
SUBMITTED = re.compile(r"has been submitted with SLURM jobid (\d+)")
RUN_ID = re.compile(r"SLURM run ID: ([-\w]+)")


def environment(work: Path) -> dict[str, str]:
    """What the jobs see too (sbatch --export=ALL): this Python's environment first on PATH."""
    env = {"PATH": f"{Path(sys.executable).parent}:/usr/bin:/bin", "HOME": str(work)}
    if "SLURM_CONF" in os.environ:
        env["SLURM_CONF"] = os.environ["SLURM_CONF"]
    return env


def cancel_run(output: str) -> None:
    """Cancel whatever a (killed or finished) Snakemake run left in the queue."""
    found = RUN_ID.search(output)
    if found and shutil.which("scancel"):
        subprocess.run(["scancel", f"--name={found.group(1)}"], capture_output=True, timeout=30)


# ------------------------------------------------------------------------------- no controller needed


def gpu_config(work: Path, **gpus: int) -> list[str]:
    """The smoke preset plus a config file giving stages (training, c2st) GPUs (--config would pass
    the nested numbers as strings)."""
    path = work / ("gpu-" + "-".join(f"{stage}{n}" for stage, n in gpus.items()) + ".yaml")
    path.write_text("".join(f"{stage}: {{gpu: {n}}}\n" for stage, n in gpus.items()))
    return ["--configfile", "workflow/presets/smoke.yaml", path.name]


def test_slurm_profile_dry_runs_with_the_installed_plugin(tmp_path):
    """The profile parses, the plugin accepts its options, and the smoke DAG plans through it: data,
    training, evaluation and report jobs bundled per stage, every job taking the bundle's one slot (so
    that a bundle asks Slurm for its largest job, not for all its jobs at once), also with the site keys
    written into the profile as README says."""
    work = workflow_copy(tmp_path)
    with_site_keys(work, {"partition": "compute"})
    result = subprocess.run([*SNAKEMAKE, "--profile", "workflow/profiles/slurm", "-n", *SMOKE], cwd=work,
                            capture_output=True, text=True, timeout=300, env=environment(work))
    output = result.stdout + result.stderr
    assert result.returncode == 0, output[-3000:]
    for bundle in ("data", "train", "evaluate", "report"):
        assert f"Group job {bundle}" in output
    assert re.search(r"^train_independent\s+24$", output, re.MULTILINE)
    resources = re.findall(r"^\s+resources: (.*)$", output, re.MULTILINE)
    assert len(resources) > 100
    assert all(re.search(r"\bbundle=1\b", line) and "slurm_partition=compute" in line for line in resources)


def test_gpu_requests_follow_the_config_not_a_partition(tmp_path):
    """No rule is sent to a partition by name; a GPU is requested (resource gpu, which the plugin
    turns into --gpus) exactly when training.gpu / c2st.gpu say so."""
    work = workflow_copy(tmp_path)
    profile = (work / "workflow/profiles/slurm/config.yaml").read_text()
    active = "\n".join(line.split("#")[0] for line in profile.splitlines())
    assert "slurm_partition" not in active and "gpu" not in active

    def gpu_by_rule(*config: str) -> dict[str, set[int]]:
        result = subprocess.run([*SNAKEMAKE, "--profile", "workflow/profiles/slurm", "-n", *(config or SMOKE)],
                                cwd=work, capture_output=True, text=True, timeout=300, env=environment(work))
        assert result.returncode == 0, result.stderr[-3000:]
        gpus: dict[str, set[int]] = {}
        for rule, resources in re.findall(r"^\s*rule (\w+):\n(?:.*\n)*?\s*resources: (.*)$",
                                          result.stdout, re.MULTILINE):
            found = re.search(r"\bgpu=(\d+)", resources)
            gpus.setdefault(rule, set()).add(int(found.group(1)) if found else 0)
        return gpus

    off = gpu_by_rule()
    assert off["train"] == off["c2st_fake"] == {0}
    on = gpu_by_rule(*gpu_config(work, training=1, c2st=1))
    for rule in ("train", "train_conditional", "train_independent",
                 "c2st_real", "c2st_train_vs_test", "c2st_fake", "c2st_all_proteins"):
        assert on[rule] == {1}, rule
    assert on["splits"] == on["table1"] == on["reconstruct"] == {0}
    only_training = gpu_by_rule(*gpu_config(work, training=1))
    assert only_training["train_conditional"] == {1} and only_training["c2st_fake"] == {0}


FAKE_SLURM = {
    # records each submission and refuses it, so that nothing runs
    "sbatch": '#!/bin/sh\necho "sbatch $*" >> "$FAKE_SBATCH_LOG"\necho "sbatch: error: fake" >&2\nexit 1\n',
    "sinfo": '#!/bin/sh\necho "cpu*"\necho "gpu"\n',     # the default partition is cpu
    "sacct": "#!/bin/sh\nexit 1\n",                         # no accounting (the account is not guessed)
}


@pytest.mark.parametrize("gpu", [False, True])
def test_what_the_plugin_asks_sbatch_for(tmp_path, gpu):
    """The sbatch command lines the profile produces, with sbatch replaced by a recorder: the default
    partition, --gpus=1 for a training job exactly when training.gpu is true, and, with the plugin's
    partition config, a GPU job routed to the GPU partition and a CPU job kept off it."""
    work = workflow_copy(tmp_path)
    fake = tmp_path / "fake-slurm"
    fake.mkdir()
    for name, script in FAKE_SLURM.items():
        (fake / name).write_text(script)
        (fake / name).chmod(0o755)
    (work / "results/data").mkdir(parents=True)
    for name in ("cells.h5", "red_neighbours.h5"):       # stand-ins: only the targets' jobs are planned
        (work / "results/data" / name).write_bytes(b"stand-in")
    partitions = tmp_path / "partitions.yaml"
    partitions.write_text("partitions:\n  cpu: {max_threads: 64, max_gpu: 0}\n  gpu: {max_threads: 64, max_gpu: 4}\n")
    log = tmp_path / "sbatch.log"
    env = environment(work) | {"PATH": f"{fake}:{environment(work)['PATH']}", "FAKE_SBATCH_LOG": str(log)}

    def submissions(*args: str) -> list[str]:
        log.unlink(missing_ok=True)
        result = subprocess.run([*SNAKEMAKE, "--profile", "workflow/profiles/slurm", *args,
                                 *gpu_config(work, training=int(gpu))],  # last: --configfile takes 1+ files
                                cwd=work, capture_output=True, text=True, timeout=300, env=env)
        # (Snakemake 9.27 does not print the plugin's "sbatch failed" message for a group job)
        assert result.returncode != 0 and "Error in group" in result.stdout + result.stderr
        return log.read_text().splitlines()

    train = "results/models/wgangp-star/generator_4.pt"
    calls = submissions(train)
    assert len(calls) == 2                               # refused, retried once, reported
    assert all(" -p cpu " in call and "--cpus-per-task=1" in call and "--mem 4000" in call for call in calls)
    assert all(("--gpus=1" in call) == gpu for call in calls)

    routed = submissions(f"--slurm-partition-config={partitions}", train, "results/data/splits.h5")
    by_rule = {re.search(r"--comment rule_(\w+?)_", call).group(1): call for call in routed}
    assert " -p gpu " in by_rule["train"] if gpu else " -p cpu " in by_rule["train"]
    assert " -p cpu " in by_rule["data"] and "--gpus" not in by_rule["data"]


def test_local_profile_caps_concurrent_gpu_jobs_and_gives_default_resources(tmp_path):
    """`resources: gpu_slots: 1` in the local profile is Snakemake's --resources gpu_slots=1: a job asking
    for more is held to it (at most one GPU job at a time); a GPU job of a stage takes one slot; the rules
    that declare no resources get the profile's default-resources."""
    work = workflow_copy(tmp_path)
    result = subprocess.run([*SNAKEMAKE, "results/data/splits.h5", "results/models/gan/generator_6.pt", "--profile",
                             "workflow/profiles/local", "-n", *SMOKE, "--set-resources=splits:gpu_slots=3",
                             "--config", "training={gpu: 1}"],
                            cwd=work, capture_output=True, text=True, timeout=300, env=environment(work))
    assert result.returncode == 0, result.stderr[-3000:]
    jobs = {block.split(":", 1)[0]: block for block in result.stdout.split("\nrule ")[1:]}
    assert re.search(r"resources: .*\bgpu_slots=1\b", jobs["splits"])
    assert re.search(r"resources: .*\bgpu=1\b.*\bgpu_slots=1\b", jobs["train"])
    assert re.search(r"resources: .*\bmem_mb=1000\b.*\bruntime=10\b", jobs["simulate"])


# ------------------------------------------------------------------------------- a real controller
# (quick ones first: the smoke run takes minutes)


def controller_problem() -> str | None:
    """Why the Slurm tests cannot run here, or None when a controller answers."""
    if shutil.which("sinfo") is None or shutil.which("sbatch") is None:
        return "no Slurm client (sinfo, sbatch); `.ci/slurm.sh up` starts a single-node cluster"
    try:
        result = subprocess.run(["sinfo", "-h", "-o", "%P %T %c"], capture_output=True, text=True, timeout=5)
    except subprocess.TimeoutExpired:
        return "sinfo did not answer within 5 s"
    if result.returncode != 0:
        last = (result.stderr.strip().splitlines() or ["no output"])[-1]
        return f"no Slurm controller answers (sinfo: {last}); `.ci/slurm.sh up` starts one"
    if not re.search(r"\b(idle|mixed|allocated)\b", result.stdout):
        return f"no Slurm node is up: {result.stdout.strip()!r}"
    return None


@pytest.fixture(scope="module")
def cluster() -> dict[str, str]:
    """The site keys for this cluster: its partition."""
    problem = controller_problem()
    if problem:
        pytest.skip(problem)
    partitions = subprocess.run(["sinfo", "-h", "-o", "%P"], capture_output=True, text=True,
                                timeout=10).stdout.split()
    wanted = os.environ.get("BIOGANS_SLURM_PARTITION")
    for partition in partitions:
        if (wanted and partition.rstrip("*") == wanted) or (not wanted and partition.endswith("*")):
            return {"partition": partition.rstrip("*")}
    pytest.skip(f"partition {wanted!r} not in sinfo" if wanted else "no default partition; set BIOGANS_SLURM_PARTITION")


def controller_states(job_ids: list[str]) -> dict[str, str]:
    """What the controller says of these jobs: from its job completion file where it writes one
    (JobCompType=jobcomp/filetxt, as .ci/slurm.sh sets up), else from squeue, which forgets a job
    MinJobAge seconds after it ended."""
    states: dict[str, str] = {}
    config = subprocess.run(["scontrol", "show", "config"], capture_output=True, text=True, timeout=30).stdout
    settings = dict(re.findall(r"^(\w+)\s*=\s*(.*?)\s*$", config, re.MULTILINE))
    completion = Path(settings.get("JobCompLoc", ""))
    if settings.get("JobCompType") == "jobcomp/filetxt" and completion.is_file():
        for line in completion.read_text().splitlines():
            found = dict(re.findall(r"(JobId|JobState)=(\S+)", line))
            if found.get("JobId") in job_ids:
                states[found["JobId"]] = found["JobState"]
    missing = [job for job in job_ids if job not in states]
    if missing:
        listed = subprocess.run(["squeue", "-h", "-t", "all", "-o", "%i %T", "-j", ",".join(missing)],
                                capture_output=True, text=True, timeout=30).stdout.split()
        states.update(zip(listed[::2], listed[1::2], strict=True))
    return states


def with_site_keys(work: Path, cluster: dict[str, str]) -> None:
    """This cluster's partition written into the copied profile's default-resources, as README says."""
    profile = work / "workflow/profiles/slurm/config.yaml"
    text = profile.read_text()
    assert text.count("\ndefault-resources:\n") == 1
    profile.write_text(text.replace("\ndefault-resources:\n",
                                    f"\ndefault-resources:\n  slurm_partition: \"{cluster['partition']}\"\n"))


def through_slurm(*args: str) -> list[str]:
    """The command line: the profile (with the site keys written in) and the arguments."""
    return [*SNAKEMAKE, "--profile", "workflow/profiles/slurm", *args]


def run(cluster, work: Path, *args: str, timeout: int) -> subprocess.CompletedProcess:
    """Snakemake through Slurm, killed after `timeout` s (and its jobs cancelled)."""
    with_site_keys(work, cluster)
    try:
        result = subprocess.run(through_slurm(*args), cwd=work, capture_output=True, text=True,
                                timeout=timeout, env=environment(work))
    except subprocess.TimeoutExpired as timed_out:
        output = (timed_out.stdout or b"").decode() + (timed_out.stderr or b"").decode()
        cancel_run(output)
        pytest.fail(f"snakemake through Slurm did not finish within {timeout} s:\n{output[-3000:]}")
    cancel_run(result.stdout + result.stderr)
    return result


@pytest.mark.slurm
def test_a_failing_job_fails_the_run_with_its_log_shown(cluster, tmp_path):
    """A corrupt input on purpose: the job fails, is retried once, fails again, and Snakemake exits
    non-zero (no hang) with the job's log in its output."""
    work = workflow_copy(tmp_path)
    (work / "results/data").mkdir(parents=True)
    (work / "results/data/cells.h5").write_bytes(b"not an HDF5 file\n" * 100)
    started = time.monotonic()
    result = run(cluster, work, *SMOKE, "results/data/splits.h5", timeout=300)
    output = result.stdout + result.stderr
    assert result.returncode != 0
    assert "Error in rule splits" in output
    assert "Logfile results/logs/splits.log" in output
    assert "not a readable HDF5 file" in output        # the log's content, shown by show-failed-logs
    assert len(SUBMITTED.findall(output)) == 2           # the first try and the one retry
    assert time.monotonic() - started < 300


@pytest.mark.slurm
def test_a_cancelled_job_is_retried_once_then_reported(cluster, tmp_path):
    """scancel a long-running job: the profile resubmits it once; cancel that too and the run fails,
    naming the cancelled job."""
    work = workflow_copy(tmp_path)
    (work / "long.yaml").write_text("simulate: {cells_per_protein: 200000}\n")  # --config: numbers as text
    long_job = ["results/raw/Alp14", "--configfile", "workflow/presets/smoke.yaml", "long.yaml"]
    with_site_keys(work, cluster)
    process = subprocess.Popen(through_slurm(*long_job), cwd=work, stdout=subprocess.PIPE,
                               stderr=subprocess.STDOUT, text=True, env=environment(work))
    lines: list[str] = []
    reader = threading.Thread(target=lambda: lines.extend(process.stdout), daemon=True)
    reader.start()

    def wait_for(condition, seconds: float, what: str):
        deadline = time.monotonic() + seconds
        while time.monotonic() < deadline:
            value = condition()
            if value:
                return value
            if process.poll() is not None and not reader.is_alive():
                break
            time.sleep(0.5)
        process.kill()
        cancel_run("".join(lines))
        pytest.fail(f"gave up waiting {seconds} s for {what}:\n{''.join(lines)[-3000:]}")

    def state(job: str) -> str:
        return subprocess.run(["squeue", "-h", "-t", "all", "-j", job, "-o", "%T"], capture_output=True,
                              text=True, timeout=10).stdout.strip()

    cancelled = []
    try:
        for attempt in (1, 2):
            job = wait_for(lambda attempt=attempt: (SUBMITTED.findall("".join(lines)) + [None] * 2)[attempt - 1], 120,
                           f"submission {attempt}")
            wait_for(lambda job=job: state(job) == "RUNNING", 120, f"job {job} to run")
            subprocess.run(["scancel", job], check=True, timeout=30)
            cancelled.append(job)
        process.wait(timeout=180)
    except subprocess.TimeoutExpired:
        process.kill()
        pytest.fail(f"snakemake did not exit within 180 s after the second scancel:\n{''.join(lines)[-3000:]}")
    finally:
        reader.join(timeout=10)
        cancel_run("".join(lines))
    output = "".join(lines)
    assert process.returncode != 0
    assert SUBMITTED.findall(output) == cancelled              # exactly one retry
    assert output.count("Trying to restart job") == 1
    for job in cancelled:                                    # each attempt's Slurm log, shown
        assert re.search(rf"\*\*\* JOB {job} ON \S+ CANCELLED AT", output)
    assert "Error in rule simulate" in output


@pytest.mark.slurm
def test_smoke_preset_through_slurm_builds_every_table_and_figure(cluster, tmp_path):
    work = workflow_copy(tmp_path)
    started = time.monotonic()
    # 900 s: 598 s measured on two otherwise idle cores. The 24 Slurm jobs hold 634 job-seconds (317 s on
    # two cores); the rest is job start-up and Slurm polling, whose interval grows by 10 s per empty check
    result = run(cluster, work, *SMOKE, timeout=int(os.environ.get("BIOGANS_SLURM_SMOKE_TIMEOUT", 900)))
    output = result.stdout + result.stderr
    assert result.returncode == 0, output[-5000:]
    for name, columns in TABLE_COLUMNS.items():
        table = pd.read_csv(work / "results/tables" / name)
        assert list(table.columns) == columns and len(table) > 0
    for name in FIGURES:
        assert (work / "results/figures" / name).stat().st_size > 1000
    # every job went through the controller: each submitted Slurm job is known to it
    job_ids = SUBMITTED.findall(output)
    assert len(job_ids) >= 10
    states = controller_states(job_ids)
    assert all(states.get(job) == "COMPLETED" for job in job_ids), states
    print(f"smoke through Slurm: {len(job_ids)} Slurm jobs in {time.monotonic() - started:.0f} s")
