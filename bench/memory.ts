/**
 * What the memory API costs, against raw FFI, in one process:
 *
 * - `js_alloc_release_vs_raw`: `alloc(types.u64).release()` (tracked block, registry owner,
 *   wrapper, finalizer, the destructor run natively) against libc `malloc(8)` + `free` called
 *   through the runtime's own FFI, the sides alternating round after round with mitata;
 *   with, between them, the same native work with no JS wrapper (`custody_alloc_owned_number`
 *   + `custody_capsule_destroy` through raw FFI, bench/raw_custody.ts): the floor
 *   (`js_alloc_release_floor_vs_raw`, and custody against it, `js_alloc_release_vs_floor`);
 *   and the part of that floor the tracked allocator takes alone, a tracked block with no
 *   registry entry (a zeroed tracked block + `custody_free`, `js_alloc_release_tracked_vs_raw`).
 * - GC reclamation: 10^6 allocations dropped without release, the garbage collector forced
 *   every 10^5; the process's RSS before and after, and the tracked blocks still live; then a
 *   second 10^6 the same way, and the RSS growth over it.
 *
 * The raw side asks which runtime runs (bench/raw_ffi.ts). Writes a JSON object to the path
 * given as the first argument.
 *
 * @module
 */
import { writeResult } from "./write_result.ts";
import { alternate, collect, nanoseconds } from "./rounds.ts";
import { rawCustody } from "./raw_custody.ts";
import { bunDlopen, deno } from "./raw_ffi.ts";
import { rawWidgets } from "./raw_widgets.ts";
import { runtime, stats } from "../mod.ts";
import { alloc, types } from "../src/memory/mod.ts";

interface RawLibc {
  pair(): void;
}

async function rawLibc(): Promise<RawLibc> {
  if (deno !== undefined) {
    const lib = deno.dlopen("libc.so.6", {
      malloc: { parameters: ["usize"], result: "pointer" },
      free: { parameters: ["pointer"], result: "void" },
    });
    const size = 8n;
    return { pair: () => lib.symbols.free(lib.symbols.malloc(size)) };
  }
  const lib = await bunDlopen("libc.so.6", {
    malloc: { args: ["u64_fast"], returns: "ptr" },
    free: { args: ["ptr"], returns: "void" },
  });
  return { pair: () => lib.free(lib.malloc(8)) };
}

const raw = await rawLibc();
const floor = await rawCustody(await rawWidgets());
const figures = await alternate({
  raw: () => raw.pair(),
  tracked: () => floor.trackedAllocation(),
  floor: () => floor.registeredAllocation(),
  custody: () => alloc(types.u64).release(),
});
const rawPair = figures.raw, trackedPair = figures.tracked, floorPair = figures.floor, custodyPair = figures.custody;

const collectAll = () => collect(runtime.collectGarbage);
const mb = (bytes: number) => bytes / 2 ** 20;
const dropped = 1_000_000;
const batch = 100_000;
await collectAll();
const liveBefore = stats().liveCount;
const rssBefore = process.memoryUsage().rss;
let rssPeak = rssBefore;
/** Drops `dropped` allocations, collecting every `batch`, until every block is freed; returns the RSS then. */
async function dropAll(): Promise<number> {
  for (let done = 0; done < dropped; done += batch) {
    for (let i = 0; i < batch; i++) alloc(types.u64);
    await collectAll();
    rssPeak = Math.max(rssPeak, process.memoryUsage().rss);
  }
  for (let i = 0; i < 20 && stats().liveCount > liveBefore; i++) await collectAll();
  return process.memoryUsage().rss;
}
const rssAfter = await dropAll();
// A second million: what the heap kept after the first (engines keep pages they grew into)
// is reused, so RSS that still grows here would be a leak.
const rssAfterSecond = await dropAll();

writeResult({
  runtime: runtime.name,
  ...nanoseconds("raw_malloc_free", rawPair),
  ...nanoseconds("js_alloc_release", custodyPair),
  js_alloc_release_vs_raw: custodyPair.p50 / rawPair.p50,
  ...nanoseconds("tracked_allocation", trackedPair),
  js_alloc_release_tracked_vs_raw: trackedPair.p50 / rawPair.p50,
  ...nanoseconds("registered_allocation", floorPair),
  js_alloc_release_floor_vs_raw: floorPair.p50 / rawPair.p50,
  js_alloc_release_vs_floor: custodyPair.p50 / floorPair.p50,
  gc_dropped_allocations: dropped,
  gc_rss_before_mb: mb(rssBefore),
  gc_rss_peak_mb: mb(rssPeak),
  gc_rss_after_mb: mb(rssAfter),
  gc_rss_growth_mb: mb(rssAfter - rssBefore),
  gc_rss_after_second_mb: mb(rssAfterSecond),
  gc_rss_second_growth_mb: mb(rssAfterSecond - rssAfter),
  gc_blocks_left: stats().liveCount - liveBefore,
});
