// The cases of shared/reference/edge-cases.md about memory, buffers, handles and capsules
// (3.7, 3.8, 3.11.48, 3.11.52), each named after its case, then the memory API's checks of bad
// input and bounds, under deno test and bun test.
import { describe, it } from "node:test";
import assert from "node:assert/strict";
import { allocator, Capsule, runtime, stats } from "../mod.ts";
import { addressof, alloc, array, cast, fromBuffer, fromHandle, gc, newAllocator, newHandle, newString, pointer, string, struct, types } from "../src/memory/mod.ts";
import { locate } from "../src/memory/pointer.ts";
import { native } from "../src/native/library.ts";
import { outParameters } from "../src/native/scratch.ts";
import { keptAlive } from "../src/ownership/wrapper.ts";
import { collectUntil, throwsCode } from "./helpers.ts";

const A = struct("A", { a: types.i32, b: types.i32 });
const B = struct("B", { first: types.i64 });
const Node = struct("Node", { value: types.i32, next: pointer(null) });

/** Forces collections and turns, a fixed number of times: for checks that something was NOT collected. */
async function collectSeveral(): Promise<void> {
  let rounds = 0;
  await collectUntil(() => rounds++ >= 4);
}

describe("memory edge cases", () => {
  it("3.7.35 a cast of a temporary allocation keeps it alive, and dies with it when released", async () => {
    const start = allocator.nextSequence();
    const x = cast(B, alloc(A, { a: 1, b: 2 }));
    const field = addressof(alloc(A, { b: 5 }), "b");
    await collectSeveral();
    assert.equal(allocator.liveBlocks(start).length, 2);
    assert.deepEqual(x.value, { first: 2n * 2n ** 32n + 1n });
    assert.equal(field.value, 5);
    // Released through another pointer to the same owner: the cast is invalid at once.
    const owner = alloc(A);
    const view = cast(B, owner);
    owner.release();
    throwsCode(() => view.value, "INVALID_OBJECT");
    throwsCode(() => view.address, "INVALID_OBJECT");
  });

  it("3.7.36 storing an owned pointer into memory keeps it alive (keyed by field), never freed underneath", async () => {
    const start = allocator.nextSequence();
    const head = alloc(Node, { value: 1 });
    (() => head.set("next", alloc(Node, { value: 2 })))();
    await collectSeveral();
    assert.equal(allocator.liveBlocks(start).length, 2);
    const next = head.get("next") as number;
    assert.equal(cast(Node, next).get("value"), 2);
    // Released while stored: invalid to JS at once, but its memory waits for the holder.
    const stored = alloc(Node, { value: 3 });
    head.set("next", stored);
    assert.equal([...keptAlive(locate(head).block.owner!).values()].flat().length, 1);
    const storedAddress = stored.address;
    stored.release();
    assert.equal(stored.isValid, false);
    assert.equal(allocator.blockSize(storedAddress), Node.size);
    head.set("next", null); // the keep-alive goes: the deferred destructor runs now
    assert.equal(allocator.blockSize(storedAddress), undefined);
    // Memory custody does not own cannot keep anything alive: refused.
    const raw = allocator.malloc(Node.size, { zero: true });
    throwsCode(() => cast(Node, raw).set("next", alloc(Node)), "INVALID_ARGUMENT");
    allocator.free(raw);
    head.release();
    await collectUntil(() => allocator.liveBlocks(start).length === 0);
    assert.deepEqual(allocator.liveBlocks(start), []);
  });

  it("3.7.37 fromBuffer on a resizable buffer: shrink and transfer refused, detach elsewhere reported", () => {
    const buffer = new ArrayBuffer(64, { maxByteLength: 1024 });
    const pinned = fromBuffer(new Uint8Array(buffer));
    throwsCode(() => buffer.resize(32), "BUFFER_PINNED");
    throwsCode(() => buffer.transfer(128), "BUFFER_PINNED");
    buffer.resize(512);
    pinned.set(63, 9);
    assert.equal(new Uint8Array(buffer)[63], 9);
    const violations = stats().pinViolations;
    structuredClone(buffer, { transfer: [buffer] });
    throwsCode(() => pinned.get(0), "BUFFER_DETACHED");
    assert.equal(stats().pinViolations, violations + 1);
    throwsCode(() => pinned.get(0), "INVALID_OBJECT");
  });

  it("3.7.38 custom allocators: a field pointer alone keeps the struct alive; free runs once", async () => {
    const frees: number[] = [];
    const custom = newAllocator({
      alloc: (size) => allocator.malloc(size),
      free: (address) => {
        frees.push(address);
        allocator.free(address);
      },
    });
    let address = 0;
    const field = (() => {
      const p = custom.alloc(A, { a: 4, b: 6 });
      address = p.address;
      return addressof(p, "b");
    })();
    await collectSeveral();
    assert.deepEqual(frees, []);
    assert.equal(field.value, 6);
    throwsCode(() => field.release(), "NOT_OWNER");
    const second = custom.alloc(A);
    second.release();
    second[Symbol.dispose]();
    assert.equal(frees.length, 1);
    assert.notEqual(frees[0], address);
  });

  it("3.7.39 fromHandle after the handle died throws STALE_HANDLE, never another object", async () => {
    const handle = newHandle("first");
    const address = handle.address;
    assert.equal(fromHandle(address), "first");
    handle.release();
    throwsCode(() => fromHandle(address), "STALE_HANDLE");
    const later = Array.from({ length: 4 }, (_, i) => newHandle(i));
    throwsCode(() => fromHandle(address), "STALE_HANDLE");
    later.forEach((h) => h.release());
    let collectedAddress = 0;
    (() => {
      collectedAddress = newHandle({ dropped: true }).address;
    })();
    await collectUntil(() => {
      try {
        fromHandle(collectedAddress);
        return false;
      } catch {
        return true;
      }
    });
    throwsCode(() => fromHandle(collectedAddress), "STALE_HANDLE");
  });
});

