#!/usr/bin/env bash
# A real single-node Slurm cluster for CI (Debian packages, no systemd, no cgroups, no slurmdbd),
# and the smoke preset run through workflow/profiles/slurm against it.
#
#   .ci/slurm.sh up       install slurmctld/slurmd/slurm-client/munge if missing, write slurm.conf for
#                         this machine (from `slurmd -C`), start munged, slurmctld, slurmd, wait until
#                         the node is idle
#   .ci/slurm.sh smoke    the smoke preset through the Slurm profile in a fresh copy of the workflow;
#                         checks the tables and figures and that the controller ran the jobs
#   .ci/slurm.sh status   the daemons this script started, sinfo, squeue
#   .ci/slurm.sh down     cancel the jobs, stop every daemon this script started (by recorded PID);
#                         safe to run twice, or after an `up` that failed half way
#   .ci/slurm.sh ci       up, the Slurm tests (pytest -m slurm tests/test_slurm.py), down (also when
#                         up or the tests fail): the CI step, all of it within BIOGANS_SLURM_CI_LIMIT
#
# Must run as root (it installs packages and starts daemons). Every wait is bounded.
# Environment (all optional):
#   BIOGANS_SLURM_DIR        state folder (config, logs, PIDs, spool)   [/tmp/biogans-slurm]
#   BIOGANS_SLURM_UP_TIMEOUT seconds `up` waits for the node to be idle [60]
#   BIOGANS_SLURM_SMOKE_LIMIT seconds the smoke run may take (then SIGTERM, 30 s later SIGKILL) [900]
#   BIOGANS_SLURM_SMOKE_DIR  where `smoke` copies the workflow          [$BIOGANS_SLURM_DIR/smoke]
#   BIOGANS_SLURM_CI_LIMIT   seconds the tests of `ci` may take (then SIGTERM, 30 s later SIGKILL) [1200]
#   PYTHON                   the Python with biogans, snakemake and the slurm executor plugin [python3]
set -euo pipefail

ROOT="$(cd "$(dirname "$0")/.." && pwd)"
STATE="${BIOGANS_SLURM_DIR:-/tmp/biogans-slurm}"
UP_TIMEOUT="${BIOGANS_SLURM_UP_TIMEOUT:-60}"
SMOKE_LIMIT="${BIOGANS_SLURM_SMOKE_LIMIT:-900}"
CI_LIMIT="${BIOGANS_SLURM_CI_LIMIT:-1200}"
PYTHON="${PYTHON:-python3}"
PARTITION=ci
CLUSTER=biogans-ci
ETC_CONF=/etc/slurm/slurm.conf   # where the client commands (sinfo, sbatch, ...) look for it
PACKAGES=(slurmctld slurmd slurm-client munge)

log() { printf '[slurm.sh %(%H:%M:%S)T] %s\n' -1 "$*" >&2; }
die() { log "ERROR: $*"; exit 1; }

# run a client command bounded in time, so that a dead controller cannot hang us
client() { timeout -k 2 10 "$@"; }

# ---------------------------------------------------------------------------------- processes

# pid_alive NAME: the PID recorded for NAME if that process still runs the same program, else fail
pid_alive() {
    local name="$1" file="$STATE/pids/$1" pid comm
    [[ -s "$file" ]] || return 1
    read -r pid comm < "$file"
    [[ -n "$pid" && -r "/proc/$pid/comm" ]] || return 1
    [[ "$(cat "/proc/$pid/comm" 2>/dev/null)" == "$comm" ]] || return 1   # not a reused PID
    echo "$pid"
}

# start NAME LOGFILE COMMAND...: start a daemon in the foreground of its own session, detached from
# our stdin/stdout (a caller reading our output must not wait for it), and record its PID
start_daemon() {
    local name="$1" logfile="$2"
    shift 2
    if pid_alive "$name" > /dev/null; then
        log "$name already running (pid $(pid_alive "$name"))"
        return 0
    fi
    setsid "$@" < /dev/null >> "$logfile" 2>&1 &
    local pid=$!
    sleep 0.5
    local comm
    comm="$(cat "/proc/$pid/comm" 2>/dev/null)" || die "$name exited at once; see $logfile"
    echo "$pid $comm" > "$STATE/pids/$name"
    log "started $name (pid $pid, log $logfile)"
}

# wait up to N half-seconds for a process to end; fails if it is still there
wait_gone() {
    local pid="$1" tries="$2" i
    for ((i = 0; i < tries; i++)); do
        [[ -d "/proc/$pid" ]] || return 0
        sleep 0.5
    done
    [[ ! -d "/proc/$pid" ]]
}

