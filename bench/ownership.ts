/**
 * What ownership checking costs, against raw FFI, in one process:
 *
 * - `checked_call_vs_raw`: `wg_window_child_count(window)` through custody's bindings, on a
 *   borrowed window, against the same symbol called raw.
 * - `owned_lifecycle_vs_raw`: `wg_window_new` + `release()` through custody (registry entry,
 *   identity, finalizer, destructor run natively) against raw `wg_window_new` +
 *   `wg_window_destroy`.
 *
 * The raw side is each runtime's own FFI used the way its documentation shows (Deno:
 * pointer objects; Bun: numbers), so this file, unlike custody's sources, asks which runtime
 * runs. Writes a JSON object to the path given as the first argument.
 *
 * @module
 */
import { measure } from "mitata";
import { writeResult } from "./write_result.ts";
import { runtime } from "../mod.ts";
import { widgetsLibrary, widgetsPath } from "../examples/widgets.ts";
import { borrow, type NativeObject } from "../src/ownership/wrapper.ts";

interface RawWidgets {
  newWindow(): unknown;
  destroy(window: unknown): void;
  childCount(window: unknown): unknown;
}

async function rawWidgets(): Promise<RawWidgets> {
  const denoApi = (globalThis as { Deno?: typeof Deno }).Deno;
  if (denoApi !== undefined && !("Bun" in globalThis)) {
    const lib = denoApi.dlopen(widgetsPath, {
      wg_window_new: { parameters: ["pointer", "usize"], result: "pointer" },
      wg_window_destroy: { parameters: ["pointer"], result: "void" },
      wg_window_child_count: { parameters: ["pointer"], result: "i64" },
    });
    return {
      newWindow: () => lib.symbols.wg_window_new(null, 0n),
      destroy: (w) => lib.symbols.wg_window_destroy(w as Deno.PointerValue),
      childCount: (w) => lib.symbols.wg_window_child_count(w as Deno.PointerValue),
    };
  }
  const specifier = "bun:ffi";
  const ffi = await import(specifier) as {
    dlopen(path: string, symbols: Record<string, { args: string[]; returns: string }>): {
      symbols: Record<string, (...args: unknown[]) => unknown>;
    };
  };
  const lib = ffi.dlopen(widgetsPath, {
    wg_window_new: { args: ["ptr", "u64"], returns: "ptr" },
    wg_window_destroy: { args: ["ptr"], returns: "void" },
    wg_window_child_count: { args: ["ptr"], returns: "i64_fast" },
  });
  return {
    newWindow: () => lib.symbols.wg_window_new(null, 0),
    destroy: (w) => lib.symbols.wg_window_destroy(w),
    childCount: (w) => lib.symbols.wg_window_child_count(w),
  };
}

const raw = await rawWidgets();
const w = widgetsLibrary.functions;
let sink = 0;

// Calls: one window, used raw and, borrowed, through custody.
const rawWindow = raw.newWindow();
const ownedWindow = w.wg_window_new(0, 0)!;
const borrowedWindow = borrow(widgetsLibrary.types.Window, (ownedWindow as NativeObject).address) as typeof ownedWindow;
const cases = {
  rawCall: () => {
    sink += Number(raw.childCount(rawWindow));
  },
  checkedCall: () => {
    sink += w.wg_window_child_count(borrowedWindow);
  },
  rawLifecycle: () => raw.destroy(raw.newWindow()),
  ownedLifecycle: () => w.wg_window_new(0, 0)!.release(),
};
type Stats = Awaited<ReturnType<typeof measure>>;
// The same call measured later in a process can take twice as long (seen on Bun and Deno
// here), so the sides alternate, round after round, and each reports its median round.
const rounds: Record<keyof typeof cases, Stats[]> = { rawCall: [], checkedCall: [], rawLifecycle: [], ownedLifecycle: [] };
for (let round = 0; round < 3; round++) {
  for (const name of Object.keys(cases) as (keyof typeof cases)[]) rounds[name].push(await measure(cases[name]));
}
const median = (samples: Stats[]) => [...samples].sort((a, b) => a.p50 - b.p50)[1];
const rawCall = median(rounds.rawCall);
const checkedCall = median(rounds.checkedCall);
const rawLifecycle = median(rounds.rawLifecycle);
const ownedLifecycle = median(rounds.ownedLifecycle);

raw.destroy(rawWindow);
ownedWindow.release();

const result = {
  runtime: runtime.name,
  raw_call_ns: rawCall.p50,
  checked_call_ns: checkedCall.p50,
  checked_call_vs_raw: checkedCall.p50 / rawCall.p50,
  raw_call_ns_p25: rawCall.p25,
  raw_call_ns_p75: rawCall.p75,
  checked_call_ns_p25: checkedCall.p25,
  checked_call_ns_p75: checkedCall.p75,
  raw_lifecycle_ns: rawLifecycle.p50,
  owned_lifecycle_ns: ownedLifecycle.p50,
  owned_lifecycle_vs_raw: ownedLifecycle.p50 / rawLifecycle.p50,
  raw_lifecycle_ns_p25: rawLifecycle.p25,
  raw_lifecycle_ns_p75: rawLifecycle.p75,
  owned_lifecycle_ns_p25: ownedLifecycle.p25,
  owned_lifecycle_ns_p75: ownedLifecycle.p75,
};
if (sink === -1) console.log("unreachable");
writeResult(result);
