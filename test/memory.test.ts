// The memory API, function by function and error path by error path, under deno test and bun test.
import { describe, it } from "node:test";
import assert from "node:assert/strict";
import { allocator, bind, CustodyError, registry, stats } from "../mod.ts";
import {
  addressof,
  alloc,
  array,
  cast,
  fromBuffer,
  fromHandle,
  gc,
  newAllocator,
  newHandle,
  newString,
  Pointer,
  pointer,
  string,
  struct,
  types,
} from "../src/memory/mod.ts";
import { libraryPath } from "../src/native/library.ts";
import { symbolAddress } from "../src/native/symbol_address.ts";
import { collectUntil, throwsCode } from "./helpers.ts";

const Point = struct("Point", { x: types.i32, y: types.i32 });
const Shape = struct("Shape", { kind: types.u8, origin: Point, corners: array(Point, 4), area: types.f64 });
const custodyFree = symbolAddress(libraryPath(), "custody_free");
const lib = bind(libraryPath(), {
  types: {},
  functions: {
    custody_block_size: { parameters: ["pointer"], result: "i64" },
    custody_intern: { parameters: ["pointer", "usize"], result: "i64" },
  },
});

describe("types", () => {
  it("lays structs out with C alignment: nested structs, arrays of structs, padding at the end", () => {
    assert.deepEqual(
      Object.fromEntries(Object.entries(Shape.fields).map(([name, f]) => [name, f.offset])),
      { kind: 0, origin: 4, corners: 12, area: 48 },
    );
    assert.equal(Shape.size, 56);
    assert.equal(Shape.align, 8);
    const Tail = struct("Tail", { value: types.f64, flag: types.bool });
    assert.equal(Tail.size, 16);
    assert.equal(struct("Bytes", { a: types.u8, b: types.u8, c: types.u16 }).size, 4);
  });

  it("arrays and pointers", () => {
    assert.equal(array(Point, 3).size, 24);
    assert.equal(array(types.u16).length, undefined);
    assert.equal(pointer(Point).size, 8);
    assert.equal(pointer(null).name, "void *");
  });

  it("refuses types that cannot be laid out", () => {
    throwsCode(() => struct("Empty", {}), "INVALID_ARGUMENT");
    throwsCode(() => struct("Open", { data: array(types.u8) }), "INVALID_ARGUMENT");
    throwsCode(() => array(types.u8, -1), "INVALID_ARGUMENT");
    throwsCode(() => array(types.u8, 1.5), "INVALID_ARGUMENT");
    throwsCode(() => array(array(types.u8)), "INVALID_ARGUMENT");
    throwsCode(() => array({} as never, 2), "INVALID_ARGUMENT");
    throwsCode(() => struct("Bad", { x: 4 as never }), "INVALID_ARGUMENT");
    throwsCode(() => pointer("i32" as never), "INVALID_ARGUMENT");
  });
});

