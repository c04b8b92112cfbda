// Wrappers moved by the ownership table, over the real widget library, under deno test and
// bun test. Every test also checks the native side: which destructors ran, what the widget
// library still holds, and that no call ever reached it with a dead object.
import { after, describe, it } from "node:test";
import assert from "node:assert/strict";
import { registry } from "../mod.ts";
import { symbolAddress } from "../src/native/symbol_address.ts";
import { dump } from "../src/ownership/dump.ts";
import { apply, applyAll, borrow, handleOf, keepAlive, keptAlive, type NativeObject, objectType, own, use } from "../src/ownership/wrapper.ts";
import * as allocator from "../src/allocator.ts";
import { libraryPath } from "../src/native/library.ts";
import { widgets, widgetsPath } from "./widgets_library.ts";
import { collectUntil, throwsCode } from "./helpers.ts";

const Window = objectType("Window", { destructor: symbolAddress(widgetsPath, "wg_window_destroy") });
const Button = objectType("Button", { destructor: symbolAddress(widgetsPath, "wg_widget_destroy"), notifiesDestruction: true });
/** Tracked blocks freed by custody_free, which reads nothing in them. */
const Block = objectType("Test.Block", { destructor: symbolAddress(libraryPath(), "custody_free"), destructorFreesOnly: true });

const deadCallsAtStart = widgets.wg_dead_calls();
const by = (event: string) => ({ event: event as never, by: "test" });

function newWindow(): NativeObject {
  return own(Window, widgets.wg_window_new(0, 0));
}
function newButton(): NativeObject {
  return own(Button, widgets.wg_button_new(0, 0));
}
/** `window.add(button)`: the native call, then the steal into the parent. */
function addChild(window: NativeObject, button: NativeObject) {
  assert.equal(widgets.wg_window_add_child(use(window), use(button)), 0);
  apply(button, "stealIntoParent", by("stealIntoParent"), { parent: window });
}

