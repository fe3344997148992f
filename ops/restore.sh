#!/usr/bin/env bash
# Restore a backup made by ops/backup.sh into an EMPTY database (create it first with
# `createdb`), and the uploaded files when a media tarball and MEDIA_ROOT are given.
#
#   DATABASE_URL=postgres://user@host:5432/governance_restored ops/restore.sh ARCHIVE [MEDIA_TARBALL]
#
# Refuses a database that already has tables: a restore never mixes with live data.
# Run the application against it with the SAME PII_KEYS (and SECRET_KEY) as the backed-up
# installation, or the ID numbers in it stay unreadable (ops/BACKUP.md).
set -euo pipefail

: "${DATABASE_URL:?DATABASE_URL must name the empty database to restore into}"
archive="${1:?usage: ops/restore.sh ARCHIVE [MEDIA_TARBALL]}"
media="${2:-}"

tables="$(psql "$DATABASE_URL" -Atc "SELECT count(*) FROM pg_tables WHERE schemaname = 'public'")"
if [ "$tables" != "0" ]; then
  echo "refusing to restore: the target database already has $tables tables" >&2
  exit 1
fi

pg_restore --no-owner --no-privileges --exit-on-error --jobs="${RESTORE_JOBS:-2}" \
  --dbname="$DATABASE_URL" "$archive"
psql "$DATABASE_URL" -qc "ANALYZE"
echo "restored $archive"

if [ -n "$media" ]; then
  : "${MEDIA_ROOT:?MEDIA_ROOT must name the folder to restore the uploaded files into}"
  mkdir -p "$MEDIA_ROOT"
  tar -xzf "$media" -C "$MEDIA_ROOT"
  echo "restored $media into MEDIA_ROOT"
fi
