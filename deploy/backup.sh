#!/usr/bin/env bash
# Back up the national store into $SMARTCITY_BACKUP_DIR/<date-time>/ (run by
# smartcity-backup.service; by hand: set the variables of /etc/smartcity/smartcity.env first):
#   smartcity.dump        pg_dump --format=custom: the whole database, restored with pg_restore
#   smartcity.ikcbackup   `python -m metrics backup`: the product's own checksummed backup (every
#                         table, audit head recorded), restored with `python -m metrics restore`
#   state/                the installation key and audit head files of $SMARTCITY_STATE_DIR:
#                         without the key the audit chain of a restored database cannot be verified
# Backups older than $SMARTCITY_BACKUP_KEEP_DAYS days are removed. Any failure fails the unit.
set -euo pipefail
cd "$(dirname "$0")/.."
: "${SMARTCITY_DB:?SMARTCITY_DB is not set}"
dir="${SMARTCITY_BACKUP_DIR:-/var/backups/smartcity}/$(date -u +%Y%m%dT%H%M%SZ)"
umask 077
mkdir -p "$dir"
# the key and audit head first: the dump then holds at least the rows the copied head names
# (writes go on meanwhile; a head newer than the dump would report the newest rows as lost)
if [ -n "${SMARTCITY_STATE_DIR:-}" ] && [ -d "$SMARTCITY_STATE_DIR" ]; then
  cp -a "$SMARTCITY_STATE_DIR" "$dir/state"
fi
pg_dump --format=custom --no-owner --file "$dir/smartcity.dump" "$SMARTCITY_DB"
.venv/bin/python -m metrics --db "$SMARTCITY_DB" backup -o "$dir/smartcity.ikcbackup"
(cd "$dir" && sha256sum smartcity.dump smartcity.ikcbackup > SHA256SUMS)
find "$(dirname "$dir")" -mindepth 1 -maxdepth 1 -type d -mtime "+${SMARTCITY_BACKUP_KEEP_DAYS:-14}" \
  -exec rm -rf {} +
echo "backup written to $dir"
