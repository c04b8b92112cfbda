/**
 * The memory API: blocks from `alloc` (with initialisers it must refuse, leaving nothing
 * allocated), raw blocks given an owner by `gc()` with a native or a JS destructor, pinned JS
 * buffers from `fromBuffer`; pointers derived from them (`cast`, `addressof`, elements) used
 * long after their owner may be gone; `cancelDestructor()` (the `disown` event), after which
 * JS frees the block itself and tells the registry; attempts to detach a pinned buffer;
 * capsules over a block (registry views of it), read, consumed, destroyed by native code, or
 * taken along when the block ends, which their destructors must not see.
 *
 * Every block is an `i32[n]`: the model keeps its words, and every read is compared with them.
 *
 * @module
 */
import fc from "fast-check";
import * as allocator from "../../src/allocator.ts";
import { Capsule, capsuleWrapper } from "../../src/capsule.ts";
import type { ErrorCode } from "../../src/errors.ts";
import { runtime } from "../../src/ffi/mod.ts";
import { addressof, alloc, array, cast, fromBuffer, gc, Pointer, types } from "../../src/memory/mod.ts";
import { locate } from "../../src/memory/pointer.ts";
import { libraryPath } from "../../src/native/library.ts";
import { symbolAddress } from "../../src/native/symbol_address.ts";
import { handleOf, type NativeObject } from "../../src/ownership/wrapper.ts";
import * as registry from "../../src/registry.ts";
import { checkDestructorRuns, command, expectOutcome, fail, type Family, heldWrappers, index, pick, refusalOf, step } from "../command.ts";
import type { Model, NativeModel, WrapperModel } from "../model.ts";
import type { Real } from "../system.ts";

type Source = "alloc" | "gcNative" | "gcJs" | "pinned";

/** What the model knows of one block, and what the real side needs to reach it again. */
interface Block {
  readonly source: Source;
  readonly words: number[];
  readonly address: number;
  /** The pinned typed array (pinned blocks only). */
  readonly view: Int32Array | undefined;
  /** The buffer was detached behind custody's back (structuredClone with a transfer list). */
  detached: boolean;
  /** Runs of its JS destructor, as observed. */
  runs: number;
  /** Pointers derived from it that JS holds (with its own pointer: dropped with it). */
  derived: number;
  /** A structuredClone of the detached buffer, when kept: while it is, its memory is not reused. */
  clone: ArrayBuffer | undefined;
}

const blocks = new WeakMap<NativeModel, Block>();
const kinds: Readonly<Record<Source, string>> = { alloc: "custody.memory", gcNative: "custody.memory", gcJs: "custody.memory", pinned: "custody.buffer" };
const custodyFree = symbolAddress(libraryPath(), "custody_free");

const memories = (model: Readonly<Model>) => heldWrappers(model as Model, "custody.memory");
const pins = (model: Readonly<Model>) => heldWrappers(model as Model, "custody.buffer");
/** Every block JS holds, valid or not (custody guards every use of one). */
const anyBlock = (model: Readonly<Model>) => [...memories(model), ...pins(model)];
const hasBlock = (model: Readonly<Model>) => memories(model).length > 0 || pins(model).length > 0;

function blockOf(wrapper: WrapperModel): Block {
  return blocks.get(wrapper.native)!;
}

function pointerOf(real: Real, wrapper: WrapperModel): Pointer {
  return real.get(wrapper.id) as unknown as Pointer;
}

function ownerOf(pointer: Pointer): NativeObject {
  return locate(pointer).block.owner!;
}

function added(model: Model, real: Real, source: Source, pointer: Pointer, n: number, view?: Int32Array): Block {
  const wrapper = model.addWrapper(model.addNative(kinds[source]), "owned");
  const block: Block = { source, words: new Array(n).fill(0), address: pointer.address, view, detached: false, runs: 0, derived: 0, clone: undefined };
  blocks.set(wrapper.native, block);
  real.add(pointer, block.address, ownerOf(pointer));
  return block;
}

/**
 * The error any use of a block raises, and its effect on the model: INVALID_OBJECT once its
 * owner is invalid; for a pinned buffer detached behind custody's back, BUFFER_DETACHED, and
 * custody learns then that the memory is gone (`nativeDestroyed`).
 */
function useOf(model: Model, wrapper: WrapperModel): ErrorCode | undefined {
  const refused = refusalOf(model, [[wrapper, "use"]]);
  if (refused !== undefined) return refused;
  if (blockOf(wrapper).detached) {
    model.destroyNotified(wrapper.native);
    return "BUFFER_DETACHED";
  }
  return undefined;
}

