#!/usr/bin/env bash
# Side-by-side peer comparison: `vicbed serve` against govmomi's vcsim (the simulator library
# Debian ships as golang-github-vmware-govmomi-dev, 0.24.x, and optionally govmomi v0.56.0: a binary
# built outside the repository, see README.md), same machine, same clients (pyvmomi client.py,
# govmomi goclient).
# See benches/peer/README.md for what each number means and the targets.
#
#   benches/peer/compare.sh            # from anywhere; writes target/peer/results.json + results.md
#
# Environment knobs (all optional):
#   PEER_OUT=DIR          output/work directory (default <repo>/target/peer; /target is gitignored)
#   PEER_VENV=DIR         venv for pyvmomi (default: <repo>/.venv if it has pyvmomi 9.1.1.0, else /tmp/vicbed-peer-venv)
#   PEER_RUNS=5           start-up repetitions at 1 024 VMs (median reported)
#   PEER_BIG_RUNS=3       start-up repetitions at 10 000 VMs (median reported)
#   PEER_SERVERS="govmomi vicbed"   which servers to measure: govmomi (0.24.2), govmomi056, vicbed
#   PEER_VICBED_MODE=serve  vicbed's command: serve (`vicbed serve`) or vcsim (`vicbed vcsim`, the drop-in)
#   PEER_CLIENTS="py go"  which clients to run: py (client.py, pyvmomi), go (goclient, govmomi 0.24.2)
#   PEER_SKIP_INSTALL=1   do not apt-get/pip install anything
#   PEER_NO_BUILD=1       do not run cargo build (use target/release/vicbed as it is)
#   PEER_START_TIMEOUT=180  seconds to wait for a server's URL line (govmomi056: at least 900)
#   PEER_CREATES=200 PEER_QUERIES=500 PEER_RETRIEVES=500 PEER_TOGGLES=50   client loop bounds
set -euo pipefail

HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
ROOT=$(cd "$HERE/../.." && pwd)
OUT=${PEER_OUT:-$ROOT/target/peer}
RUNS=${PEER_RUNS:-5}
BIG_RUNS=${PEER_BIG_RUNS:-3}
SERVERS=${PEER_SERVERS:-"govmomi vicbed"}
# serve: `vicbed serve` (a day of history); vcsim: `vicbed vcsim`, the drop-in (its realtime hour,
# filled after the export line, so its start-up rows time the URL before the hour is complete).
VICBED_MODE=${PEER_VICBED_MODE:-serve}
CLIENTS=${PEER_CLIENTS:-"py go"}
CREATES=${PEER_CREATES:-200}
QUERIES=${PEER_QUERIES:-500}
RETRIEVES=${PEER_RETRIEVES:-500}
TOGGLES=${PEER_TOGGLES:-50}
PYVMOMI_PIN=9.1.1.0
START_TIMEOUT=${PEER_START_TIMEOUT:-180}   # seconds to wait for a server's GOVC_URL line
# govmomi v0.56's Model.Create makes every VM through its own client and waits for each create and
# power-on task on a property collector that batches updates on a 20 ms ticker: about 40 ms a VM, so
# some 7 minutes at 10 000 VMs. Its wait is at least 900 s.
START_TIMEOUT_056=$((START_TIMEOUT > 900 ? START_TIMEOUT : 900))
CLIENT_TIMEOUT=900  # seconds for one client run

mkdir -p "$OUT"
RAW="$OUT/raw.jsonl"
: >"$RAW"
log() { printf '[peer %s] %s\n' "$(date +%H:%M:%S)" "$*" >&2; }

# ---------------------------------------------------------------- cleanup
declare -A LIVE=()   # PIDs of servers this script started and has not yet stopped
kill_server() { # pid: SIGTERM, up to 60 s grace, then SIGKILL
    # (govmomi_sim deletes its temporary datastore directory on SIGTERM: one sub-directory per VM, which
    # takes several seconds at 10 000 VMs; a SIGKILL would leave /tmp/govcsim-* behind.)
    local pid=$1 i
    [ -n "${LIVE[$pid]:-}" ] || return 0
    unset "LIVE[$pid]"
    kill -TERM "$pid" 2>/dev/null || return 0
    for i in $(seq 1 600); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
    kill -KILL "$pid" 2>/dev/null || true
    wait "$pid" 2>/dev/null || true
}
cleanup() {
    local p
    for p in "${!LIVE[@]}"; do kill_server "$p"; done
}
trap cleanup EXIT
trap 'exit 130' INT TERM

