# The built Annotate server as a child process of a test suite's script, sourced by tests/interop/run.sh and
# tests/browser/run.sh (after they set $repo and define log); tests/console/run.sh and tests/readme/walkthrough.sh
# take only its free port. The server is src/Annotate.Server's build (bin/Release, then bin/Debug;
# ANNOTATE_SERVER_DLL overrides). Its database: $ANNOTATE_TEST_PG in a fresh
# schema per start when set (CI), else the server's embedded PostgreSQL in a folder under $work.
#
#   server_find_dll            sets dll, or exits when there is no build
#   server_make_work <name>    sets work to a new temporary folder, removed (server stopped first) on exit
#   server_launch <dir> <schema-prefix> <log> <what> [args...]
#                              starts the server in the background with args, its first admin's token written to
#                              <dir>/admin-token and its output to <log>; sets server_pid
#   server_wait <dir> <log> <what> <ready-command...>
#                              waits (up to 120 s) until the token is written and ready-command succeeds; returns
#                              non-zero, showing the log, when the server does not come up or dies
#   server_stop                stops the server (SIGTERM, so an embedded PostgreSQL stops with it)
#   server_free_port           prints a TCP port on 127.0.0.1 that nothing listens on right now (the suites' one
#                              free-port helper, as ServerProcess.FreePort is the .NET tests')

server_free_port() {
  /usr/bin/python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1]); s.close()'
}

server_find_dll() {
  dll="${ANNOTATE_SERVER_DLL:-}"
  if [[ -z "$dll" ]]; then
    local config candidate
    for config in Release Debug; do
      candidate="$repo/src/Annotate.Server/bin/$config/net10.0/Annotate.Server.dll"
      if [[ -f "$candidate" ]]; then dll="$candidate"; break; fi
    done
  fi
  [[ -n "$dll" && -f "$dll" ]] || { log "no built Annotate.Server.dll found (dotnet build -c Release src/Annotate.Server)"; exit 1; }
}

server_make_work() {
  # World-searchable, so the postgres user can reach an embedded cluster when this runs as root.
  work="$(mktemp -d "/tmp/annotate-$1-XXXXXX")"
  chmod 755 "$work"
  trap 'server_stop; rm -rf "$work"' EXIT
}

server_pid=""
server_stop() {
  # SIGTERM lets the server stop its embedded PostgreSQL; wait for that rather than killing it.
  if [[ -n "$server_pid" ]] && kill -0 "$server_pid" 2>/dev/null; then
    kill -TERM "$server_pid" 2>/dev/null || true
    for _ in $(seq 600); do kill -0 "$server_pid" 2>/dev/null || break; sleep 0.1; done
    kill -9 "$server_pid" 2>/dev/null || true
    wait "$server_pid" 2>/dev/null || true
  fi
  server_pid=""
}

server_launch() {
  local dir="$1" schema="$2" server_log="$3" what="$4"
  shift 4
  local args=("$@" --Annotate:AdminTokenFile="$dir/admin-token")
  mkdir -p "$dir"
  chmod 755 "$dir"
  if [[ -n "${ANNOTATE_TEST_PG:-}" ]]; then
    # A fresh schema per start, so the first admin (and its token file) is created anew.
    args+=(--ConnectionStrings:Annotate="$ANNOTATE_TEST_PG" --Annotate:Schema="${schema}_$(date +%s)_$$")
  else
    args+=(--data-dir "$dir/data")
  fi
  # Emptied here, not by the background job's redirection: that one runs asynchronously and a poll could read a
  # previous run's log.
  : >"$server_log"
  log "starting $dll $what${ANNOTATE_TEST_PG:+, database from ANNOTATE_TEST_PG}"
  dotnet "$dll" "${args[@]}" >"$server_log" 2>&1 &
  server_pid=$!
}

server_wait() {
  local dir="$1" server_log="$2" what="$3"
  shift 3
  for _ in $(seq 1200); do # up to 120 s: a first start initialises a PostgreSQL cluster
    if [[ -s "$dir/admin-token" ]] && "$@"; then return 0; fi
    kill -0 "$server_pid" 2>/dev/null || break
    sleep 0.1
  done
  log "the Annotate server did not come up ($what); its output:"
  cat "$server_log" >&2
  return 1
}
