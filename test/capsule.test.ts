// Capsules (PyCapsule's model) from JS and from native code through the registry, under deno test and bun test.
import { describe, it } from "node:test";
import assert from "node:assert/strict";
import { allocator, Capsule, registry, runtime, stats } from "../mod.ts";
import { capsuleWrapper } from "../src/capsule.ts";
import { alloc, fromBuffer, gc, type Pointer, types } from "../src/memory/mod.ts";
import { pendingDestructors } from "../src/memory/destructors.ts";
import { locate } from "../src/memory/pointer.ts";
import { handleOf } from "../src/ownership/wrapper.ts";
import { native } from "../src/native/library.ts";
import { outParameters, utf8 } from "../src/native/scratch.ts";
import { libraryPath } from "../src/native/library.ts";
import { symbolAddress } from "../src/native/symbol_address.ts";
import { collectUntil, throwsCode } from "./helpers.ts";

const custodyFree = symbolAddress(libraryPath(), "custody_free");

/** Creates a capsule the way a C producer would: custody_capsule_new with a name string. */
function nativeCapsule(pointer: number, name: string | null, owner: number, destructor = 0): registry.Handle {
  const status = native.custody_capsule_new(pointer, name === null ? 0 : utf8(name).address, destructor, 0, owner, outParameters.address);
  assert.equal(status, 0);
  return { slot: outParameters.view.getUint32(0, true), generation: outParameters.view.getUint32(4, true) };
}

/** The registry handle of the memory `pointer` points into. */
function capsuleMemoryHandle(pointer: Pointer): registry.Handle {
  return handleOf(locate(pointer).block.owner!);
}

/** Capsules for {@linkcode whileFinalizerPending} at fresh addresses from `base`, recording their destruction in `destroyed`. */
function pendingAt(base: number, destroyed: number[]): (attempt: number) => Capsule {
  return (attempt) => Capsule.create(base + attempt * 16, "lib.pending", { destructor: (pointer) => destroyed.push(pointer) });
}

function nativeConsume(handle: registry.Handle, name: string | null): number {
  return native.custody_capsule_consume(handle.slot, handle.generation, name === null ? 0 : utf8(name).address, outParameters.address);
}

/**
 * Makes a capsule JS owns with `make(attempt)` (its destructor should record its pointer) and
 * drops it; once a forced collection took its registry wrapper, runs `then` with its pointer in
 * the same job, before the wrapper's finalizer can run. A collection may leave the wrapper for
 * the next one (Bun), so up to ten capsules are tried. Returns whether one got that far.
 */
async function whileFinalizerPending(make: (attempt: number) => Capsule, then: (address: number) => Promise<void>): Promise<boolean> {
  for (let attempt = 0; attempt < 10; attempt++) {
    let address = 0;
    const wrapper = (() => {
      const capsule = make(attempt);
      address = capsule.get(capsule.name);
      return new WeakRef(capsuleWrapper(capsule));
    })();
    await new Promise((resolve) => setTimeout(resolve, 0));
    runtime.collectGarbage();
    if (wrapper.deref() !== undefined) continue;
    await then(address);
    return true;
  }
  return false;
}