describe("alloc", () => {
  it("takes memory from the tracked allocator, zeroed, owned by JS, freed once on release", () => {
    const start = allocator.nextSequence();
    const shape = alloc(Shape);
    const [block] = allocator.liveBlocks(start);
    assert.equal(block.address, shape.address);
    assert.equal(block.size, Shape.size);
    assert.equal(block.tag, "custody.memory");
    assert.equal(shape.state, "owned");
    assert.deepEqual(shape.value, { kind: 0, origin: { x: 0, y: 0 }, corners: Array(4).fill({ x: 0, y: 0 }), area: 0 });
    shape.release();
    assert.equal(allocator.blockSize(block.address), undefined);
    throwsCode(() => shape.release(), "DOUBLE_RELEASE");
    shape[Symbol.dispose]();
  });

  it("initialises from JS values: scalars, structs, arrays of structs, strings", () => {
    using n = alloc(types.i16, -5);
    assert.equal(n.value, -5);
    using shape = alloc(Shape, { kind: 3, origin: { y: 9 }, corners: [{ x: 1 }, { x: 2, y: 2 }], area: 1.25 });
    assert.equal(shape.get("kind"), 3);
    assert.deepEqual((shape.get("origin") as Pointer).value, { x: 0, y: 9 });
    assert.deepEqual((shape.get("corners") as Pointer).value, [{ x: 1, y: 0 }, { x: 2, y: 2 }, { x: 0, y: 0 }, { x: 0, y: 0 }]);
    assert.equal(shape.get("area"), 1.25);
    using text = alloc(array(types.char), "hi");
    assert.deepEqual(text.value, [104, 105, 0]);
    using big = alloc(struct("Wide", { a: types.i64, b: types.u64, on: types.bool, f: types.f32, p: pointer(null) }), {
      a: -(2n ** 40n),
      b: 2n ** 63n,
      on: true,
      f: 0.5,
      p: 0x1234,
    });
    assert.deepEqual(big.value, { a: -(2n ** 40n), b: 2n ** 63n, on: true, f: 0.5, p: 0x1234 });
  });

  it("dynamic arrays get their length from the options or the initialiser", () => {
    using fromLength = alloc(array(types.u32), undefined, { length: 5 });
    assert.equal(fromLength.length, 5);
    assert.equal(fromLength.byteLength, 20);
    using fromInit = alloc(array(types.f64), [1, 2, 3]);
    assert.equal(fromInit.length, 3);
    using fromBytes = alloc(array(types.u8), new Uint8Array([1, 2]));
    assert.deepEqual(fromBytes.value, [1, 2]);
    using empty = alloc(array(types.u8), []);
    assert.equal(empty.length, 0);
    assert.throws(() => empty.get(0), RangeError);
  });

  it("zero: false skips the clearing; the block is still the right size", () => {
    using raw = alloc(array(types.u8, 32), undefined, { zero: false });
    assert.equal(allocator.blockSize(raw.address), 32);
  });

  it("allocates one block and registers one owned registry entry for it", () => {
    const entries = registry.liveEntries().length;
    const start = allocator.nextSequence();
    using block = alloc(types.u64, 7n);
    assert.equal(allocator.liveBlocks(start).length, 1);
    assert.equal(registry.liveEntries().length, entries + 1);
    const handle = registry.find(block.address, registry.typeName("custody.memory"))!;
    assert.equal(registry.info(handle).owner, 1);
    assert.equal(block.value, 7n);
  });

  it("takes the general path when an entry of an earlier life still names the new address", () => {
    const quarantine = allocator.config().quarantineMaxCount;
    allocator.configure({ quarantineMaxCount: 0 });
    try {
      const first = alloc(types.u64);
      const address = first.address;
      first.release();
      // A bare entry with no destructor, left at that address, of the memory API's type.
      const stale = registry.create(address, { typeName: registry.typeName("custody.memory") });
      const start = allocator.nextSequence();
      const second = alloc(types.u64, 5n);
      // With no quarantine the allocator hands the freed block straight back.
      assert.equal(second.address, address);
      assert.equal(registry.isLive(stale), false);
      assert.equal(second.value, 5n);
      second.release();
      assert.deepEqual(allocator.liveBlocks(start), []);
    } finally {
      allocator.configure({ quarantineMaxCount: quarantine });
    }
  });

  it("refuses bad lengths and initialisers, and leaks nothing when an initialiser fails", () => {
    const start = allocator.nextSequence();
    throwsCode(() => alloc(array(types.u8)), "INVALID_ARGUMENT");
    throwsCode(() => alloc(array(types.u8), undefined, { length: -1 }), "INVALID_ARGUMENT");
    throwsCode(() => alloc(array(types.u8, 4), undefined, { length: 3 }), "INVALID_ARGUMENT");
    throwsCode(() => alloc({} as never), "INVALID_ARGUMENT");
    throwsCode(() => alloc(types.u8, 256), "INVALID_ARGUMENT");
    throwsCode(() => alloc(types.u8, 1.5), "INVALID_ARGUMENT");
    throwsCode(() => alloc(types.bool, 1), "INVALID_ARGUMENT");
    throwsCode(() => alloc(types.f32, "x"), "INVALID_ARGUMENT");
    throwsCode(() => alloc(types.i64, 2n ** 63n), "INVALID_ARGUMENT");
    throwsCode(() => alloc(types.u64, -1), "INVALID_ARGUMENT");
    throwsCode(() => alloc(Point, [1, 2]), "INVALID_ARGUMENT");
    throwsCode(() => alloc(array(types.i32, 2), 5), "INVALID_ARGUMENT");
    throwsCode(() => alloc(pointer(null), "nowhere"), "INVALID_ARGUMENT");
    assert.throws(() => alloc(array(types.i32, 2), [1, 2, 3]), RangeError);
    assert.throws(() => alloc(array(types.u8, 2), "ab"), RangeError);
    assert.throws(() => alloc(Point, { z: 1 }), RangeError);
    assert.deepEqual(allocator.liveBlocks(start), []);
  });
});

