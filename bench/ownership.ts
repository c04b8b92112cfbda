/**
 * Calls and object lifecycles through custody, against raw FFI (the limit) and the peers, in
 * one process:
 *
 * - calls: `wg_window_child_count(window)` raw; through custody's bindings on a borrowed
 *   window (`checked_call_vs_raw`); through koffi (`koffi_call_vs_raw`); through a typical
 *   hand-written wrapper (`handwritten_call_vs_raw`, bench/handwritten.ts).
 * - lifecycles: raw `wg_window_new` + `wg_window_destroy`; custody's owned create +
 *   `release()` (`owned_lifecycle_vs_raw`); the same native work with no JS wrapper, raw
 *   create plus custody's register and destroy through raw FFI (bench/raw_custody.ts): the
 *   floor of an owned lifecycle (`owned_lifecycle_floor_vs_raw`, and custody against it,
 *   `owned_lifecycle_vs_floor`); the hand-written wrapper's create + `dispose()`
 *   (`handwritten_lifecycle_vs_raw`); koffi's create + destroy (`koffi_lifecycle_vs_raw`).
 * - create followed by GC reclamation: batches of windows dropped without release, collected
 *   until the library's live count is back, per window, through custody
 *   (`gc_lifecycle_vs_raw`) and through the hand-written wrapper
 *   (`handwritten_gc_lifecycle_vs_raw`). Finalizers run only after the event loop turns,
 *   which mitata cannot wait for, so these are timed per batch, 5 batches, median and range.
 *
 * Writes a JSON object to the path given as the first argument.
 *
 * @module
 */
import { writeResult } from "./write_result.ts";
import { alternate, collect, nanosecondRange, nanoseconds, range, type Range } from "./rounds.ts";
import { rawWidgets } from "./raw_widgets.ts";
import { rawCustody } from "./raw_custody.ts";
import { koffiWidgets } from "./koffi_widgets.ts";
import { handwrittenWindows } from "./handwritten.ts";
import { runtime } from "../mod.ts";
import { widgetsLibrary } from "../examples/widgets.ts";
import { callCases } from "./call_cases.ts";

const raw = await rawWidgets();
const floor = await rawCustody(raw);
const koffi = koffiWidgets();
const handwritten = handwrittenWindows(raw);
const w = widgetsLibrary.functions;
let sink = 0;

// Calls: one window each, used raw (also behind the inline generation check: the checked
// call's floor), borrowed through custody, through koffi, and hand-wrapped.
const calls = callCases(raw);
const koffiWindow = koffi.newWindow();
const handWindow = handwritten.create();
const figures = await alternate({
  rawCall: calls.raw,
  checkedCall: calls.checked,
  generationCheckedCall: calls.floor,
  koffiCall: () => {
    sink += koffi.childCount(koffiWindow);
  },
  handwrittenCall: () => {
    sink += handWindow.childCount();
  },
  rawLifecycle: () => raw.destroy(raw.newWindow()),
  ownedLifecycle: () => w.wg_window_new(0, 0)!.release(),
  registeredLifecycle: () => floor.registeredLifecycle(),
  handwrittenLifecycle: () => handwritten.create().dispose(),
  koffiLifecycle: () => koffi.destroy(koffi.newWindow()),
});
calls.close();
koffi.destroy(koffiWindow);
handWindow.dispose();

/** Per-object time of `batch` creations dropped and reclaimed by the collector: median and range of `rounds` batches. */
async function reclaimed(create: () => unknown, batch = 50_000, rounds = 5) {
  const perObject: number[] = [];
  await collect(runtime.collectGarbage);
  const baseline = raw.liveObjects();
  for (let round = 0; round < rounds; round++) {
    const started = performance.now();
    for (let i = 0; i < batch; i++) create();
    for (let turns = 0; raw.liveObjects() > baseline; turns++) {
      if (turns === 200) throw new Error(`Cannot measure reclamation: ${raw.liveObjects() - baseline} windows never reclaimed`);
      await collect(runtime.collectGarbage, 1);
    }
    perObject.push((performance.now() - started) * 1e6 / batch);
  }
  return range(perObject);
}
const gcLifecycle = await reclaimed(() => w.wg_window_new(0, 0));
const handwrittenGcLifecycle = await reclaimed(() => handwritten.create());

function reclamation(name: string, batch: Range): Record<string, number> {
  return { ...nanosecondRange(name, batch), [`${name}_vs_raw`]: batch.p50 / rawLifecycle };
}
const rawCall = figures.rawCall.p50, rawLifecycle = figures.rawLifecycle.p50;
const result = {
  runtime: runtime.name,
  ...nanoseconds("raw_call", figures.rawCall),
  ...nanoseconds("checked_call", figures.checkedCall),
  ...nanoseconds("koffi_call", figures.koffiCall),
  ...nanoseconds("handwritten_call", figures.handwrittenCall),
  checked_call_vs_raw: figures.checkedCall.p50 / rawCall,
  ...nanoseconds("checked_call_floor", figures.generationCheckedCall),
  checked_call_floor_vs_raw: figures.generationCheckedCall.p50 / rawCall,
  checked_call_vs_floor: figures.checkedCall.p50 / figures.generationCheckedCall.p50,
  koffi_call_vs_raw: figures.koffiCall.p50 / rawCall,
  handwritten_call_vs_raw: figures.handwrittenCall.p50 / rawCall,
  ...nanoseconds("raw_lifecycle", figures.rawLifecycle),
  ...nanoseconds("owned_lifecycle", figures.ownedLifecycle),
  ...nanoseconds("handwritten_lifecycle", figures.handwrittenLifecycle),
  ...nanoseconds("koffi_lifecycle", figures.koffiLifecycle),
  owned_lifecycle_vs_raw: figures.ownedLifecycle.p50 / rawLifecycle,
  ...nanoseconds("registered_lifecycle", figures.registeredLifecycle),
  owned_lifecycle_floor_vs_raw: figures.registeredLifecycle.p50 / rawLifecycle,
  owned_lifecycle_vs_floor: figures.ownedLifecycle.p50 / figures.registeredLifecycle.p50,
  handwritten_lifecycle_vs_raw: figures.handwrittenLifecycle.p50 / rawLifecycle,
  koffi_lifecycle_vs_raw: figures.koffiLifecycle.p50 / rawLifecycle,
  ...reclamation("gc_lifecycle", gcLifecycle),
  ...reclamation("handwritten_gc_lifecycle", handwrittenGcLifecycle),
};
if (sink === -1) console.log("unreachable");
writeResult(result);
