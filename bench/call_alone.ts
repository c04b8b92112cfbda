/**
 * One call case of bench/ownership.ts measured alone, in a process that measures nothing
 * else: `raw` (`wg_window_child_count` through the runtime's own FFI), `floor` (that call
 * behind an inline read and compare of the window's generation) or `checked` (the call
 * through custody's bindings on a borrowed window).
 *
 * Side by side in one process the same call costs more, by as much as the JIT makes of the
 * mix of cases (on Bun the raw call measured 53 ns alone and 63 ns next to the other cases).
 * `scripts/bench.sh` runs each case in processes of its own, and the report sets them next
 * to the side-by-side ratio.
 *
 * Usage: `bench/call_alone.ts OUT_JSON CASE`. Writes `{ runtime, case, ns }`: the median of
 * 7 mitata rounds' medians. mitata's forced collection before each round is off: these calls
 * allocate nothing, and after forced collections Bun ran the same raw call at either 53 or
 * 67 ns from one round to the next (measured), which says nothing about the call.
 *
 * @module
 */
import process from "node:process";
import { measure } from "mitata";
import { writeResult } from "./write_result.ts";
import { rawWidgets } from "./raw_widgets.ts";
import { runtime } from "../mod.ts";
import { widgetsLibrary } from "../examples/widgets.ts";
import { borrow, handleOf, type NativeObject } from "../src/ownership/wrapper.ts";
import { generations } from "../src/registry.ts";

const args = (globalThis as { Deno?: { args: string[] } }).Deno?.args ?? process.argv.slice(2);
const which = args[1];
const raw = await rawWidgets();
const w = widgetsLibrary.functions;
const rawWindow = raw.newWindow();
const ownedWindow = w.wg_window_new(0, 0)!;
const borrowedWindow = borrow(widgetsLibrary.types.Window, (ownedWindow as NativeObject).address) as typeof ownedWindow;
const { slot, generation } = handleOf(borrowedWindow);
let sink = 0;
const cases: Record<string, () => void> = {
  raw: () => {
    sink += raw.childCount(rawWindow);
  },
  floor: () => {
    if (generations[slot] !== generation) throw new Error("The window died");
    sink += raw.childCount(rawWindow);
  },
  checked: () => {
    sink += w.wg_window_child_count(borrowedWindow);
  },
};
const call = cases[which];
if (call === undefined) throw new Error(`Cannot measure ${which}: the cases are ${Object.keys(cases).join(", ")}`);
const rounds: number[] = [];
for (let round = 0; round < 7; round++) rounds.push((await measure(call, { gc: false })).p50);
raw.destroy(rawWindow);
ownedWindow.release();
if (sink === -1) console.log("unreachable");
writeResult({ runtime: runtime.name, case: which, ns: rounds.sort((a, b) => a - b)[3] });
