/**
 * Merges the raw benchmark outputs into bench/results.json and renders bench/README.md.
 * Usage: deno run --allow-read --allow-write bench/report.ts RAW_DIR RESULTS_JSON README_MD
 *
 * @module
 */
import { lineChart, type Series } from "./chart.ts";

const [rawDir, resultsPath, readmePath] = Deno.args;
type Numbers = Record<string, number | string>;
type Level = Record<string, number>;

const fmt = (value: number | string, digits = 2) => typeof value === "number" ? value.toFixed(digits) : value;
const read = (name: string): Numbers => JSON.parse(Deno.readTextFileSync(`${rawDir}/${name}.json`));
/** The outputs `<prefix>-1.json`, `<prefix>-2.json`, ... of a benchmark run in several processes. */
function runs(prefix: string): Numbers[] {
  const found = [...Deno.readDirSync(rawDir)]
    .filter((entry) => entry.name.startsWith(`${prefix}-`) && /^\d+\.json$/.test(entry.name.slice(prefix.length + 1)))
    .map((entry) => read(entry.name.replace(/\.json$/, "")));
  if (found.length === 0) throw new Error(`no ${prefix}-*.json in ${rawDir}`);
  return found;
}

/**
 * The process whose `ratio` is the median of all (an odd count), with that process's figures for the
 * keys `keep` selects, and every process's ratio under `<ratio>_processes`.
 */
function medianProcess(processes: Numbers[], ratio: string, keep: (key: string) => boolean): Numbers {
  const sorted = [...processes].sort((a, b) => Number(a[ratio]) - Number(b[ratio]));
  const median = sorted[Math.floor(sorted.length / 2)];
  return {
    ...Object.fromEntries(Object.entries(median).filter(([key]) => keep(key))),
    [`${ratio}_processes`]: sorted.map((p) => fmt(p[ratio], 3)).join(", "),
    [`${ratio}_process_count`]: sorted.length,
  };
}

// The native benchmark ran in several processes: report the median one, and every ratio.
const processes = runs("native");
const native: Numbers = medianProcess(processes, "tracked_pair_vs_glibc", () => true);
/**
 * The ownership and memory benchmarks ran in several processes too: a process's ratios move
 * with its address layout and with what its JIT made of each case (a raw Bun call measured 53
 * to 80 ns in different processes, Bun's alloc+release 421 to 555 ns). Calls, lifecycles and
 * allocations each report their median process.
 */
const ownership = (name: string): Numbers => {
  const all = runs(`${name}-ownership`);
  const isCall = (key: string) => key.includes("_call");
  return {
    ...medianProcess(all, "checked_call_vs_raw", isCall),
    ...medianProcess(all, "owned_lifecycle_vs_raw", (key) => !isCall(key)),
  };
};
// The fuzz campaign writes one stats.json with an entry per runtime.
const fuzz = JSON.parse(Deno.readTextFileSync(`${rawDir}/fuzz/stats.json`)) as Record<string, Record<string, number>>;
const fuzzFigures = (name: string): Numbers => ({
  fuzz_commands_per_s: fuzz[name].commands_per_sec,
  fuzz_seconds: fuzz[name].run_time,
  fuzz_runs: fuzz[name].runs,
  fuzz_failures: fuzz[name].failures,
});
/** The scale sweep's process whose steepest growth (of the three with a target) is the median. */
const scale = (name: string): Numbers => {
  const all = runs(`${name}-scale`).map((p) => ({
    ...p,
    scale_steepest_growth: Math.max(Number(p.scale_checked_call_growth), Number(p.scale_create_growth), Number(p.scale_release_growth)),
  }));
  return medianProcess(all, "scale_steepest_growth", () => true);
};
/** Each call case measured alone (bench/call_alone.ts): its median process. */
const alone = (name: string): Numbers => {
  const median = (which: string) => medianProcess(runs(`${name}-alone-${which}`), "ns", () => true);
  const rawCase = median("raw"), floorCase = median("floor"), checkedCase = median("checked");
  const rawNs = Number(rawCase.ns), floorNs = Number(floorCase.ns), checkedNs = Number(checkedCase.ns);
  return {
    call_alone_process_count: checkedCase.ns_process_count,
    raw_call_alone_ns: rawNs,
    checked_call_floor_alone_ns: floorNs,
    checked_call_alone_ns: checkedNs,
    checked_call_alone_vs_raw: checkedNs / rawNs,
    checked_call_floor_alone_vs_raw: floorNs / rawNs,
  };
};
const perRuntime = (name: string) => ({
  ...read(name),
  ...ownership(name),
  ...alone(name),
  ...medianProcess(runs(`${name}-memory`), "js_alloc_release_vs_raw", () => true),
  ...scale(name),
  ...fuzzFigures(name),
});
const deno = perRuntime("deno");
const bun = perRuntime("bun");

