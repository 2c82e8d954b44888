#!/usr/bin/env bash
# Runs vicbed's govmomi test suite (vcsim/tests/govmomi: the calls govc makes) against
# govmomi's own simulator (govmomi_sim.go -vcsim-defaults, with the vAPI, lookup, pbm and STS
# endpoints govmomi's vcsim command registers) and against `vicbed vcsim`, each test on a
# fresh pair of servers with vcsim's default model (TestEmpty*: `-dc 0`, TestModelEsx*:
# `-esx`). Prints per test which of the two passes, the totals, and the SOAP methods each
# server lists in /about that the other does not. A measurement, not a test: it exits 0
# whenever both servers ran.
#   bash benches/peer/parity.sh [GO_TEST_REGEX]
# Needs golang-go and golang-github-vmware-govmomi-dev (scripts/test.sh installs them) and a
# built vicbed (target/debug/vicbed, or VICBED=path).
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/../.."
ROOT="$PWD"
RUN="${1:-.}"
VICBED="${VICBED:-$ROOT/target/debug/vicbed}"
export GO111MODULE=off GOPATH="${VICBED_GOPATH:-/usr/share/gocode}" GOCACHE="$ROOT/target/gocache" GOFLAGS=
work="$(mktemp -d)"
pids=()
cleanup() {
    for p in "${pids[@]}"; do kill -TERM "$p" 2>/dev/null || true; done
    rm -rf "$work"
}
trap cleanup EXIT

[ -x "$VICBED" ] || { echo "parity: $VICBED is not built (cargo build)" >&2; exit 2; }
(cd benches/peer && go build -o "$work/govcsim" govmomi_sim.go)
(cd vcsim/tests/govmomi && go test -c -o "$work/suite.test" .)

# Starts one server (its stdout in $1), echoes its pid; the URL is the export line's.
start() {
    local out="$1"
    shift
    "$@" >"$out" 2>"$out.err" &
    echo $!
}
# Waits for the first line a server prints and echoes its URL.
url_of() {
    local file="$1" i
    for i in $(seq 1 200); do
        if [ -s "$file" ]; then
            head -n1 "$file" | sed -e 's/^export GOVC_URL=//' -e 's/ .*//'
            return
        fi
        sleep 0.05
    done
    echo "parity: no URL in $file" >&2
    exit 2
}
stop() { kill -TERM "$1" 2>/dev/null || true; wait "$1" 2>/dev/null || true; }

# Runs test $1 against a fresh server started with the remaining arguments; prints PASS/FAIL.
one() {
    local test="$1" out="$work/server.out"
    shift
    rm -f "$out"
    local pid
    pid="$(start "$out" "$@")"
    pids+=("$pid")
    local url
    url="$(url_of "$out")"
    if VICBED_URL="$url" "$work/suite.test" -test.count=1 -test.run "^${test}\$" >"$work/run.log" 2>&1; then
        echo PASS
    else
        echo FAIL
    fi
    stop "$pid"
}

printf '%-40s %-8s %-8s\n' "test" "govmomi" "vicbed"
g=0 v=0 n=0
for test in $("$work/suite.test" -test.list "$RUN" | grep '^Test'); do
    model=()
    case "$test" in
    TestEmpty*) model=(-dc 0) ;;
    TestModelEsx*) model=(-esx) ;;
    esac
    gr="$(one "$test" "$work/govcsim" -vcsim-defaults "${model[@]}")"
    vr="$(one "$test" "$VICBED" vcsim -l 127.0.0.1:0 -tls=false -username user -password pass "${model[@]}")"
    printf '%-40s %-8s %-8s\n' "$test" "$gr" "$vr"
    n=$((n + 1))
    [ "$gr" = PASS ] && g=$((g + 1))
    [ "$vr" = PASS ] && v=$((v + 1))
done
echo "passed: govmomi's simulator $g of $n, vicbed $v of $n"

# The SOAP methods each server says it implements (both answer /about with a method list).
gpid="$(start "$work/g.out" "$work/govcsim" -vcsim-defaults)"
pids+=("$gpid")
vpid="$(start "$work/v.out" "$VICBED" vcsim -l 127.0.0.1:0 -tls=false)"
pids+=("$vpid")
about_url() { local u="${1%/sdk}"; echo "${u%%://*}://${u#*@}/about"; }
curl -fsS "$(about_url "$(url_of "$work/g.out")")" >"$work/govmomi-about.json"
curl -fsS "$(about_url "$(url_of "$work/v.out")")" >"$work/vicbed-about.json"
python3 - "$work/govmomi-about.json" "$work/vicbed-about.json" <<'PY'
import json, sys
def methods(path):
    d = json.load(open(path))
    return set(d.get("Methods") or d.get("methods") or [])
g, v = methods(sys.argv[1]), methods(sys.argv[2])
print(f"SOAP methods: govmomi's simulator {len(g)}, vicbed {len(v)}, both {len(g & v)}")
print("served by govmomi's simulator, not by vicbed:", ", ".join(sorted(g - v)) or "none")
PY