/**
 * What `release()` of `wrapper` raises before the table is asked, and its effect on the model:
 * a pin whose buffer was detached behind custody's back, not reported yet, reports it
 * (BUFFER_DETACHED) and ends, as at a use.
 */
export function releaseReport(model: Model, wrapper: WrapperModel): ErrorCode | undefined {
  const block = blocks.get(wrapper.native);
  if (block === undefined || !block.detached || wrapper.state === "invalid") return undefined;
  model.destroyNotified(wrapper.native);
  return "BUFFER_DETACHED";
}

/** An i32 value, or (bad) one alloc must refuse: not an integer, or out of range. */
const word = fc.integer({ min: -0x8000_0000, max: 0x7FFF_FFFF });
const badWord = fc.constantFrom(1.5, 2 ** 33, -(2 ** 40));

const allocBlock = command("alloc", fc.tuple(fc.integer({ min: 1, max: 6 }), fc.array(word, { maxLength: 6 }), fc.option(fc.tuple(fc.nat(5), badWord), { nil: undefined })), ([n, init, bad]) =>
    step("alloc", `i32[${n}], [${init.join(",")}]${bad === undefined ? "" : `, bad ${bad[1]} at ${bad[0]}`}`, () => true, (model, real, label) => {
      const values = Array.from({ length: n }, (_, k) => init[k] ?? 0);
      if (bad !== undefined) values[bad[0] % n] = bad[1];
      const pointer = expectOutcome(label, bad === undefined ? undefined : "INVALID_ARGUMENT", () => alloc(array(types.i32, n), values));
      if (bad !== undefined) return;
      const block = added(model, real, "alloc", pointer, n);
      values.forEach((v, i) => block.words[i] = v);
      if (allocator.blockSize(block.address) === undefined) fail("outcome", label, "NOT_ALLOCATED", "alloc returned memory the tracked allocator does not know");
    })
  );

const gcBlock = command("gc", fc.tuple(fc.integer({ min: 1, max: 6 }), fc.boolean()), ([n, js]) =>
  step("gc", `i32[${n}], ${js ? "JS" : "native"} destructor`, () => true, (model, real, label) => {
    const raw = allocator.malloc(n * 4, { zero: true });
    let block: Block | undefined;
    const destructor = js
      ? (address: number) => {
        allocator.free(address);
        block!.runs++;
      }
      : custodyFree;
    const pointer = expectOutcome(label, undefined, () => gc(raw, destructor, { size: n * 4, type: array(types.i32, n) }));
    block = added(model, real, js ? "gcJs" : "gcNative", pointer, n);
  })
);

/**
 * Pins `view`. A pin whose buffer was detached behind custody's back (not noticed yet) still
 * holds its address, and the engine may have handed that memory to `view` (structuredClone
 * moves it there; a collected clone's memory is reused): the old pin ends then, as its next
 * use would have ended it, and the new one takes the address.
 */
function pin(model: Model, real: Real, label: string, view: Int32Array, words: readonly number[] = []): void {
  const address = runtime.addressOf(view);
  const lost = model.wrappers.find((w) => w.native.kind === "custody.buffer" && w.native.entry !== undefined && blockOf(w).detached && blockOf(w).address === address);
  const pointer = expectOutcome(label, undefined, () => fromBuffer(view));
  if (lost !== undefined) model.destroyNotified(lost.native);
  added(model, real, "pinned", pointer, view.length, view).words.splice(0, words.length, ...words);
}

const pinBlock = command("fromBuffer", fc.integer({ min: 1, max: 6 }), (n) =>
  step("fromBuffer", `Int32Array(${n})`, () => true, (model, real, label) => pin(model, real, label, new Int32Array(n)))
);

const write = command("memWrite", fc.tuple(index, fc.nat(5), word), ([i, at, value]) =>
  step("memWrite", `block ${i}, [${at}] = ${value}`, (m) => hasBlock(m), (model, real, label) => {
    const wrapper = pick(anyBlock(model), i)!, block = blockOf(wrapper);
    const code = useOf(model, wrapper);
    expectOutcome(label, code, () => pointerOf(real, wrapper).set(at % block.words.length, value));
    if (code === undefined) block.words[at % block.words.length] = value;
  })
);

function bytesOf(words: readonly number[]): number[] {
  return [...new Uint8Array(Int32Array.from(words).buffer)];
}

function same(a: unknown, b: unknown): boolean {
  return JSON.stringify(a) === JSON.stringify(b);
}

