#!/bin/sh
# Test-harness stand-in for `pg_resetwal -n` on a PostgreSQL 14 data directory (the npm 14 server ships no
# pg_resetwal, and Debian 15's refuses a 14 directory). pg_upgrade 15 runs `pg_resetwal -n` on the old cluster
# only to read its control data and the first WAL segment after a reset: Debian 15's pg_controldata reads a 14
# control file, and the segment is the one after the latest checkpoint's redo segment. On NixOS the old package
# is complete and none of this is needed. Used by test/lib/postgres.ts and bench/transition.mjs.
PG15=/usr/lib/postgresql/15/bin
case "$1" in -V | --version) echo "pg_resetwal (PostgreSQL) 14.23"; exit 0 ;; esac
[ "$1" = "-n" ] || { echo "stand-in pg_resetwal: only -n" >&2; exit 1; }
out=$("$PG15/pg_controldata" "$2") || exit 1
printf '%s\n' "$out"
redo=$(printf '%s\n' "$out" | sed -n "s/^Latest checkpoint's REDO WAL file: *//p")
tli=$(printf '%s' "$redo" | cut -c1-8)
log=$(printf '%s' "$redo" | cut -c9-16)
seg=$(printf '%s' "$redo" | cut -c17-24)
next=$((0x$seg + 1))
logn=$((0x$log))
if [ "$next" -gt 255 ]; then next=0; logn=$((logn + 1)); fi
printf 'First log segment after reset:        %s%08X%08X\n' "$tli" "$logn" "$next"