const results = {
  generated_at: new Date().toISOString(),
  machine: `${Deno.build.os} ${Deno.build.arch}, ${navigator.hardwareConcurrency} cores`,
  tracked_pair_vs_glibc: native.tracked_pair_vs_glibc,
  native,
  deno,
  bun,
};
Deno.writeTextFileSync(resultsPath, JSON.stringify(results, null, 2) + "\n");

const verdict = (value: number | string, target: number) =>
  typeof value === "number" && value <= target ? "meets" : "misses";
const rows = [
  ["metric", "median", "spread", "target"],
  ["---", "---", "---", "---"],
  [
    "`tracked_pair_vs_glibc` (native, quarantine on)",
    `**${fmt(native.tracked_pair_vs_glibc, 3)}** (${fmt(native.tracked_pair_ns)} ns vs ${fmt(native.glibc_pair_ns)} ns)`,
    `tracked ${fmt(native.tracked_pair_ns_min)} to ${fmt(native.tracked_pair_ns_max)} ns; glibc ${fmt(native.glibc_pair_ns_min)} to ${
      fmt(native.glibc_pair_ns_max)
    } ns (min to max round)`,
    `<= 2.5 (${verdict(native.tracked_pair_vs_glibc, 2.5)})`,
  ],
];
for (const r of [deno, bun]) {
  rows.push([
    `\`${r.runtime}.checked_call_vs_raw\`: a bound call on a borrowed object`,
    `**${fmt(r.checked_call_vs_raw, 3)}** (${fmt(r.checked_call_ns)} ns vs ${fmt(r.raw_call_ns)} ns)`,
    `custody ${fmt(r.checked_call_ns_p25)} to ${fmt(r.checked_call_ns_p75)}; raw ${fmt(r.raw_call_ns_p25)} to ${fmt(r.raw_call_ns_p75)} (p25 to p75); every process: ${r.checked_call_vs_raw_processes}`,
    `<= 1.25 (${verdict(r.checked_call_vs_raw, 1.25)})`,
  ]);
  rows.push([
    `\`${r.runtime}.checked_call_floor_vs_raw\`: the raw call with the generation check written inline (no wrapper, no binding)`,
    `**${fmt(r.checked_call_floor_vs_raw, 3)}** (${fmt(r.checked_call_floor_ns)} ns)`,
    `${fmt(r.checked_call_floor_ns_p25)} to ${fmt(r.checked_call_floor_ns_p75)} (p25 to p75); custody against it: ${fmt(r.checked_call_vs_floor)}x`,
    "the limit for `checked_call_vs_raw`",
  ]);
  rows.push([
    `\`${r.runtime}.checked_call_alone_vs_raw\`: the bound call and the raw call each measured alone, in ${r.call_alone_process_count} processes of its own`,
    `**${fmt(r.checked_call_alone_vs_raw, 3)}** (${fmt(r.checked_call_alone_ns)} ns vs ${fmt(r.raw_call_alone_ns)} ns)`,
    `its floor alone: ${fmt(r.checked_call_floor_alone_ns)} ns, ${fmt(r.checked_call_floor_alone_vs_raw, 3)}x (median process of each case)`,
    "",
  ]);
  rows.push([
    `\`${r.runtime}.owned_lifecycle_vs_raw\`: owned create + release`,
    `**${fmt(r.owned_lifecycle_vs_raw, 3)}** (${fmt(r.owned_lifecycle_ns)} ns vs ${fmt(r.raw_lifecycle_ns)} ns)`,
    `custody ${fmt(r.owned_lifecycle_ns_p25)} to ${fmt(r.owned_lifecycle_ns_p75)}; raw ${fmt(r.raw_lifecycle_ns_p25)} to ${fmt(r.raw_lifecycle_ns_p75)} (p25 to p75); every process: ${r.owned_lifecycle_vs_raw_processes}`,
    `<= 3 (${verdict(r.owned_lifecycle_vs_raw, 3)})`,
  ]);
  rows.push([
    `\`${r.runtime}.owned_lifecycle_floor_vs_raw\`: the same native work with no JS (raw create, then custody's register and destroy through raw FFI)`,
    `**${fmt(r.owned_lifecycle_floor_vs_raw, 3)}** (${fmt(r.registered_lifecycle_ns)} ns)`,
    `${fmt(r.registered_lifecycle_ns_p25)} to ${fmt(r.registered_lifecycle_ns_p75)} (p25 to p75); custody against it: ${fmt(r.owned_lifecycle_vs_floor, 2)}x`,
    "the limit for `owned_lifecycle_vs_raw`",
  ]);
  rows.push([
    `\`${r.runtime}.js_alloc_release_vs_raw\`: \`alloc(types.u64).release()\``,
    `**${fmt(r.js_alloc_release_vs_raw, 3)}** (${fmt(r.js_alloc_release_ns)} ns vs ${fmt(r.raw_malloc_free_ns)} ns)`,
    `custody ${fmt(r.js_alloc_release_ns_p25)} to ${fmt(r.js_alloc_release_ns_p75)}; raw ${fmt(r.raw_malloc_free_ns_p25)} to ${fmt(r.raw_malloc_free_ns_p75)} (p25 to p75); every process: ${r.js_alloc_release_vs_raw_processes}`,
    `<= 2 (${verdict(r.js_alloc_release_vs_raw, 2)})`,
  ]);
  rows.push([
    `\`${r.runtime}.js_alloc_release_tracked_vs_raw\`: the tracked allocator alone, no registry entry, no JS (a zeroed tracked block and \`custody_free\` through raw FFI)`,
    `**${fmt(r.js_alloc_release_tracked_vs_raw, 3)}** (${fmt(r.tracked_allocation_ns)} ns)`,
    `${fmt(r.tracked_allocation_ns_p25)} to ${fmt(r.tracked_allocation_ns_p75)} (p25 to p75)`,
    "part of the limit below",
  ]);
  rows.push([
    `\`${r.runtime}.js_alloc_release_floor_vs_raw\`: the same native work with no JS (\`custody_alloc_owned_number\` and destroy through raw FFI)`,
    `**${fmt(r.js_alloc_release_floor_vs_raw, 3)}** (${fmt(r.registered_allocation_ns)} ns)`,
    `custody against it: ${fmt(r.js_alloc_release_vs_floor, 2)}x`,
    "the limit for `js_alloc_release_vs_raw`",
  ]);
  rows.push([
    `GC reclamation, ${r.runtime}: ${r.gc_dropped_allocations} dropped allocations (RSS MB)`,
    `${fmt(r.gc_rss_before_mb, 1)} before, ${fmt(r.gc_rss_after_mb, 1)} after (growth **${fmt(r.gc_rss_growth_mb, 1)}**); after a second 10^6, ${fmt(r.gc_rss_after_second_mb, 1)} (growth **${fmt(r.gc_rss_second_growth_mb, 1)}**)`,
    `peak ${fmt(r.gc_rss_peak_mb, 1)}; ${r.gc_blocks_left} blocks left`,
    "flat",
  ]);
  rows.push([
    `generation check, ${r.runtime} (ns per check)`,
    `**${fmt(r.generation_check_ns)}** (${fmt(r.checked_loop_per_handle_ns)} ns with, ${fmt(r.baseline_loop_per_handle_ns)} ns without)`,
    `with: ${fmt(r.checked_loop_per_handle_ns_p25)} to ${fmt(r.checked_loop_per_handle_ns_p75)}; without: ${
      fmt(r.baseline_loop_per_handle_ns_p25)
    } to ${fmt(r.baseline_loop_per_handle_ns_p75)} (p25 to p75)`,
    "",
  ]);
  rows.push([
    `natively validated lookup, ${r.runtime} (ns per call)`,
    fmt(r.native_validated_lookup_ns),
    `${fmt(r.native_validated_lookup_ns_p25)} to ${fmt(r.native_validated_lookup_ns_p75)} (p25 to p75)`,
    "",
  ]);
}
const levels = (r: typeof deno) => r.scale as unknown as Level[];
for (const r of [deno, bun]) {
  rows.push([
    `\`${r.runtime}.koffi_call_vs_raw\`: the same call through koffi`,
    `**${fmt(r.koffi_call_vs_raw, 3)}** (${fmt(r.koffi_call_ns)} ns)`,
    `${fmt(r.koffi_call_ns_p25)} to ${fmt(r.koffi_call_ns_p75)} (p25 to p75)`,
    "",
  ]);
  rows.push([
    `\`${r.runtime}.handwritten_call_vs_raw\`: the same call through a hand-written wrapper`,
    `**${fmt(r.handwritten_call_vs_raw, 3)}** (${fmt(r.handwritten_call_ns)} ns)`,
    `${fmt(r.handwritten_call_ns_p25)} to ${fmt(r.handwritten_call_ns_p75)} (p25 to p75)`,
    "",
  ]);
  for (const [key, what] of [["handwritten_lifecycle", "hand-written create + dispose"], ["koffi_lifecycle", "koffi create + destroy"]]) {
    rows.push([
      `\`${r.runtime}.${key}_vs_raw\`: ${what}`,
      `**${fmt(r[`${key}_vs_raw`], 3)}** (${fmt(r[`${key}_ns`])} ns)`,
      `${fmt(r[`${key}_ns_p25`])} to ${fmt(r[`${key}_ns_p75`])} (p25 to p75)`,
      "",
    ]);
  }
  for (const [key, what] of [["gc_lifecycle", "custody create, reclaimed by the GC"], ["handwritten_gc_lifecycle", "hand-written create, reclaimed by the GC"]]) {
    rows.push([
      `\`${r.runtime}.${key}_vs_raw\`: ${what}`,
      `**${fmt(r[`${key}_vs_raw`], 3)}** (${fmt(r[`${key}_ns`])} ns)`,
      `${fmt(r[`${key}_ns_min`])} to ${fmt(r[`${key}_ns_max`])} (min to max batch)`,
      "",
    ]);
  }
  const [first, last] = [levels(r)[0], levels(r).at(-1)!];
  for (const [key, what] of [["checked_call", "checked call"], ["raw_call", "raw call (same objects)"], ["create", "create"], ["release", "release"]]) {
    rows.push([
      `\`${r.runtime}.scale_${key}_growth\`: ${what}, ${first.live_handles} to ${last.live_handles} live handles`,
      `**${fmt(r[`scale_${key}_growth`], 2)}x** (${fmt(first[`${key}_ns`])} to ${fmt(last[`${key}_ns`])} ns)`,
      levels(r).map((level) => fmt(level[`${key}_ns`], 0)).join(", ") + " ns",
      key === "raw_call" ? "" : `flat, <= 2 (${verdict(r[`scale_${key}_growth`], 2)})`,
    ]);
  }
  rows.push([
    `memory per live object, ${r.runtime} (${r.memory_objects} owned windows)`,
    `**${fmt(r.rss_bytes_per_object, 0)} B** RSS`,
    `JS heap ${fmt(r.js_heap_bytes_per_object, 0)} B + native ${fmt(r.native_bytes_per_object, 0)} B (of which ${fmt(r.tracked_bytes_per_object, 0)} B the window's tracked block)`,
    "",
  ]);
  rows.push([
    `\`${r.runtime}.fuzz_commands_per_s\`: \`fuzz/campaign.ts\`, 1 worker`,
    `**${fmt(r.fuzz_commands_per_s, 0)}**`,
    `${r.fuzz_runs} runs in ${fmt(r.fuzz_seconds, 1)} s, ${r.fuzz_failures} failures`,
    `>= 20000 (${Number(r.fuzz_commands_per_s) >= 20000 ? "meets" : "misses"})`,
  ]);
}