describe("native object wrappers", () => {
  after(() => assert.equal(widgets.wg_dead_calls(), deadCallsAtStart, "a dead object reached native code"));

  it("release runs the destructor once; every later use throws before native code", () => {
    const live = widgets.wg_live_objects();
    const window = newWindow();
    assert.equal(window.state, "owned");
    window.release();
    assert.equal(widgets.wg_live_objects(), live);
    assert.equal(window.isValid, false);
    throwsCode(() => window.release(), "DOUBLE_RELEASE", /Cannot release Window at 0x[0-9a-f]+: it is invalid since `release\(\)` called/);
    throwsCode(() => use(window), "INVALID_OBJECT");
    window[Symbol.dispose]();
  });

  it("using releases an owned object at the end of the scope, and is idempotent", () => {
    const live = widgets.wg_live_objects();
    {
      using window = newWindow();
      assert.ok(window.isValid);
    }
    assert.equal(widgets.wg_live_objects(), live);
  });

  it("borrowed objects cannot be released, dispose does nothing, identity holds", () => {
    const address = widgets.wg_window_new(0, 0);
    const borrowed = borrow(Window, address);
    throwsCode(() => borrowed.release(), "NOT_OWNER", /it is borrowed/);
    borrowed[Symbol.dispose]();
    assert.ok(borrowed.isValid);
    assert.equal(borrow(Window, address), borrowed, "one wrapper per live object");
    throwsCode(() => own(Window, address), "ALREADY_OWNED");
    apply(borrowed, "nativeDestroyed", by("nativeDestroyed"));
    widgets.wg_window_destroy(address);
  });

  it("a child dies with its parent, and says so", () => {
    const live = widgets.wg_live_objects();
    const window = newWindow();
    const button = newButton();
    addChild(window, button);
    assert.equal(button.state, "child");
    throwsCode(() => button.release(), "NOT_OWNER", /its parent owns it/);
    window.release();
    assert.equal(widgets.wg_live_objects(), live, "the native window destroyed its child");
    assert.equal(button.state, "invalid");
    throwsCode(() => use(button), "INVALID_OBJECT", /since its parent was destroyed/);
  });

  it("orphan gives ownership back, with the destructor", () => {
    const live = widgets.wg_live_objects();
    const window = newWindow();
    const button = newButton();
    addChild(window, button);
    assert.equal(widgets.wg_window_detach(use(window), use(button)), 0);
    apply(button, "orphan", by("orphan"));
    assert.equal(button.state, "owned");
    window.release();
    assert.ok(button.isValid, "detached before the window died");
    button.release();
    assert.equal(widgets.wg_live_objects(), live);
  });

  it("invalidate: a call that destroys its argument leaves the wrapper invalid, no double destroy", () => {
    const live = widgets.wg_live_objects();
    const window = newWindow();
    const button = newButton();
    addChild(window, button);
    assert.equal(widgets.wg_window_destroy_child(use(window), use(button)), 0);
    apply(button, "invalidate", by("invalidate"));
    throwsCode(() => use(button), "INVALID_OBJECT", /passed to a native function that destroys it/);
    window.release();
    assert.equal(widgets.wg_live_objects(), live);
  });

  it("native destruction behind JS's back reaches the wrapper", () => {
    const window = newWindow();
    const button = newButton();
    addChild(window, button);
    widgets.wg_widget_set_visible(use(button), 0);
    assert.equal(widgets.wg_window_close_hidden(use(window)), 1);
    assert.equal(button.isValid, false);
    throwsCode(() => use(button), "INVALID_OBJECT");
    window.release();
  });

  it("refuses a parent that would close a cycle, changing nothing", () => {
    const a = newWindow();
    const b = newWindow();
    apply(b, "adopt", by("adopt"), { parent: a });
    throwsCode(() => apply(a, "adopt", by("adopt"), { parent: b }), "CYCLE");
    assert.equal(a.state, "owned");
    apply(b, "orphan", by("orphan"));
    a.release();
    b.release();
  });

  it("steals all arguments or none; the same object twice is refused", () => {
    const live = widgets.wg_live_objects();
    const owned = newWindow();
    const borrowedAddress = widgets.wg_window_new(0, 0);
    const borrowed = borrow(Window, borrowedAddress);
    throwsCode(() => applyAll([[owned, "steal"], [borrowed, "steal"]], by), "NOT_OWNER");
    assert.equal(owned.state, "owned", "the first argument was not taken");
    throwsCode(() => applyAll([[owned, "steal"], [owned, "steal"]], by), "INVALID_ARGUMENT");
    assert.equal(owned.state, "owned");
    owned.release();
    apply(borrowed, "nativeDestroyed", by("nativeDestroyed"));
    widgets.wg_window_destroy(borrowedAddress);
    assert.equal(widgets.wg_live_objects(), live);
  });

  it("a safe steal leaves the object usable until native code reports it destroyed", () => {
    const window = newWindow();
    const button = newButton();
    apply(button, "stealSafe", by("stealSafe"));
    assert.equal(button.state, "native");
    assert.ok(button.isValid);
    throwsCode(() => apply(button, "stealIntoParent", by("stealIntoParent"), { parent: window }), "NOT_OWNER");
    // Native code, which owns it, may still put it in a window.
    assert.equal(widgets.wg_window_add_child(use(window), use(button)), 0);
    assert.equal(button.state, "native");
    widgets.wg_widget_set_visible(use(button), 0);
    widgets.wg_window_close_hidden(use(window));
    assert.equal(button.isValid, false);
    window.release();
  });

  it("garbage collection releases a dropped owned object, as a safety net", async () => {
    // Watch this object only: other tests' garbage may be collected meanwhile.
    const address = (() => use(newWindow()))();
    const registered = () => registry.find(address, Window.nameId) !== undefined;
    await collectUntil(() => !registered());
    assert.equal(registered(), false, "its destructor ran and its entry is gone");
  });

  it("a child whose wrapper was collected still belongs to its parent: a second owner is refused", async () => {
    const window = newWindow();
    // Watched by a finalizer of its own: a WeakRef's deref() would keep it alive for the job.
    let collected = false;
    const watcher = new FinalizationRegistry(() => collected = true);
    const address = (() => {
      const button = newButton();
      addChild(window, button);
      watcher.register(button, 0);
      return use(button);
    })();
    await collectUntil(() => collected);
    assert.equal(collected, true, "the child's wrapper was collected");
    throwsCode(() => own(Button, address), "ALREADY_OWNED", /child/);
    assert.equal(widgets.wg_window_child_count(use(window)), 1, "still the window's child");
    window.release();
  });

  it("an object that keeps itself alive keeps nothing, and is still collected", async () => {
    const live = widgets.wg_live_objects();
    (() => {
      const window = newWindow();
      const other = newWindow();
      keepAlive(window, other, "slot", "set");
      // Setting the slot to the object itself empties it: the other one is let go.
      keepAlive(window, window, "slot", "set");
      keepAlive(window, window, "added");
      assert.equal(registry.info(handleOf(window)).keepAlive, 0);
      assert.equal(registry.info(handleOf(other)).keepAlive, 0);
      assert.deepEqual([...keptAlive(window).values()].flat(), []);
    })();
    await collectUntil(() => widgets.wg_live_objects() === live);
    assert.equal(widgets.wg_live_objects(), live, "both destructors ran");
  });

  it("a keep-alive cycle is collected when every destructor in it only frees; any other cycle stays", async () => {
    const isBlock = (address: number) => allocator.blockSize(address) !== undefined;
    const [first, second] = (() => {
      const a = own(Block, allocator.malloc(8)), b = own(Block, allocator.malloc(8));
      keepAlive(a, b);
      keepAlive(b, a);
      return [use(a), use(b)];
    })();
    // A cycle through a window, whose destructor may read what it keeps, must stay.
    const [block, windowAddress] = (() => {
      const kept = own(Block, allocator.malloc(8)), window = newWindow();
      keepAlive(kept, window);
      keepAlive(window, kept);
      return [use(kept), use(window)];
    })();
    await collectUntil(() => !isBlock(first) && !isBlock(second));
    assert.ok(!isBlock(first) && !isBlock(second), "both blocks of the cycle were freed");
    assert.ok(isBlock(block) && registry.find(windowAddress, Window.nameId) !== undefined, "the mixed cycle stays");
    borrow(Window, windowAddress).release();
    borrow(Block, block).release();
    await collectUntil(() => !isBlock(block));
    assert.equal(isBlock(block), false, "released, the window let the block go");
  });

  it("dump says who owns it, its tree, and what invalidated it", () => {
    const window = newWindow();
    const button = newButton();
    addChild(window, button);
    const parent = dump(window);
    assert.equal(parent.state, "owned");
    assert.equal(parent.owner, "JS");
    assert.equal(parent.rule, "own");
    assert.deepEqual(parent.children, [handleOf(button)]);
    assert.equal(parent.generation % 2, 1);
    const child = dump(button);
    assert.equal(child.owner, "its parent");
    assert.deepEqual(child.parent, handleOf(window));
    assert.equal(child.rule, "stealIntoParent");
    window.release();
    const gone = dump(button);
    assert.equal(gone.state, "invalid");
    assert.deepEqual(gone.invalidatedBy, { event: "parentDestroyed", by: "cascade" });
    assert.equal(gone.generation % 2, 0);
    assert.equal(gone.parent, null);
    assert.equal(gone.type, "Button");
    assert.match(gone.address, /^0x[0-9a-f]+$/);
  });

  it("a new object at a reused address gets a new wrapper", () => {
    const window = newWindow();
    const address = use(window);
    const handle = handleOf(window);
    window.release();
    const again = borrow(Window, address);
    assert.notEqual(again, window);
    assert.notDeepEqual(handleOf(again), handle);
    apply(again, "nativeDestroyed", by("nativeDestroyed"));
  });

  it("an object registered outside custody's wrappers is borrowed, not invalid", () => {
    const address = widgets.wg_window_new(0, 0);
    const entry = registry.create(address, { typeName: Window.nameId });
    const window = borrow(Window, address);
    assert.equal(window.state, "borrowed");
    assert.deepEqual(handleOf(window), entry);
    assert.equal(widgets.wg_window_child_count(use(window)), 0);
    registry.destroy(entry);
    assert.equal(window.isValid, false);
    widgets.wg_window_destroy(address);
  });

  it("wrappers far beyond the last slot used keep their identity", async () => {
    // Entries with no wrapper push the next wrappers' slots far past any used before.
    const bare = Array.from({ length: 3000 }, (_, i) => registry.create(0x7000_0000 + i * 16));
    const window = newWindow();
    assert.equal(borrow(Window, use(window)), window);
    await new Promise((resolve) => setTimeout(resolve, 0)); // out of the nursery
    assert.equal(borrow(Window, use(window)), window);
    window.release();
    for (const handle of bare) registry.destroy(handle);
  });

  it("wrappers made in one job past the nursery's size keep their identity, and dropped ones are collected", async () => {
    const live = widgets.wg_live_objects();
    // Well past the 128 wrappers that fill the nursery within a job; every other
    // one released at once, so later ones reuse slots the nursery still lists.
    const kept: NativeObject[] = [];
    for (let i = 0; i < 5000; i++) {
      const window = newWindow();
      if (i % 2 === 0) kept.push(window);
      else window.release();
    }
    for (const window of kept) assert.equal(borrow(Window, use(window)), window, "one wrapper per object within the job");
    let dropped = false;
    const watcher = new FinalizationRegistry(() => dropped = true);
    (() => watcher.register(newWindow(), "dropped"))();
    await new Promise((resolve) => setTimeout(resolve, 0)); // the job ends: the kept ones get WeakRefs
    for (const window of kept) assert.equal(borrow(Window, use(window)), window, "and after it");
    await collectUntil(() => dropped && widgets.wg_live_objects() === live + kept.length);
    assert.equal(widgets.wg_live_objects(), live + kept.length, "the dropped window's destructor ran");
    for (const window of kept) window.release();
    assert.equal(widgets.wg_live_objects(), live);
  });
});