describe("field and index access", () => {
  it("reads and writes by field name and by index", () => {
    using shape = alloc(Shape);
    shape.set("kind", 7);
    const corners = shape.get("corners") as Pointer;
    (corners.get(3) as Pointer).set("y", -1);
    corners.set(1, { x: 5 });
    assert.equal(shape.field("corners").at(3).get("y"), -1);
    assert.equal(addressof(shape, "corners", 1, "x").value, 5);
    shape.field("area").value = 2.5;
    assert.equal(shape.get("area"), 2.5);
  });

  it("an out-of-range index or unknown field throws RangeError and touches nothing outside", () => {
    const Outer = struct("Outer", { before: types.u32, inner: array(types.u8, 4), after: types.u32 });
    using outer = alloc(Outer, { before: 0xAAAAAAAA, after: 0xBBBBBBBB });
    const inner = outer.field("inner");
    const violations = allocator.checkAll();
    for (const index of [-1, 4, 100, 1.5, Number.NaN, "0" as unknown as number]) {
      assert.throws(() => inner.get(index), RangeError);
      assert.throws(() => inner.set(index, 1), RangeError);
      assert.throws(() => inner.field(index), RangeError);
    }
    for (const name of ["missing", "toString", "__proto__", 0 as unknown as string]) {
      assert.throws(() => outer.get(name), RangeError);
      assert.throws(() => outer.set(name, 1), RangeError);
    }
    assert.throws(() => outer.field("before").get(0), RangeError);
    assert.throws(() => inner.set(0, [1, 2] as never), CustodyError);
    assert.deepEqual(outer.value, { before: 0xAAAAAAAA, inner: [0, 0, 0, 0], after: 0xBBBBBBBB });
    assert.equal(allocator.checkAll(), violations);
  });

  it("a bad part anywhere in a value writes nothing: every element and field is checked first", () => {
    using point = alloc(Point, { x: 1, y: 2 });
    throwsCode(() => {
      point.value = { x: 9, y: "bad" } as never;
    }, "INVALID_ARGUMENT");
    assert.throws(() => {
      point.value = { x: 9, z: 1 } as never;
    }, RangeError);
    assert.deepEqual(point.value, { x: 1, y: 2 });
    using numbers = alloc(array(types.i32, 3), [1, 2, 3]);
    throwsCode(() => {
      numbers.value = [7, 8, "x"] as never;
    }, "INVALID_ARGUMENT");
    assert.deepEqual(numbers.value, [1, 2, 3]);
    using shape = alloc(Shape, { kind: 1, origin: { x: 3, y: 4 } });
    throwsCode(() => shape.set("corners", [{ x: 5 }, { x: 6, y: 2 ** 40 }]), "INVALID_ARGUMENT");
    throwsCode(() => shape.set("origin", { x: 5, y: 1.5 }), "INVALID_ARGUMENT");
    assert.deepEqual(shape.value, { kind: 1, origin: { x: 3, y: 4 }, corners: Array(4).fill({ x: 0, y: 0 }), area: 0 });
    const Named = struct("Named", { id: types.u16, name: array(types.char, 4) });
    using named = alloc(Named, { id: 1 });
    assert.throws(() => {
      named.value = { id: 2, name: "long" };
    }, RangeError);
    assert.deepEqual(named.value, { id: 1, name: [0, 0, 0, 0] });
    // A Pointer in a value that fails is not kept alive: its memory goes as soon as it is released.
    const Node = struct("Node", { next: pointer(null), value: types.i32 });
    using head = alloc(Node);
    const next = alloc(Node);
    const nextAddress = next.address;
    throwsCode(() => {
      head.value = { next, value: 1.5 };
    }, "INVALID_ARGUMENT");
    next.release();
    assert.equal(allocator.blockSize(nextAddress), undefined);
    assert.deepEqual(head.value, { next: 0, value: 0 });
  });

  it("code a value runs while it is read (a getter) cannot make the write reach released memory", () => {
    const point = alloc(Point, { x: 1, y: 2 });
    const violations = allocator.checkAll();
    const value = {
      x: 9,
      get y() {
        point.release();
        return 5;
      },
    };
    throwsCode(() => {
      point.value = value;
    }, "INVALID_OBJECT");
    assert.equal(allocator.checkAll(), violations);
  });
});