# stop NAME: SIGTERM, wait up to 15 s, then SIGKILL and wait up to 5 s more
stop_daemon() {
    local name="$1" pid
    if ! pid="$(pid_alive "$name")"; then
        rm -f "$STATE/pids/$name"
        return 0
    fi
    log "stopping $name (pid $pid)"
    kill -TERM "$pid" 2> /dev/null || true
    if ! wait_gone "$pid" 30; then
        log "$name (pid $pid) ignored SIGTERM for 15 s: SIGKILL"
        kill -KILL "$pid" 2> /dev/null || true
        wait_gone "$pid" 10 || true
    fi
    [[ -d "/proc/$pid" ]] && log "WARNING: $name (pid $pid) is still there"
    rm -f "$STATE/pids/$name"
}

# ---------------------------------------------------------------------------------- up

install_packages() {
    local missing=() p
    for p in "${PACKAGES[@]}"; do
        dpkg-query -W -f='${Status}' "$p" 2> /dev/null | grep -q "install ok installed" || missing+=("$p")
    done
    ((${#missing[@]} == 0)) && return 0
    log "installing ${missing[*]}"
    timeout -k 10 600 apt-get update -q > "$STATE/apt.log" 2>&1 || die "apt-get update failed; see $STATE/apt.log"
    DEBIAN_FRONTEND=noninteractive timeout -k 10 900 \
        apt-get install -y -q --no-install-recommends "${missing[@]}" >> "$STATE/apt.log" 2>&1 ||
        die "apt-get install failed; see $STATE/apt.log"
}

write_config() {
    local node_line node
    node_line="$(slurmd -C | head -n 1)"          # NodeName=<host> CPUs=.. ... RealMemory=..
    [[ "$node_line" == NodeName=* ]] || die "unexpected \`slurmd -C\` output: $node_line"
    node="${node_line%% *}"
    node="${node#NodeName=}"
    mkdir -p "$STATE/ctld" "$STATE/spool"
    cat > "$STATE/slurm.conf" << EOF
# Written by .ci/slurm.sh up: one node, this machine. Not for production.
ClusterName=$CLUSTER
SlurmctldHost=$node
SlurmUser=root
SlurmdUser=root
AuthType=auth/munge
CryptoType=crypto/munge
MpiDefault=none
StateSaveLocation=$STATE/ctld
SlurmdSpoolDir=$STATE/spool
SlurmctldPidFile=$STATE/slurmctld.pid
SlurmdPidFile=$STATE/slurmd.pid
SlurmctldLogFile=$STATE/slurmctld.log
SlurmdLogFile=$STATE/slurmd.log
SlurmctldDebug=info
SlurmdDebug=info
# no systemd and no cgroups here
ProctrackType=proctrack/linuxproc
TaskPlugin=task/none
JobAcctGatherType=jobacct_gather/none
# no slurmdbd: sacct does not work, so the profile's status command is squeue, which sees a finished
# job for MinJobAge seconds (must be >= 3x the plugin's init-seconds-before-status-checks)
AccountingStorageType=accounting_storage/none
MinJobAge=300
# every finished job, one line each: the proof that the controller ran the jobs
JobCompType=jobcomp/filetxt
JobCompLoc=$STATE/jobcomp.log
SchedulerType=sched/backfill
SelectType=select/cons_tres
# without DefMemPerCPU a job without a memory request would take the whole node
SelectTypeParameters=CR_Core_Memory
DefMemPerCPU=1000
ReturnToService=2
SlurmdTimeout=60
InactiveLimit=0
KillWait=5
$node_line State=UNKNOWN
PartitionName=$PARTITION Nodes=$node Default=YES MaxTime=INFINITE State=UP
EOF
    echo "$node" > "$STATE/node"
    # the client commands read /etc/slurm/slurm.conf; link ours there unless a real one is present
    if [[ -L "$ETC_CONF" || ! -e "$ETC_CONF" ]]; then
        mkdir -p "$(dirname "$ETC_CONF")"
        ln -sfn "$STATE/slurm.conf" "$ETC_CONF"
    elif [[ "$(readlink -f "$ETC_CONF")" != "$STATE/slurm.conf" ]]; then
        die "$ETC_CONF exists and is not ours: refusing to replace a real Slurm configuration"
    fi
}

start_munge() {
    # an already running munged (not ours) will do
    if timeout 5 munge -n < /dev/null 2> /dev/null | timeout 5 unmunge > /dev/null 2>&1; then
        pid_alive munged > /dev/null || log "using the munged already running"
        return 0
    fi
    [[ -s /etc/munge/munge.key ]] || die "no /etc/munge/munge.key (the munge package creates it)"
    install -d -o munge -g munge -m 0755 /run/munge
    install -d -o munge -g munge -m 0700 /var/log/munge /var/lib/munge
    # setpriv execs munged as the munge user, so the recorded PID is munged's own
    start_daemon munged "$STATE/munged.out" setpriv --reuid=munge --regid=munge --init-groups munged --foreground
    local i
    for ((i = 0; i < 20; i++)); do
        timeout 5 munge -n < /dev/null 2> /dev/null | timeout 5 unmunge > /dev/null 2>&1 && return 0
        sleep 0.5
    done
    die "munged does not answer; see $STATE/munged.out and /var/log/munge/munged.log"
}

wait_idle() {
    local node deadline state=""
    node="$(cat "$STATE/node")"
    deadline=$((SECONDS + UP_TIMEOUT))
    while ((SECONDS < deadline)); do
        state="$(client sinfo -h -n "$node" -o %T 2> /dev/null || true)"
        [[ "$state" == idle ]] && { log "node $node is idle"; return 0; }
        pid_alive slurmctld > /dev/null || die "slurmctld exited; see $STATE/slurmctld.log"
        pid_alive slurmd > /dev/null || die "slurmd exited; see $STATE/slurmd.log"
        sleep 1
    done
    die "node $node not idle after ${UP_TIMEOUT} s (state: '${state}'); see $STATE/slurmctld.log and $STATE/slurmd.log"
}

cmd_up() {
    [[ $EUID -eq 0 ]] || die "run as root"
    local t0=$SECONDS
    mkdir -p "$STATE/pids"
    install_packages
    write_config
    start_munge
    # a fresh cluster: job ids start again at 1, so an earlier run's records go aside
    if ! pid_alive slurmctld > /dev/null && [[ -e "$STATE/jobcomp.log" ]]; then
        mv -f "$STATE/jobcomp.log" "$STATE/jobcomp.log.previous"
    fi
    # -D: foreground (the recorded PID is the daemon's); -i: ignore state left by an earlier run
    start_daemon slurmctld "$STATE/slurmctld.out" slurmctld -D -i -f "$STATE/slurm.conf"
    start_daemon slurmd "$STATE/slurmd.out" slurmd -D -f "$STATE/slurm.conf"
    wait_idle
    client sinfo
    log "up in $((SECONDS - t0)) s (state in $STATE)"
}

# ---------------------------------------------------------------------------------- down

cmd_down() {
    local t0=$SECONDS i
    [[ -d "$STATE/pids" ]] || { log "nothing to stop ($STATE/pids absent)"; return 0; }
    if pid_alive slurmctld > /dev/null; then
        # jobs first: their processes (under slurmstepd) would outlive slurmd
        client scancel --full --partition="$PARTITION" 2> /dev/null || true
        for ((i = 0; i < 30; i++)); do
            [[ -z "$(client squeue -h -t PD,R,CG -p "$PARTITION" -o %i 2> /dev/null)" ]] && break
            sleep 1
        done
    fi
    stop_daemon slurmd
    stop_daemon slurmctld
    stop_daemon munged
    if [[ -L "$ETC_CONF" && "$(readlink "$ETC_CONF")" == "$STATE/slurm.conf" ]]; then
        rm -f "$ETC_CONF"
    fi
    log "down in $((SECONDS - t0)) s"
}

# ---------------------------------------------------------------------------------- status

cmd_status() {
    local name pid rc=0
    for name in munged slurmctld slurmd; do
        if pid="$(pid_alive "$name")"; then
            echo "$name: running (pid $pid)"
        else
            echo "$name: not running (not started by this script, or stopped)"
            rc=1
        fi
    done
    client sinfo 2>&1 || rc=1
    client squeue 2>&1 || rc=1
    [[ -s "$STATE/jobcomp.log" ]] && echo "jobs finished so far: $(wc -l < "$STATE/jobcomp.log")"
    return $rc
}

# ---------------------------------------------------------------------------------- smoke

cmd_smoke() {
    local work="${BIOGANS_SLURM_SMOKE_DIR:-$STATE/smoke}" t0 rc before after seen absent=0 f
    client sinfo -h > /dev/null || die "no Slurm controller answers (run .ci/slurm.sh up first)"
    "$PYTHON" -c "import snakemake_executor_plugin_slurm" 2> /dev/null ||
        die "$PYTHON has no snakemake-executor-plugin-slurm (pip install -e '.[test]')"
    # a fresh copy, as tests/test_workflow.py's workflow_copy does
    rm -rf "$work"
    mkdir -p "$work"
    cp "$ROOT/Snakefile" "$ROOT/config.yaml" "$work/"
    cp -r "$ROOT/workflow" "$ROOT/envs" "$work/"
    # the profile's site keys, as README says: this cluster's partition in its default-resources
    sed -i "s/^default-resources:\$/&\n  slurm_partition: \"$PARTITION\"/" "$work/workflow/profiles/slurm/config.yaml"
    before=$(wc -l < "$STATE/jobcomp.log" 2> /dev/null || echo 0)
    log "smoke run in $work (limit ${SMOKE_LIMIT} s)"
    t0=$SECONDS
    # the jobs inherit our environment (sbatch --export=ALL): biogans and snakemake from $PYTHON's
    # environment must be on PATH
    PATH="$(dirname "$(command -v "$PYTHON")"):$PATH"
    export PATH
    set +e
    # SIGTERM at the limit; Snakemake then waits for its running jobs, so SIGKILL 30 s later.
    (cd "$work" && exec timeout -k 30 "$SMOKE_LIMIT" "$PYTHON" -m snakemake \
        --profile workflow/profiles/slurm --configfile=workflow/presets/smoke.yaml) > "$work/snakemake.log" 2>&1
    rc=$?
    set -e
    # a killed Snakemake leaves its Slurm jobs behind: cancel them (the job name is the run ID)
    local run_id
    run_id="$(sed -n 's/.*SLURM run ID: \([-_A-Za-z0-9]*\).*/\1/p' "$work/snakemake.log" | head -n 1)"
    if [[ -n "$run_id" ]]; then
        client scancel --name="$run_id" 2> /dev/null || true
    fi
    local wall=$((SECONDS - t0))
    after=$(wc -l < "$STATE/jobcomp.log" 2> /dev/null || echo 0)
    seen=$((after - before))
    log "snakemake exit code $rc after $wall s; the controller finished $seen jobs meanwhile"
    if ((rc != 0)); then
        tail -n 60 "$work/snakemake.log" >&2
        die "smoke run through Slurm failed (exit $rc; 124/137: over the ${SMOKE_LIMIT} s limit); log: $work/snakemake.log"
    fi
    for f in table1_real_vs_real table2_conditional table3_reconstruction table4_joint figure8_c2st_vs_iterations; do
        [[ -s "$work/results/tables/$f.csv" ]] || { log "missing results/tables/$f.csv"; absent=1; }
    done
    for f in figure1_teaser.png figure3_training_progress.png figure4_separable_samples.png \
        figure6_reconstructions.png figure7_cell_cycle.png figure7_cell_cycle.gif figure8_c2st_vs_iterations.png; do
        [[ -s "$work/results/figures/$f" ]] || { log "missing results/figures/$f"; absent=1; }
    done
    ((absent == 0)) || die "the smoke run through Slurm did not build every table and figure"
    # every job Snakemake submitted is in the controller's completion records, COMPLETED
    local submitted=0 job
    while read -r job; do
        submitted=$((submitted + 1))
        grep -q "^JobId=$job .*JobState=COMPLETED " "$STATE/jobcomp.log" ||
            die "Slurm job $job of the smoke run is not COMPLETED in $STATE/jobcomp.log"
    done < <(sed -n 's/.*has been submitted with SLURM jobid \([0-9]*\).*/\1/p' "$work/snakemake.log")
    ((submitted > 0)) || die "snakemake submitted no job through Slurm"
    log "OK: $submitted jobs submitted through Slurm, each COMPLETED by the controller, in $wall s"
    echo "smoke_seconds=$wall submitted=$submitted completed=$seen"
}

# ---------------------------------------------------------------------------------- ci

cmd_ci() {
    local t0=$SECONDS rc=0
    trap 'cmd_down' EXIT
    cmd_up
    local t1=$SECONDS
    log "pytest -m slurm (limit ${CI_LIMIT} s)"
    PATH="$(dirname "$(command -v "$PYTHON")"):$PATH" timeout -k 30 "$CI_LIMIT" \
        "$PYTHON" -m pytest -m slurm -p no:cacheprovider -v "$ROOT/tests/test_slurm.py" || rc=$?
    log "Slurm tests: exit code $rc after $((SECONDS - t1)) s (124/137: over the limit)"
    client squeue -h -t all -o "%i %T" > "$STATE/jobs.txt" 2> /dev/null || true
    log "jobs finished by the controller: $(wc -l < "$STATE/jobcomp.log" 2> /dev/null || echo 0)"
    trap - EXIT
    cmd_down
    log "ci: $((SECONDS - t0)) s in all"
    return $rc
}

case "${1:-}" in
    up) cmd_up ;;
    down) cmd_down ;;
    status) cmd_status ;;
    smoke) cmd_smoke ;;
    ci) cmd_ci ;;
    *)
        sed -n '2,23p' "$0" >&2
        exit 2
        ;;
esac
