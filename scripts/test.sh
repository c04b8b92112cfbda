#!/usr/bin/env bash
# Runs every test suite (Zig unit tests, the C header smoke test, the TypeScript type check,
# the same test files under `deno test` and `bun test`, the examples in doc comments, a short
# fuzz campaign per runtime (a fixed set of runs), the SQLite fuzz), keeps going when one fails so
# the report is complete, and ends with one line: "N passed, N failed", summed over all suites.
# Usage: scripts/test.sh ZIG DENO BUN TSC
set -uo pipefail
zig=$1 deno=$2 bun=$3 tsc=$4
logs=.tools/test-logs
mkdir -p "$logs"
passed=0 failed=0 broken=()

add() { passed=$((passed + ${1:-0})); failed=$((failed + ${2:-0})); }

step() { # name, command...: runs it, tees its output to a log, remembers a failure
  local name=$1; shift
  printf '\n== %s\n' "$name"
  "$@" 2>&1 | tee "$logs/$name.log"
  local status=${PIPESTATUS[0]}
  [ "$status" -eq 0 ] || broken+=("$name (exit $status)")
  return 0
}

step zig bash -c "cd zig && '$zig' build test --summary all"
# "Build Summary: 3/3 steps succeeded; 40/40 tests passed" or "...; 38/40 tests passed; 2 failed"
zig_line=$(grep -Eo '[0-9]+/[0-9]+ tests passed' "$logs/zig.log" | tail -1)
if [ -n "$zig_line" ]; then
  zig_passed=${zig_line%%/*}; zig_total=$(echo "$zig_line" | cut -d/ -f2 | cut -d' ' -f1)
  add "$zig_passed" $((zig_total - zig_passed))
else
  add 0 1
fi

step header bash -c "cd zig && '$zig' build && '$zig' cc -std=c11 -Wall -Wextra -Werror -Iinclude tests/header_smoke.c -Lzig-out/lib -lcustody -Wl,-rpath,\$PWD/zig-out/lib -o ../.tools/header_smoke && ../.tools/header_smoke"
if grep -q 'header smoke: ok' "$logs/header.log"; then add 1 0; else add 0 1; fi

step typecheck "$tsc" -p tsconfig.json
# A clean type check counts as one test, so a failing one shows in the closing line.
if [ ! -s "$logs/typecheck.log" ]; then add 1 0; else add 0 1; fi

# "ok | 3 passed (35 steps) | 0 failed" or "FAILED | 2 passed (33 steps) | 1 failed (2 steps)": count steps.
add_deno() {
  local line
  line=$(sed 's/\x1b\[[0-9;]*m//g' "$logs/$1.log" | grep -E '^(ok|FAILED) \|' | tail -1)
  if [ -z "$line" ]; then add 0 1; return; fi
  count() { echo "$line" | grep -Eo "[0-9]+ $1( \([0-9]+ steps?\))?" | grep -Eo '[0-9]+' | tail -1; }
  add "$(count passed)" "$(count failed)"
}

step deno "$deno" test --allow-ffi --allow-read --allow-env --allow-run --v8-flags=--expose-gc test/
add_deno deno

# Every example in a doc comment is type-checked and run.
step doctest "$deno" test --doc --allow-ffi --allow-read --allow-env mod.ts src/
add_deno doctest

step bun "$bun" test
bun_pass=$(grep -Eo '^ *[0-9]+ pass$' "$logs/bun.log" | grep -Eo '[0-9]+' | tail -1)
bun_fail=$(grep -Eo '^ *[0-9]+ fail$' "$logs/bun.log" | grep -Eo '[0-9]+' | tail -1)
if [ -n "$bun_pass" ]; then add "$bun_pass" "${bun_fail:-0}"; else add 0 1; fi

# A short fuzz campaign per runtime (fuzz/campaign.ts), one result each; its failures land in
# .tools/fuzz-test/corpus/ with their seed and path, and are replayed first by the next run.
# A fixed set of runs per runtime (seed and count), so the gate checks the same command
# sequences each time, with every family; `make fuzz` explores with fresh seeds.
step fuzz-deno "$deno" run --allow-all --v8-flags=--expose-gc fuzz/campaign.ts --time=300 --seed="${FUZZ_SEED_DENO:-1}" --runs="${FUZZ_RUNS_DENO:-200}" --out=.tools/fuzz-test
if grep -q '^== fuzz campaign (deno): .* 0 failures$' "$logs/fuzz-deno.log"; then add 1 0; else add 0 1; fi
step fuzz-bun "$bun" fuzz/campaign.ts --time=300 --seed="${FUZZ_SEED_BUN:-2}" --runs="${FUZZ_RUNS_BUN:-500}" --out=.tools/fuzz-test
if grep -q '^== fuzz campaign (bun): .* 0 failures$' "$logs/fuzz-bun.log"; then add 1 0; else add 0 1; fi

# The SQLite fuzz campaign (fuzz/sqlite/campaign.ts), briefly, per runtime: one result each.
sqlite_fuzz_time=${SQLITE_FUZZ_TIME:-10}
step sqlite-fuzz-deno "$deno" run --allow-all --v8-flags=--expose-gc fuzz/sqlite/campaign.ts --time="$sqlite_fuzz_time" --out=.tools/fuzz-sqlite-test
if grep -q '^== sqlite fuzz campaign (deno): .* 0 violations, 0 leaks, 0 failures$' "$logs/sqlite-fuzz-deno.log"; then add 1 0; else add 0 1; fi
step sqlite-fuzz-bun "$bun" fuzz/sqlite/campaign.ts --time="$sqlite_fuzz_time" --out=.tools/fuzz-sqlite-test
if grep -q '^== sqlite fuzz campaign (bun): .* 0 violations, 0 leaks, 0 failures$' "$logs/sqlite-fuzz-bun.log"; then add 1 0; else add 0 1; fi

echo
for b in "${broken[@]}"; do echo "failed: $b"; done
echo "$passed passed, $failed failed"
[ ${#broken[@]} -eq 0 ] && [ "$failed" -eq 0 ]