describe("Capsule", () => {
  it("get needs the exact name; the null name matches only null", () => {
    using named = Capsule.create(0x11_0000, "lib.thing");
    assert.equal(named.get("lib.thing"), 0x11_0000);
    assert.equal(named.name, "lib.thing");
    throwsCode(() => named.get("lib.Thing"), "NAME_MISMATCH");
    throwsCode(() => named.get(""), "NAME_MISMATCH");
    throwsCode(() => named.get(null), "NAME_MISMATCH");
    using unnamed = Capsule.create(0x11_1000, null);
    assert.equal(unnamed.get(null), 0x11_1000);
    throwsCode(() => unnamed.get(""), "NAME_MISMATCH");
    throwsCode(() => unnamed.get("lib.thing"), "NAME_MISMATCH");
  });

  it("isValid never throws", () => {
    const capsule = Capsule.create(0x11_2000, "lib.valid");
    assert.equal(capsule.isValid(), true);
    assert.equal(capsule.isValid("lib.valid"), true);
    assert.equal(capsule.isValid("other"), false);
    assert.equal(capsule.isValid(null), false);
    assert.equal(capsule.isValid("x".repeat(10_000)), false);
    assert.equal(capsule.isValid(42 as never), false);
    capsule.release();
    assert.equal(capsule.isValid("lib.valid"), false);
    assert.equal(capsule.isValid(), false);
  });

  it("the destructor runs once with the context, on release, using or GC", async () => {
    const calls: [number, number][] = [];
    const destructor = (pointer: number, context: number) => calls.push([pointer, context]);
    const released = Capsule.create(0x11_3000, "lib.d", { destructor, context: 7 });
    assert.equal(released.context, 7);
    released.setContext(8);
    released.release();
    released[Symbol.dispose]();
    throwsCode(() => released.release(), "DOUBLE_RELEASE");
    {
      using _scoped = Capsule.create(0x11_3100, "lib.d", { destructor, context: 9 });
    }
    (() => Capsule.create(0x11_3200, "lib.d", { destructor, context: 10 }))();
    await collectUntil(() => calls.length === 3);
    assert.deepEqual(calls, [[0x11_3000, 8], [0x11_3100, 9], [0x11_3200, 10]]);
  });

  it("a native destructor with its context runs natively", () => {
    const block = allocator.malloc(32);
    const capsule = Capsule.create(block, "lib.native", { destructor: custodyFree, context: 3 });
    assert.equal(registry.info(capsule.handle).context, 3);
    capsule.release();
    assert.equal(allocator.blockSize(block), undefined);
  });

  it("setDestructor: replaced, or removed with null (then nothing runs)", () => {
    let first = 0, second = 0;
    const swapped = Capsule.create(0x11_4000, "lib.swap", { destructor: () => first++ });
    swapped.setDestructor(() => second++);
    swapped.release();
    assert.deepEqual([first, second], [0, 1]);
    const removed = Capsule.create(0x11_4100, "lib.swap", { destructor: () => first++ });
    removed.setDestructor(null);
    removed.release();
    assert.equal(first, 0);
    throwsCode(() => removed.setDestructor(null), "INVALID_OBJECT");
    throwsCode(() => removed.setContext(1), "INVALID_OBJECT");
    throwsCode(() => removed.context, "INVALID_OBJECT");
  });

  it("consume hands the pointer off once; the destructor never runs; a second consumer fails cleanly", () => {
    let runs = 0;
    const capsule = Capsule.create(0x11_5000, "dltensor", { destructor: () => runs++ });
    throwsCode(() => capsule.consume("used_dltensor"), "NAME_MISMATCH");
    assert.ok(capsule.isValid("dltensor"));
    assert.equal(capsule.consume("dltensor"), 0x11_5000);
    throwsCode(() => capsule.consume("dltensor"), "INVALID_OBJECT", /consume/);
    throwsCode(() => capsule.get("dltensor"), "INVALID_OBJECT");
    throwsCode(() => capsule.release(), "INVALID_OBJECT");
    capsule[Symbol.dispose]();
    assert.equal(runs, 0);
  });

  it("refuses a NULL pointer, a second owner of a pointer and name, bad names and destructors", () => {
    throwsCode(() => Capsule.create(0, "lib.null"), "NULL_POINTER");
    throwsCode(() => Capsule.create(-1, "lib.null"), "INVALID_ARGUMENT");
    using first = Capsule.create(0x11_6000, "lib.once");
    throwsCode(() => Capsule.create(0x11_6000, "lib.once"), "ALREADY_OWNED");
    using other = Capsule.create(0x11_6000, "lib.other");
    assert.equal(other.get("lib.other"), first.get("lib.once"));
    throwsCode(() => Capsule.create(0x11_6100, 5 as never), "INVALID_ARGUMENT");
    throwsCode(() => Capsule.create(0x11_6100, "x".repeat(5000)), "NAME_TOO_LONG");
    throwsCode(() => Capsule.create(0x11_6100, "lib.bad", { destructor: -3 }), "INVALID_ARGUMENT");
    throwsCode(() => Capsule.create(0x11_6200, "lib.bad", { context: 0.5 }), "INVALID_ARGUMENT");
  });

  it("a second owner refused while the first one's collected wrapper awaits its finalizer leaves the destructor to that finalizer", async () => {
    const destroyed: number[] = [];
    const seen = await whileFinalizerPending(pendingAt(0x11_9000, destroyed), async (address) => {
      throwsCode(() => Capsule.create(address, "lib.pending"), "ALREADY_OWNED", /destructor due/);
      await collectUntil(() => destroyed.includes(address));
      assert.deepEqual(destroyed.filter((pointer) => pointer === address), [address]);
    });
    assert.ok(seen, "no collection took a dropped capsule's wrapper in ten attempts");
  });

  it("a capsule found again while its collected wrapper awaits its finalizer keeps its destructor", async () => {
    const destroyed: number[] = [];
    const seen = await whileFinalizerPending(pendingAt(0x11_a000, destroyed), async (address) => {
      const again = Capsule.lookup(address, "lib.pending")!;
      assert.equal(again.state, "owned");
      // The collected wrapper's finalizer runs meanwhile: it must not take the destructor along.
      let rounds = 0;
      await collectUntil(() => rounds++ >= 4);
      assert.ok(!destroyed.includes(address));
      again.release();
      assert.deepEqual(destroyed.filter((pointer) => pointer === address), [address]);
    });
    assert.ok(seen, "no collection took a dropped capsule's wrapper in ten attempts");
  });

  it("a capsule over memory custody owns keeps that memory alive; dropped with it, it ends first", async () => {
    const start = allocator.nextSequence();
    const capsule = (() => Capsule.create(alloc(types.u64, 5n), "lib.memory"))();
    let rounds = 0;
    await collectUntil(() => rounds++ >= 4);
    const [block] = allocator.liveBlocks(start);
    assert.equal(block.address, capsule.get("lib.memory"));
    assert.match(capsule.toString(), /over memory custody owns/);
    capsule.release();
    // Collected together: the capsule's destructor still finds its memory allocated.
    const dropped = allocator.nextSequence();
    const sizes: (number | undefined)[] = [];
    (() => Capsule.create(alloc(types.u64), "lib.dropped", { destructor: (pointer) => sizes.push(allocator.blockSize(pointer)) }))();
    await collectUntil(() => sizes.length === 1 && allocator.liveBlocks(dropped).length === 0);
    assert.deepEqual(sizes, [8]);
    assert.deepEqual(allocator.liveBlocks(dropped), []);
  });

  it("a capsule over memory refused while a collected one over it awaits its finalizer leaves the destructor to that finalizer", async () => {
    const destroyed: number[] = [];
    const memories = Array.from({ length: 10 }, () => alloc(types.u64));
    const make = (attempt: number) => Capsule.create(memories[attempt], "lib.pending", { destructor: (pointer) => destroyed.push(pointer) });
    const seen = await whileFinalizerPending(make, async (address) => {
      throwsCode(() => Capsule.create(memories.find((memory) => memory.address === address)!, "lib.pending"), "ALREADY_OWNED");
      await collectUntil(() => destroyed.includes(address));
      assert.deepEqual(destroyed.filter((pointer) => pointer === address), [address]);
    });
    assert.ok(seen, "no collection took a dropped capsule's wrapper in ten attempts");
    for (const memory of memories) memory.release();
  });

  it("a capsule over memory ends with the memory, for JS and native code, its destructor not run then", () => {
    const runs: string[] = [];
    // Ending first, it runs its destructor once, while its memory is still there.
    const first = alloc(types.u32, 9);
    const before = Capsule.create(first, "lib.over", { destructor: (_p, context) => runs.push(`${first.value} ${context}`), context: 1 });
    before.setContext(2);
    before.release();
    first.release();
    assert.deepEqual(runs, ["9 2"]);
    // The memory ending first takes the capsule along at once.
    const memory = alloc(types.u32);
    const address = memory.address;
    const capsule = Capsule.create(memory, "lib.over", { destructor: () => runs.push("after the memory") });
    const { slot, generation } = capsule.handle;
    memory.release();
    assert.equal(capsule.isValid(), false);
    assert.equal(capsule.isValid("lib.over"), false);
    throwsCode(() => capsule.get("lib.over"), "INVALID_OBJECT", /memory it was made from ended/);
    throwsCode(() => capsule.consume("lib.over"), "INVALID_OBJECT");
    throwsCode(() => capsule.release(), "INVALID_OBJECT");
    capsule[Symbol.dispose]();
    assert.equal(native.custody_capsule_is_valid(slot, generation, utf8("lib.over").address), false);
    assert.equal(Capsule.lookup(address, "lib.over"), undefined);
    assert.equal(capsule.toString(), 'Capsule "lib.over" (invalid)');
    // Consumed, by JS or native code: the consumer destroys it; the memory's end runs nothing.
    const consumedMemory = alloc(types.u32);
    const consumed = Capsule.create(consumedMemory, "lib.over", { destructor: () => runs.push("consumed") });
    assert.equal(consumed.consume("lib.over"), consumedMemory.address);
    const nativeMemory = alloc(types.u32);
    const nativelyConsumed = Capsule.create(nativeMemory, "lib.over", { destructor: () => runs.push("consumed natively") });
    assert.equal(nativeConsume(nativelyConsumed.handle, "lib.over"), 0);
    consumedMemory.release();
    nativeMemory.release();
    assert.deepEqual(runs, ["9 2"]);
  });

  it("native code destroying a capsule over memory runs its destructor once, the memory still there", () => {
    const runs: string[] = [];
    const memory = alloc(types.u32, 5);
    const capsule = Capsule.create(memory, "lib.native", { destructor: (_p, context) => runs.push(`${memory.value} ${context}`), context: 3 });
    const { slot, generation } = capsule.handle;
    assert.equal(native.custody_capsule_destroy(slot, generation), 0);
    assert.deepEqual(runs, ["5 3"]);
    assert.equal(capsule.isValid(), false);
    throwsCode(() => capsule.get("lib.native"), "INVALID_OBJECT");
    capsule[Symbol.dispose]();
    assert.ok(memory.isValid);
    assert.equal(registry.info(capsuleMemoryHandle(memory)).childCount, 0);
    memory.release();
    assert.deepEqual(runs, ["5 3"]);
  });

  it("memory native code destroyed takes its capsules along without running their destructors", () => {
    let runs = 0;
    const address = allocator.malloc(8);
    let freed = 0;
    const memory = gc(address, (pointer) => (allocator.free(pointer), freed++), { size: 8 });
    const capsule = Capsule.create(memory, "lib.gone", { destructor: () => runs++ });
    const owner = capsuleMemoryHandle(memory);
    // Native code freed the memory itself, and says so: nothing runs on it, not even the capsule's destructor.
    allocator.free(address);
    assert.equal(native.custody_notify_destroyed(owner.slot, owner.generation), 0);
    assert.equal(runs, 0);
    assert.equal(freed, 0);
    assert.equal(capsule.isValid(), false);
    assert.equal(memory.isValid, false);
    capsule[Symbol.dispose]();
    memory[Symbol.dispose]();
    assert.equal(runs, 0);
  });

  it("capsules that ended with their memory unnoticed, their slots reused at once, let go of their destructors", async () => {
    const before = pendingDestructors();
    // In one job: each capsule's entry goes down with its memory, and the next capsule takes
    // the freed slot before JS ever looks at the first again. Nothing of them may stay behind.
    (() => {
      for (let i = 0; i < 300; i++) {
        const memory = alloc(types.u32, i);
        Capsule.create(memory, `lib.unnoticed.${i}`, { destructor: () => assert.fail("ran after its memory ended") });
        memory.release();
      }
    })();
    // An earlier test's capsule may be collected meanwhile: at most as many as before.
    await collectUntil(() => pendingDestructors() <= before);
    assert.ok(pendingDestructors() <= before, `${pendingDestructors() - before} destructors of ended capsules are still registered`);
  });

  it("a capsule over a pinned buffer ends once the buffer is detached behind custody's back", () => {
    let runs = 0;
    const bytes = new Uint8Array(16);
    const pinned = fromBuffer(bytes);
    const capsule = Capsule.create(pinned, "lib.pinned", { destructor: () => runs++ });
    structuredClone(bytes.buffer, { transfer: [bytes.buffer] });
    // Its first use reports the loss, as the first use of any pointer into the buffer would.
    throwsCode(() => capsule.get("lib.pinned"), "BUFFER_DETACHED");
    assert.equal(capsule.isValid(), false);
    throwsCode(() => capsule.get("lib.pinned"), "INVALID_OBJECT", /memory it was made from ended/);
    throwsCode(() => pinned.get(0), "INVALID_OBJECT");
    capsule[Symbol.dispose]();
    assert.equal(runs, 0);
  });

  it("a capsule over a pinned buffer released after a detach nobody noticed runs no destructor on the lost memory", () => {
    let runs = 0;
    const bytes = new Uint8Array(16);
    const pinned = fromBuffer(bytes);
    const capsule = Capsule.create(pinned, "lib.lost", { destructor: () => runs++ });
    structuredClone(bytes.buffer, { transfer: [bytes.buffer] });
    capsule.release();
    assert.equal(runs, 0);
    assert.equal(capsule.isValid(), false);
    throwsCode(() => pinned.get(0), "BUFFER_DETACHED");
  });

  it("a refused create registers nothing: a correct retry succeeds", () => {
    const memory = alloc(types.i32);
    const live = stats().capsulesLive;
    throwsCode(() => Capsule.create(0x11_b000, "lib.retry", { destructor: "no" as never }), "INVALID_ARGUMENT");
    throwsCode(() => Capsule.create(memory, "lib.retry", { destructor: {} as never }), "INVALID_ARGUMENT");
    throwsCode(() => Capsule.create(0x11_b000, "lib.retry", { destructor: -3 }), "INVALID_ARGUMENT");
    throwsCode(() => Capsule.create(0x11_b000, "lib.retry", { context: 0.5 }), "INVALID_ARGUMENT");
    throwsCode(() => Capsule.create(0x11_b000, "lib.retry", null as never), "INVALID_ARGUMENT");
    throwsCode(() => Capsule.create(0x11_b000, "x".repeat(5000)), "NAME_TOO_LONG");
    assert.equal(stats().capsulesLive, live);
    assert.equal(registry.find(0x11_b000), undefined);
    assert.equal(registry.info(capsuleMemoryHandle(memory)).childCount, 0);
    let runs = 0;
    Capsule.create(0x11_b000, "lib.retry", { destructor: () => runs++ }).release();
    Capsule.create(memory, "lib.retry", { destructor: () => runs++ }).release();
    assert.equal(runs, 2);
    memory.release();
  });

  it("a name that is neither a string nor null is refused; isValid says false", () => {
    using empty = Capsule.create(0x11_c000, "");
    throwsCode(() => empty.get(undefined as never), "INVALID_ARGUMENT", /a capsule name is a string or null, not undefined/);
    throwsCode(() => empty.consume(undefined as never), "INVALID_ARGUMENT");
    assert.ok(empty.isValid(""));
    using numbered = Capsule.create(0x11_c100, "42");
    throwsCode(() => numbered.get(42 as never), "INVALID_ARGUMENT");
    assert.equal(numbered.isValid(42 as never), false);
    assert.equal(numbered.isValid({} as never), false);
    throwsCode(() => Capsule.create(0x11_c200, undefined as never), "INVALID_ARGUMENT");
    throwsCode(() => Capsule.fromHandle(numbered.handle, 42 as never), "INVALID_ARGUMENT");
    throwsCode(() => Capsule.lookup(0x11_c100, 42 as never), "INVALID_ARGUMENT");
    assert.equal(numbered.get("42"), 0x11_c100);
  });

  it("fromHandle reports a handle that is not an object as FORGED_HANDLE, as any bad handle", () => {
    for (const handle of [null, undefined, 7, "1:1"]) throwsCode(() => Capsule.fromHandle(handle as never, "x"), "FORGED_HANDLE");
    throwsCode(() => Capsule.fromHandle({ slot: -1, generation: Number.NaN }, "x"), "FORGED_HANDLE");
  });
});

