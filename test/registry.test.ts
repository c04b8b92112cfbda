// The capsule registry from JS, identically under `deno test` and `bun test`.
import { afterEach, describe, it } from "node:test";
import assert from "node:assert/strict";
import { registry, runtime, stats } from "../mod.ts";
import { throwsCode } from "./helpers.ts";

/** A native-callable destructor that records (pointer, context) pairs in call order. */
function recordingDestructor() {
  const calls: [number, number][] = [];
  const callback = runtime.callback(
    { parameters: ["pointer", "pointer"], result: "void" },
    (pointer, context) => void calls.push([pointer, context]),
  );
  return { calls, address: callback.pointer, close: () => callback.close() };
}


const created: registry.Handle[] = [];
function track(handle: registry.Handle): registry.Handle {
  created.push(handle);
  return handle;
}

describe("capsule registry", () => {
  afterEach(() => {
    // Leave no entries behind for other test files.
    for (const handle of created.splice(0)) if (registry.isLive(handle)) registry.destroy(handle);
  });

  it("issues odd generations and maps them into JS", () => {
    const handle = track(registry.create(0x1000));
    assert.equal(handle.generation % 2, 1);
    assert.equal(registry.generations[handle.slot], handle.generation);
    assert.ok(registry.isLive(handle));
    registry.destroy(handle);
    assert.equal(registry.generations[handle.slot], handle.generation + 1);
    assert.ok(!registry.isLive(handle));
  });

  it("refuses stale and forged handles with typed errors", () => {
    const handle = registry.create(0x1000);
    registry.destroy(handle);
    const staleBefore = stats().staleHandles;
    throwsCode(() => registry.destroy(handle), "STALE_HANDLE");
    throwsCode(() => registry.info(handle), "STALE_HANDLE");
    assert.equal(stats().staleHandles, staleBefore + 2);
    throwsCode(() => registry.destroy({ slot: registry.registryCapacity(), generation: 1 }), "FORGED_HANDLE");
    throwsCode(() => registry.destroy({ slot: handle.slot, generation: handle.generation + 2 }), "FORGED_HANDLE");
    throwsCode(() => registry.destroy({ slot: -1, generation: 1 }), "FORGED_HANDLE");
    throwsCode(() => registry.destroy({ slot: 1.5, generation: 1 }), "FORGED_HANDLE");
    assert.ok(!registry.isLive({ slot: handle.slot, generation: handle.generation + 1 }), "even generations are never live");
  });

  it("never lets a stale handle alias a new object at the same address", () => {
    const old = registry.create(0xABC0, { typeName: registry.typeName("Reused") });
    registry.notifyDestroyed(old);
    const fresh = track(registry.create(0xABC0, { typeName: registry.typeName("Reused") }));
    throwsCode(() => registry.info(old), "STALE_HANDLE");
    assert.deepEqual(registry.find(0xABC0, registry.typeName("Reused")), fresh);
  });

  it("requires the exact name; the null name matches only itself", () => {
    const window = track(registry.create(0x10, { typeName: registry.typeName("Window") }));
    const unnamed = track(registry.create(0x20));
    assert.equal(registry.pointerOf(window, registry.typeName("Window")), 0x10);
    throwsCode(() => registry.pointerOf(window, registry.typeName("window")), "NAME_MISMATCH");
    throwsCode(() => registry.pointerOf(window, registry.typeName(null)), "NAME_MISMATCH");
    throwsCode(() => registry.pointerOf(unnamed, registry.typeName("")), "NAME_MISMATCH");
    assert.equal(registry.pointerOf(unnamed, registry.typeName(null)), 0x20);
    throwsCode(() => registry.create(0), "NULL_POINTER");
  });

  it("tells apart objects of different types at one address", () => {
    const outer = track(registry.create(0x500, { typeName: registry.typeName("Outer") }));
    const member = track(registry.create(0x500, { typeName: registry.typeName("Member"), parent: outer }));
    assert.deepEqual(registry.find(0x500, registry.typeName("Outer")), outer);
    assert.deepEqual(registry.find(0x500, registry.typeName("Member")), member);
    assert.equal(registry.find(0x500, registry.typeName("Other")), undefined);
    assert.equal(registry.notifyDestroyedAt(0x500), 2);
    assert.equal(registry.find(0x500), undefined);
  });

  it("destroys a tree children first, each destructor exactly once", () => {
    const destructor = recordingDestructor();
    try {
      const d = { destructor: destructor.address };
      const root = registry.create(1, { ...d, context: 100 });
      const a = registry.create(2, { ...d, parent: root });
      const a1 = registry.create(3, { ...d, parent: a });
      const nativeOwned = registry.create(4, { parent: a });
      const b = registry.create(5, { ...d, parent: root });
      assert.deepEqual(registry.children(root), [b, a]);
      registry.destroy(root);
      for (const h of [root, a, a1, nativeOwned, b]) assert.ok(!registry.isLive(h));
      assert.deepEqual(destructor.calls, [[5, 0], [3, 0], [2, 0], [1, 100]]);
    } finally {
      destructor.close();
    }
  });

  it("handles parents: same parent no-op, re-parent moves, null detaches, cycles refused", () => {
    const a = track(registry.create(1));
    const b = track(registry.create(2));
    const c = track(registry.create(3, { parent: a }));
    registry.setParent(c, a);
    assert.equal(registry.info(a).childCount, 1);
    registry.setParent(c, b);
    assert.equal(registry.info(a).childCount, 0);
    assert.deepEqual(registry.info(c).parent, b);
    const refusedBefore = stats().cyclesRefused;
    throwsCode(() => registry.setParent(b, c), "CYCLE");
    throwsCode(() => registry.setParent(c, c), "CYCLE");
    assert.equal(stats().cyclesRefused, refusedBefore + 2);
    registry.destroy(a);
    assert.ok(registry.isLive(c), "re-parented away from a, c survives it");
    registry.setParent(c, null);
    assert.equal(registry.info(c).parent, null);
    registry.destroy(b);
    assert.ok(registry.isLive(c));
  });

  it("notify: native destroyed it, so only descendants' destructors run", () => {
    const destructor = recordingDestructor();
    try {
      const parent = registry.create(1, { destructor: destructor.address });
      registry.create(2, { destructor: destructor.address, parent });
      registry.notifyDestroyed(parent);
      assert.deepEqual(destructor.calls, [[2, 0]]);
    } finally {
      destructor.close();
    }
  });

  it("a view's destructor runs when it is destroyed itself, not when its parent takes it along", () => {
    const destructor = recordingDestructor();
    try {
      const d = { destructor: destructor.address };
      const block = registry.create(1, d);
      const view = registry.create(2, { ...d, parent: block });
      const plain = registry.create(3, { ...d, parent: block });
      registry.setView(view, true);
      registry.destroy(block);
      assert.deepEqual(destructor.calls, [[3, 0], [1, 0]]);
      assert.ok(!registry.isLive(view) && !registry.isLive(plain));
      const alone = registry.create(4, d);
      registry.setView(alone, true);
      registry.destroy(alone);
      assert.deepEqual(destructor.calls.at(-1), [4, 0]);
      throwsCode(() => registry.setView(alone, false), "STALE_HANDLE");
      const live = track(registry.create(5));
      throwsCode(() => registry.setView(live, 1 as never), "INVALID_ARGUMENT", /true or false/);
      throwsCode(() => registry.setView({ slot: -1, generation: 1 }, true), "FORGED_HANDLE");
    } finally {
      destructor.close();
    }
  });

  it("keep-alive defers the destructor, never invalidation", () => {
    const destructor = recordingDestructor();
    try {
      const source = registry.create(7, { destructor: destructor.address });
      registry.keepAlive(source);
      assert.equal(registry.info(source).keepAlive, 1);
      registry.destroy(source);
      assert.ok(!registry.isLive(source));
      assert.deepEqual(destructor.calls, []);
      registry.dropKeepAlive(source);
      assert.deepEqual(destructor.calls, [[7, 0]]);
      throwsCode(() => registry.dropKeepAlive(source), "STALE_HANDLE");
      const other = track(registry.create(8));
      throwsCode(() => registry.dropKeepAlive(other), "NOT_KEPT_ALIVE");
    } finally {
      destructor.close();
    }
  });

  it("records owners and replaces destructors", () => {
    const destructor = recordingDestructor();
    try {
      const handle = registry.create(9, { destructor: destructor.address });
      registry.setOwner(handle, 3);
      assert.equal(registry.info(handle).owner, 3);
      registry.setDestructor(handle, 0);
      assert.equal(registry.info(handle).destructor, 0);
      registry.destroy(handle);
      assert.deepEqual(destructor.calls, []);
    } finally {
      destructor.close();
    }
  });

  it("refuses values that cannot be addresses or ids, the same in both runtimes", () => {
    const before = stats().capsulesCreated;
    for (const bad of [-1, 1.5, NaN, Infinity, 2 ** 53]) {
      throwsCode(() => registry.create(bad), "INVALID_ARGUMENT");
      throwsCode(() => registry.create(0x10, { destructor: bad }), "INVALID_ARGUMENT");
      throwsCode(() => registry.find(bad), "INVALID_ARGUMENT");
      throwsCode(() => registry.notifyDestroyedAt(bad), "INVALID_ARGUMENT");
    }
    throwsCode(() => registry.create(0x10, { typeName: -1 }), "INVALID_ARGUMENT");
    const handle = track(registry.create(0x10));
    throwsCode(() => registry.setOwner(handle, 2 ** 32), "INVALID_ARGUMENT");
    throwsCode(() => registry.pointerOf(handle, 1.5), "INVALID_ARGUMENT");
    assert.equal(stats().capsulesCreated, before + 1, "nothing was registered by a refused call");
  });

  it("enumerates live entries and counts them", () => {
    const before = stats().capsulesLive;
    const handles = Array.from({ length: 40 }, (_, i) => track(registry.create(0x9000 + i * 16)));
    assert.equal(stats().capsulesLive, before + 40);
    const live = registry.liveEntries();
    for (const h of handles) assert.ok(live.some((l) => l.slot === h.slot && l.generation === h.generation));
  });
});
