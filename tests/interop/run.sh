#!/usr/bin/env bash
# Runs the interop suites: the real Annotate server called from two gRPC implementations we did not write,
# Debian's python3-grpcio (python/annotate_suite.py) and npm's @grpc/grpc-js (node/test/annotate.test.js).
# Both find the services by server reflection, call every RPC of protos/annotate/v1 with bearer tokens, and
# check health and reflection. Two passes, each with a server of its own on a free port: cleartext HTTP/2
# (h2c, --urls), then TLS (HTTP/2 by ALPN) through Kestrel's standard endpoint configuration with a
# throwaway self-signed certificate for 127.0.0.1 made here by openssl. In the cleartext pass,
# python/deploy_suite.py also parses deploy/kubernetes (python3-yaml) and asks the server for the health names
# its probes use.
#
#   tests/interop/run.sh <results-dir>
#
# The server is the built src/Annotate.Server (bin/Release, then bin/Debug; ANNOTATE_SERVER_DLL overrides).
# Its database: $ANNOTATE_TEST_PG in a fresh schema per pass when set (CI), else the server's embedded
# PostgreSQL in a temporary folder. Environment: INTEROP_TLS=0 skips the TLS pass; INTEROP_SKIP_INSTALL=1
# skips installs; ANNOTATE_APT_UPDATED=1 (set by .ci/run) skips apt-get update.
#
# Writes into <results-dir>:
#   interop-python.xml, interop-python-tls.xml  JUnit XML, one <testcase> per Python test
#   interop-deploy.xml                          JUnit XML of deploy_suite.py (cleartext pass only)
#   interop-node.xml, interop-node-tls.xml      JUnit XML from node's test runner, one <testcase> per test
#   interop-server.log, interop-server-tls.log  the server's output
# Prints one "<suite>: N passed, N failed, N skipped" line per suite and pass (python, node, python-tls,
# node-tls) and exits non-zero when a server does not start, dies, or any case fails.
set -euo pipefail

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
repo="$(cd "$here/../.." && pwd)"
results="${1:?usage: tests/interop/run.sh <results-dir>}"
mkdir -p "$results"
results="$(cd "$results" && pwd)"

log() { printf '[interop] %s\n' "$*" >&2; }
# shellcheck source=../lib/server.sh
source "$repo/tests/lib/server.sh"

