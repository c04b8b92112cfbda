#!/usr/bin/env bash
# Builds zig/zig-out/lib/libcustody_sqlite.so (zig/sqlite/custody_sqlite.c), linked against
# libcustody and the system's libsqlite3. When the system has no libsqlite3.so.0, installs
# Debian's package for it (libsqlite3-0) with apt-get; elsewhere it says what to install.
# Usage: scripts/sqlite-lib.sh ZIG
set -euo pipefail
zig=$1
out=zig/zig-out/lib/libcustody_sqlite.so

find_sqlite() {
  local found
  found=$(ldconfig -p 2>/dev/null | awk '/libsqlite3\.so\.0 / && /x86-64|aarch64|AArch64/ { print $NF; exit }')
  [ -z "$found" ] && found=$(ldconfig -p 2>/dev/null | awk '/libsqlite3\.so\.0 / { print $NF; exit }')
  for candidate in "$found" /usr/lib/x86_64-linux-gnu/libsqlite3.so.0 /usr/lib/aarch64-linux-gnu/libsqlite3.so.0 \
    /usr/lib64/libsqlite3.so.0 /usr/lib/libsqlite3.so.0; do
    if [ -n "$candidate" ] && [ -e "$candidate" ]; then echo "$candidate"; return 0; fi
  done
  return 1
}

if ! sqlite=$(find_sqlite); then
  if command -v apt-get >/dev/null 2>&1; then
    echo "libsqlite3.so.0 not found: installing Debian's libsqlite3-0"
    sudo=""; [ "$(id -u)" -ne 0 ] && sudo="sudo"
    $sudo apt-get update -qq && $sudo apt-get install -y -qq libsqlite3-0
    sqlite=$(find_sqlite) || { echo "libsqlite3-0 installed, but libsqlite3.so.0 is still not found" >&2; exit 1; }
  else
    echo "libsqlite3.so.0 not found: install SQLite's shared library (see README, \"SQLite\")" >&2
    exit 1
  fi
fi

if [ "$out" -nt zig/sqlite/custody_sqlite.c ] && [ "$out" -nt zig/zig-out/lib/libcustody.so ] && [ "$out" -nt "$0" ]; then exit 0; fi
"$zig" cc -shared -fPIC -O2 -std=c11 -Wall -Wextra -Werror zig/sqlite/custody_sqlite.c -o "$out" \
  -Lzig/zig-out/lib -lcustody "$sqlite" -Wl,-rpath,'$ORIGIN'
echo "built $out against $sqlite"
