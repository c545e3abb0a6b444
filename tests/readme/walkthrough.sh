#!/usr/bin/env bash
# Runs the README's walk-through as written: every line of the shell blocks between
# <!-- walkthrough:start --> and <!-- walkthrough:end --> runs in order in one shell, against a server
# started by the README's own command (./run-server) on a scratch data folder and a free port.
# Writes one JUnit test case per line to RESULTS_DIR/readme-walkthrough.xml; exits 1 if any line fails.
#   usage: tests/readme/walkthrough.sh RESULTS_DIR
set -uo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
RESULTS="${1:?usage: walkthrough.sh RESULTS_DIR}"
mkdir -p "$RESULTS"
WORK="$(mktemp -d /tmp/annotate-walkthrough.XXXXXX)"
chmod 755 "$WORK"
# shellcheck source=../lib/server.sh
source "$ROOT/tests/lib/server.sh"
PORT="$(server_free_port)"
SERVER_PID=""
cleanup() {
  if [ -n "$SERVER_PID" ] && kill -0 "$SERVER_PID" 2>/dev/null; then
    kill -TERM "$SERVER_PID"
    for _ in $(seq 1 600); do kill -0 "$SERVER_PID" 2>/dev/null || break; sleep 0.1; done
  fi
  rm -rf "$WORK"
}
trap cleanup EXIT

# The walk-through's lines, as the README has them.
/usr/bin/python3 - "$ROOT/README.md" >"$WORK/lines" <<'PY'
import re, sys
text = open(sys.argv[1], encoding="utf-8").read()
section = text.split("<!-- walkthrough:start -->", 1)[1].split("<!-- walkthrough:end -->", 1)[0]
for block in re.findall(r"```sh\n(.*?)```", section, re.S):
    for line in block.splitlines():
        if line.strip() and not line.lstrip().startswith("#"):
            print(line)
PY
[ -s "$WORK/lines" ] || { echo "no walk-through lines found in README.md" >&2; exit 1; }

# The README's first command, on a scratch folder and port; the walk-through reaches it through ANNOTATE_SERVER.
export ANNOTATE_DATA="$WORK/data" ANNOTATE_SERVER="http://127.0.0.1:$PORT" XDG_CONFIG_HOME="$WORK/config" NO_COLOR=1
unset ANNOTATE_TOKEN
cd "$ROOT"
./run-server --data-dir "$ANNOTATE_DATA" --urls "$ANNOTATE_SERVER" >"$WORK/server.log" 2>&1 &
SERVER_PID=$!
for _ in $(seq 1 1800); do
  grep -q "Annotate listening on" "$WORK/server.log" && break
  kill -0 "$SERVER_PID" 2>/dev/null || break
  sleep 0.1
done
if ! grep -q "Annotate listening on" "$WORK/server.log"; then
  cat "$WORK/server.log" >&2
  printf '<?xml version="1.0" encoding="UTF-8"?>\n<testsuite name="readme-walkthrough" tests="1"><testcase classname="readme" name="./run-server starts"><failure message="the server did not start"/></testcase></testsuite>\n' >"$RESULTS/readme-walkthrough.xml"
  exit 1
fi

cases=""
failed=0
n=0
while IFS= read -r line <&3; do
  n=$((n + 1))
  echo "\$ $line"
  start=$SECONDS
  eval "$line" >"$WORK/out" 2>&1
  code=$?
  sed 's/^/    /' "$WORK/out" | head -n 40
  name="$(printf '%02d %s' "$n" "$line" | sed 's/&/\&amp;/g; s/</\&lt;/g; s/>/\&gt;/g; s/"/\&quot;/g')"
  if [ "$code" -eq 0 ]; then
    cases+="<testcase classname=\"readme.walkthrough\" name=\"$name\" time=\"$((SECONDS - start))\"/>"
  else
    failed=$((failed + 1))
    echo "    -> exit $code"
    cases+="<testcase classname=\"readme.walkthrough\" name=\"$name\"><failure message=\"exit $code\"/></testcase>"
  fi
done 3<"$WORK/lines"
printf '<?xml version="1.0" encoding="UTF-8"?>\n<testsuite name="readme-walkthrough" tests="%d" failures="%d">%s</testsuite>\n' "$n" "$failed" "$cases" >"$RESULTS/readme-walkthrough.xml"
echo "readme walk-through: $((n - failed)) passed, $failed failed"
[ "$failed" -eq 0 ]