# ---------------------------------------------------------------- install
SUDO=""
[ "$(id -u)" = 0 ] || SUDO="sudo"
if [ -z "${PEER_SKIP_INSTALL:-}" ]; then
    if ! command -v go >/dev/null || ! dpkg -s golang-github-vmware-govmomi-dev >/dev/null 2>&1; then
        log "installing golang-go golang-github-vmware-govmomi-dev (apt)"
        $SUDO apt-get update -qq
        DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq golang-go golang-github-vmware-govmomi-dev >/dev/null
    fi
fi
GOVMOMI_VERSION=$(dpkg-query -W -f='${Version}' golang-github-vmware-govmomi-dev)
GO_VERSION=$(go version | awk '{print $3}')
log "govmomi (Debian golang-github-vmware-govmomi-dev) $GOVMOMI_VERSION, $GO_VERSION"

has_pin() { "$1/bin/python" -c "import importlib.metadata as m,sys; sys.exit(m.version('pyvmomi')!='$PYVMOMI_PIN')" 2>/dev/null; }
if [ -n "${PEER_VENV:-}" ]; then
    VENV=$PEER_VENV
elif [ -x "$ROOT/.venv/bin/python" ] && has_pin "$ROOT/.venv"; then
    VENV=$ROOT/.venv
else
    VENV=/tmp/vicbed-peer-venv
fi
if ! has_pin "$VENV"; then
    [ -n "${PEER_SKIP_INSTALL:-}" ] && { log "pyvmomi==$PYVMOMI_PIN missing in $VENV"; exit 1; }
    log "installing pyvmomi==$PYVMOMI_PIN into $VENV"
    python3 -m venv "$VENV"
    "$VENV/bin/python" -m pip install -q "pyvmomi==$PYVMOMI_PIN"
fi
PY=$VENV/bin/python

# ---------------------------------------------------------------- build
log "building govmomi_sim (GOPATH mode)"
mkdir -p "$OUT/gopath"
(cd "$HERE" && GO111MODULE=off GOPATH="$OUT/gopath:/usr/share/gocode" go build -o "$OUT/govmomi_sim" govmomi_sim.go)
case " $CLIENTS " in *" go "*)
    log "building goclient (GOPATH mode, govmomi $GOVMOMI_VERSION)"
    (cd "$HERE" && GO111MODULE=off GOPATH="$OUT/gopath:/usr/share/gocode" go build -o "$OUT/goclient" ./goclient) ;;
esac
GOVMOMI056_VERSION=""
case " $SERVERS " in *" govmomi056 "*)
    # The second peer: govmomi_sim.go built against govmomi v0.56.0, outside the repository (README.md).
    [ -x "$OUT/govmomi056_sim" ] || log "no $OUT/govmomi056_sim: govmomi056 will show errors"
    GOVMOMI056_VERSION=$(cat "$OUT/govmomi056.version" 2>/dev/null ||
        echo "$(cat "$OUT/gopath056/src/github.com/vmware/govmomi/.peer-tag" 2>/dev/null || echo "v0.56.0") (no version file)") ;;
esac
VICBED=$ROOT/target/release/vicbed
if [ -z "${PEER_NO_BUILD:-}" ]; then
    log "building vicbed (cargo build --release --bin vicbed)"
    # one cargo build at a time on this machine: share the workspace's lock when flock is there
    if command -v flock >/dev/null; then
        (cd "$ROOT" && flock /tmp/vicbed-cargo.lock cargo build --release --bin vicbed)
    else
        (cd "$ROOT" && cargo build --release --bin vicbed)
    fi
fi
# HEAD at build time; "+dirty" when the work tree had uncommitted changes (read-only git calls).
VICBED_REV=$(git -C "$ROOT" rev-parse --short --verify -q HEAD 2>/dev/null || echo "no-commit")
[ -z "$(git --no-optional-locks -C "$ROOT" status --porcelain --untracked-files=no 2>/dev/null)" ] || VICBED_REV="$VICBED_REV+dirty"
# With PEER_NO_BUILD the binary may predate HEAD: say when it was built.
[ -z "${PEER_NO_BUILD:-}" ] || VICBED_REV="$VICBED_REV (PEER_NO_BUILD: binary of $(date -r "$VICBED" '+%Y-%m-%d %H:%M' 2>/dev/null || echo '?'))"

