#!/usr/bin/env bash
# The whole test suite, as CI runs it (`.ci/run` calls this):
#   1. Python with the pinned pyvmomi, docker-py and Selenium in .venv (for the interop tests
#      in tests/it), and the docker CLI, tmux, skopeo, Go with govmomi's library, Chromium
#      with chromedriver (apt-get) when missing,
#   2. cargo fmt --check, 3. cargo clippy -D warnings, 4. cargo test --workspace.
# Extra arguments go to `cargo test` (e.g. `bash scripts/test.sh -- interop`).
# Works on a fresh Debian machine: installs python3/python3-venv with apt-get when missing.
set -euo pipefail

cd "$(dirname "${BASH_SOURCE[0]}")/.."
ROOT="$PWD"
REQUIREMENTS="tests/interop/requirements.txt"
VENV="$ROOT/.venv"
STAMP="$VENV/.requirements.sha256"

log() { printf '\n==> %s\n' "$*" >&2; }
die() {
    printf '\ntest.sh: error: %s\n' "$*" >&2
    exit 1
}

# Runs apt-get as root (directly, or through passwordless sudo); false when impossible.
apt_install() {
    command -v apt-get >/dev/null 2>&1 || return 1
    local sudo=()
    if [ "$(id -u)" -ne 0 ]; then
        command -v sudo >/dev/null 2>&1 && sudo -n true 2>/dev/null || return 1
        sudo=(sudo -n)
    fi
    log "apt-get install $*"
    export DEBIAN_FRONTEND=noninteractive
    "${sudo[@]}" apt-get update -qq >/dev/null || true
    "${sudo[@]}" apt-get install -y -qq --no-install-recommends "$@" >/dev/null
}

requirements_hash() {
    sha256sum "$REQUIREMENTS" | cut -d' ' -f1
}

# True when $1 can import the interop dependencies.
python_ready() {
    "$1" - <<'EOF' >/dev/null 2>&1
import pyVmomi, pyVim.connect, pyVim.task, docker  # noqa: F401
EOF
}

pip_install() {
    local py="$1"
    shift
    "$py" -m pip install --quiet --disable-pip-version-check --no-input \
        --retries 5 --timeout 60 "$@" -r "$REQUIREMENTS"
}

# Prints the interpreter the interop tests should use, installing what is missing.
setup_python() {
    local sys_py
    sys_py="$(command -v python3 || true)"
    if [ -z "$sys_py" ]; then
        apt_install python3 python3-venv python3-pip ||
            die "python3 is not installed and could not be installed with apt-get; install Python 3.9+ and re-run"
        sys_py="$(command -v python3)" || die "python3 still missing after apt-get install"
    fi

    # A venv whose requirements are installed and unchanged: nothing to do.
    if [ -x "$VENV/bin/python" ] && [ -f "$STAMP" ] && [ "$(cat "$STAMP")" = "$(requirements_hash)" ] &&
        python_ready "$VENV/bin/python"; then
        echo "$VENV/bin/python"
        return
    fi

    # (Re)create the venv when it is missing or broken.
    if ! "$VENV/bin/python" -c 'import sys' >/dev/null 2>&1 ||
        ! "$VENV/bin/python" -m pip --version >/dev/null 2>&1; then
        rm -rf "$VENV"
        log "creating $VENV with $sys_py ($("$sys_py" --version 2>&1))"
        if ! "$sys_py" -m venv "$VENV" >/dev/null 2>&1; then
            rm -rf "$VENV"
            # Debian's python3 needs python3-venv (ensurepip) for venvs.
            local minor
            minor="$("$sys_py" -c 'import sys; print("%d.%d" % sys.version_info[:2])')"
            apt_install python3-venv "python$minor-venv" || apt_install python3-venv || true
            "$sys_py" -m venv "$VENV" >/dev/null 2>&1 || rm -rf "$VENV"
        fi
    fi

    if [ -x "$VENV/bin/python" ]; then
        log "installing $REQUIREMENTS into .venv ($(grep -v '^#' "$REQUIREMENTS" | tr '\n' ' '))"
        if pip_install "$VENV/bin/python" && python_ready "$VENV/bin/python"; then
            requirements_hash >"$STAMP"
            echo "$VENV/bin/python"
            return
        fi
        die "pip could not install $REQUIREMENTS into .venv (is PyPI reachable?)"
    fi

    # No venv possible: fall back to the user site of the system python.
    log "no venv available; installing $REQUIREMENTS with pip --user"
    if ! "$sys_py" -m pip --version >/dev/null 2>&1; then
        apt_install python3-pip || die "neither venv nor pip is available for $sys_py"
    fi
    local extra=()
    if "$sys_py" -m pip install --help 2>/dev/null | grep -q -- --break-system-packages; then
        extra=(--break-system-packages) # PEP 668 (Debian's externally managed python)
    fi
    pip_install "$sys_py" --user "${extra[@]}" ||
        die "pip install --user -r $REQUIREMENTS failed"
    python_ready "$sys_py" || die "pyvmomi is installed but cannot be imported by $sys_py"
    echo "$sys_py"
}

