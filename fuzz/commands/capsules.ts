/**
 * Capsules: made in JS (owned, with a JS destructor or none) or natively
 * (`custody_capsule_new`, owned or borrowed by JS); read by name; consumed once by JS
 * (`consume`) or by native code (`custody_capsule_consume`, which JS learns as
 * `nativeDestroyed`); a borrowed capsule destroyed by native code. A consumed capsule's
 * destructor never runs; a destroyed one's runs exactly once.
 *
 * Capsules point at made-up addresses, one per capsule and run: nothing is dereferenced.
 *
 * @module
 */
import fc from "fast-check";
import { Capsule, capsuleWrapper } from "../../src/capsule.ts";
import type { ErrorCode } from "../../src/errors.ts";
import { native } from "../../src/native/library.ts";
import { outParameters, utf8 } from "../../src/native/scratch.ts";
import * as registry from "../../src/registry.ts";
import { checkDestructorRuns, command, expectOutcome, fail, type Family, heldWrappers, index, pick, refusalOf, step } from "../command.ts";
import type { Model, NativeModel, WrapperModel } from "../model.ts";
import type { Real } from "../system.ts";

const names = ["fuzz.tensor", "fuzz.buffer", null] as const;
type Name = typeof names[number];
const kind = "custody.capsule";

/** What the model knows of a capsule. */
interface CapsuleModel {
  readonly name: Name;
  readonly address: number;
  readonly handle: registry.Handle;
  /** It has a JS destructor; runs observed. */
  readonly hasDestructor: boolean;
  runs: number;
}

const capsules = new WeakMap<NativeModel, CapsuleModel>();
const held = (model: Readonly<Model>) => heldWrappers(model as Model, kind);
const name = fc.constantFrom(...names);

function facts(wrapper: WrapperModel): CapsuleModel {
  return capsules.get(wrapper.native)!;
}

function capsuleOf(real: Real, wrapper: WrapperModel): Capsule {
  return real.get(wrapper.id) as unknown as Capsule;
}

/** A made-up address no other live capsule of the run has. */
function addressFor(model: Model): number {
  return 0x7e00_0000 + model.natives.length * 16;
}

function describe(n: Name): string {
  return n === null ? "null" : n;
}

const create = command("capsuleNew", fc.tuple(name, fc.boolean()), ([n, destructor]) =>
  step("capsuleNew", `${describe(n)}, ${destructor ? "JS destructor" : "no destructor"}`, () => true, (model, real, label) => {
    const address = addressFor(model);
    let record: CapsuleModel | undefined;
    const capsule = expectOutcome(label, undefined, () => Capsule.create(address, n, destructor ? { destructor: () => record!.runs++ } : {}));
    const wrapper = model.addWrapper(model.addNative(kind), "owned");
    record = { name: n, address, handle: capsule.handle, hasDestructor: destructor, runs: 0 };
    capsules.set(wrapper.native, record);
    real.add(capsule, address, capsuleWrapper(capsule));
  })
);

/** A capsule native code made, owned by JS (owner code 1) or borrowed (2): JS sees it through fromHandle. */
const fromNative = command("capsuleFromNative", fc.tuple(name, fc.boolean()), ([n, owned]) =>
  step("capsuleFromNative", `${describe(n)}, ${owned ? "owned" : "borrowed"}`, () => true, (model, real, label) => {
    const address = addressFor(model);
    const status = native.custody_capsule_new(address, n === null ? 0 : utf8(n).address, 0, 0, owned ? 1 : 2, outParameters.address);
    if (status !== 0) fail("outcome", label, "STATUS", `custody_capsule_new returned ${status}`);
    const handle = { slot: outParameters.view.getUint32(0, true), generation: outParameters.view.getUint32(4, true) };
    const capsule = expectOutcome(label, undefined, () => Capsule.fromHandle(handle, n));
    const wrapper = model.addWrapper(model.addNative(kind), owned ? "owned" : "borrowed");
    capsules.set(wrapper.native, { name: n, address, handle, hasDestructor: false, runs: 0 });
    real.add(capsule, address, capsuleWrapper(capsule));
    if (capsule.state !== wrapper.state) fail("state", label, "STATE", `the capsule is ${capsule.state}, the model says ${wrapper.state}`);
  })
);

/** The error get() and consume() raise before anything changes: used when invalid, then the exact name. */
function refusal(model: Model, wrapper: WrapperModel, n: Name): ErrorCode | undefined {
  return refusalOf(model, [[wrapper, "use"]]) ?? (facts(wrapper).name === n ? undefined : "NAME_MISMATCH");
}

