// The cases of shared/reference/edge-cases.md that custody's ownership layer covers today,
// each named after its case, over the real widget library, under deno test and bun test.
// Every test also holds the line that no call reaches native code with a dead object.
import { after, describe, it } from "node:test";
import assert from "node:assert/strict";
import { bind, registry, runtime, stats } from "../mod.ts";
import type { Wrapper } from "../src/bindings/bind.ts";
import { dump } from "../src/ownership/dump.ts";
import { apply, borrow, handleOf, keptAlive, own, use } from "../src/ownership/wrapper.ts";
import { widgets as raw } from "./widgets_library.ts";
import { widgetsDeclaration, widgetsLibrary, widgetsPath } from "../examples/widgets.ts";
import { collectUntil, throwsCode } from "./helpers.ts";

const w = widgetsLibrary.functions;
const { Window, Widget } = widgetsLibrary.types;
const deadCallsAtStart = w.wg_dead_calls();

// Variants of the widget functions with other ownership hints, for the steal cases.
const variants = bind(widgetsPath, {
  types: widgetsDeclaration.types,
  functions: {
    add_child_stealing: { symbol: "wg_window_add_child", parameters: [{ object: "Window" }, { object: "Widget", steal: "always" }], result: "i32" },
    detach_stealing_on_success: { symbol: "wg_window_detach", parameters: [{ object: "Window" }, { object: "Widget", steal: "onSuccess" }], result: "i32" },
    detach_stealing_always: { symbol: "wg_window_detach", parameters: [{ object: "Window" }, { object: "Widget", steal: "always" }], result: "i32" },
    give_window_away: { symbol: "wg_window_destroy", parameters: [{ object: "Window", steal: "always" }], result: "void" },
    give_widget_away_safely: { symbol: "wg_widget_set_visible", parameters: [{ object: "Widget", steal: "safe" }, "u32"], result: "i32" },
  },
}).functions;

const newWindow = () => w.wg_window_new(0, 0)!;
const newButton = () => w.wg_button_new(0, 0)!;