VICBED_REV="$VICBED_REV, vicbed $VICBED_MODE"

server_cmd() { # kind hosts vms_per_host -> sets CMD (array)
    case $1 in
    govmomi) CMD=("$OUT/govmomi_sim" -l 127.0.0.1:0 -hosts "$2" -vms "$3") ;;
    govmomi056) CMD=("$OUT/govmomi056_sim" -l 127.0.0.1:0 -hosts "$2" -vms "$3") ;;
    vicbed)
        if [ "$VICBED_MODE" = vcsim ]; then
            # The drop-in: vcsim's flags, where -vm counts VMs per resource pool (the cluster's root pool).
            CMD=("$VICBED" vcsim -l 127.0.0.1:0 -tls=false -cluster 1 -host "$2" -vm $(($2 * $3)) -standalone-host 0)
        else
            CMD=("$VICBED" serve --listen 127.0.0.1:0 --cluster 1 --host "$2" --vm "$3" --standalone-host 0 ${VICBED_EXTRA:-})
        fi ;;
    esac
}

rss_kb() { awk '/^VmRSS:/ {print $2}' "/proc/$1/status" 2>/dev/null || echo null; }

# start_server kind hosts vms tag -> sets SRV_PID, SRV_URL, SRV_MS, SRV_ERR
start_server() {
    local kind=$1 hosts=$2 vms=$3 tag=$4 line t0 t1 fd
    local err="$OUT/$kind-$tag.stderr"
    SRV_PID="" SRV_URL="" SRV_MS="" SRV_ERR=""
    server_cmd "$kind" "$hosts" "$vms"
    echo "${CMD[*]}" >"$OUT/$kind-$tag.cmd"
    t0=$EPOCHREALTIME
    exec {fd}< <(exec "${CMD[@]}" 2>"$err")
    SRV_PID=$!
    LIVE[$SRV_PID]=1
    local limit=$START_TIMEOUT
    [ "$kind" = govmomi056 ] && limit=$START_TIMEOUT_056
    while IFS= read -r -t "$limit" -u "$fd" line; do
        case $line in
        *GOVC_URL=*)
            t1=$EPOCHREALTIME
            SRV_URL=${line#*GOVC_URL=}
            SRV_URL=${SRV_URL%% *}
            SRV_URL=${SRV_URL//\"/}
            break
            ;;
        esac
    done
    if [ -z "$SRV_URL" ]; then
        SRV_ERR="no GOVC_URL line within ${limit}s; stderr: $(tail -c 600 "$err" | tr '\n' ' ')"
        kill_server "$SRV_PID"
        exec {fd}<&-
        return 1
    fi
    SRV_MS=$(awk -v a="$t0" -v b="$t1" 'BEGIN { printf "%.2f", (b - a) * 1000 }')
    # keep draining the rest of stdout so the server never blocks on a full pipe
    cat <&"$fd" >"$OUT/$kind-$tag.stdout" &
    exec {fd}<&-
}

emit() { printf '%s\n' "$1" >>"$RAW"; }
jstr() { "$PY" -c 'import json,sys; print(json.dumps(sys.argv[1]))' "$1"; }

# ---------------------------------------------------------------- measure
# Start-up runs alternate between the servers (run i of each, then run i+1 ...), so background load on
# the machine hits both alike. Every sample records the 1-minute load average next to it.
load1() { cut -d' ' -f1 /proc/loadavg; }

measure_start() { # kind hosts vms phase run
    local kind=$1 hosts=$2 vms=$3 phase=$4 i=$5 rss
    if ! start_server "$kind" "$hosts" "$vms" "$phase-$i"; then
        log "$kind $phase run $i failed: $SRV_ERR"
        emit "{\"server\":\"$kind\",\"phase\":\"$phase\",\"run\":$i,\"error\":$(jstr "$SRV_ERR")}"
        return 0
    fi
    sleep 1
    rss=$(rss_kb "$SRV_PID")
    log "$kind $phase run $i: ${SRV_MS} ms, RSS ${rss} kB (load $(load1))"
    emit "{\"server\":\"$kind\",\"phase\":\"$phase\",\"run\":$i,\"ms\":$SRV_MS,\"rss_kb\":$rss,\"load1\":$(load1)}"
    kill_server "$SRV_PID"
}

# 1 024 VMs: 32 hosts x 32 VMs.
for i in $(seq 1 "$RUNS"); do
    for kind in $SERVERS; do measure_start "$kind" 32 32 start_1k "$i"; done
done

# Client workload: one fresh 1 024-VM server per (server, client) pair.
# run_client cl url pid tag [phase-args...] -> prints the client's JSON; phase args are in client.py's
# spelling ("--phases queryperf") and converted to goclient's single dash.
run_client() {
    local cl=$1 url=$2 pid=$3 tag=$4 a
    shift 4
    case $cl in
    py) timeout "$CLIENT_TIMEOUT" "$PY" "$HERE/client.py" "$url" --creates "$CREATES" --queries "$QUERIES" \
        --retrieves "$RETRIEVES" --toggles "$TOGGLES" --tag "$tag" --server-pid "$pid" "$@" ;;
    go)
        local ga=()
        for a in "$@"; do ga+=("${a/#--/-}"); done
        timeout "$CLIENT_TIMEOUT" "$OUT/goclient" "$url" -creates "$CREATES" -queries "$QUERIES" \
            -retrieves "$RETRIEVES" -toggles "$TOGGLES" -tag "$tag" -server-pid "$pid" "${ga[@]}" ;;
    *) echo "unknown client $cl" >&2; return 2 ;;
    esac
}