// One hue per operation, darker for Deno; raw calls dashed.
const palette: Record<string, [string, string]> = {
  checked_call: ["#1f4e99", "#6fa8ff"],
  raw_call: ["#555555", "#aaaaaa"],
  create: ["#1a7a33", "#6fd08a"],
  release: ["#a33c00", "#ff9a5c"],
};
const chartSeries: Series[] = [deno, bun].flatMap((r, shade) =>
  [["checked_call", "checked call"], ["raw_call", "raw call"], ["create", "create"], ["release", "release"]].map(([key, what]) => ({
    label: `${r.runtime}: ${what}`,
    color: palette[key][shade],
    dashed: key === "raw_call",
    points: levels(r).map((level) => ({ x: level.live_handles, y: level[`${key}_ns`] })),
  }))
);
const chartPath = readmePath.replace(/[^/]*$/, "scale.svg");
Deno.writeTextFileSync(chartPath, lineChart("custody: cost per operation against live handles", "ns per operation (median)", chartSeries));

const table = rows.map((row) => `| ${row.join(" | ")} |`).join("\n");

// Where a target is missed, what the floor measurements say about where the limit is.
const limits: string[] = [];
for (const r of [deno, bun]) {
  if (Number(r.checked_call_vs_raw) > 1.25) {
    limits.push(
      `- \`${r.runtime}.checked_call_vs_raw\` is ${fmt(r.checked_call_vs_raw)} (target 1.25; every process: ${r.checked_call_vs_raw_processes}). ` +
        `The raw call with only the generation check written inline, the check no checked call can skip, is ` +
        `${fmt(r.checked_call_floor_vs_raw)}x raw (${fmt(r.checked_call_floor_ns)} ns against ${fmt(r.raw_call_ns)} ns). custody's bound call, ` +
        `with the rest of its checks (arity, the argument's type, its wrapper's record, the open-callback guard), is ${fmt(r.checked_call_vs_floor)}x that floor; ` +
        `the hand-written wrapper, with a Map lookup and no type check, costs ${fmt(r.handwritten_call_vs_raw)}x raw. ` +
        `Measured each alone, in processes of their own, the raw call takes ${fmt(r.raw_call_alone_ns)} ns, its floor ` +
        `${fmt(r.checked_call_floor_alone_ns)} ns and custody's call ${fmt(r.checked_call_alone_ns)} ns (${fmt(r.checked_call_alone_vs_raw)}x): ` +
        `next to the other cases, any JS around the FFI call costs more.`,
    );
  }
  if (Number(r.owned_lifecycle_vs_raw) > 3) {
    limits.push(
      `- \`${r.runtime}.owned_lifecycle_vs_raw\` is ${fmt(r.owned_lifecycle_vs_raw)} (target 3). The native work alone, raw create plus ` +
        `custody's register and destroy through raw FFI with no JS, is already ${fmt(r.owned_lifecycle_floor_vs_raw)}x raw ` +
        `(${fmt(r.registered_lifecycle_ns, 0)} ns against ${fmt(r.raw_lifecycle_ns, 0)} ns): one more FFI crossing and the registry entry. ` +
        `custody's wrapper (identity, state, safety-net finalizer) adds ${fmt(r.owned_lifecycle_vs_floor)}x on top; the hand-written ` +
        `wrapper, with less safety, costs ${fmt(r.handwritten_lifecycle_vs_raw)}x raw.`,
    );
  }
  if (Number(r.js_alloc_release_vs_raw) > 2) {
    limits.push(
      `- \`${r.runtime}.js_alloc_release_vs_raw\` is ${fmt(r.js_alloc_release_vs_raw)} (target 2). The native work alone, a tracked ` +
        `block and its registry entry made in one call and destroyed in another through raw FFI with no JS, is ` +
        `${fmt(r.js_alloc_release_floor_vs_raw)}x raw \`malloc\` plus \`free\` (${fmt(r.registered_allocation_ns, 0)} ns against ` +
        `${fmt(r.raw_malloc_free_ns, 0)} ns). The tracked allocator alone, which \`alloc\` must use, is ` +
        `${fmt(r.js_alloc_release_tracked_vs_raw)}x raw through the same FFI (${fmt(r.tracked_allocation_ns, 0)} ns) and ` +
        `${fmt(native.tracked_pair_vs_glibc)}x glibc natively (guards, quarantine, poisoning, its block table), so it leaves ` +
        `${fmt(Math.max(0, 2 - Number(r.js_alloc_release_tracked_vs_raw)))}x of the target for the registry entry and all of the JS. ` +
        `The JS side (the block's owner wrapper and its \`Pointer\`) adds ${fmt(r.js_alloc_release_vs_floor)}x on top of the floor.`,
    );
  }
}


