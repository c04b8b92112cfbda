/**
 * The scale sweep: what a checked call, a create and a release cost with 10^3, 10^5, 10^6
 * and 10^7 live handles, and what a live object costs in memory.
 *
 * The live handles are registry entries (`registry.create`, no JS wrapper kept), so that
 * 10^7 of them fit in this machine's time budget; among them, at every level/512th slot, an
 * owned window of the example library, created through custody's bindings. At each level:
 *
 * - `checked_call`: `wg_window_child_count` through the bindings, with mitata, cycling over
 *   those 512 windows spread across the live slots (so the generation table and the native
 *   objects are read where they lie, not from one hot cache line), and `raw_call`, the same
 *   symbol through the runtime's own FFI on the same 512 windows: the physical limit at
 *   that level;
 * - `lifecycle`: one owned create + `release()` on top of the live set, with mitata;
 * - `create` and `release` apart: a batch of 10^4 windows created (and, after an event-loop
 *   turn, given their identity entry and finalizer), then released; 7 batches, per window,
 *   median and range (mitata cannot time one half of a pair).
 *
 * Memory per live object is measured apart, with 10^6 owned windows held by JS: the growth
 * of the process's RSS, of the JS heap (`process.memoryUsage()`), and their difference
 * (native: the registry entry, the generation slot, the window and the tracked allocator's
 * bookkeeping), per window, after forced collections.
 *
 * 10^7 entries need a registry larger than the default 2^22 slots: run it with
 * CUSTODY_REGISTRY_CAPACITY set (scripts/bench.sh sets 2^24). The second argument caps the
 * top level and the memory population (for a quick run). Writes a JSON object to the path
 * given as the first argument.
 *
 * @module
 */
import process from "node:process";
import { measure } from "mitata";
import { writeResult } from "./write_result.ts";
import { collect, nanosecondRange, nanoseconds, range } from "./rounds.ts";
import { rawWidgets } from "./raw_widgets.ts";
import { registry, runtime, stats } from "../mod.ts";
import { widgetsLibrary } from "../examples/widgets.ts";
import type { NativeObject } from "../src/ownership/wrapper.ts";

type Window = NonNullable<ReturnType<typeof widgetsLibrary.functions.wg_window_new>>;
const w = widgetsLibrary.functions;
const raw = await rawWidgets();
const args = (globalThis as { Deno?: { args: string[] } }).Deno?.args ?? process.argv.slice(2);
const topLevel = Number(args[1] ?? 1e7);
const levels = [1e3, 1e5, 1e6, 1e7].filter((level) => level <= topLevel);
const sampleSize = 512;
const turn = () => new Promise((resolve) => setTimeout(resolve, 0));
let sink = 0;

/** Per-window time of `batch` creations, then of their releases: median and range of `rounds` batches. */
async function createAndRelease(batch = 10_000, rounds = 7) {
  const creates: number[] = [], releases: number[] = [];
  const windows: Window[] = new Array(batch);
  for (let round = 0; round < rounds; round++) {
    let started = performance.now();
    for (let i = 0; i < batch; i++) windows[i] = w.wg_window_new(0, 0)!;
    await turn();
    creates.push((performance.now() - started) * 1e6 / batch);
    started = performance.now();
    for (let i = 0; i < batch; i++) windows[i].release();
    releases.push((performance.now() - started) * 1e6 / batch);
  }
  return { create: range(creates), release: range(releases) };
}

// The live set: bare entries, and a window at every level/512th of it.
const entries = { slots: new Uint32Array(topLevel), generations: new Uint32Array(topLevel), count: 0 };
const windows: Window[] = [];
const sweep: Record<string, number>[] = [];
/** Adds bare entries until the live set, entries and windows, reaches `size`. */
function fillTo(size: number): void {
  while (entries.count + windows.length < size) {
    const handle = registry.create(0x10_0000 + entries.count * 16);
    entries.slots[entries.count] = handle.slot;
    entries.generations[entries.count++] = handle.generation;
  }
}
for (const level of levels) {
  const started = performance.now();
  const stride = level / sampleSize;
  for (const window of windows.splice(0)) window.release();
  for (let i = 0; i < sampleSize; i++) {
    fillTo(Math.floor(i * stride));
    windows.push(w.wg_window_new(0, 0)!);
  }
  fillTo(level);
  await turn();
  const fillSeconds = (performance.now() - started) / 1000;
  const pointers = windows.map((window) => raw.pointerAt((window as NativeObject).address));
  let next = 0;
  const rawCall = await measure(() => {
    sink += raw.childCount(pointers[next++ & (sampleSize - 1)]);
  });
  const checkedCall = await measure(() => {
    sink += w.wg_window_child_count(windows[next++ & (sampleSize - 1)]);
  });
  const lifecycle = await measure(() => w.wg_window_new(0, 0)!.release());
  const { create, release } = await createAndRelease();
  sweep.push({
    live_handles: entries.count + windows.length,
    fill_s: fillSeconds,
    ...nanoseconds("raw_call", rawCall),
    ...nanoseconds("checked_call", checkedCall),
    checked_call_vs_raw: checkedCall.p50 / rawCall.p50,
    ...nanoseconds("lifecycle", lifecycle),
    ...nanosecondRange("create", create),
    ...nanosecondRange("release", release),
  });
  console.log(JSON.stringify(sweep[sweep.length - 1]));
}
for (const window of windows.splice(0)) window.release();
for (let i = 0; i < entries.count; i++) registry.destroy({ slot: entries.slots[i], generation: entries.generations[i] });

// Memory per live object: owned windows, each held by JS.
interface Memory {
  rss: number;
  heap: number;
  tracked: number;
}
async function memory(): Promise<Memory> {
  await collect(runtime.collectGarbage);
  const { rss, heapUsed } = process.memoryUsage();
  return { rss, heap: heapUsed, tracked: stats().liveBytes };
}
const population = Math.min(topLevel, 1e6);
const empty = await memory();
const held: Window[] = [];
while (held.length < population) {
  const end = Math.min(population, held.length + 100_000);
  while (held.length < end) held.push(w.wg_window_new(0, 0)!);
  await turn();
}
const full = await memory();
for (const window of held) window.release();
const perObject = (bytes: number) => bytes / population;

const first = sweep[0], last = sweep[sweep.length - 1];
const growth = (key: string) => last[key] / first[key];
if (sink === -1) console.log("unreachable");
writeResult({
  runtime: runtime.name,
  registry_capacity: registry.generations.length - 1,
  scale_levels: levels.join(", "),
  scale_checked_call_growth: growth("checked_call_ns"),
  scale_raw_call_growth: growth("raw_call_ns"),
  scale_lifecycle_growth: growth("lifecycle_ns"),
  scale_create_growth: growth("create_ns"),
  scale_release_growth: growth("release_ns"),
  memory_objects: population,
  rss_bytes_per_object: perObject(full.rss - empty.rss),
  js_heap_bytes_per_object: perObject(full.heap - empty.heap),
  native_bytes_per_object: perObject(full.rss - empty.rss - (full.heap - empty.heap)),
  tracked_bytes_per_object: perObject(full.tracked - empty.tracked),
  scale: sweep,
});