for kind in $SERVERS; do
    for cl in $CLIENTS; do
        if ! start_server "$kind" 32 32 "1k-client-$cl"; then
            log "$kind client server failed to start: $SRV_ERR"
            emit "{\"server\":\"$kind\",\"client\":\"$cl\",\"phase\":\"client\",\"error\":$(jstr "server start: $SRV_ERR")}"
            continue
        fi
        log "$kind client $cl against $SRV_URL (load $(load1))"
        cerr="$OUT/$kind-client-$cl.stderr"
        if cj=$(run_client "$cl" "$SRV_URL" "$SRV_PID" "$kind" 2>"$cerr") && [ -n "$cj" ]; then
            emit "{\"server\":\"$kind\",\"client\":\"$cl\",\"phase\":\"client\",\"load1\":$(load1),\"result\":$cj}"
        else
            emit "{\"server\":\"$kind\",\"client\":\"$cl\",\"phase\":\"client\",\"error\":$(jstr "client $cl failed: $(tail -c 800 "$cerr")")}"
        fi
        if kill -0 "$SRV_PID" 2>/dev/null; then
            rss=$(rss_kb "$SRV_PID")
            log "$kind RSS after client $cl: $rss kB"
            emit "{\"server\":\"$kind\",\"client\":\"$cl\",\"phase\":\"rss_after_client\",\"rss_kb\":$rss}"
        else
            emit "{\"server\":\"$kind\",\"client\":\"$cl\",\"phase\":\"rss_after_client\",\"error\":$(jstr "server died during the client workload; stderr: $(tail -c 600 "$OUT/$kind-1k-client-$cl.stderr")")}"
        fi
        kill_server "$SRV_PID"

        # vicbed stores a QueryPerf sample every 20 s of its virtual clock, so the run above sees 1 sample
        # per call where govmomi returns 10. Repeat the QueryPerf phase alone on a server whose clock runs at
        # 10x wall time (--speed 10), waiting (untimed, <= 40 s) until 10 samples are there, so both
        # servers return the same payload.
        if [ "$kind" = vicbed ] && [ "$VICBED_MODE" = serve ] && [ -z "${PEER_NO_SPEED_RUN:-}" ]; then
            if VICBED_EXTRA="--speed 10" start_server "$kind" 32 32 "1k-speed10-$cl"; then
                log "$kind QueryPerf with 10 samples (--speed 10), client $cl, against $SRV_URL"
                cerr="$OUT/$kind-client-$cl-speed10.stderr"
                if cj=$(run_client "$cl" "$SRV_URL" "$SRV_PID" "$kind" --phases queryperf --perf-min-samples 10 \
                    --perf-wait 40 2>"$cerr") && [ -n "$cj" ]; then
                    emit "{\"server\":\"$kind\",\"client\":\"$cl\",\"phase\":\"client_speed10\",\"result\":$cj}"
                else
                    emit "{\"server\":\"$kind\",\"client\":\"$cl\",\"phase\":\"client_speed10\",\"error\":$(jstr "client $cl failed: $(tail -c 800 "$cerr")")}"
                fi
                kill_server "$SRV_PID"
            else
                emit "{\"server\":\"$kind\",\"client\":\"$cl\",\"phase\":\"client_speed10\",\"error\":$(jstr "$SRV_ERR")}"
            fi
        fi
    done
