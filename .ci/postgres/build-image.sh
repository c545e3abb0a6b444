#!/usr/bin/env bash
# Builds the PostgreSQL 15 image the test fixture runs under Testcontainers where no image registry is
# reachable: a minimal Debian 12 root file system with Debian's postgresql-15 package (debootstrap), imported
# into the local Docker engine with entrypoint.sh. Usage: build-image.sh TAG [DOCKER_CLIENT]. Needs root,
# debootstrap and a running Docker engine; does nothing when TAG already exists.
set -euo pipefail

TAG="$1"
DOCKER="${2:-docker}"
HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
MIRROR="${ANNOTATE_DEBIAN_MIRROR:-http://deb.debian.org/debian}"

if "$DOCKER" image inspect "$TAG" >/dev/null 2>&1; then
  echo "image $TAG exists"
  exit 0
fi

ROOTFS="$(mktemp -d /var/tmp/annotate-pg-rootfs.XXXXXX)"
trap 'rm -rf "$ROOTFS"' EXIT
debootstrap --variant=minbase --include=postgresql-15 bookworm "$ROOTFS" "$MIRROR" >"$ROOTFS.log" 2>&1 ||
  { tail -n 30 "$ROOTFS.log" >&2; rm -f "$ROOTFS.log"; exit 1; }
rm -f "$ROOTFS.log"
# The package's own cluster and the downloaded packages are not needed: the entry point initialises its own.
rm -rf "$ROOTFS/var/lib/postgresql/15" "$ROOTFS/etc/postgresql/15" "$ROOTFS"/var/cache/apt/archives/*.deb "$ROOTFS"/var/lib/apt/lists/*
install -m 755 "$HERE/entrypoint.sh" "$ROOTFS/usr/local/bin/postgres-entrypoint"
tar -C "$ROOTFS" -c . | "$DOCKER" import \
  -c 'ENTRYPOINT ["/usr/local/bin/postgres-entrypoint"]' \
  -c 'ENV PATH=/usr/lib/postgresql/15/bin:/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin' \
  -c 'ENV PGDATA=/var/lib/postgresql/data' \
  -c 'EXPOSE 5432' \
  -m "PostgreSQL 15 from Debian 12 packages, for the Annotate tests" - "$TAG" >/dev/null
echo "image $TAG built"
