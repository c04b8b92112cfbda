/**
 * One call case of bench/ownership.ts (see bench/call_cases.ts: `raw`, `floor` or `checked`)
 * measured alone, in a process that measures nothing else.
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
import { callCases } from "./call_cases.ts";
import { runtime } from "../mod.ts";

const args = (globalThis as { Deno?: { args: string[] } }).Deno?.args ?? process.argv.slice(2);
const which = args[1];
const cases = callCases(await rawWidgets());
const call = (which === "raw" || which === "floor" || which === "checked") ? cases[which] : undefined;
if (call === undefined) throw new Error(`Cannot measure ${which}: the cases are raw, floor and checked`);
const rounds: number[] = [];
for (let round = 0; round < 7; round++) rounds.push((await measure(call, { gc: false })).p50);
cases.close();
writeResult({ runtime: runtime.name, case: which, ns: rounds.sort((a, b) => a - b)[3] });