/** A pointer derived from a block, and what it should read. */
interface Derived {
  readonly pointer: Pointer;
  readonly expected: (words: readonly number[]) => unknown;
  readonly what: string;
}

/** The derived pointers of a wrapper JS holds: its companions, dropped with it. */
function derivedList(real: Real, wrapper: WrapperModel): Derived[] {
  let list = real.companions.get(wrapper.id) as Derived[] | undefined;
  if (list === undefined) real.companions.set(wrapper.id, list = []);
  return list;
}

const hows = ["cast", "addressof", "at"] as const;
/** A wrapper JS holds stays held until dropped, and a dropped block is never taken back during a run. */
const withDerived = (model: Readonly<Model>) => anyBlock(model).filter((w) => blockOf(w).derived > 0);

const derive = command("derive", fc.tuple(index, fc.constantFrom(...hows), fc.nat(5)), ([i, how, k]) =>
  step("derive", `block ${i}, ${how} ${k}`, (m) => hasBlock(m), (model, real, label) => {
    const wrapper = pick(anyBlock(model), i)!, block = blockOf(wrapper);
    const root = pointerOf(real, wrapper);
    const at = k % block.words.length;
    // An element pointer is made without touching memory; a cast and addressof check the owner first.
    const code = how === "at" ? undefined : useOf(model, wrapper);
    const pointer = expectOutcome(label, code, () => how === "cast" ? cast(array(types.u8), root) : how === "addressof" ? addressof(root, at) : root.at(at));
    if (code !== undefined) return;
    const list = derivedList(real, wrapper);
    if (list.length >= 4) list.shift();
    block.derived = list.length + 1;
    list.push(how === "cast"
      ? { pointer, expected: bytesOf, what: "bytes" }
      : { pointer, expected: (words) => words[at], what: `element ${at}` });
  })
);

const readDerived = command("readDerived", fc.tuple(index, fc.nat(3)), ([i, j]) =>
  step("readDerived", `block ${i}, derived ${j}`, (m) => withDerived(m).length > 0, (model, real, label) => {
    const wrapper = pick(withDerived(model), i)!, block = blockOf(wrapper);
    const list = derivedList(real, wrapper);
    if (list.length !== block.derived) fail("model", label, "DERIVED", `JS holds ${list.length} derived pointers, the model ${block.derived}`);
    const derived = list[j % list.length];
    const code = useOf(model, wrapper);
    const value = expectOutcome(label, code, () => derived.pointer.value);
    if (code === undefined && !same(value, derived.expected(block.words))) {
      fail("outcome", label, "VALUE", `the ${derived.what} pointer read ${JSON.stringify(value)}, the model has ${JSON.stringify(derived.expected(block.words))}`);
    }
  })
);

const readRoot = command("memRead", index, (i) =>
  step("memRead", `block ${i}`, (m) => hasBlock(m), (model, real, label) => {
    const wrapper = pick(anyBlock(model), i)!, block = blockOf(wrapper);
    const code = useOf(model, wrapper);
    const value = expectOutcome(label, code, () => pointerOf(real, wrapper).value);
    if (code === undefined && !same(value, block.words)) fail("outcome", label, "VALUE", `the block reads ${JSON.stringify(value)}, the model has ${JSON.stringify(block.words)}`);
    if (block.view !== undefined && code === undefined && !same([...block.view], block.words)) fail("outcome", label, "VALUE", "the pinned buffer and its pointer disagree");
  })
);

/**
 * cancelDestructor() on a block's own pointer (the `disown` event), or on one derived from it
 * (refused), or on a pin (refused after the use checks: a pin has no destructor).
 */
const cancel = command("cancelDestructor", fc.tuple(index, fc.boolean()), ([i, derived]) =>
  step("cancelDestructor", `block ${i}${derived ? ", derived" : ""}`, (m) => hasBlock(m), (model, real, label) => {
    const wrapper = pick(anyBlock(model), i)!;
    if (derived) {
      const code = useOf(model, wrapper) ?? "NOT_OWNER";
      expectOutcome(label, code, () => cast(types.i32, pointerOf(real, wrapper)).cancelDestructor());
      return;
    }
    if (blockOf(wrapper).source === "pinned") {
      const code = useOf(model, wrapper) ?? "BUFFER_PINNED";
      expectOutcome(label, code, () => pointerOf(real, wrapper).cancelDestructor());
      return;
    }
    const prediction = model.apply(wrapper, "disown");
    expectOutcome(label, prediction.allowed ? undefined : prediction.code, () => pointerOf(real, wrapper).cancelDestructor());
  })
);