describe("edge cases from other binding systems", () => {
  after(() => assert.equal(w.wg_dead_calls(), deadCallsAtStart, "a dead object reached native code"));

  it("3.1.1 address reuse after native free: the old wrapper stays invalid, the new object gets a new one", () => {
    const first = borrow(Window, 0x5_0000);
    apply(first, "nativeDestroyed", { event: "nativeDestroyed", by: "test" });
    const second = borrow(Window, 0x5_0000);
    assert.notEqual(second, first);
    assert.equal(first.isValid, false);
    assert.ok(second.isValid);
    apply(second, "nativeDestroyed", { event: "nativeDestroyed", by: "test" });
  });

  it("3.1.2 same address, different types: two wrappers, told apart", () => {
    const asWindow = borrow(Window, 0x6_0000);
    const asWidget = borrow(Widget, 0x6_0000);
    assert.notEqual(asWindow as unknown, asWidget as unknown);
    assert.equal(borrow(Window, 0x6_0000), asWindow);
    for (const o of [asWindow, asWidget]) apply(o, "nativeDestroyed", { event: "nativeDestroyed", by: "test" });
  });

  it("3.1.3 two owning wrappers for one pointer: the second is refused", () => {
    const win = newWindow();
    throwsCode(() => own(Window, use(win)), "ALREADY_OWNED");
    win.release();
  });

  it("3.2.5 transfer twice: the second throws and no destructor runs again", () => {
    const live = w.wg_live_objects();
    const destructors = stats().destructorsRun;
    const win = newWindow();
    variants.give_window_away(win);
    throwsCode(() => variants.give_window_away(win), "INVALID_OBJECT", /takes ownership/);
    assert.equal(w.wg_live_objects(), live);
    assert.equal(stats().destructorsRun, destructors, "native destroyed it; custody ran no destructor");
  });

  it("3.2.6 transfer of a borrowed object: refused, unless the transfer is safe", () => {
    const win = newWindow();
    const b = newButton();
    w.wg_window_add_child(win, b);
    const child = w.wg_window_child_at(win, 0)!;
    throwsCode(() => variants.add_child_stealing(win, child), "NOT_OWNER");
    // A widget custody never owned: borrowed.
    const address = raw.wg_button_new(0, 0);
    const borrowed = borrow(Widget, address) as Wrapper<"Widget">;
    assert.equal(borrowed.state, "borrowed");
    assert.equal(variants.give_widget_away_safely(borrowed, 1), 0, "safe: allowed");
    assert.equal(borrowed.state, "native");
    assert.ok(borrowed.isValid, "valid until native code reports it destroyed");
    win.release();
    w.wg_widget_destroy(borrowed);
    assert.equal(registry.find(address, Widget.nameId), undefined, "its entry is gone with it");
  });

  it("3.2.7 the same object twice in one call that takes it: refused, nothing changed", () => {
    const win = newWindow();
    throwsCode(() => (w.wg_window_add_child as (...a: unknown[]) => unknown)(win, win), "INVALID_ARGUMENT");
    assert.equal(win.state, "owned");
    win.release();
  });

  it("3.2.8 failure before native code takes it: the stolen argument keeps its state", () => {
    const win = newWindow();
    const b = newButton();
    throwsCode(() => (variants.add_child_stealing as (...a: unknown[]) => unknown)(win, win), "INVALID_ARGUMENT");
    throwsCode(() => (variants.add_child_stealing as (...a: unknown[]) => unknown)(b, b), "INVALID_ARGUMENT");
    assert.equal(b.state, "owned");
    win.release();
    b.release();
  });

  it("3.2.9 steal on success versus always: a failed call steals only when declared always", () => {
    const win = newWindow();
    const other = newWindow();
    const kept = newButton();
    const lost = newButton();
    assert.equal(variants.detach_stealing_on_success(other, kept), -2);
    assert.equal(kept.state, "owned", "onSuccess: the failed call took nothing");
    const lostAddress = use(lost);
    assert.equal(variants.detach_stealing_always(other, lost), -2);
    assert.equal(lost.state, "invalid", "always: taken even though the call failed");
    assert.equal(registry.find(lostAddress, Widget.nameId), undefined);
    // Declared "always", the library kept nothing: the object is the caller's problem now.
    raw.wg_widget_destroy(lostAddress);
    kept.release();
    other.release();
    win.release();
  });

  it("3.2.10 transfer while it has dependents: they are invalidated with it", () => {
    const win = newWindow();
    const child = newButton();
    w.wg_window_add_child(win, child);
    variants.give_window_away(win);
    assert.equal(child.isValid, false);
    throwsCode(() => w.wg_widget_set_visible(child, 0), "INVALID_OBJECT");
  });

  it("3.2.12 use after transfer: every use throws, release throws, nothing reaches native code", () => {
    const win = newWindow();
    variants.give_window_away(win);
    throwsCode(() => w.wg_window_child_count(win), "INVALID_OBJECT");
    throwsCode(() => win.release(), "INVALID_OBJECT");
    throwsCode(() => variants.give_window_away(win), "INVALID_OBJECT");
    win[Symbol.dispose]();
  });

  it("3.2.14 false invalidation: reached again through a borrowed path, the object gets a valid new wrapper", () => {
    const win = newWindow();
    const b = newButton();
    variants.add_child_stealing(win, b);
    assert.equal(b.isValid, false);
    const again = w.wg_window_child_at(win, 0)!;
    assert.notEqual(again, b);
    assert.ok(again.isValid);
    assert.equal(b.isValid, false, "the old wrapper stays invalid");
    win.release();
  });

  it("3.3.15 child outliving its parent: invalid, its destructor not run again", () => {
    const live = w.wg_live_objects();
    const win = newWindow();
    const b = newButton();
    w.wg_window_add_child(win, b);
    win.release();
    assert.equal(w.wg_live_objects(), live);
    throwsCode(() => b.release(), "INVALID_OBJECT");
  });

  it("3.3.16 temporary parent: collected, it takes its child with it, never dangling", async () => {
    const child = (() => {
      const temporary = newWindow();
      const b = newButton();
      w.wg_window_add_child(temporary, b);
      return b;
    })();
    await collectUntil(() => !child.isValid);
    assert.equal(child.isValid, false);
    assert.equal(dump(child).invalidatedBy?.event, "parentDestroyed", "its collected parent destroyed it");
  });

  it("3.3.17 re-parent A to B, then drop A: the child survives and belongs to B", () => {
    const a = newWindow();
    const b = newWindow();
    const child = newButton();
    w.wg_window_add_child(a, child);
    w.wg_window_add_child(b, child);
    a.release();
    assert.ok(child.isValid);
    assert.equal(w.wg_widget_parent(child), b);
    b.release();
    assert.equal(child.isValid, false);
  });

  it("3.3.18 re-adding to the same parent changes nothing", () => {
    const win = newWindow();
    const child = newButton();
    w.wg_window_add_child(win, child);
    w.wg_window_add_child(win, child);
    assert.equal(w.wg_window_child_count(win), 1);
    assert.equal(registry.info(handleOf(win)).childCount, 1);
    win.release();
  });

  it("3.3.19 cycles, including self-parenting: refused when added", () => {
    const a = newWindow();
    const b = newWindow();
    apply(b, "adopt", { event: "adopt", by: "test" }, { parent: a });
    throwsCode(() => apply(a, "adopt", { event: "adopt", by: "test" }, { parent: b }), "CYCLE");
    throwsCode(() => apply(a, "adopt", { event: "adopt", by: "test" }, { parent: a }), "CYCLE");
    apply(b, "orphan", { event: "orphan", by: "test" });
    a.release();
    b.release();
  });

  it("3.3.20 remove the parent, then garbage collection: the destructor runs exactly once", async () => {
    const live = w.wg_live_objects();
    const win = newWindow();
    (() => {
      const b = newButton();
      w.wg_window_add_child(win, b);
      w.wg_window_detach(win, b);
    })();
    await collectUntil(() => w.wg_live_objects() === live + 1);
    assert.equal(w.wg_live_objects(), live + 1, "only the window is left");
    win.release();
    assert.equal(w.wg_live_objects(), live);
  });

  it("3.3.21 cascade order: a destructor that looks at a child sees it invalid already", () => {
    const seen: boolean[] = [];
    let child: registry.Handle | undefined;
    const callback = runtime.callback({ parameters: ["pointer", "pointer"], result: "void" }, () => void seen.push(registry.isLive(child!)));
    try {
      const parent = registry.create(0x7_0000, { destructor: callback.pointer });
      child = registry.create(0x7_0010, { parent });
      registry.destroy(parent);
      assert.deepEqual(seen, [false]);
    } finally {
      callback.close();
    }
  });

  it("3.3.23 invalidating a nurse does not invalidate what it keeps alive", () => {
    const source = w.wg_label_new(0, 0)!;
    const renderer = w.wg_renderer_new(source)!;
    renderer.release();
    assert.ok(source.isValid);
    source.release();
  });

  it("3.4.24 a repeated setter with keep-alive stays bounded", () => {
    const renderer = w.wg_renderer_new(newButton())!;
    const before = stats().capsulesLive;
    for (let i = 0; i < 2000; i++) {
      const source = newButton();
      w.wg_renderer_set_source(renderer, source);
      source.release();
    }
    assert.equal(keptAlive(renderer).get("source")?.length, 1);
    assert.ok(stats().capsulesLive <= before + 2, "one kept-alive source, not two thousand");
    renderer.release();
  });

  it("3.4.25 cancelling a keep-alive with null", () => {
    const live = w.wg_live_objects();
    const source = newButton();
    const renderer = w.wg_renderer_new(source)!;
    source.release();
    assert.equal(w.wg_live_objects(), live + 2, "kept alive");
    w.wg_renderer_set_source(renderer, null);
    assert.equal(w.wg_live_objects(), live + 1, "released once nothing keeps it");
    renderer.release();
  });

  it("3.5.29 a re-entrant destructor: releasing a sibling from inside runs each destructor once", () => {
    const calls: number[] = [];
    let sibling: registry.Handle | undefined;
    const callback = runtime.callback({ parameters: ["pointer", "pointer"], result: "void" }, (pointer) => {
      calls.push(pointer);
      if (sibling !== undefined && registry.isLive(sibling)) registry.destroy(sibling);
    });
    try {
      const first = registry.create(0x8_0000, { destructor: callback.pointer });
      sibling = registry.create(0x8_0010, { destructor: callback.pointer });
      registry.destroy(first);
      assert.deepEqual(calls, [0x8_0000, 0x8_0010]);
      throwsCode(() => registry.destroy(sibling!), "STALE_HANDLE");
    } finally {
      callback.close();
    }
  });

  it("3.6.32 the leak report is right without finalizers", async () => {
    const { leaks } = await import("../mod.ts");
    const win = newWindow();
    const address = use(win);
    assert.ok(leaks().objects.some((o) => o.address === address));
    win.release();
    assert.ok(!leaks().objects.some((o) => o.address === address), "listed from the native tables, not from finalizers");
  });

  it("3.9.44 a callback argument stored and used after the callback returns throws", () => {
    const win = newWindow();
    let stored: Wrapper<"Event"> | null = null;
    w.wg_window_on_event(win, (event) => (stored = event, 0), 0);
    w.wg_window_emit(win, 1, null);
    throwsCode(() => w.wg_event_kind(stored!), "INVALID_OBJECT");
    win.release();
  });

  it("3.10.46 wrapping an object twice returns the same wrapper", () => {
    const win = newWindow();
    const b = newButton();
    w.wg_window_add_child(win, b);
    assert.equal(w.wg_window_child_at(win, 0), b);
    assert.equal(w.wg_widget_parent(b), win);
    win.release();
  });

  it("3.11.49 a nonblocking call keeps its arguments until it settles", async () => {
    const live = w.wg_live_objects();
    const win = newWindow();
    const pending = w.wg_window_layout(win);
    win.release();
    assert.equal(await pending, 0);
    assert.equal(w.wg_live_objects(), live);
  });

  it("3.11.50 a callback closed while it runs is freed only after it returns", () => {
    const win = newWindow();
    w.wg_window_on_event(win, () => {
      win.release();
      return 1;
    }, 0);
    assert.equal(w.wg_window_emit(win, 1, null), 1);
    assert.equal(win.isValid, false);
  });
});