describe("capsule edge cases", () => {
  it("3.8.40 wrong name, NULL vs non-NULL name, NULL pointer", () => {
    using capsule = Capsule.create(0x20_0000, "right");
    throwsCode(() => capsule.get("wrong"), "NAME_MISMATCH");
    throwsCode(() => capsule.get(null), "NAME_MISMATCH");
    assert.equal(capsule.isValid("wrong"), false);
    assert.equal(capsule.isValid(null), false);
    using unnamed = Capsule.create(0x20_1000, null);
    throwsCode(() => unnamed.get("right"), "NAME_MISMATCH");
    assert.equal(unnamed.isValid(""), false);
    throwsCode(() => Capsule.create(0, "right"), "NULL_POINTER");
  });

  it("3.8.41 double consume, and consume then the producer's destructor: exactly one deleter call", async () => {
    let deleterCalls = 0;
    const deleter = () => deleterCalls++;
    // The producer's capsule destructor would delete an unconsumed tensor.
    const producer = Capsule.create(0x20_2000, "dltensor", { destructor: deleter });
    const tensor = producer.consume("dltensor");
    assert.equal(tensor, 0x20_2000);
    throwsCode(() => producer.consume("dltensor"), "INVALID_OBJECT");
    deleter(); // the consumer, done with the tensor
    producer[Symbol.dispose]();
    throwsCode(() => producer.release(), "INVALID_OBJECT");
    (() => Capsule.create(0x20_2100, "dltensor", { destructor: deleter }).consume("dltensor"))();
    await collectSeveral();
    assert.equal(deleterCalls, 1);
  });

  it("3.8.42 names are interned: the creator's buffer may change or die at once", () => {
    const name = new Uint8Array([...new TextEncoder().encode("dynamic.name"), 0]);
    const status = native.custody_capsule_new(0x20_3000, runtime.addressOf(name), 0, 0, 1, outParameters.address);
    assert.equal(status, 0);
    const handle = { slot: outParameters.view.getUint32(0, true), generation: outParameters.view.getUint32(4, true) };
    name.fill(0x58); // the producer reuses its buffer
    const capsule = Capsule.fromHandle(handle, "dynamic.name");
    assert.equal(capsule.get("dynamic.name"), 0x20_3000);
    assert.equal(capsule.isValid("XXXXXXXXXXXX"), false);
    capsule.release();
  });

  it("3.8.43 SetDestructor(NULL) then GC runs no destructor; a new context is the one the destructor gets", async () => {
    const runs: number[] = [];
    (() => {
      const capsule = Capsule.create(0x20_4000, "swap", { destructor: (_p, context) => runs.push(context), context: 1 });
      capsule.setDestructor(null);
    })();
    const kept = Capsule.create(0x20_4100, "swap", { destructor: (_p, context) => runs.push(context), context: 1 });
    kept.setContext(2);
    kept.setDestructor((_p, context) => runs.push(context * 10));
    await collectSeveral();
    kept.release();
    assert.deepEqual(runs, [20]);
  });
});

