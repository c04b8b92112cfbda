// The slot-indexed table behind wrapper identity, identically under `deno test` and `bun test`.
import { describe, it } from "node:test";
import assert from "node:assert/strict";
import { SlotTable } from "../src/ownership/slot_table.ts";

describe("slot table", () => {
  it("reads undefined for slots never set, near and far", () => {
    const table = new SlotTable<string>();
    for (const slot of [0, 1, 4095, 4096, 10_000_000, 2 ** 32 - 2]) assert.equal(table.get(slot), undefined);
  });

  it("swap stores a value and returns the one it replaced", () => {
    const table = new SlotTable<string>();
    assert.equal(table.swap(4096, "a"), undefined);
    assert.equal(table.swap(4096, "b"), "a");
    assert.equal(table.get(4096), "b");
    assert.equal(table.get(4095), undefined, "the neighbour in the chunk before");
    assert.equal(table.get(4097), undefined, "the neighbour in the same chunk");
  });

  it("keeps slots apart across chunks, in any order of first use", () => {
    const table = new SlotTable<number>();
    const slots = [10_000_000, 3, 4096 * 7 + 5, 4095, 4096, 8_191, 8_192, 2 ** 24];
    for (const slot of slots) table.swap(slot, slot * 2);
    for (const slot of slots) assert.equal(table.get(slot), slot * 2);
    assert.equal(table.get(4096 * 7 + 4), undefined);
    assert.equal(table.get(9_999_999), undefined);
  });

  it("delete clears a slot only while it holds that value", () => {
    const table = new SlotTable<object>();
    const older = {}, newer = {};
    table.swap(12, older);
    table.swap(12, newer);
    table.delete(12, older);
    assert.equal(table.get(12), newer, "a newer value is kept");
    table.delete(12, newer);
    assert.equal(table.get(12), undefined);
    table.delete(50_000, newer);
    assert.equal(table.get(50_000), undefined, "deleting from a chunk never made changes nothing");
  });
});