done

# 10 000 VMs: 100 hosts x 100 VMs.
for i in $(seq 1 "$BIG_RUNS"); do
    for kind in $SERVERS; do measure_start "$kind" 100 100 start_10k "$i"; done
done

# ---------------------------------------------------------------- summarise
ENV_JSON=$("$PY" - "$GOVMOMI_VERSION" "$GO_VERSION" "$VICBED_REV" "$GOVMOMI056_VERSION" <<'EOF'
import json, os, platform, sys, importlib.metadata as m
cpu = next((l.split(":", 1)[1].strip() for l in open("/proc/cpuinfo") if l.startswith("model name")), "?")
print(json.dumps({"govmomi_deb": sys.argv[1], "go": sys.argv[2], "vicbed_rev": sys.argv[3],
                  "govmomi056": sys.argv[4], "pyvmomi": m.version("pyvmomi"), "python": platform.python_version(),
                  "cpu": cpu, "nproc": os.cpu_count(), "kernel": platform.release()}))
EOF
)

"$PY" - "$RAW" "$OUT/results.json" "$OUT/results.md" "$ENV_JSON" "$CREATES" "$QUERIES" "$TOGGLES" "$RETRIEVES" \
    "$SERVERS" "$CLIENTS" <<'EOF'
import json, statistics, sys
raw, out_json, out_md, env = sys.argv[1], sys.argv[2], sys.argv[3], json.loads(sys.argv[4])
env.update(creates=int(sys.argv[5]), queries=int(sys.argv[6]), toggles=int(sys.argv[7]), retrieves=int(sys.argv[8]))
servers, clients = sys.argv[9].split(), sys.argv[10].split()
env.update(servers=servers, clients=clients)
rows = [json.loads(l) for l in open(raw) if l.strip()]
res = {s: {"errors": [], "client": {}, "client_speed10": {}, "rss_after_client_kb": {}} for s in servers}
for r in rows:
    s = res.setdefault(r["server"], {"errors": [], "client": {}, "client_speed10": {}, "rss_after_client_kb": {}})
    ph, cl = r["phase"], r.get("client", "py")
    if "error" in r:
        s["errors"].append("%s%s%s: %s" % (ph, (" [%s]" % cl) if "client" in r else "",
                                           (" run %d" % r["run"]) if "run" in r else "", r["error"]))
        continue
    if ph in ("start_1k", "start_10k"):
        s.setdefault(ph, []).append({"ms": r["ms"], "rss_kb": r["rss_kb"], "load1": r.get("load1")})
    elif ph == "client":
        s["client"][cl] = r["result"]
        for k in ("create_poweron", "queryperf", "retrieveprops", "waitforupdates"):
            if isinstance(r["result"].get(k), dict) and "error" in r["result"][k]:
                s["errors"].append("client %s %s: %s" % (cl, k, r["result"][k]["error"]))
    elif ph == "client_speed10":
        s["client_speed10"][cl] = r["result"]
        q = r["result"].get("queryperf", {})
        if isinstance(q, dict) and "error" in q:
            s["errors"].append("client %s (--speed 10) queryperf: %s" % (cl, q["error"]))
    elif ph == "rss_after_client":
        s["rss_after_client_kb"][cl] = r["rss_kb"]

def med(xs):
    xs = [x for x in xs if x is not None]
    return statistics.median(xs) if xs else None