# --- prerequisites ------------------------------------------------------------------------
install_prerequisites() {
  local missing=()
  /usr/bin/python3 -c 'import grpc, google.protobuf' 2>/dev/null || missing+=(python3-grpcio python3-protobuf)
  /usr/bin/python3 -c 'import yaml' 2>/dev/null || missing+=(python3-yaml) # deploy_suite.py parses deploy/kubernetes
  # protoc compiles the two protocols a client must know before it can ask: reflection and health.
  command -v protoc >/dev/null 2>&1 || missing+=(protobuf-compiler)
  command -v openssl >/dev/null 2>&1 || missing+=(openssl)
  if ((${#missing[@]})); then
    log "installing ${missing[*]}"
    export DEBIAN_FRONTEND=noninteractive
    [[ "${ANNOTATE_APT_UPDATED:-0}" == 1 ]] || apt-get update -q >/dev/null
    apt-get install -y -q --no-install-recommends "${missing[@]}" >/dev/null
  fi
  command -v node >/dev/null 2>&1 || { log "node is required (Node 20+)"; exit 1; }
  # npm ci only when the installed tree does not match the lock file.
  if ! cmp -s "$here/node/package-lock.json" "$here/node/node_modules/.package-lock.json.ci" 2>/dev/null; then
    log "npm ci in tests/interop/node"
    (cd "$here/node" && npm ci --no-audit --no-fund --loglevel=error >/dev/null)
    cp "$here/node/package-lock.json" "$here/node/node_modules/.package-lock.json.ci"
  fi
}
if [[ "${INTEROP_SKIP_INSTALL:-0}" != 1 ]]; then install_prerequisites; fi

server_find_dll

# --- the server ---------------------------------------------------------------------------
server_make_work interop

# listening_port <scheme> <log>: sets port to the port the server reports listening on, if it did yet. ASP.NET
# Core's "Now listening on: <url>" (or the server's own "Annotate listening on <url>") names the bound address,
# port 0 resolved.
listening_port() {
  port="$(sed -n "s#.*[Ll]istening on:\{0,1\} $1://127\.0\.0\.1:\([0-9][0-9]*\).*#\1#p" "$2" | head -n1)"
  [[ -n "$port" ]]
}

# start_server <pass> <log>: starts the server for the pass ("h2c" or "tls") on a port it picks itself (port 0),
# waits until it reports the address it listens on and has written the first admin's token, and exports
# ANNOTATE_TARGET and ANNOTATE_TOKEN. Returns non-zero (after showing the log) when it does not come up.
start_server() {
  local pass="$1" server_log="$2" dir="$work/$1" args=() scheme=http
  if [[ "$pass" == tls ]]; then
    scheme=https
    args+=(--Kestrel:Endpoints:Tls:Url=https://127.0.0.1:0 --Kestrel:Endpoints:Tls:Protocols=Http2
      --Kestrel:Endpoints:Tls:Certificate:Path="$work/cert.pem" --Kestrel:Endpoints:Tls:Certificate:KeyPath="$work/key.pem")
  else
    args+=(--urls http://127.0.0.1:0)
  fi
  server_launch "$dir" "interop_$pass" "$server_log" "($pass)" "${args[@]}"
  local port=""
  server_wait "$dir" "$server_log" "$pass" listening_port "$scheme" "$server_log" || return 1
  export ANNOTATE_TARGET="127.0.0.1:$port" ANNOTATE_TOKEN
  ANNOTATE_TOKEN="$(cat "$dir/admin-token")"
  log "server ready at $scheme://$ANNOTATE_TARGET"
}

# A self-signed certificate for 127.0.0.1 (and localhost), as PEM: the server's certificate and key, and the
# clients' trust root (ANNOTATE_TLS_ROOT). The key is readable by the server whatever user runs it.
make_certificate() {
  openssl req -x509 -newkey rsa:2048 -nodes -days 2 -subj /CN=127.0.0.1 \
    -addext "subjectAltName=IP:127.0.0.1,DNS:localhost" \
    -keyout "$work/key.pem" -out "$work/cert.pem" 2>/dev/null
}

# --- suites -------------------------------------------------------------------------------
status=0

# run_suites <suffix>: both suites against $ANNOTATE_TARGET; reports named python<suffix>, node<suffix>.
run_suites() {
  local suffix="$1"
  # Each suite has a time limit of its own (the Python suite also stops itself, printing its stacks);
  # node's runner stops a test after a minute. (--test-force-exit is not used: it cuts the JUnit report short.)
  timeout -k 10 400 /usr/bin/python3 "$here/python/annotate_suite.py" --junit "$results/interop-python$suffix.xml" \
    --label "python$suffix" </dev/null || status=1

  # The Kubernetes manifests against this server: their probes are cleartext HTTP/2, so the h2c pass only.
  if [[ -z "$suffix" ]]; then
    timeout -k 10 150 /usr/bin/python3 "$here/python/deploy_suite.py" --junit "$results/interop-deploy.xml" --label deploy </dev/null || status=1
  fi

  timeout -k 10 400 node --test --test-concurrency=1 --test-timeout=60000 \
    --test-reporter=spec --test-reporter-destination=stdout \
    --test-reporter=junit --test-reporter-destination="$results/interop-node$suffix.xml" \
    "$here/node/test/annotate.test.js" </dev/null || status=1

  # Node's JUnit file has no totals on <testsuites>: count its test cases for the summary line.
  /usr/bin/python3 - "$results/interop-node$suffix.xml" "node$suffix" <<'EOF' || status=1
import sys
from xml.etree import ElementTree as ET
label = sys.argv[2]
try:
    cases = list(ET.parse(sys.argv[1]).getroot().iter("testcase"))
except (OSError, ET.ParseError) as error:
    print(f"{label}: 0 passed, 1 failed (no readable JUnit report: {error})")
    sys.exit(1)
passed = failed = skipped = 0
for case in cases:
    if case.find("failure") is not None or case.find("error") is not None:
        failed += 1
    elif case.find("skipped") is not None:
        skipped += 1
    else:
        passed += 1
print(f"{label}: {passed} passed, {failed} failed, {skipped} skipped")
sys.exit(1 if failed or not passed else 0)
EOF
}

# check_server_alive <log>: a server that died during the suites fails the run.
check_server_alive() {
  if [[ -z "$server_pid" ]] || ! kill -0 "$server_pid" 2>/dev/null; then
    log "the Annotate server died during the suites; its output:"
    tail -n 50 "$1" >&2
    status=1
  fi
}

# run_pass <pass> <suffix>
run_pass() {
  local server_log="$results/interop-server$2.log"
  if start_server "$1" "$server_log"; then
    run_suites "$2"
    check_server_alive "$server_log"
  else
    status=1
  fi
  server_stop
  unset ANNOTATE_TARGET ANNOTATE_TOKEN ANNOTATE_TLS_ROOT
}

run_pass h2c ""
if [[ "${INTEROP_TLS:-1}" != 0 ]]; then
  make_certificate
  export ANNOTATE_TLS_ROOT="$work/cert.pem"
  run_pass tls "-tls"
fi
exit "$status"
