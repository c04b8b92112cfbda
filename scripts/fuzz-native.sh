#!/usr/bin/env bash
# Runs the native unit tests, whose model tests draw everything from the seed, with a new
# random seed each time until SECONDS_BUDGET has passed. A failure prints the seed that
# replays it: `zig/zig-out/bin/custody-tests --seed=0x...`.
# Usage: scripts/fuzz-native.sh TEST_BINARY SECONDS_BUDGET
set -uo pipefail
binary=$1 budget=$2
end=$((SECONDS + budget)) runs=0
while [ $SECONDS -lt $end ]; do
  seed=$(printf '0x%08x' "$(od -An -N4 -tu4 /dev/urandom | tr -d ' ')")
  if ! out=$("$binary" --seed="$seed" 2>&1); then
    printf '%s\n' "$out" | tail -20
    echo "native fuzz: failure with seed $seed after $runs runs; replay: $binary --seed=$seed"
    exit 1
  fi
  runs=$((runs + 1))
  printf '\rnative fuzz: %d runs, %ds left ' "$runs" $((end - SECONDS))
done
echo
echo "native fuzz: $runs runs, no failure"
