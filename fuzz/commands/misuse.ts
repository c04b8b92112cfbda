/**
 * Deliberate misuse with foreign handles: a wrapper of another type, a number, a plain
 * object, null where an object is required. Refused with INVALID_ARGUMENT before native code
 * runs, whatever the wrapper's state. (Stale and invalid wrappers are misused by every other
 * family: their picks include invalid wrappers.)
 *
 * @module
 */
import fc from "fast-check";
import { expectOutcome, type Family, heldWrappers, index, pick, step } from "../command.ts";
import { lib } from "../system.ts";

const foreigns = ["otherType", "number", "object", "null"] as const;

const foreign = fc.tuple(index, fc.constantFrom(...foreigns)).map(([n, what]) =>
  step("foreign", `${what} ${n}`, () => true, (model, real, label) => {
    const other = pick(heldWrappers(model).filter((w) => w.native.kind !== "Window"), n);
    const value: unknown = what === "otherType" ? (other === undefined ? 42 : real.held[other.id]) : what === "number" ? 0x1000 + n : what === "object" ? {} : null;
    expectOutcome(label, "INVALID_ARGUMENT", () => (lib.wg_window_child_count as (w: unknown) => unknown)(value));
  })
);

/** The misuse family. */
export const family: Family = { name: "misuse", commands: [foreign] };
