#!/usr/bin/env bash
# The browser reader (web/) in a real headless browser against the real server: Debian's chromium driven by
# playwright-core (reader.test.mjs), signing in, highlighting and opening a claim by mouse selection, taking a
# stance with evidence, watching the tally change in a second browser without reload, adjudicating, moving
# the history slider, a blind claim seen by a second analyst before and after her own stance, a discussion
# thread followed live by the other browser (answer, edit with earlier text, retract), a highlight's thread,
# the text colours' contrast (WCAG AA) from computed styles, a narrow window and a wrong token.
#
#   tests/browser/run.sh <results-dir>
#
# The server is the built src/Annotate.Server (bin/Release, then bin/Debug; ANNOTATE_SERVER_DLL overrides),
# started with its web endpoint on a free port (--Annotate:WebUrls). When its build left the reader out (no
# Node at build time) the reader is built here into the server's web/ folder. Its database: $ANNOTATE_TEST_PG
# in a fresh schema when set (CI), else the server's embedded PostgreSQL in a temporary folder.
# Environment: BROWSER_SKIP_INSTALL=1 skips installs; ANNOTATE_APT_UPDATED=1 (set by .ci/run) skips apt-get
# update; BROWSER_SHOTS sets the screenshot folder (default .ci/out/browser).
#
# Writes <results-dir>/browser.xml (JUnit XML, one <testcase> per step), browser-server.log (the server's
# output) and one PNG per step into the screenshot folder; prints "browser: N passed, N failed, N skipped"
# and exits non-zero when the server does not start, dies, or a step fails.
set -euo pipefail

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
repo="$(cd "$here/../.." && pwd)"
results="${1:?usage: tests/browser/run.sh <results-dir>}"
mkdir -p "$results"
results="$(cd "$results" && pwd)"
shots="${BROWSER_SHOTS:-$repo/.ci/out/browser}"
mkdir -p "$shots"
rm -f "$shots"/*.png

log() { printf '[browser] %s\n' "$*" >&2; }
# shellcheck source=../lib/server.sh
source "$repo/tests/lib/server.sh"

# --- prerequisites ------------------------------------------------------------------------
npm_ci() { # npm ci in $1 only when the installed tree does not match its lock file
  if ! cmp -s "$1/package-lock.json" "$1/node_modules/.package-lock.json.ci" 2>/dev/null; then
    log "npm ci in ${1#"$repo/"}"
    (cd "$1" && npm ci --no-audit --no-fund --loglevel=error >/dev/null)
    cp "$1/package-lock.json" "$1/node_modules/.package-lock.json.ci"
  fi
}
install_prerequisites() {
  local missing=()
  [[ -x /usr/bin/chromium ]] || missing+=(chromium)
  command -v node >/dev/null 2>&1 || missing+=(nodejs)
  command -v npm >/dev/null 2>&1 || missing+=(npm)
  if ((${#missing[@]})); then
    local sudo=()
    [[ "$(id -u)" -eq 0 ]] || sudo=(sudo)
    log "installing ${missing[*]}"
    [[ "${ANNOTATE_APT_UPDATED:-0}" == 1 ]] || "${sudo[@]}" env DEBIAN_FRONTEND=noninteractive apt-get update -q >/dev/null
    "${sudo[@]}" env DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends "${missing[@]}" >/dev/null
  fi
  npm_ci "$here"
}
if [[ "${BROWSER_SKIP_INSTALL:-0}" != 1 ]]; then install_prerequisites; fi

server_find_dll
if [[ ! -f "$(dirname "$dll")/web/index.html" ]]; then
  log "the server was built without the reader (no Node then): building it into $(dirname "$dll")/web"
  npm_ci "$repo/web"
  (cd "$repo/web" && node build.mjs --out "$(dirname "$dll")/web" >/dev/null)
fi

# --- the server ---------------------------------------------------------------------------
server_make_work browser

# The web endpoint needs a port known in advance (the server answers gRPC-Web on the ports it was given);
# the gRPC endpoint picks its own (port 0).
web_port="$(server_free_port)"
server_log="$results/browser-server.log"
server_launch "$work" browser "$server_log" "with the web reader on http://127.0.0.1:$web_port/" \
  --urls http://127.0.0.1:0 --Annotate:WebUrls="http://127.0.0.1:$web_port"
# Ready once the web endpoint serves the reader.
serves_reader() {
  node -e 'fetch(process.argv[1]).then(r => process.exit(r.ok ? 0 : 1), () => process.exit(1))' "http://127.0.0.1:$web_port/" 2>/dev/null
}
server_wait "$work" "$server_log" "no reader on http://127.0.0.1:$web_port/" serves_reader || exit 1

# --- the suite ----------------------------------------------------------------------------
status=0
ANNOTATE_WEB_URL="http://127.0.0.1:$web_port/" ANNOTATE_TOKEN="$(cat "$work/admin-token")" BROWSER_SHOTS="$shots" \
  timeout -k 10 300 node --test --test-concurrency=1 --test-timeout=60000 \
  --test-reporter=spec --test-reporter-destination=stdout \
  --test-reporter=junit --test-reporter-destination="$results/browser.xml" \
  "$here/reader.test.mjs" </dev/null || status=1

if ! kill -0 "$server_pid" 2>/dev/null; then
  log "the server died during the suite; its output:"
  tail -n 50 "$server_log" >&2
  status=1
fi

# Node's JUnit file puts its test cases straight under <testsuites>, with no totals: they are gathered into one
# <testsuite name="browser"> with its counts (the shape .ci/summarize.py reads), and counted for the closing line.
/usr/bin/python3 - "$results/browser.xml" <<'PY' || status=1
import sys
from xml.etree import ElementTree as ET
import re
path = sys.argv[1]
try:
    # Failure messages may carry terminal colour codes, which XML does not allow.
    with open(path, encoding="utf-8", errors="replace") as report:
        content = re.sub(r"\x1b\[[0-9;]*m|[\x00-\x08\x0b\x0c\x0e-\x1f]", "", report.read())
    root = ET.fromstring(content)
except (OSError, ET.ParseError) as error:
    print(f"browser: 0 passed, 1 failed (no readable JUnit report: {error})")
    sys.exit(1)
cases = list(root.iter("testcase"))
failed = sum(1 for c in cases if c.find("failure") is not None or c.find("error") is not None)
skipped = sum(1 for c in cases if c.find("skipped") is not None)
passed = len(cases) - failed - skipped
suite = ET.Element("testsuite", name="browser", tests=str(len(cases)), failures=str(failed), errors="0", skipped=str(skipped))
for case in cases:
    case.set("classname", "browser")
    suite.append(case)
ET.ElementTree(suite).write(path, encoding="utf-8", xml_declaration=True)
print(f"browser: {passed} passed, {failed} failed, {skipped} skipped")
sys.exit(1 if failed or not passed else 0)
PY
log "screenshots in $shots"
exit "$status"