describe("capsules between JS and native code", () => {
  it("native code creates, JS looks up and owns (owner code 1): release runs the native destructor", () => {
    const block = allocator.malloc(16);
    const handle = nativeCapsule(block, "native.made", 1, custodyFree);
    const capsule = Capsule.fromHandle(handle, "native.made");
    assert.equal(capsule.state, "owned");
    assert.equal(Capsule.lookup(block, "native.made")?.get("native.made"), block);
    assert.equal(Capsule.lookup(block, "native.other"), undefined);
    throwsCode(() => Capsule.fromHandle(handle, "native.other"), "NAME_MISMATCH");
    capsule.release();
    assert.equal(allocator.blockSize(block), undefined);
    throwsCode(() => Capsule.fromHandle(handle, "native.made"), "STALE_HANDLE");
  });

  it("a capsule native code keeps (owner code 2) is borrowed: JS may not release it", () => {
    const handle = nativeCapsule(0x12_0000, null, 2);
    const capsule = Capsule.fromHandle(handle, null);
    assert.equal(capsule.state, "borrowed");
    throwsCode(() => capsule.release(), "NOT_OWNER");
    capsule[Symbol.dispose]();
    assert.equal(capsule.get(null), 0x12_0000);
    registry.destroy(handle);
    assert.equal(capsule.isValid(), false);
  });

  it("a capsule a keep-alive holds cannot be consumed until the keep-alive is dropped", () => {
    let runs = 0;
    const capsule = Capsule.create(0x11_6000, "kept.tensor", { destructor: () => runs++ });
    registry.keepAlive(capsule.handle);
    throwsCode(() => capsule.consume("kept.tensor"), "KEPT_ALIVE", /Cannot consume .* a keep-alive holds it/);
    assert.ok(capsule.isValid("kept.tensor"));
    registry.dropKeepAlive(capsule.handle);
    assert.equal(capsule.consume("kept.tensor"), 0x11_6000);
    assert.equal(runs, 0);
  });

  it("native code reads and consumes a JS capsule; JS then fails cleanly, and the destructor never runs", () => {
    let runs = 0;
    const capsule = Capsule.create(0x12_1000, "shared.tensor", { destructor: () => runs++ });
    const { slot, generation } = capsule.handle;
    assert.equal(native.custody_capsule_is_valid(slot, generation, utf8("shared.tensor").address), true);
    assert.equal(native.custody_capsule_is_valid(slot, generation, 0), false);
    assert.equal(native.custody_capsule_get(slot, generation, utf8("shared.tensor").address, outParameters.address), 0);
    assert.equal(outParameters.view.getUint32(0, true), 0x12_1000);
    assert.equal(nativeConsume(capsule.handle, "shared.tensor"), 0);
    assert.equal(capsule.isValid(), false);
    throwsCode(() => capsule.consume("shared.tensor"), "INVALID_OBJECT");
    assert.ok(nativeConsume({ slot, generation }, "shared.tensor") < 0);
    assert.equal(runs, 0);
  });

  it("JS consumes first: the native consumer gets STALE_HANDLE", () => {
    const capsule = Capsule.create(0x12_2000, "shared.once");
    const handle = capsule.handle;
    capsule.consume("shared.once");
    const mismatchesBefore = stats().nameMismatches;
    assert.equal(nativeConsume(handle, "shared.once"), -1);
    assert.equal(stats().nameMismatches, mismatchesBefore);
  });
});
