#!/usr/bin/env bash
# Runs the interop suites (Debian's python3-grpcio and npm's @grpc/grpc-js) against an
# interop server started here on a free port, twice: over cleartext HTTP/2 (h2c) and
# over TLS (HTTP/2 by ALPN, with a throwaway certificate made here), and writes JUnit XML.
#
#   tests/interop/run.sh <results-dir> [server]
#
# server: the built Annotate.Grpc.InteropServer.dll (default: found under
#         tests/Annotate.Grpc.InteropServer/bin/Release/net10.0/, then Debug), or the word
#         "grpc-js" to run the suites against tests/interop/node/echo-server.js instead
#         (the reference implementation the suites were validated against).
# Environment: INTEROP_MAX_MESSAGE_SIZE (default 1048576) is given to the server as
#         --max-message-size and to the suites; INTEROP_TLS=0 skips the TLS pass;
#         INTEROP_SKIP_INSTALL=1 skips installs.
#
# Writes into <results-dir>:
#   interop-python.xml, interop-python-tls.xml  JUnit XML, one <testcase> per Python test
#   interop-node.xml, interop-node-tls.xml      JUnit XML from node's test runner, one <testcase> per test
#   interop-server.log, interop-server-tls.log  the server's output
#   interop-annotate-python.xml                 JUnit XML of python/annotate_suite.py against the real
#                                               Annotate server (src/Annotate.Server/bin/{Release,Debug}),
#                                               on embedded PostgreSQL in a temp folder, or on
#                                               $ANNOTATE_TEST_PG (in a fresh schema) when set
#   interop-annotate-server.log                 that server's output
# Prints one "<suite>: N passed, N failed, N skipped" line per suite and pass
# (python, node, python-tls, node-tls, annotate-python). ANNOTATE_INTEROP=0 skips the Annotate
# pass. Exits non-zero when a server does not start
# or any case failed.
set -euo pipefail

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
repo="$(cd "$here/../.." && pwd)"
results="${1:?usage: tests/interop/run.sh <results-dir> [server-dll|grpc-js]}"
server="${2:-}"
max_size="${INTEROP_MAX_MESSAGE_SIZE:-1048576}"
mkdir -p "$results"
results="$(cd "$results" && pwd)"

log() { printf '[interop] %s\n' "$*" >&2; }