/** Frees a disowned block the way its new owner would, and tells the registry. */
function freeDisowned(model: Model, real: Real, wrapper: WrapperModel): void {
  const block = blockOf(wrapper);
  if (block.source !== "pinned") allocator.free(block.address);
  registry.notifyDestroyed(handleOf(real.registryObject(wrapper.id)!));
  model.destroyNotified(wrapper.native);
}

const disownedLive = (model: Readonly<Model>) => anyBlock(model).filter((w) => w.state === "borrowed" && w.native.alive);

const free = command("freeDisowned", index, (i) =>
  step("freeDisowned", `block ${i}`, (m) => disownedLive(m).length > 0, (model, real, label) => {
    const wrapper = pick(disownedLive(model), i)!;
    freeDisowned(model, real, wrapper);
    if (pointerOf(real, wrapper).state !== "invalid") fail("state", label, "STATE", "a block freed and notified is still usable");
  })
);

/** What becomes of the buffer structuredClone moved a pinned buffer's memory to. */
const clones = ["kept", "dropped", "pinned"] as const;

/**
 * Pulling a pinned buffer's memory away: `transfer()` is refused while the pin lives;
 * structuredClone with a transfer list cannot be stopped, and is reported at the next use. Its
 * clone is kept, dropped (the engine may give the memory to a new buffer during the run), or
 * pinned (at the old pin's address). Recipes saved before the choice existed keep it.
 */
const detach = command("detachBuffer", fc.tuple(index, fc.boolean(), fc.constantFrom(...clones)), ([i, clone, then]) =>
  step("detachBuffer", `pin ${i}, ${clone ? `structuredClone, clone ${then ?? "kept"}` : "transfer()"}`, (m) => pins(m).some((w) => !blockOf(w).detached), (model, real, label) => {
    const wrapper = pick(pins(model).filter((w) => !blockOf(w).detached), i)!, block = blockOf(wrapper);
    const buffer = block.view!.buffer as ArrayBuffer;
    if (!clone) {
      const pinned = wrapper.state !== "invalid";
      expectOutcome(label, pinned ? "BUFFER_PINNED" : undefined, () => buffer.transfer());
      if (!pinned) block.detached = true;
      return;
    }
    const moved = structuredClone(buffer, { transfer: [buffer] });
    block.detached = true;
    // The clone has the pinned buffer's memory, words and all.
    if (then === "pinned") pin(model, real, label, new Int32Array(moved), block.words);
    else if (then !== "dropped") block.clone = moved;
  })
);

/** What the model knows of a capsule over a block: a registry view of the block's entry. */
interface View {
  readonly name: string;
  readonly address: number;
  handle: registry.Handle;
  /** Runs of its JS destructor, as observed. */
  runs: number;
  /** Native code destroyed its entry while it lived: its destructor ran then. */
  destroyedNatively: boolean;
}

const views = new WeakMap<NativeModel, View>();
const viewKind = "custody.view";
const heldViews = (model: Readonly<Model>) => heldWrappers(model as Model, viewKind);

function viewOf(wrapper: WrapperModel): View {
  return views.get(wrapper.native)!;
}

function capsuleOf(real: Real, wrapper: WrapperModel): Capsule {
  return real.get(wrapper.id) as unknown as Capsule;
}

/**
 * A destructor that counts its runs in `view`, and holds nothing else: custody holds a JS
 * destructor until its capsule ends, and one that reached the capsule (through the run's
 * `Real`, say) would keep it from ever being collected.
 */
function counting(view: View): () => void {
  return () => view.runs++;
}

/** A capsule over a block from `alloc` or `gc` (pinned buffers have tests of their own), with a JS destructor. */
const capsuleOver = command("capsuleOver", index, (i) =>
  step("capsuleOver", `block ${i}`, (m) => memories(m).length > 0, (model, real, label) => {
    const wrapper = pick(memories(model), i)!;
    const code = useOf(model, wrapper);
    // A name of its own: the block's other views never stand in its way.
    const name = `fuzz.view.${model.natives.length}`;
    const view: View = { name, address: blockOf(wrapper).address, handle: { slot: 0, generation: 0 }, runs: 0, destroyedNatively: false };
    const block = pointerOf(real, wrapper);
    const capsule = expectOutcome(label, code, () => Capsule.create(block, name, { destructor: counting(view) }));
    if (code !== undefined) return;
    view.handle = capsule.handle;
    const native = model.addNative(viewKind);
    model.addWrapper(native, "owned");
    model.addView(wrapper.native, native);
    views.set(native, view);
    real.add(capsule, view.address, capsuleWrapper(capsule));
  })
);

