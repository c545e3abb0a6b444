#!/usr/bin/env bash
# annotate-console in a real terminal: tmux (fixed size 160x50) runs the console against the real
# server; capture-pane reads the screen; another client acts meanwhile. Checks, one JUnit testcase each:
#   console_shows_the_article          the article's title and text and the claim appear, the watch is live
#   stance_from_another_client_appears_without_a_key_press
#   highlight_from_another_client_appears_without_a_key_press
#   console_reconnects_and_catches_up_after_a_server_restart
#   keys_open_a_claim_on_a_quoted_span  o, a quote, Enter: the new claim is listed
#   keys_take_a_stance_on_the_selected_claim
#   t_shows_the_selected_claims_timeline_and_it_follows_another_clients_stance
#   revision_from_another_client_reloads_the_text_and_marks_the_orphan
#                                       the article revised (a sentence reworded, a paragraph removed): the new text,
#                                       the re-anchored claim and the ORPHANED one appear without a key press
#   q_quits_with_exit_code_0
# Usage: tests/console/run.sh [results-dir]   (writes results-dir/console-junit.xml; exit 1 on failure)
# Database: a fresh database on $ANNOTATE_TEST_PG when set, else the server's embedded cluster in a temp dir.
# Waits are polls of a condition with generous deadlines (CONSOLE_TEST_TIMEOUT seconds, default 120).
set -uo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/../.."
ROOT=$PWD
RESULTS=$(mkdir -p "${1:-tests/console/results}" && cd "${1:-tests/console/results}" && pwd)
TIMEOUT=${CONSOLE_TEST_TIMEOUT:-120}
export LANG=C.UTF-8 LC_ALL=C.UTF-8 DOTNET_NOLOGO=1 DOTNET_CLI_TELEMETRY_OPTOUT=1

ARTICLE=russia-involvement-kazakhstan-crisis
TITLE_ASCII="Could Have Wide Implications"
CLAIM_QUOTE="Kazakhstan has a large Russian majority"
SECOND_QUOTE="at least twelve police officers have been killed"

WORK=$(mktemp -d /tmp/annotate-console-test.XXXXXX)
chmod 755 "$WORK"   # the embedded PostgreSQL runs as the postgres user and must reach its data dir
TMUX_SOCKET="annotate-console-test-$$"
SESSION=console
SERVER_PID=""
DATABASE=""
declare -a CASES=()

log() { printf '[console-test %s] %s\n' "$(date +%H:%M:%S)" "$*" >&2; }

