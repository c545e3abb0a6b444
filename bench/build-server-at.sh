#!/usr/bin/env bash
# Builds Annotate.Server as it was at a commit, for the end-to-end benchmark's --server option:
#   bench/build-server-at.sh <commit> <outdir>
# then: dotnet run -c Release --project bench/Annotate.Benchmarks.EndToEnd -- \
#         --server before=<outdir>/Annotate.Server.dll --server after=src/Annotate.Server/bin/Release/net10.0/Annotate.Server.dll
# The commit is checked out in a temporary git worktree (the current checkout is untouched) and removed afterwards.
set -euo pipefail
if [ $# -ne 2 ]; then
  echo "usage: $0 <commit> <outdir>" >&2
  exit 2
fi
commit=$1
out=$(realpath -m "$2")
repo=$(git -C "$(dirname "$0")" rev-parse --show-toplevel)
sha=$(git -C "$repo" rev-parse --verify "$commit^{commit}")
tmp=$(mktemp -d "${TMPDIR:-/tmp}/annotate-server-at-XXXXXX")
cleanup() {
  git -C "$repo" worktree remove --force "$tmp/src" 2>/dev/null || true
  rm -rf "$tmp"
}
trap cleanup EXIT
git -C "$repo" worktree add --detach --quiet "$tmp/src" "$sha"
export MSBUILDDISABLENODEREUSE=1 DOTNET_CLI_TELEMETRY_OPTOUT=1 DOTNET_NOLOGO=1
dotnet build -c Release "$tmp/src/src/Annotate.Server/Annotate.Server.csproj" -o "$out" -nologo -v quiet
echo "$sha" > "$out/annotate-commit"
echo "$out/Annotate.Server.dll (commit $sha)"
