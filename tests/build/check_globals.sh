#!/usr/bin/env bash
# check_globals.sh LIBRARY: the tool keeps no process globals (docs/hacking.md):
# no object of libtrawl_tool.a may live in a writable data section (.data,
# .bss); constant tables (.rodata, .data.rel.ro) are fine, and so are
# ASan's one-definition-rule markers (__odr_asan.*, one byte per global). Lists each
# offender with its object file. Last line "N passed, M failed".
set -uo pipefail
lib=${1:?usage: check_globals.sh LIBRARY}
command -v objdump >/dev/null || { echo "objdump missing (binutils)"; echo "0 passed, 1 failed"; exit 1; }
bad=$(objdump -t "$lib" | awk '
  /^In archive/ { next }
  /file format/ { obj = $1; next }
  $NF ~ /^__odr_asan/ { next }
  $3 == "O" && ($4 == ".data" || $4 == ".bss") { print obj " " $NF }
  $2 == "O" && ($3 == ".data" || $3 == ".bss") { print obj " " $NF }')
objs=$(objdump -t "$lib" | grep -c "file format")
if [ -z "$bad" ] && [ "$objs" -gt 0 ]; then
  echo "ok   - no writable globals in $objs objects of $(basename "$lib")"
  echo "1 passed, 0 failed"
else
  echo "FAIL - writable globals (move them into the struct that owns them):"
  echo "$bad" | sed 's/^/       /'
  echo "0 passed, 1 failed"
  exit 1
fi