# --- prerequisites ------------------------------------------------------------------------
install_prerequisites() {
  local missing=()
  /usr/bin/python3 -c 'import grpc, google.protobuf' 2>/dev/null || missing+=(python3-grpcio python3-protobuf)
  command -v protoc >/dev/null 2>&1 || missing+=(protobuf-compiler)
  # The well-known types (google/protobuf/timestamp.proto, ...) that protoc finds in /usr/include.
  [[ -f /usr/include/google/protobuf/timestamp.proto ]] || missing+=(libprotobuf-dev)
  command -v openssl >/dev/null 2>&1 || missing+=(openssl)
  if ((${#missing[@]})); then
    log "installing ${missing[*]}"
    export DEBIAN_FRONTEND=noninteractive
    apt-get update -q >/dev/null
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

if [[ -z "$server" ]]; then
  for config in Release Debug; do
    candidate="$repo/tests/Annotate.Grpc.InteropServer/bin/$config/net10.0/Annotate.Grpc.InteropServer.dll"
    if [[ -f "$candidate" ]]; then server="$candidate"; break; fi
  done
  [[ -n "$server" ]] || { log "no built Annotate.Grpc.InteropServer.dll found (build tests/Annotate.Grpc.InteropServer -c Release)"; exit 1; }
fi

# --- server -------------------------------------------------------------------------------
server_pid=""
stop_server() {
  if [[ -n "$server_pid" ]] && kill -0 "$server_pid" 2>/dev/null; then
    kill "$server_pid" 2>/dev/null || true
    for _ in $(seq 50); do kill -0 "$server_pid" 2>/dev/null || break; sleep 0.1; done
    kill -9 "$server_pid" 2>/dev/null || true
    wait "$server_pid" 2>/dev/null || true
  fi
  server_pid=""
}
tls_dir="$(mktemp -d)"
trap 'stop_server; rm -rf "$tls_dir"' EXIT

# start_server <log> [tls]: starts the server, waits for its "listening on" line and sets
# INTEROP_TARGET. Returns non-zero (after showing the log) when it does not come up.
start_server() {
  local server_log="$1" tls="${2:-}" args=()
  # Emptied here, not by the background job's redirection: that one runs asynchronously
  # and the port poll below could read a previous run's log.
  : >"$server_log"
  if [[ "$server" == grpc-js ]]; then
    [[ -n "$tls" ]] && args=(--tls-cert "$tls_dir/cert.pem" --tls-key "$tls_dir/key.pem")
    log "starting grpc-js echo server ${tls:+(TLS)}"
    node "$here/node/echo-server.js" --port 0 --max-message-size "$max_size" "${args[@]}" >"$server_log" 2>&1 &
  else
    local url=http://127.0.0.1:0
    if [[ -n "$tls" ]]; then args=(--tls-cert "$tls_dir/server.pfx" --tls-password interop); url=https://127.0.0.1:0; fi
    log "starting $server ${tls:+(TLS)}"
    dotnet "$server" --urls "$url" --max-message-size "$max_size" "${args[@]}" >"$server_log" 2>&1 &
  fi
  server_pid=$!
  local port=""
  for _ in $(seq 600); do # up to 60 s: a cold dotnet start on a busy machine is slow
    port="$(sed -n 's#^listening on https\{0,1\}://127\.0\.0\.1:\([0-9][0-9]*\).*#\1#p' "$server_log" | head -n1)"
    [[ -n "$port" ]] && break
    kill -0 "$server_pid" 2>/dev/null || break
    sleep 0.1
  done
  if [[ -z "$port" ]]; then
    log "the interop server did not report its port; its output:"
    cat "$server_log" >&2
    return 1
  fi
  export INTEROP_TARGET="127.0.0.1:$port"
  log "server ready at $INTEROP_TARGET${tls:+ (TLS)} (max message size $max_size)"
}

# A self-signed certificate for "localhost" and 127.0.0.1, as PEM (grpc-js server and both
# clients' trust root) and PKCS#12 (our server).
make_certificate() {
  openssl req -x509 -newkey rsa:2048 -nodes -days 2 -subj /CN=localhost \
    -addext "subjectAltName=DNS:localhost,IP:127.0.0.1" \
    -keyout "$tls_dir/key.pem" -out "$tls_dir/cert.pem" 2>/dev/null
  openssl pkcs12 -export -in "$tls_dir/cert.pem" -inkey "$tls_dir/key.pem" \
    -out "$tls_dir/server.pfx" -passout pass:interop 2>/dev/null
}

# --- suites -------------------------------------------------------------------------------
status=0

# run_suites <suffix>: both suites against $INTEROP_TARGET; reports named python<suffix>, node<suffix>.
run_suites() {
  local suffix="$1"
  export INTEROP_MAX_MESSAGE_SIZE="$max_size"
  # Each suite has a time limit of its own (the Python suite also stops itself, printing its stacks);
  # node's runner stops a test after a minute. (--test-force-exit is not used: it cuts the JUnit report short.)
  timeout -k 10 400 /usr/bin/python3 "$here/python/run_suite.py" --junit "$results/interop-python$suffix.xml" \
    --label "python$suffix" </dev/null || status=1

  timeout -k 10 400 node --test --test-concurrency=1 --test-timeout=60000 \
    --test-reporter=spec --test-reporter-destination=stdout \
    --test-reporter=junit --test-reporter-destination="$results/interop-node$suffix.xml" \
    "$here/node/test/interop.test.js" </dev/null || status=1

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
    log "the interop server died during the suites; its output:"
    tail -n 50 "$1" >&2
    status=1
  fi
}

if start_server "$results/interop-server.log"; then
  run_suites ""
  check_server_alive "$results/interop-server.log"
else
  status=1
fi
stop_server
unset INTEROP_TARGET

if [[ "${INTEROP_TLS:-1}" != 0 ]]; then
  make_certificate
  if start_server "$results/interop-server-tls.log" tls; then
    INTEROP_TLS_ROOT="$tls_dir/cert.pem" run_suites "-tls"
    check_server_alive "$results/interop-server-tls.log"
  else
    status=1
  fi
  stop_server
fi

# --- the Annotate server, called from Python with a token ---------------------------------
annotate_pid=""
annotate_dir=""
stop_annotate() {
  # SIGTERM lets the server stop its embedded PostgreSQL; wait for that rather than killing it.
  if [[ -n "$annotate_pid" ]] && kill -0 "$annotate_pid" 2>/dev/null; then
    kill -TERM "$annotate_pid" 2>/dev/null || true
    for _ in $(seq 600); do kill -0 "$annotate_pid" 2>/dev/null || break; sleep 0.1; done
    kill -9 "$annotate_pid" 2>/dev/null || true
    wait "$annotate_pid" 2>/dev/null || true
  fi
  annotate_pid=""
  [[ -n "$annotate_dir" ]] && rm -rf "$annotate_dir"
  annotate_dir=""
}
trap 'stop_server; stop_annotate; rm -rf "$tls_dir"' EXIT

run_annotate() {
  local dll="" config
  for config in Release Debug; do
    if [[ -f "$repo/src/Annotate.Server/bin/$config/net10.0/Annotate.Server.dll" ]]; then
      dll="$repo/src/Annotate.Server/bin/$config/net10.0/Annotate.Server.dll"; break
    fi
  done
  [[ -n "$dll" ]] || { log "no built Annotate.Server.dll found (build src/Annotate.Server -c Release)"; return 1; }
  # World-searchable, so the postgres user can reach the embedded cluster when this runs as root.
  annotate_dir="$(mktemp -d /tmp/annotate-interop-XXXXXX)"
  chmod 755 "$annotate_dir"
  local port server_log="$results/interop-annotate-server.log" args=()
  port="$(/usr/bin/python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')"
  args=(--urls "http://127.0.0.1:$port" --Annotate:AdminTokenFile="$annotate_dir/admin-token")
  if [[ -n "${ANNOTATE_TEST_PG:-}" ]]; then
    # A fresh schema per run, so the first admin (and its token file) is created anew.
    args+=(--ConnectionStrings:Annotate="$ANNOTATE_TEST_PG" --Annotate:Schema="interop_$(date +%s)_$$")
  else
    args+=(--data-dir "$annotate_dir/data")
  fi
  : >"$server_log"
  log "starting $dll on port $port${ANNOTATE_TEST_PG:+ (database from ANNOTATE_TEST_PG)}"
  dotnet "$dll" "${args[@]}" >"$server_log" 2>&1 &
  annotate_pid=$!
  local ready=""
  for _ in $(seq 1200); do # up to 120 s: a first start initialises a PostgreSQL cluster
    if grep -q "Annotate listening on http://127.0.0.1:$port" "$server_log"; then ready=1; break; fi
    kill -0 "$annotate_pid" 2>/dev/null || break
    sleep 0.1
  done
  if [[ -z "$ready" || ! -s "$annotate_dir/admin-token" ]]; then
    log "the Annotate server did not come up; its output:"
    cat "$server_log" >&2
    return 1
  fi
  local rc=0
  ANNOTATE_TARGET="127.0.0.1:$port" ANNOTATE_TOKEN="$(cat "$annotate_dir/admin-token")" \
    timeout -k 10 400 /usr/bin/python3 "$here/python/annotate_suite.py" --junit "$results/interop-annotate-python.xml" \
    --label annotate-python </dev/null || rc=1
  if ! kill -0 "$annotate_pid" 2>/dev/null; then
    log "the Annotate server died during the suite; its output:"
    tail -n 50 "$server_log" >&2
    rc=1
  fi
  stop_annotate
  return "$rc"
}

if [[ "${ANNOTATE_INTEROP:-1}" != 0 ]]; then
  run_annotate || status=1
fi
exit "$status"
