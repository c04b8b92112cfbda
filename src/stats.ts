/**
 * custody's counters: the tracked allocator's and the capsule registry's. They live in one
 * native struct that is mapped once, so reading them costs no FFI call.
 *
 * @module
 */
import { runtime } from "./ffi/mod.ts";
import { camelCase, type CamelCase } from "./case.ts";
import { parseLayout, readField } from "./layout.ts";
import { native } from "./native/library.ts";
import { memoryCounters } from "./memory/accounting.ts";

const statsFields = [
  "live_count",
  "live_bytes",
  "peak_count",
  "peak_bytes",
  "total_allocs",
  "total_frees",
  "total_bytes",
  "failed_allocs",
  "quarantine_count",
  "quarantine_bytes",
  "double_frees",
  "invalid_frees",
  "overruns",
  "underruns",
  "writes_after_free",
  "events_total",
  "capsules_live",
  "capsules_peak",
  "capsules_created",
  "capsules_destroyed",
  "capsules_notified",
  "destructors_run",
  "destructors_deferred",
  "slots_retired",
  "stale_handles",
  "forged_handles",
  "name_mismatches",
  "cycles_refused",
  "table_full",
] as const;

/** The C name of one native counter in the stats block. */
export type StatsField = typeof statsFields[number];

/**
 * A snapshot of every counter. Allocator: `liveCount`, `liveBytes`, `peakCount`,
 * `peakBytes`, `totalAllocs`, `totalFrees`, `totalBytes`, `failedAllocs`,
 * `quarantineCount`, `quarantineBytes`, and one count per violation kind (`doubleFrees`,
 * `invalidFrees`, `overruns`, `underruns`, `writesAfterFree`) plus `eventsTotal`.
 * Registry: `capsulesLive`, `capsulesPeak`, `capsulesCreated`, `capsulesDestroyed`,
 * `capsulesNotified`, `destructorsRun`, `destructorsDeferred`, `slotsRetired`, and the
 * refusals `staleHandles`, `forgedHandles`, `nameMismatches`, `cyclesRefused`, `tableFull`.
 * Memory API (counted in JS): `gcLiveCount` and `gcLiveBytes` (objects given an owner by
 * `gc()` and the sum of their size hints), `pinnedBuffers`, `pinViolations`.
 */
export type Stats = { readonly [K in StatsField as CamelCase<K>]: number } & { readonly [K in keyof typeof memoryCounters]: number };

const layout = parseLayout(runtime.cString(native.custody_stats_layout()), statsFields, "Stats");
const block = new DataView(runtime.view(native.custody_stats(), layout.byteLength));

/**
 * Reads every counter.
 *
 * @example Counting violations
 * ```ts
 * import { stats } from "./stats.ts";
 * const { doubleFrees, liveCount } = stats();
 * console.log(doubleFrees, liveCount);
 * ```
 */
export function stats(): Stats {
  const out: Record<string, number> = {};
  for (const name of statsFields) out[camelCase(name)] = readField(block, 0, layout.fields[name]);
  return { ...out, ...memoryCounters } as Stats;
}

/**
 * Reads one native counter by its C field name, without building the whole snapshot that
 * {@linkcode stats} returns: for checks that run after every call.
 *
 * @example Live registry entries
 * ```ts
 * import { counter } from "./stats.ts";
 * console.log(counter("capsules_live"));
 * ```
 */
export function counter(name: StatsField): number {
  return readField(block, 0, layout.fields[name]);
}

const violationFields = ["double_frees", "invalid_frees", "overruns", "underruns", "writes_after_free"] as const;

/**
 * The number of allocator violations detected so far, of every kind together. Cheaper
 * than {@linkcode stats} when that is all a check needs.
 *
 * @example
 * ```ts
 * import { violationCount } from "./stats.ts";
 * if (violationCount() > 0) console.log("custody saw memory misuse");
 * ```
 */
export function violationCount(): number {
  let sum = 0;
  for (const name of violationFields) sum += readField(block, 0, layout.fields[name]);
  return sum;
}