describe("release, using and garbage collection", () => {
  it("using frees at the end of the scope", () => {
    let address = 0;
    {
      using p = alloc(types.u64);
      address = p.address;
    }
    assert.equal(allocator.blockSize(address), undefined);
  });

  it("a dropped allocation is freed by the garbage collector, once", async () => {
    const start = allocator.nextSequence();
    (() => {
      for (let i = 0; i < 20; i++) alloc(Point);
    })();
    await collectUntil(() => allocator.liveBlocks(start).length === 0);
    assert.equal(allocator.liveBlocks(start).length, 0);
  });

  it("blocks whose pointer fields point at themselves or at each other are still collected", async () => {
    const Node = struct("Node", { value: types.i32, next: pointer(null), prev: pointer(null) });
    const start = allocator.nextSequence();
    (() => {
      const single = alloc(Node);
      single.set("next", single); // a one-node circular list
      single.set("prev", single.field("value")); // a pointer into itself
      const a = alloc(Node), b = alloc(Node), c = newAllocator({ alloc: (size) => allocator.malloc(size), free: (address) => allocator.free(address) }).alloc(Node);
      a.set("next", b);
      b.set("next", c);
      c.set("next", a);
      c.set("prev", b);
      b.set("prev", a);
      a.set("prev", c);
    })();
    await collectUntil(() => allocator.liveBlocks(start).length === 0);
    assert.deepEqual(allocator.liveBlocks(start), []);
  });
});

describe("derived pointers", () => {
  it("fields, elements, casts and addressof die with their owner", () => {
    const shape = alloc(Shape);
    const derived = [shape.field("origin"), shape.field("corners").at(2), cast(array(types.u8), shape), addressof(shape, "area")];
    shape.release();
    for (const d of derived) {
      assert.equal(d.isValid, false);
      throwsCode(() => d.value, "INVALID_OBJECT");
      throwsCode(() => d.address, "INVALID_OBJECT");
      throwsCode(() => {
        d.value = 1;
      }, "INVALID_OBJECT");
    }
    throwsCode(() => cast(types.u8, derived[0]), "INVALID_OBJECT");
    throwsCode(() => addressof(derived[0], "x"), "INVALID_OBJECT");
  });

  it("cannot be released: only the owner can", () => {
    using shape = alloc(Shape);
    const origin = shape.field("origin");
    assert.equal(origin.isOwner, false);
    throwsCode(() => origin.release(), "NOT_OWNER");
    throwsCode(() => origin.cancelDestructor(), "NOT_OWNER");
    origin[Symbol.dispose]();
    assert.ok(shape.isValid);
  });

  it("cast: the type must fit in what is left of the block", () => {
    using n = alloc(types.u32, 0x01020304);
    const bytes = cast(array(types.u8), n);
    assert.equal(bytes.length, 4);
    assert.equal(cast(array(types.u16), bytes).length, 2);
    assert.equal(cast(array(types.u8, 2), n).length, 2);
    assert.throws(() => cast(types.u64, n), RangeError);
    assert.throws(() => cast(array(types.u8, 5), n), RangeError);
    assert.throws(() => cast(types.u32, bytes.at(1)), RangeError);
    throwsCode(() => cast(array(types.u8), n, { length: -1 }), "INVALID_ARGUMENT");
  });

  it("cast from a raw address: unowned, bounded by the type, never freed by custody", () => {
    const raw = allocator.malloc(8, { zero: true });
    const view = cast(types.u32, raw);
    view.value = 7;
    assert.equal(cast(array(types.u8), raw, { length: 8 }).get(0), 7);
    assert.equal(view.state, "borrowed");
    throwsCode(() => view.release(), "NOT_OWNER");
    throwsCode(() => cast(types.u8, 0), "NULL_POINTER");
    throwsCode(() => cast(types.u8, -4), "INVALID_ARGUMENT");
    throwsCode(() => cast(array(types.u8), raw), "INVALID_ARGUMENT");
    assert.equal(allocator.free(raw), "freed");
  });
});

