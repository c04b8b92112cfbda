/**
 * The cost of custody's fast-path validity check: one read of the mapped generation table
 * and one compare, measured per check over 1024 live handles against the same loop without
 * the check; and, for scale, the natively validated lookup (an FFI call that takes the
 * registry lock). Writes a JSON object to the path given as the first argument.
 *
 * @module
 */
import { measure } from "mitata";
import { writeResult } from "./write_result.ts";
import { registry, runtime } from "../mod.ts";
import { native } from "../src/native/library.ts";
import { outParameters } from "../src/native/scratch.ts";

const count = 1024;
const handles = Array.from({ length: count }, (_, i) => registry.create(0x10_0000 + i * 16));
const slots = new Uint32Array(handles.map((h) => h.slot));
const gens = new Uint32Array(handles.map((h) => h.generation));
const table = registry.generations;
let sink = 0;

const baseline = await measure(() => {
  let live = 0;
  for (let i = 0; i < count; i++) live += slots[i] ^ gens[i];
  sink += live;
});
const checked = await measure(() => {
  let live = 0;
  for (let i = 0; i < count; i++) live += (table[slots[i]] === gens[i] ? 1 : 0) + (slots[i] ^ gens[i]);
  sink += live;
});
const validated = await measure(() => {
  const h = handles[sink++ & (count - 1)];
  native.custody_capsule_pointer(h.slot, h.generation, 0, outParameters.address);
});

for (const h of handles) registry.destroy(h);
const perHandle = (value: number) => value / count;
const result = {
  runtime: runtime.name,
  generation_check_ns: Math.max(0, perHandle(checked.p50) - perHandle(baseline.p50)),
  checked_loop_per_handle_ns: perHandle(checked.p50),
  checked_loop_per_handle_ns_p25: perHandle(checked.p25),
  checked_loop_per_handle_ns_p75: perHandle(checked.p75),
  baseline_loop_per_handle_ns: perHandle(baseline.p50),
  baseline_loop_per_handle_ns_p25: perHandle(baseline.p25),
  baseline_loop_per_handle_ns_p75: perHandle(baseline.p75),
  native_validated_lookup_ns: validated.p50,
  native_validated_lookup_ns_p25: validated.p25,
  native_validated_lookup_ns_p75: validated.p75,
};
if (sink === -1) console.log("unreachable");
writeResult(result);
