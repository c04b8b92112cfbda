// The tracked allocator from JS, identically under `deno test` and `bun test`: every
// violation is reported with the right kind, address, size and tag, and the process goes on.
import { describe, it } from "node:test";
import assert from "node:assert/strict";
import { allocator, CustodyError, runtime, stats, violationCount } from "../mod.ts";

/** Runs `action` and returns the events it caused. */
function eventsOf(action: () => void): allocator.ViolationEvent[] {
  const before = stats().eventsTotal;
  const lastId = allocator.events().at(-1)?.id ?? 0;
  action();
  const recorded = allocator.events(lastId);
  assert.equal(recorded.length, stats().eventsTotal - before);
  return recorded;
}

function bytesAt(address: number, length: number): Uint8Array {
  return new Uint8Array(runtime.view(address, length));
}

describe("tracked allocator", () => {
  it("allocates tagged, aligned, counted blocks", () => {
    const before = stats();
    const address = allocator.malloc(100, { alignment: 256, tag: "test/alloc" });
    assert.equal(address % 256, 0);
    assert.equal(allocator.blockSize(address), 100);
    assert.equal(stats().liveCount, before.liveCount + 1);
    assert.equal(stats().liveBytes, before.liveBytes + 100);
    const [block] = allocator.liveBlocks(allocator.nextSequence() - 1);
    assert.deepEqual(block, {
      address,
      size: 100,
      alignment: 256,
      sequence: allocator.nextSequence() - 1,
      tag: "test/alloc",
    });
    assert.equal(allocator.free(address), "freed");
    assert.equal(stats().liveCount, before.liveCount);
    assert.equal(allocator.blockSize(address), undefined);
  });

  it("zeroes memory when asked", () => {
    const address = allocator.malloc(64, { zero: true });
    assert.ok(bytesAt(address, 64).every((b) => b === 0));
    allocator.free(address);
  });

  it("reports a double free with kind, address, size and tag", () => {
    const address = allocator.malloc(24, { tag: "test/double" });
    assert.equal(allocator.free(address), "freed");
    let outcome = "";
    const [event, ...rest] = eventsOf(() => outcome = allocator.free(address));
    assert.equal(outcome, "reported");
    assert.equal(rest.length, 0);
    assert.equal(event.kind, "double_free");
    assert.equal(event.detail, "in_quarantine");
    assert.equal(event.address, address);
    assert.equal(event.size, 24);
    assert.equal(event.tag, "test/double");
  });

  it("reports a double free after the block left the quarantine", () => {
    const previous = allocator.config();
    allocator.configure({ quarantineMaxCount: 0 });
    try {
      const address = allocator.malloc(40, { tag: "test/late-double" });
      allocator.free(address);
      const [event] = eventsOf(() => allocator.free(address));
      assert.equal(event.kind, "double_free");
      assert.equal(event.detail, "recently_freed");
      assert.equal(event.size, 40);
      assert.equal(event.tag, "test/late-double");
    } finally {
      allocator.configure(previous);
    }
  });

  it("reports an invalid free of a pointer never issued", () => {
    const bogus = 0x10_0000;
    const [event] = eventsOf(() => assert.equal(allocator.free(bogus), "reported"));
    assert.equal(event.kind, "invalid_free");
    assert.equal(event.detail, "unknown_pointer");
    assert.equal(event.address, bogus);
    assert.equal(event.size, 0);
    assert.equal(event.tag, null);
  });

  it("reports an interior pointer with the block it points into", () => {
    const address = allocator.malloc(64, { tag: "test/interior" });
    const [event] = eventsOf(() => allocator.free(address + 8));
    assert.equal(event.kind, "invalid_free");
    assert.equal(event.detail, "interior_pointer");
    assert.equal(event.address, address + 8);
    assert.equal(event.related, address);
    assert.equal(event.size, 64);
    assert.equal(event.tag, "test/interior");
    assert.equal(allocator.blockSize(address), 64, "the block is untouched");
    allocator.free(address);
  });

  it("reports an overrun on free, with the offset of the damage", () => {
    const address = allocator.malloc(10, { tag: "test/overrun" });
    bytesAt(address, 13)[12] = 0;
    const [event] = eventsOf(() => assert.equal(allocator.free(address), "freed"));
    assert.equal(event.kind, "overrun");
    assert.equal(event.detail, "on_free");
    assert.equal(event.address, address);
    assert.equal(event.size, 10);
    assert.equal(event.tag, "test/overrun");
    assert.equal(event.related, 2);
  });

  it("reports an underrun found by checkAll", () => {
    const address = allocator.malloc(16, { tag: "test/underrun" });
    const front = new Uint8Array(runtime.view(address - 16, 16));
    const saved = front[15];
    front[15] = 0;
    const [event] = eventsOf(() => assert.equal(allocator.checkAll(), 1));
    assert.equal(event.kind, "underrun");
    assert.equal(event.detail, "on_check");
    assert.equal(event.related, 1);
    front[15] = saved;
    allocator.free(address);
  });

  it("reports a write after free when the block leaves the quarantine", () => {
    const address = allocator.malloc(32, { tag: "test/uaf" });
    const view = bytesAt(address, 32);
    allocator.free(address);
    view[5] = 42;
    const [event] = eventsOf(() => allocator.flushQuarantine());
    assert.equal(event.kind, "write_after_free");
    assert.equal(event.detail, "on_evict");
    assert.equal(event.address, address);
    assert.equal(event.related, 5);
    assert.equal(event.tag, "test/uaf");
  });

  it("keeps running after every kind of misuse", () => {
    const before = violationCount();
    const a = allocator.malloc(8);
    allocator.free(a);
    allocator.free(a);
    allocator.free(0x2000);
    assert.equal(violationCount(), before + 2);
    const b = allocator.malloc(8);
    assert.equal(allocator.free(b), "freed");
  });

  it("realloc keeps contents and tag, and refuses a freed pointer", () => {
    const address = allocator.malloc(4, { tag: "test/realloc" });
    bytesAt(address, 4).set([1, 2, 3, 4]);
    const grown = allocator.realloc(address, 4096);
    assert.deepEqual([...bytesAt(grown, 4)], [1, 2, 3, 4]);
    assert.equal(allocator.blockSize(grown), 4096);
    const [event] = eventsOf(() => assert.equal(allocator.realloc(address, 8), 0));
    assert.equal(event.kind, "double_free");
    assert.equal(event.detail, "on_realloc");
    assert.equal(allocator.realloc(grown, 0), 0);
    assert.equal(allocator.blockSize(grown), undefined);
  });

  it("lists what a piece of work leaked", () => {
    const start = allocator.nextSequence();
    const kept = allocator.malloc(7, { tag: "test/leak" });
    allocator.free(allocator.malloc(9));
    assert.deepEqual(allocator.liveBlocks(start).map((b) => [b.address, b.size, b.tag]), [[kept, 7, "test/leak"]]);
    allocator.free(kept);
    assert.deepEqual(allocator.liveBlocks(start), []);
  });

  it("lists more live blocks than one batch holds", () => {
    const start = allocator.nextSequence();
    const blocks = Array.from({ length: 100 }, (_, i) => allocator.malloc(i + 1));
    assert.deepEqual(allocator.liveBlocks(start).map((b) => b.address), blocks);
    blocks.forEach((b) => allocator.free(b));
  });

  it("returns more events than one batch holds", () => {
    const lastId = allocator.events().at(-1)?.id ?? 0;
    for (let i = 0; i < 70; i++) allocator.free(0x3000 + i * 16);
    const recorded = allocator.events(lastId);
    assert.equal(recorded.length, 70);
    assert.deepEqual(recorded.map((e) => e.address), Array.from({ length: 70 }, (_, i) => 0x3000 + i * 16));
  });

  it("validates sizes, alignments and settings with typed errors", () => {
    for (const [size, options] of [[-1, {}], [1.5, {}], [8, { alignment: 3 }], [8, { alignment: 1 << 17 }]] as const) {
      assert.throws(() => allocator.malloc(size, options), (e: unknown) => e instanceof CustodyError && e.code === "INVALID_ARGUMENT");
    }
    assert.throws(() => allocator.configure({ canarySize: 5000 }), (e: unknown) => e instanceof CustodyError && e.code === "INVALID_ARGUMENT");
    assert.throws(() => allocator.configure({ quarantineMaxCount: -1 }), (e: unknown) => e instanceof CustodyError && e.code === "INVALID_ARGUMENT");
    assert.equal(allocator.config().canarySize, 16, "a refused change changes nothing");
  });

  it("applies settings and returns them", () => {
    const previous = allocator.config();
    try {
      const now = allocator.configure({ canarySize: 32, poison: false });
      assert.deepEqual(allocator.config(), now);
      assert.equal(now.canarySize, 32);
      assert.equal(now.poison, false);
      const address = allocator.malloc(8);
      bytesAt(address, 8 + 32)[8 + 31] = 0;
      const [event] = eventsOf(() => allocator.free(address));
      assert.equal(event.related, 31);
    } finally {
      allocator.configure(previous);
    }
  });

  it("refuses values that cannot be addresses, the same in both runtimes", () => {
    for (const bad of [-1, 1.5, NaN, Infinity, 2 ** 53]) {
      for (const action of [() => allocator.free(bad), () => allocator.blockSize(bad), () => allocator.realloc(bad, 8)]) {
        assert.throws(action, (e: unknown) => e instanceof CustodyError && e.code === "INVALID_ARGUMENT", String(bad));
      }
    }
    assert.throws(() => allocator.malloc(8, { tag: -1 }), (e: unknown) => e instanceof CustodyError && e.code === "INVALID_ARGUMENT");
  });

  it("interns tags", () => {
    assert.equal(allocator.tag("test/tag"), allocator.tag("test/tag"));
    assert.equal(allocator.tagName(allocator.tag("test/tag")), "test/tag");
    assert.equal(allocator.tagName(0), null);
    assert.equal(allocator.tagName(0x7fff_fff0), null);
  });
});
