#!/usr/bin/env bash
# C# lines longer than .editorconfig's max_line_length (for *.cs) in src/, clients/, tests/ and bench/, counted in
# characters; build output (obj/, bin/) and generated files (*.g.cs, *.Designer.cs) are not ours to wrap. dotnet format
# does not wrap lines, so this is the check of that rule. Lists every long line as path:line: length, then one line
# with the count. Exits 1 when there is one (with ENFORCE=0 it would only report).
#   usage: .ci/line-length.sh
set -euo pipefail
ENFORCE=1

cd "$(dirname "${BASH_SOURCE[0]}")/.."
max="$(sed -n 's/^max_line_length *= *\([0-9][0-9]*\).*/\1/p' .editorconfig | head -n 1)"
max="${max:-140}"
long="$(find src clients tests bench -name '*.cs' -not -path '*/obj/*' -not -path '*/bin/*' -not -path '*/node_modules/*' \
  -not -name '*.g.cs' -not -name '*.Designer.cs' -print0 | sort -z |
  xargs -0 -r /usr/bin/python3 -c '
import sys
limit = int(sys.argv[1])
for path in sys.argv[2:]:
    with open(path, encoding="utf-8") as f:
        for number, line in enumerate(f, 1):
            line = line.rstrip("\r\n")
            if len(line) > limit:
                print(f"{path}:{number}: {len(line)} characters")
' "$max")"
count=0
[ -z "$long" ] || count="$(printf '%s\n' "$long" | wc -l)"
[ -z "$long" ] || printf '%s\n' "$long"
echo "$count C# line(s) over $max characters in src/, clients/, tests/ and bench/"
if [ "$count" -gt 0 ] && [ "$ENFORCE" = 1 ]; then exit 1; fi
exit 0