Deno.writeTextFileSync(
  readmePath,
  `# Benchmarks

Regenerated by \`make bench\` on ${results.machine}, ${results.generated_at}. Raw figures: [results.json](results.json).

${table}

![scale sweep](scale.svg)
${limits.length === 0 ? "" : `
## Where a target is missed

${limits.join("\n")}
`}
- **Tracked allocator** (\`zig/bench/alloc_bench.zig\`): a ring of ${native.pairs_per_round} malloc+free pairs per round with sizes
  cycling through 8..512 bytes, ${native.rounds} rounds alternating glibc and tracked in one process; the median round is
  reported; this runs in ${processes.length} processes (processes differ: ratios ${native.tracked_pair_vs_glibc_processes}) and the
  median process is shown. The tracked side runs its defaults: quarantine of ${native.quarantine_max_count} blocks, ${native.canary_size}-byte
  canary, poisoning ${native.poison === 1 ? "on" : "off"}.
- **Generation check** (\`bench/generation_check.ts\`, mitata): one read of the mapped generation table plus a compare, per
  handle over 1024 live handles, minus the same loop without the check; medians of mitata's samples, with their p25 to p75.
- **Natively validated lookup**: one FFI call that takes the registry lock and validates the handle; what a check costs
  when it is not done in JS.
- **Ownership checks** (\`bench/ownership.ts\`, mitata): \`wg_window_child_count\` of the example library through custody's
  bindings on a borrowed window, against the same symbol through the runtime's own FFI, and against that raw call
  behind an inline read and compare of the window's generation (the checked call's floor); and \`wg_window_new\` plus
  \`release()\` against raw \`wg_window_new\` plus \`wg_window_destroy\`. This runs in ${deno.checked_call_vs_raw_process_count} processes per
  runtime; calls and lifecycles each show their median process, and every process's ratio is listed with them.
  The three calls are also measured each alone (\`bench/call_alone.ts\`), in ${deno.call_alone_process_count} processes of its own per case and
  runtime; shown is each case's median process.
- **Peers** (\`bench/ownership.ts\`): the same \`wg_window_child_count\` call through koffi (npm \`koffi\`, Node-API, in
  both runtimes) and through a typical hand-written wrapper (\`bench/handwritten.ts\`: a class, a FinalizationRegistry,
  a Map from id to pointer checked on every call); their lifecycles (create plus dispose or destroy). **GC reclamation
  lifecycle**: batches of 50000 windows created and dropped, forced collections until the library's live count is
  back, per window, 5 batches (finalizers run only after the event loop turns, which mitata cannot wait for).
- **Scale** (\`bench/scale.ts\`, chart: [scale.svg](scale.svg)): the live handles are registry entries, among them
  512 owned windows spread across the slots; checked and raw calls cycle over those windows (mitata); create and
  release are timed per batch of 10^4 (7 batches, median). The sweep runs in ${deno.scale_steepest_growth_process_count} processes per runtime; shown is the
  process whose steepest growth is the median (steepest growth per process: Deno ${deno.scale_steepest_growth_processes};
  Bun ${bun.scale_steepest_growth_processes}). Memory per live object is measured apart with
  ${deno.memory_objects} owned windows held by JS: RSS growth, JS heap growth, and RSS minus JS heap as native.
- **Fuzz throughput**: \`fuzz/campaign.ts\` for ${fmt(deno.fuzz_seconds, 0)} s per runtime, one worker; commands/s from its
  stats.json.
- **Memory API** (\`bench/memory.ts\`, mitata): \`alloc(types.u64).release()\` against libc \`malloc(8)\` plus \`free\`
  through the runtime's own FFI, alternating rounds with two floors: the tracked allocator alone (a zeroed tracked block plus
  \`custody_free\`) and a tracked block with its registry entry (\`custody_alloc_owned_number\` plus destroy), each through raw
  FFI with no JS; then 10^6 allocations dropped without release, the collector forced
  every 10^5, with the process's RSS before and after and the tracked blocks left. This runs in ${deno.js_alloc_release_vs_raw_process_count} processes per runtime;
  the figures are those of the process with the median alloc+release ratio.
`,
);
console.log(`wrote ${resultsPath}, ${readmePath} and ${chartPath}`);