mb = lambda kb: None if kb is None else round(kb / 1024, 1)
metrics = {}
for name, s in res.items():
    m = {
        "start_1k_ms": med([x["ms"] for x in s.get("start_1k", [])]),
        "rss_1k_start_mb": mb(med([x["rss_kb"] for x in s.get("start_1k", [])])),
        "start_10k_ms": med([x["ms"] for x in s.get("start_10k", [])]),
        "rss_10k_start_mb": mb(med([x["rss_kb"] for x in s.get("start_10k", [])])),
    }
    for cl in clients:
        c = s["client"].get(cl, {})
        get = lambda k: c.get(k) if isinstance(c.get(k), dict) else {}
        cp, qp, rp, wf = get("create_poweron"), get("queryperf"), get("retrieveprops"), get("waitforupdates")
        ul, iw = wf.get("update_latency", {}), wf.get("issue_to_wake", {})
        # govmomi returns 10 samples in the main run; vicbed's 10-sample figure comes from the --speed 10 run
        q10 = s["client_speed10"].get(cl, {}).get("queryperf", {}) if name == "vicbed" and s["client_speed10"].get(cl) else qp
        m.update({k + "@" + cl: v for k, v in {
            "rss_1k_after_client_mb": mb(s["rss_after_client_kb"].get(cl)),
            "create_poweron_ops_s": cp.get("ops_per_s"),
            "create_server_us": cp.get("server_cpu_us_per_op"),
            "create_client_share": cp.get("client_cpu_share_of_wall"),
            "queryperf_calls_s": qp.get("calls_per_s"),
            "queryperf_server_us": qp.get("server_cpu_us_per_op"),
            "queryperf_client_share": qp.get("client_cpu_share_of_wall"),
            "queryperf_samples": qp.get("samples_per_call_max"),
            "queryperf10_calls_s": q10.get("calls_per_s"),
            "queryperf10_samples": q10.get("samples_per_call_max"),
            "queryperf10_server_us": q10.get("server_cpu_us_per_op"),
            "retrieve_calls_s": rp.get("calls_per_s"),
            "retrieve_server_us": rp.get("server_cpu_us_per_op"),
            "retrieve_client_share": rp.get("client_cpu_share_of_wall"),
            "wfu_issue_to_wake_p50_ms": iw.get("p50_ms") if iw.get("n") else None,
            "wfu_latency_p50_ms": ul.get("p50_ms") if ul.get("n") else None,
            "wfu_latency_p95_ms": ul.get("p95_ms") if ul.get("n") else None,
        }.items()})
    metrics[name] = m

# (label, key, better: "lower"/"higher"/"info", target text, target check on vicbed value v and ratio r)
top = [
    ("Start-up, 1 024 VMs (32x32), median ms", "start_1k_ms", "lower", "<= 50 ms", lambda v, r: v <= 50),
    ("RSS after start, 1 024 VMs, MB", "rss_1k_start_mb", "lower", "<= 20 MB", lambda v, r: v <= 20),
]
per_client = [
    ("RSS after client workload, 1 024+%d VMs, MB" % env["creates"], "rss_1k_after_client_mb", "lower", "-", None),
    ("CreateVM_Task+PowerOnVM_Task, ops/s (N=%d)" % env["creates"], "create_poweron_ops_s", "higher", ">= 3x govmomi", lambda v, r: r is not None and r >= 3),
    ("  server CPU per create+power-on op, us", "create_server_us", "lower", "-", None),
    ("  client CPU / wall in that loop", "create_client_share", "info", "-", None),
    ("QueryPerf, calls/s (N=%d)" % env["queries"], "queryperf_calls_s", "higher", ">= 3x govmomi", lambda v, r: r is not None and r >= 3),
    ("  server CPU per QueryPerf call, us", "queryperf_server_us", "lower", "-", None),
    ("  client CPU / wall in that loop", "queryperf_client_share", "info", "-", None),
    ("QueryPerf samples returned per call in that run", "queryperf_samples", "info", "-", None),
    ("QueryPerf, calls/s, 10 samples per call (vicbed: --speed 10)", "queryperf10_calls_s", "higher", ">= 3x govmomi", lambda v, r: r is not None and r >= 3),
    ("QueryPerf samples per call in that run", "queryperf10_samples", "info", "10 (maxSample)", None),
    ("  server CPU per QueryPerf call (10 samples), us", "queryperf10_server_us", "lower", "-", None),
    ("RetrievePropertiesEx, 1 VM x 4 properties, calls/s (N=%d)" % env["retrieves"], "retrieve_calls_s", "higher", "-", None),
    ("  server CPU per RetrievePropertiesEx call, us", "retrieve_server_us", "lower", "-", None),
    ("  client CPU / wall in that loop", "retrieve_client_share", "info", "-", None),
    ("WaitForUpdatesEx update latency p50, ms (%d toggles)" % env["toggles"], "wfu_latency_p50_ms", "info", "<= 2 ms", lambda v, r: v <= 2),
    ("WaitForUpdatesEx update latency p95, ms", "wfu_latency_p95_ms", "info", "-", None),
    ("  WaitForUpdatesEx issue-to-wake p50, ms (raw, incl. one RTT)", "wfu_issue_to_wake_p50_ms", "lower", "-", None),
]
bottom = [
    ("Start-up, 10 000 VMs (100x100), median ms", "start_10k_ms", "lower", "<= 500 ms", lambda v, r: v <= 500),
    ("RSS after start, 10 000 VMs, MB", "rss_10k_start_mb", "lower", "<= 100 MB", lambda v, r: v <= 100),
]
client_name = {"py": "pyvmomi client.py", "go": "govmomi goclient"}
spec = [(l, k, b, t, c) for l, k, b, t, c in top]
for cl in clients:
    spec += [("[%s] %s" % (cl, l.strip()) if not l.startswith("  ") else "  [%s] %s" % (cl, l.strip()), "%s@%s" % (k, cl), b, t, c)
             for l, k, b, t, c in per_client]