const get = command("capsuleGet", fc.tuple(index, name), ([i, n]) =>
  step("capsuleGet", `capsule ${i}, ${describe(n)}`, (m) => held(m).length > 0, (model, real, label) => {
    const wrapper = pick(held(model), i)!;
    const code = refusal(model, wrapper, n);
    const pointer = expectOutcome(label, code, () => capsuleOf(real, wrapper).get(n));
    if (code === undefined && pointer !== facts(wrapper).address) fail("outcome", label, "RESULT", `get returned 0x${pointer.toString(16)}`);
    checkRuns(wrapper, label);
  })
);

const consume = command("capsuleConsume", fc.tuple(index, name), ([i, n]) =>
  step("capsuleConsume", `capsule ${i}, ${describe(n)}`, (m) => held(m).length > 0, (model, real, label) => {
    const wrapper = pick(held(model), i)!;
    const code = refusal(model, wrapper, n);
    const prediction = code === undefined ? model.apply(wrapper, "consume") : undefined;
    const refused = code ?? (prediction!.allowed ? undefined : prediction!.code);
    const pointer = expectOutcome(label, refused, () => capsuleOf(real, wrapper).consume(n));
    if (refused !== undefined) return;
    if (pointer !== facts(wrapper).address) fail("outcome", label, "RESULT", `consume returned 0x${pointer.toString(16)}`);
    // The consumer destroys what the capsule pointed at: the made-up address needs nothing.
    wrapper.native.alive = false;
    checkRuns(wrapper, label);
  })
);

/** Native code consumes the capsule by its handle; JS learns it at the next use. */
const nativeConsume = command("capsuleNativeConsume", fc.tuple(index, name), ([i, n]) =>
  step("capsuleNativeConsume", `capsule ${i}, ${describe(n)}`, (m) => held(m).length > 0, (model, real, label) => {
    const wrapper = pick(held(model), i)!, record = facts(wrapper);
    const live = wrapper.native.entry === wrapper;
    const status = native.custody_capsule_consume(record.handle.slot, record.handle.generation, n === null ? 0 : utf8(n).address, outParameters.address);
    const succeeds = live && record.name === n;
    if ((status === 0) !== succeeds) fail("outcome", label, "STATUS", `custody_capsule_consume returned ${status}, the model expects ${succeeds ? "success" : "a failure"}`);
    if (!succeeds) return;
    if (outParameters.view.getUint32(0, true) !== record.address) fail("outcome", label, "RESULT", "the native consumer got another pointer");
    model.destroyNotified(wrapper.native);
    const state = capsuleOf(real, wrapper).state;
    if (state !== wrapper.state) fail("state", label, "STATE", `the consumed capsule is ${state}, the model says ${wrapper.state}`);
    checkRuns(wrapper, label);
  })
);

const borrowedLive = (model: Readonly<Model>) => held(model).filter((w) => w.state === "borrowed" && w.native.entry === w);

/** Native code destroys a capsule it owns (JS borrowed it) and the registry entry with it. */
function destroyNatively(model: Model, wrapper: WrapperModel): void {
  registry.destroy(facts(wrapper).handle);
  model.destroyNotified(wrapper.native);
}

const nativeDestroy = command("capsuleNativeDestroy", index, (i) =>
  step("capsuleNativeDestroy", `capsule ${i}`, (m) => borrowedLive(m).length > 0, (model, real, label) => {
    const wrapper = pick(borrowedLive(model), i)!;
    destroyNatively(model, wrapper);
    if (capsuleOf(real, wrapper).isValid()) fail("state", label, "STATE", "a capsule native code destroyed is still valid");
  })
);

/** A capsule's JS destructor ran once if the registry destroyed it (release, dispose, collect), never otherwise. */
function checkRuns(wrapper: WrapperModel, label: string): void {
  const record = facts(wrapper);
  if (record.hasDestructor) checkDestructorRuns(wrapper, record.runs, `destructor of capsule ${wrapper.id}`, label);
}

/** The end of a run: capsules native code still owns are destroyed by it; destructor runs checked. */
function finish(model: Model): void {
  for (const wrapper of model.wrappers) {
    if (!capsules.has(wrapper.native)) continue;
    if (wrapper.state === "borrowed" && wrapper.native.entry === wrapper) destroyNatively(model, wrapper);
    if (wrapper.native.entry === undefined) wrapper.native.alive = false;
    checkRuns(wrapper, "cleanup");
  }
}

/** The capsules family. */
export const family: Family = { name: "capsules", commands: [create, fromNative, get, consume, nativeConsume, nativeDestroy], finish };