command -v cargo >/dev/null 2>&1 || die "cargo is not on PATH (install Rust with rustup)"
if [ "${CI:-}" = "true" ]; then
    # A fresh clone builds once: incremental artefacts only cost time there. Line tables
    # instead of full debug info keep panics' backtraces and halve target/ (a CI machine's
    # disk once ran out mid-build).
    export CARGO_INCREMENTAL=0
    export CARGO_PROFILE_DEV_DEBUG="${CARGO_PROFILE_DEV_DEBUG:-line-tables-only}"
    export CARGO_PROFILE_TEST_DEBUG="${CARGO_PROFILE_TEST_DEBUG:-line-tables-only}"
fi
export CARGO_TERM_COLOR="${CARGO_TERM_COLOR:-never}"

log "cargo fmt --all -- --check"
cargo fmt --all -- --check

log "Python for the pyvmomi interop tests"
VICBED_PYTHON="$(setup_python)"
export VICBED_PYTHON
"$VICBED_PYTHON" -c 'import sys, pyVmomi; from importlib.metadata import version; print("python %s, pyvmomi %s (%s)" % (sys.version.split()[0], version("pyvmomi"), sys.executable))' >&2

if ! command -v docker >/dev/null 2>&1; then
    # The VIC tests drive the VCH endpoint with the real docker CLI (client only).
    apt_install docker.io || die "the docker CLI is missing and could not be installed (apt-get install docker.io)"
fi
docker --version >&2

if ! command -v tmux >/dev/null 2>&1; then
    # `docker run -it` is tested in a real terminal (tmux).
    apt_install tmux || die "tmux is missing and could not be installed (apt-get install tmux)"
fi

if ! command -v skopeo >/dev/null 2>&1; then
    # The built-in registry is checked with a real OCI client (copy, inspect, list-tags, delete).
    apt_install skopeo || die "skopeo is missing and could not be installed (apt-get install skopeo)"
fi

if ! command -v chromium >/dev/null 2>&1 || ! command -v chromedriver >/dev/null 2>&1; then
    # The live console is tested in a real browser: Debian's chromium driven by Selenium.
    apt_install chromium chromium-driver ||
        die "chromium and chromedriver are missing and could not be installed (apt-get install chromium chromium-driver)"
fi

GOVMOMI_DIR="${VICBED_GOPATH:-/usr/share/gocode}/src/github.com/vmware/govmomi"
if ! command -v go >/dev/null 2>&1 || [ ! -d "$GOVMOMI_DIR/vapi/rest" ]; then
    # The drop-in tests drive the emulator with govmomi's own Go library (vcsim/tests/govmomi).
    apt_install golang-go golang-github-vmware-govmomi-dev ||
        die "Go and govmomi are missing and could not be installed (apt-get install golang-go golang-github-vmware-govmomi-dev)"
fi
go version >&2

# The firewall conformance suite also loads its rules into network namespaces of its own and
# probes them with real packets when it runs as root with iproute2 and iptables; without
# them it runs the model and tether modes and says so in its table.
if [ "$(id -u)" -eq 0 ] && { ! command -v ip >/dev/null 2>&1 || ! command -v iptables-restore >/dev/null 2>&1; }; then
    apt_install iproute2 iptables || log "iproute2/iptables unavailable: the firewall suite runs without namespaces"
fi

log "cargo clippy --workspace --all-targets -- -D warnings"
cargo clippy --workspace --all-targets -- -D warnings

log "cargo test --workspace $*"
# The output also goes to a file, so the totals over every test binary can close the run
# (the last binary cargo runs is a doc-test harness that often has nothing to run).
test_log="$(mktemp)"
trap 'rm -f "$test_log"' EXIT
cargo test --workspace "$@" 2>&1 | tee "$test_log"
awk '/^test result:/ { for (i = 1; i <= NF; i++) { if ($(i) ~ /^passed;?$/) p += $(i-1); if ($(i) ~ /^failed;?$/) f += $(i-1) } }
     END { printf "\nall tests: %d passed, %d failed\n", p, f }' "$test_log"
