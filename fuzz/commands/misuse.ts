/**
 * Deliberate misuse with foreign handles: a wrapper of another type, a number, a plain
 * object, null where an object is required. Refused with INVALID_ARGUMENT before native code
 * runs, whatever the wrapper's state. (Stale and invalid wrappers are misused by every other
 * family: their picks include invalid wrappers.)
 *
 * @module
 */
import fc from "fast-check";
import { Capsule } from "../../src/capsule.ts";
import { events, isAllowed, transitions } from "../../src/ownership/transitions.ts";
import { apply, handleOf, type NativeObject } from "../../src/ownership/wrapper.ts";
import * as registry from "../../src/registry.ts";
import { command, expectOutcome, type Family, heldWrappers, index, pick, step } from "../command.ts";
import type { Model, WrapperModel } from "../model.ts";
import { lib, type Real } from "../system.ts";

const foreigns = ["otherType", "number", "object", "null"] as const;

const foreign = command("foreign", fc.tuple(index, fc.constantFrom(...foreigns)), ([n, what]) =>
  step("foreign", `${what} ${n}`, () => true, (model, real, label) => {
    const other = pick(heldWrappers(model).filter((w) => w.native.kind !== "Window"), n);
    const value: unknown = what === "otherType" ? (other === undefined ? 42 : real.held[other.id]) : what === "number" ? 0x1000 + n : what === "object" ? {} : null;
    expectOutcome(label, "INVALID_ARGUMENT", () => (lib.wg_window_child_count as (w: unknown) => unknown)(value));
  })
);

/** The registry wrapper behind what JS holds: a NativeObject, or a memory Pointer's owner (a Capsule hides its own). */
function wrapperObject(real: Real, wrapper: WrapperModel): NativeObject | undefined {
  return real.held[wrapper.id] instanceof Capsule ? undefined : real.registryObject(wrapper.id);
}

const reachable = (model: Readonly<Model>, real: Real) => heldWrappers(model as Model).filter((w) => wrapperObject(real, w) !== undefined);

/**
 * Any event the table refuses in the wrapper's state, or accepts without moving it or doing
 * anything, applied to the wrapper directly: the table's error, nothing changed. This reaches
 * the pairs no binding produces (a child asked to consume, an invalid object stolen).
 */
const refusedEvent = command("refusedEvent", fc.tuple(index, fc.constantFrom(...events)), ([n, event]) =>
  step("refusedEvent", `object ${n}, ${event}`, (m) => heldWrappers(m as Model).length > 0, (model, real, label) => {
    const wrapper = pick(reachable(model, real), n);
    if (wrapper === undefined) return;
    const outcome = transitions[wrapper.state][event];
    if (isAllowed(outcome) && (outcome.to !== wrapper.state || outcome.effect !== "none")) return;
    const prediction = model.apply(wrapper, event);
    const object = wrapperObject(real, wrapper)!;
    expectOutcome(label, prediction.allowed ? undefined : prediction.code, () => apply(object, event, { event, by: "fuzz" }));
  })
);

/** A stale handle (an invalid wrapper's) handed to the registry: refused natively, whatever its slot holds now. */
const staleHandle = command("staleHandle", index, (n) =>
  step("staleHandle", `object ${n}`, (m) => heldWrappers(m as Model).some((w) => w.state === "invalid"), (model, real, label) => {
    const wrapper = pick(reachable(model, real).filter((w) => w.state === "invalid"), n);
    if (wrapper === undefined) return;
    expectOutcome(label, "STALE_HANDLE", () => registry.info(handleOf(wrapperObject(real, wrapper)!)));
  })
);

/** The misuse family. */
export const family: Family = { name: "misuse", commands: [foreign, refusedEvent, staleHandle] };