describe("gc", () => {
  it("a JS destructor runs exactly once, on release; the size hint counts toward stats", () => {
    const raw = allocator.malloc(100);
    const before = stats();
    const calls: number[] = [];
    const owned = gc(raw, (address) => {
      calls.push(address);
      allocator.free(address);
    }, { size: 100 });
    assert.equal(stats().gcLiveBytes, before.gcLiveBytes + 100);
    assert.equal(stats().gcLiveCount, before.gcLiveCount + 1);
    assert.equal(owned.length, 100);
    owned.release();
    owned[Symbol.dispose]();
    throwsCode(() => owned.release(), "DOUBLE_RELEASE");
    assert.deepEqual(calls, [raw]);
    assert.equal(stats().gcLiveBytes, before.gcLiveBytes);
  });

  it("a native destructor runs on the end of a using scope", () => {
    const raw = allocator.malloc(16);
    {
      using _owned = gc(raw, custodyFree, { size: 16, type: array(types.u32) });
    }
    assert.equal(allocator.blockSize(raw), undefined);
  });

  it("the garbage collector runs the destructor once", async () => {
    let runs = 0;
    const raw = allocator.malloc(8);
    (() => {
      gc(raw, (address) => {
        runs++;
        allocator.free(address);
      }, { size: 8 });
    })();
    await collectUntil(() => runs > 0);
    assert.equal(runs, 1);
    assert.equal(allocator.blockSize(raw), undefined);
  });

  it("the destructor can be cancelled: custody never frees it, the memory stays usable", () => {
    const raw = allocator.malloc(8, { zero: true });
    let runs = 0;
    const owned = gc(raw, () => runs++, { size: 8, type: types.u64 });
    const before = stats().gcLiveBytes;
    owned.cancelDestructor();
    assert.equal(stats().gcLiveBytes, before - 8);
    assert.equal(owned.state, "borrowed");
    owned.value = 5n;
    throwsCode(() => owned.release(), "NOT_OWNER", /destructor was already cancelled/);
    throwsCode(() => owned.cancelDestructor(), "NOT_OWNER", /destructor was already cancelled/);
    owned[Symbol.dispose]();
    assert.equal(runs, 0);
    assert.equal(allocator.free(raw), "freed");
  });

  it("a throwing destructor: the object is released anyway, the error reaches the caller once", () => {
    const raw = allocator.malloc(8);
    const owned = gc(raw, (address) => {
      allocator.free(address);
      throw new Error("boom");
    });
    assert.throws(() => owned.release(), /boom/);
    assert.equal(owned.isValid, false);
    assert.equal(allocator.blockSize(raw), undefined);
    throwsCode(() => owned.release(), "DOUBLE_RELEASE");
  });

  it("refuses a null pointer, a second owner, bad sizes, types and destructors", () => {
    throwsCode(() => gc(0, custodyFree), "NULL_POINTER");
    throwsCode(() => gc(-1, custodyFree), "INVALID_ARGUMENT");
    using memory = alloc(types.u64);
    throwsCode(() => gc(memory.address, custodyFree), "ALREADY_OWNED");
    throwsCode(() => gc(memory, custodyFree), "ALREADY_OWNED");
    const raw = allocator.malloc(8);
    throwsCode(() => gc(raw, custodyFree, { size: -1 }), "INVALID_ARGUMENT");
    throwsCode(() => gc(raw, 1.5), "INVALID_ARGUMENT");
    assert.throws(() => gc(raw, custodyFree, { size: 4, type: types.u64 }), RangeError);
    using owned = gc(cast(types.u64, raw), custodyFree, { type: types.u64 });
    assert.equal(owned.byteLength, 8);
  });

  it("refuses an address any owner of the memory API holds, whatever its type name: a pin, a handle", () => {
    let runs = 0;
    const bytes = new Uint8Array(64);
    using pinned = fromBuffer(bytes);
    throwsCode(() => gc(pinned.address, () => runs++, { size: 64 }), "ALREADY_OWNED", /pinned JS buffer/);
    using handle = newHandle("value");
    throwsCode(() => gc(handle.address, () => runs++), "ALREADY_OWNED", /handle/);
    assert.equal(runs, 0);
    assert.equal(pinned.isValid, true);
    // A pin whose buffer was detached behind custody's back holds nothing any more: it ends.
    const moved = new Uint8Array(8);
    const lost = fromBuffer(moved);
    const address = lost.address;
    const violations = stats().pinViolations;
    structuredClone(moved.buffer, { transfer: [moved.buffer] });
    gc(address, () => runs++).release();
    assert.equal(runs, 1);
    assert.equal(lost.isValid, false);
    assert.equal(stats().pinViolations, violations + 1);
  });
});

