#!/usr/bin/env bash
# Back up the platform: the database as a pg_dump custom-format archive (compressed,
# restorable in parallel and table by table) and, when MEDIA_ROOT is given, the uploaded
# files (ticket photos, import spreadsheets) as a tarball beside it.
#
#   DATABASE_URL=postgres://user@host:5432/governance [MEDIA_ROOT=...] ops/backup.sh [DIRECTORY]
#
# Prints the files written. The archive is checked to be readable before it is kept.
# The keys are NOT in it, by design: keep SECRET_KEY and PII_KEYS elsewhere (ops/BACKUP.md).
set -euo pipefail

: "${DATABASE_URL:?DATABASE_URL must name the PostgreSQL database to back up}"
directory="${1:-.}"
mkdir -p "$directory"
stamp="$(date -u +%Y%m%dT%H%M%SZ)"
archive="$directory/governance-$stamp.dump"

pg_dump --format=custom --compress=6 --no-owner --no-privileges \
  --file="$archive.partial" "$DATABASE_URL"
pg_restore --list "$archive.partial" >/dev/null
mv "$archive.partial" "$archive"
echo "$archive"

if [ -n "${MEDIA_ROOT:-}" ] && [ -d "$MEDIA_ROOT" ]; then
  media="$directory/media-$stamp.tar.gz"
  tar -czf "$media.partial" -C "$MEDIA_ROOT" .
  mv "$media.partial" "$media"
  echo "$media"
fi
