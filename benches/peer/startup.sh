#!/usr/bin/env bash
# Starts one emulator with a single cluster of 3 hosts and VMS virtual machines, waits for
# its export line, asks GET /about once, then stops it with SIGTERM: the whole-process time
# is what a CI job pays to get a ready vCenter. Used to compare `vicbed vcsim` with govmomi's
# simulator at several sizes:
#   benches/peer/startup.sh vicbed VMS     (target/release/vicbed, or VICBED=path)
#   benches/peer/startup.sh govmomi VMS    (GOVMOMI_SIM=path to a built govmomi_sim.go)
# VMS must be a multiple of 3 (govmomi_sim counts VMs per host).
set -euo pipefail
kind="$1"
vms="$2"
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
out="$(mktemp)"
trap 'rm -f "$out"' EXIT
case "$kind" in
vicbed)
    "${VICBED:-$here/../../target/release/vicbed}" vcsim -l 127.0.0.1:0 -tls=false \
        -cluster 1 -host 3 -standalone-host 0 -vm "$vms" >"$out" &
    ;;
govmomi)
    "${GOVMOMI_SIM:?set GOVMOMI_SIM to a built govmomi_sim}" -hosts 3 -vms $((vms / 3)) >"$out" &
    ;;
*)
    echo "usage: $0 vicbed|govmomi VMS" >&2
    exit 2
    ;;
esac
pid=$!
for _ in $(seq 1 6000); do
    [ -s "$out" ] && break
    sleep 0.005
done
url="$(head -n1 "$out" | sed -e 's/^export GOVC_URL=//' -e 's/ .*//')"
hostport="${url#*@}"
hostport="${hostport%%/*}"
curl -fsS "http://$hostport/about" >/dev/null
kill -TERM "$pid"
wait "$pid"