describe("newAllocator", () => {
  it("allocates with your alloc, clears, and frees each block exactly once with your free", () => {
    const frees: number[] = [];
    const custom = newAllocator({
      alloc: (size) => {
        const address = allocator.malloc(size);
        new Uint8Array(8).fill(0xFF); // unrelated garbage
        return address;
      },
      free: (address) => {
        frees.push(address);
        allocator.free(address);
      },
    });
    const point = custom.alloc(Point, { y: 3 });
    assert.deepEqual(point.value, { x: 0, y: 3 });
    const address = point.address;
    const derived = point.field("y");
    point.release();
    point[Symbol.dispose]();
    assert.deepEqual(frees, [address]);
    throwsCode(() => derived.value, "INVALID_OBJECT");
  });

  it("clear: false leaves what alloc returned", () => {
    const custom = newAllocator({
      alloc: (size) => {
        const address = allocator.malloc(size);
        cast(array(types.u8), address, { length: size }).value = new Uint8Array(size).fill(9);
        return address;
      },
      free: (address) => allocator.free(address),
      clear: false,
    });
    using bytes = custom.alloc(array(types.u8, 4));
    assert.deepEqual(bytes.value, [9, 9, 9, 9]);
  });

  it("without free, blocks are never freed by custody", () => {
    const custom = newAllocator({ alloc: (size) => allocator.malloc(size) });
    const p = custom.alloc(types.u32);
    const address = p.address;
    p.release();
    assert.equal(allocator.blockSize(address), 4);
    allocator.free(address);
  });

  it("a NULL from alloc throws; bad functions and results are refused", () => {
    throwsCode(() => newAllocator({ alloc: () => 0 }).alloc(types.u8), "OUT_OF_MEMORY");
    throwsCode(() => newAllocator({ alloc: () => null as unknown as number }).alloc(types.u8), "OUT_OF_MEMORY");
    throwsCode(() => newAllocator({ alloc: () => -8 }).alloc(types.u8), "INVALID_ARGUMENT");
    throwsCode(() => newAllocator({ alloc: 5 as never }), "INVALID_ARGUMENT");
    throwsCode(() => newAllocator({ alloc: () => 0, free: "no" as never }), "INVALID_ARGUMENT");
  });
});

