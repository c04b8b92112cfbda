#!/usr/bin/env bash
# Runs every benchmark and writes bench/results.json, the table in bench/README.md and the
# scale chart bench/scale.svg. Usage: scripts/bench.sh DENO BUN
set -euo pipefail
deno=$1 bun=$2
out=.tools/bench
started=$SECONDS
mkdir -p "$out"
deno_run=("$deno" run --allow-ffi --allow-read --allow-env --allow-write --v8-flags=--expose-gc)
# The ratio moves with each process's address layout (ASLR), so it is measured in several
# processes and the report takes the median process.
echo "== native: tracked allocator vs glibc, 5 processes"
rm -f "$out"/native-*.json
for i in 1 2 3 4 5; do zig/zig-out/bin/custody-bench | tee "$out/native-$i.json"; done
echo "== deno: generation check"
"${deno_run[@]}" bench/generation_check.ts "$out/deno.json"
echo "== bun: generation check"
"$bun" run bench/generation_check.ts "$out/bun.json"
# So do the call, lifecycle, allocation and scale ratios, with what each process's JIT makes
# of the cases: `in_processes RESULT SCRIPT WHAT [ARG]` runs bench/SCRIPT.ts in 3 processes
# per runtime, into $out/RUNTIME-RESULT-N.json.
in_processes() {
  local result=$1 script=$2 what=$3
  shift 3
  rm -f "$out/deno-$result"-*.json "$out/bun-$result"-*.json
  for i in 1 2 3; do
    echo "== deno: $what, process $i of 3"
    "${deno_run[@]}" "bench/$script.ts" "$out/deno-$result-$i.json" "$@"
    echo "== bun: $what, process $i of 3"
    "$bun" run "bench/$script.ts" "$out/bun-$result-$i.json" "$@"
  done
}
in_processes ownership ownership "calls and lifecycles against raw FFI, koffi and a hand-written wrapper"
# Side by side, a call costs more by what the JIT makes of the mix of cases: each call case
# also runs alone, in processes of its own.
for case in raw floor checked; do in_processes "alone-$case" call_alone "the $case call alone" "$case"; done
in_processes memory memory "memory API against raw FFI malloc+free, GC reclamation"
# 10^7 live handles need more than the default 2^22 registry slots.
CUSTODY_REGISTRY_CAPACITY=16777216 in_processes scale scale "scale sweep, 10^3 to 10^7 live handles"
fuzz_seconds=${BENCH_FUZZ_SECONDS:-15}
echo "== fuzz throughput: the campaign for $fuzz_seconds s per runtime"
rm -rf "$out/fuzz"
# A failure the campaign finds is reported (its log, its corpus), not a reason to stop measuring.
"$deno" run --allow-all --v8-flags=--expose-gc fuzz/campaign.ts --time="$fuzz_seconds" --out="$out/fuzz" >"$out/fuzz-deno.log" 2>&1 ||
  echo "deno: the campaign failed, see $out/fuzz-deno.log"
grep -m1 "== fuzz campaign" "$out/fuzz-deno.log" || true
"$bun" fuzz/campaign.ts --time="$fuzz_seconds" --out="$out/fuzz" >"$out/fuzz-bun.log" 2>&1 ||
  echo "bun: the campaign failed, see $out/fuzz-bun.log"
grep -m1 "== fuzz campaign" "$out/fuzz-bun.log" || true
"$deno" run --allow-read --allow-write bench/report.ts "$out" bench/results.json bench/README.md
echo "make bench: $((SECONDS - started)) s"