describe("JS runtime edge cases", () => {
  it("3.11.48 a typed array given to native code is pinned: not collected, not detached, not shrunk", async () => {
    const pinned = (() => {
      const samples = new Float64Array(1024);
      samples[1023] = 42;
      return fromBuffer(samples);
    })();
    await collectSeveral();
    assert.equal(pinned.get(1023), 42);
    const view = pinned.value as number[];
    assert.equal(view[1023], 42);
    pinned.release();
  });

  it("3.11.52 a view over memory names its owner; collecting a view never frees memory it does not own", async () => {
    const raw = allocator.malloc(16, { zero: true });
    (() => {
      const view = cast(A, raw);
      assert.equal(view.state, "borrowed");
      assert.match(view.toString(), /borrowed/);
    })();
    const owner = alloc(A);
    (() => {
      const derived = owner.field("a");
      assert.match(derived.toString(), /owned/);
      assert.equal(derived.isOwner, false);
    })();
    const gcOwned = gc(allocator.malloc(8), (address) => allocator.free(address), { size: 8 });
    (() => cast(types.u64, gcOwned))();
    await collectSeveral();
    assert.equal(allocator.blockSize(raw), 16);
    assert.ok(owner.isValid);
    assert.ok(gcOwned.isValid);
    allocator.free(raw);
    owner.release();
    gcOwned.release();
  });
});

describe("memory API checks", () => {
  it("cast refuses a type that is not a C type, and addressof a base that is not a Pointer", () => {
    using n = alloc(types.i32);
    for (const type of [{}, "i32", null, undefined, 4]) {
      throwsCode(() => cast(type as never, n), "INVALID_ARGUMENT", /not a C type/);
      throwsCode(() => cast(type as never, 0x1000), "INVALID_ARGUMENT", /not a C type/);
    }
    for (const base of [0x1000, null, {}]) throwsCode(() => addressof(base as never, "a"), "INVALID_ARGUMENT", /takes a Pointer/);
    assert.equal(cast(types.u32, n).byteLength, 4);
  });

  it("string() of an array of char, u8 or i8 stops at the array's end; of a single char, at the block's first NUL", () => {
    const Entry = struct("Entry", { name: array(types.char, 4), rest: array(types.char, 8), bytes: array(types.u8, 2), signed: array(types.i8, 2), tail: array(types.char, 4) });
    const encode = (text: string) => new TextEncoder().encode(text);
    using entry = alloc(Entry, { name: encode("abcd"), rest: "XYZ", bytes: encode("ef"), signed: encode("gh"), tail: "ijk" });
    assert.equal(string(entry.field("name")), "abcd");
    assert.equal(string(entry.field("name"), 2), "ab");
    assert.equal(string(entry.field("bytes")), "ef");
    assert.equal(string(entry.field("signed")), "gh");
    assert.equal(string(cast(array(types.u8, 3), entry)), "abc");
    assert.equal(string(entry.field("name").at(2)), "cdXYZ");
    using text = newString("hello");
    assert.equal(string(text.field(2)), "llo");
  });

  it("struct refuses a field named __proto__, which a JS object of its values could not hold", () => {
    throwsCode(() => struct("Odd", { ["__proto__"]: types.i32, b: types.u8 }), "INVALID_ARGUMENT", /__proto__/);
    const parsed = JSON.parse('{"__proto__": {"kind": "scalar", "name": "i32", "size": 4, "align": 4}, "b": {"kind": "scalar", "name": "u8", "size": 1, "align": 1}}');
    throwsCode(() => struct("Parsed", parsed), "INVALID_ARGUMENT", /__proto__/);
    assert.deepEqual(Object.keys(struct("Fine", { proto: types.i32, b: types.u8 }).fields), ["proto", "b"]);
  });
});