spec += bottom

def fmt(x):
    if x is None: return "—"
    return ("%.2f" % x).rstrip("0").rstrip(".") if isinstance(x, float) else str(x)

label = {"govmomi": "govmomi vcsim %s (go %s)" % (env["govmomi_deb"], env["go"].replace("go", "")),
         "govmomi056": "govmomi vcsim %s" % (env["govmomi056"] or "v0.56.0"), "vicbed": "vicbed"}
peers = [s for s in servers if s != "vicbed"]
ref = "govmomi" if "govmomi" in servers else (peers[0] if peers else None)
has_v = "vicbed" in servers
head = ["Metric"] + [label.get(s, s) for s in servers]
if has_v:
    head += ["vicbed vs %s" % label.get(p, p).split(" (")[0] for p in peers] + ["target", "met"]
lines = ["| " + " | ".join(head) + " |", "|" + "---|" * len(head)]

def ratio(pv, vv, better):
    if pv is None or vv is None or pv <= 0 or vv <= 0 or better == "info":
        return None
    return pv / vv if better == "lower" else vv / pv

table = []
for lab, key, better, target, check in spec:
    vals = {s: metrics.get(s, {}).get(key) for s in servers}
    row = {"metric": lab, "key": key, "better": better, "values": vals}
    cells = [lab] + [fmt(vals[s]) for s in servers]
    if has_v:
        vv = vals["vicbed"]
        ratios = {p: ratio(vals[p], vv, better) for p in peers}
        met = "—"
        if check is not None and vv is not None:
            try: met = "yes" if check(vv, ratios.get(ref)) else "NO"
            except TypeError: met = "—"
        row.update(ratios={p: None if r is None else round(r, 2) for p, r in ratios.items()}, target=target, met=met)
        cells += ["—" if ratios[p] is None else "%.2fx" % ratios[p] for p in peers] + [target, met]
    table.append(row)
    lines.append("| " + " | ".join(cells) + " |")
lines.append("")
lines.append("vicbed vs X = X/vicbed for times, memory and CPU, vicbed/X for rates (> 1 means vicbed is better); "
             "targets that name govmomi use %s." % label.get(ref, ref))
lines.append("Clients: " + "; ".join("[%s] %s" % (c, client_name.get(c, c)) for c in clients) + ".")
loads = [r["load1"] for r in rows if r.get("load1") is not None]
if loads:
    env["load1_min"], env["load1_max"] = min(loads), max(loads)
    lines.append("1-minute load average at the samples: %.2f to %.2f on %s CPUs (%s)." % (min(loads), max(loads), env["nproc"], env["cpu"]))
lines.append("govmomi %s (Debian golang-github-vmware-govmomi-dev, %s)%s; pyvmomi %s; vicbed rev %s." % (
    env["govmomi_deb"], env["go"], ("; govmomi056: %s" % env["govmomi056"]) if env["govmomi056"] else "",
    env["pyvmomi"], env["vicbed_rev"]))
for s in servers:
    for e in res.get(s, {}).get("errors", []):
        lines.append("- %s error: %s" % (s, e))
md = "\n".join(lines)
json.dump({"env": env, "metrics": metrics, "table": table, "raw": res}, open(out_json, "w"), indent=2)
open(out_md, "w").write(md + "\n")
print(md)
EOF
log "wrote $OUT/results.json and $OUT/results.md (raw lines: $RAW)"