# --- JUnit ------------------------------------------------------------------------------------
xml_escape() { sed -e 's/&/\&amp;/g' -e 's/</\&lt;/g' -e 's/>/\&gt;/g' -e 's/"/\&quot;/g'; }
CASE_START=0
begin_case() { CASE_START=$(date +%s.%N); }
record() { # name status(pass|fail) message
  local elapsed; elapsed=$(awk -v a="$CASE_START" -v b="$(date +%s.%N)" 'BEGIN{printf "%.2f", b-a}')
  CASES+=("$1|$2|$elapsed|$3")
  log "$2: $1 ${3:+($3)}"
  screen > "$RESULTS/screen-$1.txt" 2>/dev/null || true
}
write_junit() {
  local failures=0 c
  for c in "${CASES[@]}"; do [[ $(cut -d'|' -f2 <<<"$c") == fail ]] && failures=$((failures + 1)); done
  {
    echo '<?xml version="1.0" encoding="UTF-8"?>'
    echo "<testsuite name=\"console.tmux\" tests=\"${#CASES[@]}\" failures=\"$failures\" errors=\"0\">"
    for c in "${CASES[@]}"; do
      IFS='|' read -r name status elapsed message <<<"$c"
      echo "  <testcase classname=\"console.tmux\" name=\"$name\" time=\"$elapsed\">"
      if [[ $status == fail ]]; then
        echo "    <failure message=\"$(xml_escape <<<"$message")\"><![CDATA["
        sed 's/]]>/]]]]><![CDATA[>/g' "$RESULTS/screen-$name.txt" 2>/dev/null
        echo "]]></failure>"
      fi
      echo "  </testcase>"
    done
    echo "</testsuite>"
  } > "$RESULTS/console-junit.xml"
  [[ $failures -eq 0 && ${#CASES[@]} -gt 0 ]]
}

# --- processes ----------------------------------------------------------------------------------
cleanup() {
  tmux -L "$TMUX_SOCKET" kill-server 2>/dev/null
  stop_server
  if [[ -n $DATABASE ]]; then runner drop-db "$ANNOTATE_TEST_PG" "$DATABASE" >/dev/null 2>&1; fi
  cp "$WORK"/*.log "$RESULTS/" 2>/dev/null
  rm -rf "$WORK"
}
trap cleanup EXIT

runner() { dotnet "$ROOT/tests/console/Runner/bin/$CONFIG/net10.0/annotate-console-runner.dll" "$@"; }

# shellcheck source=../lib/server.sh
source "$ROOT/tests/lib/server.sh" # only its free-port helper: this suite restarts its server on the same address

start_server() {
  : > "$WORK/server.log.current"
  dotnet "$SERVER_DLL" --urls "$ADDRESS" --Annotate:AdminTokenFile="$WORK/admin-token" "${DB_ARGS[@]}" \
    > "$WORK/server.log.current" 2>&1 &
  SERVER_PID=$!
  local deadline=$((SECONDS + TIMEOUT * 2))
  until grep -q "Annotate listening on $ADDRESS" "$WORK/server.log.current"; do
    if ! kill -0 "$SERVER_PID" 2>/dev/null || ((SECONDS > deadline)); then
      cat "$WORK/server.log.current" >> "$WORK/server.log"; return 1
    fi
    sleep 0.2
  done
  cat "$WORK/server.log.current" >> "$WORK/server.log"
}

stop_server() {
  [[ -z $SERVER_PID ]] && return 0
  kill -TERM "$SERVER_PID" 2>/dev/null
  local deadline=$((SECONDS + 60))
  while kill -0 "$SERVER_PID" 2>/dev/null && ((SECONDS < deadline)); do sleep 0.2; done
  kill -KILL "$SERVER_PID" 2>/dev/null
  wait "$SERVER_PID" 2>/dev/null
  [[ -f $WORK/server.log.current ]] && cat "$WORK/server.log.current" >> "$WORK/server.log" && rm -f "$WORK/server.log.current"
  SERVER_PID=""
}

# --- the terminal -------------------------------------------------------------------------------
screen() { tmux -L "$TMUX_SOCKET" capture-pane -p -t "$SESSION" 2>/dev/null; }
keys() { tmux -L "$TMUX_SOCKET" send-keys -t "$SESSION" "$@"; }
# Polls the screen until every given text is on it, or the deadline passes.
wait_screen() {
  local deadline=$((SECONDS + TIMEOUT)) text missing
  while :; do
    local now; now=$(screen)
    missing=""
    for text in "$@"; do grep -qF -- "$text" <<<"$now" || { missing=$text; break; }; done
    [[ -z $missing ]] && return 0
    ((SECONDS > deadline)) && { LAST_MISSING=$missing; return 1; }
    sleep 0.25
  done
}

fail_rest() { # a setup failure: every remaining check fails with the reason
  local name
  for name in "$@"; do begin_case; record "$name" fail "$SETUP_ERROR"; done
  write_junit; exit 1
}

ALL_CASES=(console_shows_the_article stance_from_another_client_appears_without_a_key_press
  highlight_from_another_client_appears_without_a_key_press
  console_reconnects_and_catches_up_after_a_server_restart keys_open_a_claim_on_a_quoted_span
  keys_take_a_stance_on_the_selected_claim t_shows_the_selected_claims_timeline_and_it_follows_another_clients_stance
  revision_from_another_client_reloads_the_text_and_marks_the_orphan q_quits_with_exit_code_0)

# --- set-up -------------------------------------------------------------------------------------
if ! command -v tmux >/dev/null; then
  log "installing tmux"
  if [[ $(id -u) -eq 0 ]]; then apt-get install -y -qq tmux >/dev/null 2>&1 || { apt-get update -qq && apt-get install -y -qq tmux >/dev/null; }
  else sudo apt-get install -y -qq tmux >/dev/null 2>&1; fi
fi
command -v tmux >/dev/null || { SETUP_ERROR="tmux is not installed"; fail_rest "${ALL_CASES[@]}"; }

SERVER_DLL=""
for c in Release Debug; do
  f=src/Annotate.Server/bin/$c/net10.0/Annotate.Server.dll
  if [[ -f $f && ( -z $SERVER_DLL || $f -nt $SERVER_DLL ) ]]; then SERVER_DLL=$ROOT/$f; CONFIG=$c; fi
done
CONFIG=${CONSOLE_TEST_CONFIGURATION:-${CONFIG:-Debug}}
if [[ -z $SERVER_DLL || -z ${CONSOLE_TEST_NO_BUILD:-} ]]; then
  log "building ($CONFIG): server, console, runner"
  for p in src/Annotate.Server clients/Annotate.Console tests/console/Runner; do
    dotnet build "$p" -c "$CONFIG" --nologo -v quiet -clp:ErrorsOnly >> "$WORK/build.log" 2>&1 \
      || { SETUP_ERROR="build of $p failed (build.log)"; cp "$WORK/build.log" "$RESULTS/"; fail_rest "${ALL_CASES[@]}"; }
  done
  SERVER_DLL=$ROOT/src/Annotate.Server/bin/$CONFIG/net10.0/Annotate.Server.dll
fi
CONSOLE_DLL=$ROOT/clients/Annotate.Console/bin/$CONFIG/net10.0/annotate-console.dll

if [[ -n ${ANNOTATE_TEST_PG:-} ]]; then
  DATABASE="annotate_console_$$_$RANDOM"
  CONNECTION=$(runner create-db "$ANNOTATE_TEST_PG" "$DATABASE") || { DATABASE=""; SETUP_ERROR="cannot create a database on ANNOTATE_TEST_PG"; fail_rest "${ALL_CASES[@]}"; }
  DB_ARGS=("--ConnectionStrings:Annotate=$CONNECTION")
else
  DB_ARGS=(--data-dir "$WORK/data")
fi
ADDRESS="http://127.0.0.1:$(server_free_port)"
log "server at $ADDRESS (${DATABASE:-embedded cluster in $WORK/data})"
start_server || { SETUP_ERROR="the server did not start (server.log)"; fail_rest "${ALL_CASES[@]}"; }
ADMIN=$(tr -d '[:space:]' < "$WORK/admin-token")

WATCHER=$(runner analyst "$ADDRESS" "$ADMIN" watcher analyst) \
  && CRITIC=$(runner analyst "$ADDRESS" "$ADMIN" critic analyst) \
  && SECOND=$(runner analyst "$ADDRESS" "$ADMIN" second analyst) \
  && CLAIM=$(runner open-claim "$ADDRESS" "$CRITIC" "$ARTICLE" "$CLAIM_QUOTE") \
  || { SETUP_ERROR="set-up over gRPC failed"; fail_rest "${ALL_CASES[@]}"; }
log "claim $CLAIM opened; starting the console in tmux"

tmux -L "$TMUX_SOCKET" -f /dev/null new-session -d -s "$SESSION" -x 160 -y 50 \
  "env TERM=xterm-256color dotnet '$CONSOLE_DLL' --server '$ADDRESS' --token '$WATCHER' --article '$ARTICLE' 2>'$WORK/console-stderr.log'; echo \$? >'$WORK/console-exit'" \; \
  set-option -t "$SESSION" remain-on-exit on >/dev/null

# --- checks -------------------------------------------------------------------------------------
begin_case
if wait_screen "$TITLE_ASCII" "live at position" "Kazakhstan has a large" "Claims (1)" "supports 0  refutes 0"; then
  record console_shows_the_article pass ""
else
  record console_shows_the_article fail "not on screen within ${TIMEOUT}s: '$LAST_MISSING'"
fi

begin_case
if runner stance "$ADDRESS" "$CRITIC" "$CLAIM" refutes "About 20 percent, a minority." >/dev/null \
  && wait_screen "supports 0  refutes 1" "critic refutes"; then
  record stance_from_another_client_appears_without_a_key_press pass ""
else
  record stance_from_another_client_appears_without_a_key_press fail "tally not updated within ${TIMEOUT}s: '${LAST_MISSING:-stance call failed}'"
fi

begin_case
LAST_MISSING=""
if wait_screen "0 highlights" && runner highlight "$ADDRESS" "$CRITIC" "$ARTICLE" "irredentist dreams" >/dev/null \
  && wait_screen "1 highlight "; then
  record highlight_from_another_client_appears_without_a_key_press pass ""
else
  record highlight_from_another_client_appears_without_a_key_press fail "highlight count not updated: '${LAST_MISSING:-highlight call failed}'"
fi

begin_case
LAST_MISSING=""
stop_server
if wait_screen "reconnecting" && start_server \
  && runner stance "$ADDRESS" "$SECOND" "$CLAIM" supports "The north has many Russians." >/dev/null \
  && wait_screen "supports 1  refutes 1" "live at position" "second supports"; then
  record console_reconnects_and_catches_up_after_a_server_restart pass ""
else
  record console_reconnects_and_catches_up_after_a_server_restart fail "after restart: '${LAST_MISSING:-server restart or stance failed}'"
fi

begin_case
LAST_MISSING=""
keys o
if wait_screen "Quote (exact text" && keys -l "$SECOND_QUOTE" && keys Enter && wait_screen "Statement" && keys Enter \
  && wait_screen "Claims (2)" "opened claim"; then
  record keys_open_a_claim_on_a_quoted_span pass ""
else
  record keys_open_a_claim_on_a_quoted_span fail "'${LAST_MISSING}' not seen"
fi

begin_case
LAST_MISSING=""
keys s
# The stance menu lists supports, refutes, ...: Down selects refutes.
if wait_screen "Your stance on" "refutes" && keys Down && keys Enter && wait_screen "Rationale" \
  && keys -l "Twelve is the police toll alone." && keys Enter && wait_screen "Evidence quote" && keys Enter \
  && wait_screen "watcher refutes: Twelve is the police toll alone." "your stance on"; then
  record keys_take_a_stance_on_the_selected_claim pass ""
else
  record keys_take_a_stance_on_the_selected_claim fail "'${LAST_MISSING}' not seen"
fi

begin_case
LAST_MISSING=""
keys t
# The selected claim is the one the keys opened (watcher's); its id is in the details panel's title.
if wait_screen "Timeline through" "claim-opened.v1" "watcher stance-taken.v1" "why pending" \
  && SELECTED=$(screen | grep -o 'Claim [A-Za-z0-9._:-]* · by watcher' | head -n 1 | awk '{print $2}') && [[ -n $SELECTED ]] \
  && runner stance "$ADDRESS" "$CRITIC" "$SELECTED" supports "Twelve is not all." >/dev/null \
  && wait_screen "critic stance-taken.v1" "critic supports" && keys t && wait_screen "Kazakhstan has a large"; then
  record t_shows_the_selected_claims_timeline_and_it_follows_another_clients_stance pass ""
else
  record t_shows_the_selected_claims_timeline_and_it_follows_another_clients_stance fail "'${LAST_MISSING:-claim id or stance call failed}' not seen"
fi

begin_case
LAST_MISSING=""
# Seed 003 with the paragraph holding the claim the keys opened removed and "majority" corrected: that claim is orphaned, the
# first claim follows the corrected sentence. The selection then moves to the first claim, whose span is on the new text.
sed '/^Kazakh media have reported that$/,/^sucked in\.$/d; s/^Russian majority,/Russian minority,/' \
  "$ROOT/seeds/003_b03ce63f8eeabc7f.txt" > "$WORK/003-revised.txt"
if runner revise "$ADDRESS" "$ADMIN" "$ARTICLE" "$WORK/003-revised.txt" "Minority, not majority; a paragraph withdrawn" >/dev/null \
  && wait_screen "revision 2" "article revised to revision 2" "re-anchored on revision 2 (fuzzy" "ORPHANED on revision 2" \
  && keys k && wait_screen "Russian minority, and the country" "span re-anchored on revision 2"; then
  record revision_from_another_client_reloads_the_text_and_marks_the_orphan pass ""
else
  record revision_from_another_client_reloads_the_text_and_marks_the_orphan fail "'${LAST_MISSING:-revise call failed}' not seen"
fi

begin_case
keys q
deadline=$((SECONDS + TIMEOUT))
# The pane's shell writes the console's exit code to a file when it ends (tmux's own pane_dead_status
# is sometimes left empty when the terminal closes before the exit is reaped).
until [[ -s $WORK/console-exit ]] || ((SECONDS > deadline)); do sleep 0.25; done
status="exit $(cat "$WORK/console-exit" 2>/dev/null || echo "unknown: still running after ${TIMEOUT}s")"
if [[ $status == "exit 0" ]]; then
  record q_quits_with_exit_code_0 pass ""
else
  record q_quits_with_exit_code_0 fail "after q: $status"
fi

write_junit
