#!/usr/bin/env bash
# Runs vicbed's govmomi test suite (vcsim/tests/govmomi, the calls govc makes) against
# govmomi's own simulator and against `vicbed vcsim`, and prints per test which of the two
# passes, then the totals. A measurement, not a test: it always exits 0 when both servers ran.
#   bash benches/peer/parity.sh [GO_TEST_REGEX]
# Needs golang-go and golang-github-vmware-govmomi-dev (scripts/test.sh installs them) and a
# built vicbed (target/debug/vicbed or VICBED=path).
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

# Waits for the first line a server prints and echoes it.
first_line() {
    local file="$1" i
    for i in $(seq 1 100); do
        if [ -s "$file" ]; then head -n1 "$file"; return; fi
        sleep 0.1
    done
    echo "parity: no URL in $file" >&2
    exit 2
}

"$work/govcsim" -vcsim-defaults >"$work/govcsim.out" 2>"$work/govcsim.err" &
pids+=($!)
govmomi_url="$(first_line "$work/govcsim.out" | sed -e 's/^export GOVC_URL=//')"

"$VICBED" vcsim -l 127.0.0.1:0 -tls=false -username user -password pass >"$work/vicbed.out" 2>"$work/vicbed.err" &
pids+=($!)
vicbed_url="$(first_line "$work/vicbed.out" | sed -e 's/^export GOVC_URL=//' -e 's/ .*//' -e "s/'//g")"

results() {
    VICBED_URL="$1" "$work/suite.test" -test.v -test.count=1 -test.run "$RUN" 2>&1 |
        awk '/^--- (PASS|FAIL|SKIP):/ { sub(":", "", $2); print $3, $2 }' | sort
}
results "$govmomi_url" >"$work/govmomi.txt" || true
results "$vicbed_url" >"$work/vicbed.txt" || true

printf '%-52s %-8s %-8s\n' "test" "govmomi" "vicbed"
join -a1 -a2 -e missing -o 0,1.2,2.2 "$work/govmomi.txt" "$work/vicbed.txt" |
    awk '{ printf "%-52s %-8s %-8s\n", $1, $2, $3 }'
g="$(grep -c ' PASS$' "$work/govmomi.txt" || true)"
v="$(grep -c ' PASS$' "$work/vicbed.txt" || true)"
n="$(cat "$work/govmomi.txt" "$work/vicbed.txt" | cut -d' ' -f1 | sort -u | wc -l)"
echo "passed: govmomi's simulator $g of $n, vicbed $v of $n"

# The SOAP methods each server says it implements (both answer /about with a method list).
about_url() { local u="${1%/sdk}"; echo "${u%%://*}://${u#*@}/about"; }
fetch() { curl -fsSk "$1" || python3 -c 'import sys,urllib.request,ssl; print(urllib.request.urlopen(sys.argv[1], context=ssl._create_unverified_context()).read().decode())' "$1"; }
fetch "$(about_url "$govmomi_url")" >"$work/govmomi-about.json"
fetch "$(about_url "$vicbed_url")" >"$work/vicbed-about.json"
python3 - "$work/govmomi-about.json" "$work/vicbed-about.json" <<'PY'
import json, sys
def methods(path):
    d = json.load(open(path))
    return set(d.get("Methods") or d.get("methods") or [])
g, v = methods(sys.argv[1]), methods(sys.argv[2])
print(f"SOAP methods: govmomi's simulator {len(g)}, vicbed {len(v)}, both {len(g & v)}")
print("served by govmomi's simulator, not by vicbed:", ", ".join(sorted(g - v)) or "none")
PY