describe("fromBuffer", () => {
  it("a pointer into JS memory: writes are seen both ways; release unpins", () => {
    const samples = new Int32Array(4);
    const before = stats().pinnedBuffers;
    const pinned = fromBuffer(samples);
    assert.equal(stats().pinnedBuffers, before + 1);
    pinned.set(2, -7);
    samples[1] = 4;
    assert.deepEqual(pinned.value, [0, 4, -7, 0]);
    assert.throws(() => pinned.get(4), RangeError);
    pinned.release();
    assert.equal(stats().pinnedBuffers, before);
    samples.buffer.transfer();
  });

  it("pins JS drops are collected and unpinned (a pin count once kept its owner alive)", async () => {
    await collectUntil(() => false);
    const before = stats().pinnedBuffers;
    // Made in a function of their own, so that no stack slot of this one holds them. Bun's
    // collector scans the stack and registers conservatively and may keep a few alive: the bug
    // kept every one.
    const pinMany = (count: number) => {
      for (let i = 0; i < count; i++) fromBuffer(new Int32Array(4));
    };
    pinMany(20);
    assert.equal(stats().pinnedBuffers, before + 20);
    await new Promise((resolve) => setTimeout(resolve, 0));
    await collectUntil(() => stats().pinnedBuffers <= before + 10);
    assert.ok(stats().pinnedBuffers <= before + 10, `${stats().pinnedBuffers - before} of 20 dropped pins are still pinned`);
  });

  it("transferring a pinned buffer is refused until it is unpinned", () => {
    const bytes = new Uint8Array(16);
    const pinned = fromBuffer(bytes.subarray(4, 8));
    throwsCode(() => bytes.buffer.transfer(), "BUFFER_PINNED");
    throwsCode(() => bytes.buffer.transferToFixedLength(), "BUFFER_PINNED");
    assert.equal(bytes.buffer.detached, false);
    pinned.release();
    assert.equal(bytes.buffer.transfer().byteLength, 16);
  });

  it("a resizable buffer may grow (its address stays), not shrink below the pin", () => {
    const buffer = new ArrayBuffer(16, { maxByteLength: 4096 });
    const pinned = fromBuffer(new Uint8Array(buffer, 0, 8));
    const address = pinned.address;
    buffer.resize(1024);
    assert.equal(pinned.address, address);
    buffer.resize(8);
    throwsCode(() => buffer.resize(4), "BUFFER_PINNED");
    assert.equal(buffer.byteLength, 8);
    pinned.release();
    buffer.resize(4);
  });

  it("resize and transfer convert their length once, as the engine does: no length gets past the guard", () => {
    const buffer = new ArrayBuffer(16, { maxByteLength: 64 });
    using pinned = fromBuffer(new Uint8Array(buffer));
    for (const length of [undefined, Number.NaN, "abc", "8", -0.5]) {
      throwsCode(() => buffer.resize(length as number), "BUFFER_PINNED");
    }
    let reads = 0;
    buffer.resize({ valueOf: () => reads++ === 0 ? 32 : 0 } as unknown as number);
    assert.equal(reads, 1);
    assert.equal(buffer.byteLength, 32);
    assert.throws(() => buffer.resize(-1), RangeError);
    assert.throws(() => buffer.resize(65), RangeError);
    assert.equal(buffer.byteLength, 32);
    assert.equal(pinned.isValid, true);
    // A length whose conversion pins the buffer: the guard looks after it.
    const other = new ArrayBuffer(8);
    let late: Pointer | undefined;
    const pinning = {
      valueOf: () => {
        late = fromBuffer(new Uint8Array(other));
        return 8;
      },
    };
    throwsCode(() => other.transfer(pinning as unknown as number), "BUFFER_PINNED");
    assert.equal(other.detached, false);
    late!.release();
  });

  it("a detach custody cannot stop (structuredClone) is reported at the next use", () => {
    const bytes = new Uint8Array(8);
    const pinned = fromBuffer(bytes);
    const violations = stats().pinViolations;
    structuredClone(bytes.buffer, { transfer: [bytes.buffer] });
    throwsCode(() => pinned.value, "BUFFER_DETACHED");
    assert.equal(stats().pinViolations, violations + 1);
    assert.equal(pinned.isValid, false);
    throwsCode(() => pinned.address, "INVALID_OBJECT");
  });

  it("a query that notices a detach leaves its report to the next use; release() reports it too; counted once", () => {
    for (const query of [(p: Pointer) => p.isValid, (p: Pointer) => p.toString(), (p: Pointer) => p.state]) {
      const bytes = new Uint8Array(8);
      const pinned = fromBuffer(bytes);
      const violations = stats().pinViolations;
      structuredClone(bytes.buffer, { transfer: [bytes.buffer] });
      query(pinned);
      assert.equal(pinned.isValid, false);
      assert.equal(pinned.state, "invalid");
      throwsCode(() => pinned.get(0), "BUFFER_DETACHED");
      throwsCode(() => pinned.get(0), "INVALID_OBJECT");
      assert.equal(stats().pinViolations, violations + 1);
    }
    const bytes = new Uint8Array(8);
    const before = stats().pinnedBuffers;
    const pinned = fromBuffer(bytes);
    const violations = stats().pinViolations;
    structuredClone(bytes.buffer, { transfer: [bytes.buffer] });
    throwsCode(() => pinned.release(), "BUFFER_DETACHED");
    assert.equal(stats().pinnedBuffers, before);
    assert.equal(stats().pinViolations, violations + 1);
    throwsCode(() => pinned.release(), "INVALID_OBJECT");
  });

  it("a detached pin the garbage collector finds is counted, once", async () => {
    const violations = stats().pinViolations;
    (() => {
      for (let i = 0; i < 10; i++) {
        const bytes = new Uint8Array(8);
        fromBuffer(bytes);
        structuredClone(bytes.buffer, { transfer: [bytes.buffer] });
      }
    })();
    await collectUntil(() => stats().pinViolations >= violations + 5);
    // Bun's collector scans the stack conservatively and may keep a few alive.
    assert.ok(stats().pinViolations >= violations + 5 && stats().pinViolations <= violations + 10);
  });

  it("cancelDestructor is refused on a pin, which has no destructor: it stays pinned until released", () => {
    const bytes = new Uint8Array(8);
    const before = stats().pinnedBuffers;
    const pinned = fromBuffer(bytes);
    throwsCode(() => pinned.cancelDestructor(), "BUFFER_PINNED", /release\(\) it to unpin/);
    assert.equal(pinned.state, "owned");
    throwsCode(() => bytes.buffer.transfer(), "BUFFER_PINNED");
    pinned.release();
    assert.equal(stats().pinnedBuffers, before);
    assert.equal(bytes.buffer.transfer().byteLength, 8);
  });

  it("views a typed array as its built-in class's elements, whatever its class or prototype says", () => {
    class Samples extends Float64Array {}
    using samples = fromBuffer(new Samples(4));
    assert.equal(samples.type.name, "f64[]");
    assert.equal(samples.length, 4);
    using words = fromBuffer(Object.setPrototypeOf(new Int32Array(4), Float64Array.prototype) as Int32Array);
    assert.equal(words.type.name, "i32[]");
    // C has no standard 16-bit float: bytes.
    const Float16 = (globalThis as { Float16Array?: new (length: number) => ArrayBufferView }).Float16Array;
    if (Float16 !== undefined) {
      using halves = fromBuffer(new Float16(4));
      assert.equal(halves.type.name, "u8[]");
      assert.equal(halves.length, 8);
    }
  });

  it("a buffer transferred away from its pin can be pinned again at the same address: the old pin ends", () => {
    // structuredClone moves the memory to the new buffer without copying it (on both runtimes),
    // as an engine reusing the memory of a collected one would: the address is the old pin's.
    const samples = new Float64Array(8);
    const first = fromBuffer(samples);
    const address = first.address;
    const violations = stats().pinViolations;
    const moved = new Float64Array(structuredClone(samples.buffer, { transfer: [samples.buffer] }));
    using second = fromBuffer(moved);
    assert.equal(second.address, address);
    assert.equal(stats().pinViolations, violations + 1);
    assert.equal(first.isValid, false);
    throwsCode(() => first.value, "INVALID_OBJECT", /detached or shrunk/);
    second.set(2, 0.5);
    assert.equal(moved[2], 0.5);
  });

  it("refuses empty views, non-views, and a second pin at the same address", () => {
    throwsCode(() => fromBuffer(new Uint8Array(0)), "INVALID_ARGUMENT");
    throwsCode(() => fromBuffer([1, 2] as never), "INVALID_ARGUMENT");
    const bytes = new Uint8Array(8);
    using pinned = fromBuffer(bytes, { type: array(types.u16) });
    assert.equal(pinned.length, 4);
    const violations = stats().pinViolations;
    throwsCode(() => fromBuffer(bytes), "ALREADY_OWNED");
    // The first pin still has its memory: it keeps the address.
    assert.equal(pinned.isValid, true);
    assert.equal(stats().pinViolations, violations);
  });
});