/** get(name) with the capsule's own name: the block's address while both live. */
const viewGet = command("viewGet", index, (i) =>
  step("viewGet", `view ${i}`, (m) => heldViews(m).length > 0, (model, real, label) => {
    const wrapper = pick(heldViews(model), i)!, view = viewOf(wrapper);
    const code = refusalOf(model, [[wrapper, "use"]]);
    const pointer = expectOutcome(label, code, () => capsuleOf(real, wrapper).get(view.name));
    if (code === undefined && pointer !== view.address) fail("outcome", label, "RESULT", `get returned 0x${pointer.toString(16)}, the block is at 0x${view.address.toString(16)}`);
    checkViewRuns(wrapper, label);
  })
);

/** The consume-once hand-off: the consumer gets the block's address; no destructor runs, then or later. */
const viewConsume = command("viewConsume", index, (i) =>
  step("viewConsume", `view ${i}`, (m) => heldViews(m).length > 0, (model, real, label) => {
    const wrapper = pick(heldViews(model), i)!, view = viewOf(wrapper);
    const code = refusalOf(model, [[wrapper, "use"]]);
    const prediction = code === undefined ? model.apply(wrapper, "consume") : undefined;
    const refused = code ?? (prediction!.allowed ? undefined : prediction!.code);
    const pointer = expectOutcome(label, refused, () => capsuleOf(real, wrapper).consume(view.name));
    if (refused !== undefined) return;
    if (pointer !== view.address) fail("outcome", label, "RESULT", `consume returned 0x${pointer.toString(16)}`);
    // The consumer leaves the block alone: it is still its owner's.
    model.destroyNotified(wrapper.native);
    checkViewRuns(wrapper, label);
  })
);

/** Native code destroys a live view's entry (custody_capsule_destroy): its destructor runs once, the block still there. */
const viewNativeDestroy = command("viewNativeDestroy", index, (i) =>
  step("viewNativeDestroy", `view ${i}`, (m) => heldViews(m).some((w) => w.native.entry === w), (model, real, label) => {
    const wrapper = pick(heldViews(model).filter((w) => w.native.entry === w), i)!, view = viewOf(wrapper);
    registry.destroy(view.handle);
    view.destroyedNatively = true;
    model.destroyNotified(wrapper.native);
    if (capsuleOf(real, wrapper).isValid()) fail("state", label, "STATE", "a capsule native code destroyed is still valid");
    checkViewRuns(wrapper, label);
  })
);

/** A view's JS destructor ran once if it ended itself (released, disposed, collected, destroyed natively), never otherwise. */
function checkViewRuns(wrapper: WrapperModel, label: string): void {
  const view = viewOf(wrapper);
  const expected = wrapper.destroyed || view.destroyedNatively ? 1 : 0;
  if (view.runs !== expected) fail("destructor", label, "DESTRUCTOR_RUNS", `the destructor of view ${wrapper.id} ran ${view.runs} times, the model expects ${expected}`);
}

/** The JS destructor of a block ran once if the registry destroyed it, never otherwise. */
function checkRuns(wrapper: WrapperModel, label: string): void {
  if (views.has(wrapper.native)) return checkViewRuns(wrapper, label);
  const block = blockOf(wrapper);
  if (block.source === "gcJs") checkDestructorRuns(wrapper, block.runs, `JS destructor of block ${wrapper.id}`, label);
}

/** The end of a run: disowned blocks are freed (their wrapper collected or not), destructor runs checked. */
function finish(model: Model, real: Real): void {
  for (const wrapper of model.wrappers) {
    if (views.has(wrapper.native)) {
      // Ended by now with its block, if not before.
      if (wrapper.native.entry === undefined) wrapper.native.alive = false;
      checkViewRuns(wrapper, "cleanup");
      continue;
    }
    const block = blocks.get(wrapper.native);
    if (block === undefined) continue;
    if (wrapper.native.alive && wrapper.state === "borrowed" && wrapper.held) freeDisowned(model, real, wrapper);
    else if (wrapper.native.alive && wrapper.native.entry === undefined) {
      // Disowned, then collected: the registry forgot it, the block is JS's to free.
      if (block.source !== "pinned") allocator.free(block.address);
      wrapper.native.alive = false;
    }
    checkRuns(wrapper, "cleanup");
  }
}

/** The memory family. */
export const family: Family = {
  name: "memory",
  commands: [allocBlock, gcBlock, pinBlock, write, derive, readDerived, readRoot, cancel, free, detach, capsuleOver, viewGet, viewConsume, viewNativeDestroy],
  finish,
};
