#!/usr/bin/env bash
# Runs every benchmark and writes bench/results.json and the table in bench/README.md.
# Usage: scripts/bench.sh DENO BUN
set -euo pipefail
deno=$1 bun=$2
out=.tools/bench
mkdir -p "$out"
# The ratio moves with each process's address layout (ASLR), so it is measured in several
# processes and the report takes the median process.
echo "== native: tracked allocator vs glibc, 5 processes"
rm -f "$out"/native-*.json
for i in 1 2 3 4 5; do zig/zig-out/bin/custody-bench | tee "$out/native-$i.json"; done
echo "== deno: generation check"
"$deno" run --allow-ffi --allow-read --allow-env --allow-write bench/generation_check.ts "$out/deno.json"
echo "== bun: generation check"
"$bun" run bench/generation_check.ts "$out/bun.json"
echo "== deno: ownership checks against raw FFI"
"$deno" run --allow-ffi --allow-read --allow-env --allow-write bench/ownership.ts "$out/deno-ownership.json"
echo "== bun: ownership checks against raw FFI"
"$bun" run bench/ownership.ts "$out/bun-ownership.json"
echo "== deno: memory API against raw FFI malloc+free, GC reclamation"
"$deno" run --allow-ffi --allow-read --allow-env --allow-write --v8-flags=--expose-gc bench/memory.ts "$out/deno-memory.json"
echo "== bun: memory API against raw FFI malloc+free, GC reclamation"
"$bun" run bench/memory.ts "$out/bun-memory.json"
"$deno" run --allow-read --allow-write bench/report.ts "$out" bench/results.json bench/README.md