describe("strings", () => {
  it("string() reads up to the NUL, the limit, or the end of the block", () => {
    using text = newString("héllo");
    assert.equal(string(text), "héllo");
    assert.equal(string(text, 1), "h");
    assert.equal(string(text.at(1)), "éllo");
    using unterminated = alloc(array(types.u8), new TextEncoder().encode("abc"));
    assert.equal(string(unterminated), "abc");
    assert.equal(string(text.address), "héllo");
    assert.equal(string(text.address, 3), "hé");
    assert.equal(string(text.address, 0), "");
  });

  it("refuses null, bad limits and released memory", () => {
    throwsCode(() => string(0), "NULL_POINTER");
    throwsCode(() => string(-2), "INVALID_ARGUMENT");
    const text = newString("x");
    throwsCode(() => string(text, -1), "INVALID_ARGUMENT");
    text.release();
    throwsCode(() => string(text), "INVALID_OBJECT");
    throwsCode(() => newString(5 as never), "INVALID_ARGUMENT");
  });

  it("strings and memory pass to bound native functions as pointer arguments, checked", () => {
    using name = newString("memory-test-name");
    assert.equal(lib.functions.custody_intern(name, name.length - 1), registry.typeName("memory-test-name"));
    const block = alloc(array(types.u8, 24));
    assert.equal(lib.functions.custody_block_size(block), 24);
    assert.equal(lib.functions.custody_block_size(block.field(1)), -1); // an interior pointer is no block
    block.release();
    throwsCode(() => lib.functions.custody_block_size(block), "INVALID_OBJECT");
    assert.equal(lib.functions.custody_block_size(0), -1);
  });
});

describe("handles", () => {
  it("stand for a JS value until released; then the address is stale for good", () => {
    const value = { listener: true };
    const handle = newHandle(value);
    assert.equal(fromHandle(handle.address), value);
    const address = handle.address;
    handle.release();
    throwsCode(() => fromHandle(address), "STALE_HANDLE");
    const next = newHandle("other");
    assert.notEqual(next.address, address);
    throwsCode(() => fromHandle(address), "STALE_HANDLE");
    throwsCode(() => fromHandle(0x1000), "STALE_HANDLE");
    throwsCode(() => fromHandle(-1), "INVALID_ARGUMENT");
    next.release();
  });
});
