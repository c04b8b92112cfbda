// The cases of shared/reference/edge-cases.md that custody's ownership layer covers today,
// each named after its case, over the real widget library, under deno test and bun test.
// Every test also holds the line that no call reaches native code with a dead object.
import { after, describe, it } from "node:test";
import assert from "node:assert/strict";
import fc from "fast-check";
import { allocator, bind, closeCallback, CustodyError, formatLeaks, leaks, registry, runtime, stats, violationCount } from "../mod.ts";
import type { Wrapper } from "../src/bindings/bind.ts";
import { jsDestructor } from "../src/bindings/destructors.ts";
import { onUnraisable, type Unraisable } from "../src/bindings/unraisable.ts";
import { dump } from "../src/ownership/dump.ts";
import { events, isAllowed, transitions } from "../src/ownership/transitions.ts";
import { apply, borrow, handleOf, keepAlive, keptAlive, type NativeObject, own, use } from "../src/ownership/wrapper.ts";
import { widgets as raw } from "./widgets_library.ts";
import { widgetsDeclaration, widgetsLibrary, widgetsPath } from "../examples/widgets.ts";
import { collectUntil, runModule, throwsCode } from "./helpers.ts";

const w = widgetsLibrary.functions;
const { Window, Widget, Renderer } = widgetsLibrary.types;
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
    parent_keeping: {
      symbol: "wg_widget_parent",
      parameters: [{ object: "Widget", keepAlive: { by: "result" } }],
      result: { object: "Window", ownership: "known" },
    },
    parent_as_owned_widget: { symbol: "wg_widget_parent", parameters: [{ object: "Widget" }], result: { object: "Widget", ownership: "own" } },
    entangle: {
      symbol: "wg_renderer_set_source",
      parameters: [{ object: "Renderer", keepAlive: { by: 1, slot: "renderer" } }, { object: "Widget", keepAlive: { by: 0, slot: "source", mode: "set" } }],
      result: "i32",
    },
  },
}).functions;

// The widget types declared with the allocator their objects come from, for the allocation cases.
const tagged = bind(widgetsPath, {
  types: {
    ...widgetsDeclaration.types,
    Window: { destructor: "wg_window_destroy", allocationTag: "widgets" },
    Widget: { destructor: "wg_widget_destroy", notifiesDestruction: true, allocationTag: "widgets" },
  },
  functions: {
    take_shared_window: { symbol: "wg_window_shared", parameters: [], result: { object: "Window", ownership: "own" } },
    new_window: { symbol: "wg_window_new", parameters: ["pointer", "usize"], result: { object: "Window", ownership: "own" } },
    destroy_widget: { symbol: "wg_widget_destroy", parameters: [{ object: "Widget", invalidates: true }], result: "void" },
    give_widget_away_safely: { symbol: "wg_widget_set_visible", parameters: [{ object: "Widget", steal: "safe" }, "u32"], result: "i32" },
  },
}).functions;

const mod = new URL("../mod.ts", import.meta.url).href;
const widgetsModule = new URL("../examples/widgets.ts", import.meta.url).href;

/** Turns of the event loop until `done()`, at most about two seconds. */
async function turnsUntil(done: () => boolean): Promise<void> {
  for (let i = 0; i < 1000 && !done(); i++) await new Promise((resolve) => setTimeout(resolve, 2));
}

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


  it("3.1.4 taking ownership of memory no allocator gave out is refused", () => {
    const entries = stats().capsulesLive;
    throwsCode(() => tagged.take_shared_window(), "FOREIGN_MEMORY", /not a block of custody's tracked allocator/);
    assert.equal(stats().capsulesLive, entries, "nothing was registered");
    const shared = w.wg_window_shared()!;
    assert.equal(shared.state, "borrowed", "declared right, it is borrowed");
    assert.equal(w.wg_window_child_count(shared), 0, "and the static window is still fine");
    const heap = tagged.new_window(0, 0)!;
    assert.equal(heap.state, "owned", "a block of the declared allocator is owned as before");
    heap.release();
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


  it("3.2.11 allocator mismatch on transfer: memory of another allocator is refused before the call", () => {
    const block = allocator.malloc(128, { tag: "js-scratch" });
    const impostor = borrow(Widget, block) as Wrapper<"Widget">;
    throwsCode(() => tagged.destroy_widget(impostor), "FOREIGN_MEMORY", /allocated under tag "js-scratch"/);
    throwsCode(() => tagged.give_widget_away_safely(impostor, 1), "FOREIGN_MEMORY");
    assert.equal(impostor.state, "borrowed", "nothing changed");
    apply(impostor, "nativeDestroyed", { event: "nativeDestroyed", by: "test" });
    assert.equal(allocator.free(block), "freed", "JS frees what JS allocated");
    const button = newButton();
    tagged.destroy_widget(button);
    assert.equal(button.isValid, false, "the library's own widgets pass");
  });

  it("3.2.12 use after transfer: every use throws, release throws, nothing reaches native code", () => {
    const win = newWindow();
    variants.give_window_away(win);
    throwsCode(() => w.wg_window_child_count(win), "INVALID_OBJECT");
    throwsCode(() => win.release(), "INVALID_OBJECT");
    throwsCode(() => variants.give_window_away(win), "INVALID_OBJECT");
    win[Symbol.dispose]();
  });


  it("3.2.13 a relinquished wrapper cannot be brought back by any event", () => {
    for (const event of events) {
      const outcome = transitions.invalid[event];
      if (isAllowed(outcome)) assert.equal(outcome.to, "invalid", `${event} leads out of invalid`);
    }
    const win = newWindow();
    const b = newButton();
    variants.add_child_stealing(win, b);
    for (const event of events) {
      try {
        apply(b, event, { event, by: "test" }, { parent: win });
      } catch (error) {
        assert.ok(error instanceof CustodyError && error.code === "INVALID_OBJECT", `${event}: ${error}`);
      }
      assert.equal(b.state, "invalid", event);
    }
    throwsCode(() => w.wg_window_add_child(win, b), "INVALID_OBJECT");
    assert.notEqual(w.wg_window_child_at(win, 0), b, "reached again, it is a new wrapper");
    win.release();
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


  it("3.3.22 parenting a sequence: all or nothing", () => {
    const win = newWindow();
    const other = newWindow();
    const a = newButton();
    const b = newButton();
    const released = newButton();
    released.release();
    throwsCode(() => w.wg_window_add_children(win, a, released), "INVALID_OBJECT");
    assert.equal(a.state, "owned", "refused before the call: the first was not taken");
    w.wg_window_add_child(other, b);
    assert.equal(w.wg_window_add_children(win, a, b), -2, "the library refuses: b is in another window");
    assert.equal(a.state, "owned");
    assert.equal(w.wg_widget_parent(a), null, "natively not parented either");
    assert.equal(registry.info(handleOf(a)).parent, null);
    assert.equal(w.wg_widget_parent(b), other);
    w.wg_window_detach(other, b);
    assert.equal(w.wg_window_add_children(win, a, b), 0);
    assert.deepEqual([a.state, b.state, w.wg_window_child_count(win)], ["child", "child", 2]);
    win.release();
    other.release();
    assert.deepEqual([a.isValid, b.isValid], [false, false]);
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


  it("3.4.26 a null nurse or patient changes nothing; a nurse that cannot be tracked is refused", () => {
    const source = newButton();
    const renderer = w.wg_renderer_new(source)!;
    w.wg_renderer_set_source(renderer, null);
    w.wg_renderer_set_source(renderer, null);
    assert.equal(keptAlive(renderer).get("source"), undefined);
    keepAlive(renderer, null, "extra", "add");
    assert.equal(keptAlive(renderer).has("extra"), false);
    const lone = newButton();
    assert.equal(variants.parent_keeping(lone), null, "no parent: the nurse is null");
    assert.equal(registry.info(handleOf(lone)).keepAlive, 0, "and nothing keeps the patient");
    throwsCode(() => keepAlive({} as NativeObject, lone), "INVALID_ARGUMENT", /nurse must be a custody wrapper/);
    renderer.release();
    throwsCode(() => keepAlive(renderer, lone), "INVALID_OBJECT");
    assert.equal(registry.info(handleOf(lone)).keepAlive, 0);
    lone.release();
    source.release();
  });

  it("3.4.27 a keep-alive cycle: listed in the leak report with its keep-alives, no crash, broken by releasing it", async () => {
    const collect = async () => {
      for (let i = 0; i < 3; i++) {
        runtime.collectGarbage();
        await new Promise((resolve) => setTimeout(resolve, 5));
      }
    };
    // What earlier tests dropped is collected first, so that only this test's objects count.
    await collect();
    const live = w.wg_live_objects();
    const [rendererAddress, sourceAddress] = (() => {
      const source = newButton();
      const renderer = w.wg_renderer_new(source)!;
      variants.entangle(renderer, source);
      return [use(renderer), use(source)];
    })();
    await collect();
    const report = leaks();
    const listed = report.objects.filter((o) => o.address === rendererAddress || o.address === sourceAddress);
    assert.equal(listed.length, 2, "each listed once, not collected");
    assert.ok(listed.every((o) => o.owner === "owned" && o.keptAlive === 1), JSON.stringify(listed));
    assert.match(formatLeaks(report), /kept alive 1 time \(a keep-alive cycle keeps itself\)/);
    borrow(Renderer, rendererAddress).release();
    borrow(Widget, sourceAddress).release();
    assert.equal(w.wg_live_objects(), live);
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


  it("3.5.28 a destructor that throws: the object is invalid anyway, the error reported once, a pending exception kept", () => {
    const reported: Unraisable[] = [];
    const stop = onUnraisable((report) => reported.push(report));
    try {
      const fragile = bind(widgetsPath, {
        types: {
          FragileWindow: {
            destructor: (address: number) => {
              raw.wg_window_destroy(address);
              throw new Error("flush failed");
            },
          },
        },
        functions: { fragile_new: { symbol: "wg_window_new", parameters: ["pointer", "usize"], result: { object: "FragileWindow", ownership: "own" } } },
      }).functions;
      const live = w.wg_live_objects();
      const first = fragile.fragile_new(0, 0)!;
      first.release();
      assert.equal(first.isValid, false);
      assert.equal(w.wg_live_objects(), live, "destroyed");
      assert.equal(reported.length, 1);
      assert.match(String(reported[0].error), /flush failed/);
      assert.match(reported[0].where, /the destructor of FragileWindow at 0x/);
      throwsCode(() => first.release(), "DOUBLE_RELEASE");
      first[Symbol.dispose]();
      assert.equal(reported.length, 1, "reported once");
      assert.throws(() => {
        using second = fragile.fragile_new(0, 0)!;
        void second;
        throw new Error("the real problem");
      }, (e: unknown) => e instanceof Error && e.constructor === Error && e.message === "the real problem");
      assert.equal(reported.length, 2);
      assert.equal(w.wg_live_objects(), live);
    } finally {
      stop();
    }
  });


  it("3.5.30 finalizers in any order: the same result", () => {
    const live = w.wg_live_objects();
    const violations = violationCount();
    fc.assert(
      fc.property(fc.shuffledSubarray([0, 1, 2, 3, 4, 5], { minLength: 6, maxLength: 6 }), (order) => {
        const win = newWindow();
        const [a, b] = [newButton(), newButton()];
        w.wg_window_add_child(win, a);
        w.wg_window_add_child(win, b);
        const source = newButton();
        const renderer = w.wg_renderer_new(source)!;
        const scene: NativeObject[] = [win, a, b, newButton(), source, renderer];
        // What each wrapper's finalizer does, in the order drawn.
        for (const i of order) if (scene[i].isValid) apply(scene[i], "collect", { event: "collect", by: "test" });
        return w.wg_live_objects() === live && violationCount() === violations;
      }),
      { numRuns: 40 },
    );
  });

  it("3.6.32 the leak report is right without finalizers", async () => {
    const { leaks } = await import("../mod.ts");
    const win = newWindow();
    const address = use(win);
    assert.ok(leaks().objects.some((o) => o.address === address));
    win.release();
    assert.ok(!leaks().objects.some((o) => o.address === address), "listed from the native tables, not from finalizers");
  });


  it("3.6.31 exit with live owned objects: destroyed children first, then the leak report", () => {
    const run = runModule(`
      import { reportLeaksAtExit, runtime, violationCount } from "${mod}";
      import { widgetsLibrary } from "${widgetsModule}";
      const w = widgetsLibrary.functions;
      reportLeaksAtExit({ owned: "destroy" });
      const win = w.wg_window_new(0, 0);
      const child = w.wg_button_new(0, 0);
      w.wg_window_add_child(win, child);
      globalThis.kept = [win, child, w.wg_label_new(0, 0), w.wg_window_shared()];
      runtime.onExit(() => console.log("after: live " + w.wg_live_objects() + ", dead calls " + w.wg_dead_calls() + ", violations " + violationCount()));
    `);
    assert.equal(run.status, 0, run.output);
    assert.match(run.output, /custody leak report: 4 objects/);
    assert.match(run.output, /object Window at 0x[0-9a-f]+ \(borrowed\)/, "the shared window is not JS's to destroy");
    assert.match(run.output, /2 objects JS still owned were destroyed at exit, children first/);
    assert.match(run.output, /after: live 0, dead calls 0, violations 0/);
  });


  it("3.6.33 a destructor that must run on the JS thread, triggered from a native thread, is queued", async () => {
    const calls: number[] = [];
    const destructor = jsDestructor("Probe", (address) => calls.push(address));
    try {
      const win = newWindow();
      const hidden = newButton();
      w.wg_window_add_child(win, hidden);
      w.wg_widget_set_visible(hidden, 0);
      registry.create(0x9_0000, { parent: handleOf(hidden), destructor: destructor.pointer });
      assert.equal(raw.wg_window_close_hidden_async(use(win)), 0);
      raw.wg_join_threads();
      assert.equal(hidden.isValid, false, "the native thread destroyed it and told custody");
      assert.deepEqual(calls, [], "its child's JS destructor did not run on the native thread");
      await turnsUntil(() => calls.length > 0);
      assert.deepEqual(calls, [0x9_0000], "it ran on the JS thread, once");
      win.release();
    } finally {
      destructor.close();
    }
  });

  // 3.6.34 (exceptions retaining objects at exit) does not apply as a separate case: the leak
  // report has one row per registry entry, never per JS reference, so an error object that
  // holds a wrapper cannot count it twice; and custody keeps no "last exception": a callback
  // error is rethrown to its caller or reported as unraisable at once, never held until exit.

  it("3.9.44 a callback argument stored and used after the callback returns throws", () => {
    const win = newWindow();
    let stored: Wrapper<"Event"> | null = null;
    w.wg_window_on_event(win, (event) => (stored = event, 0), 0);
    w.wg_window_emit(win, 1, null);
    throwsCode(() => w.wg_event_kind(stored!), "INVALID_OBJECT");
    win.release();
  });


  it("3.9.45 a callback that captures the object it is bound to: named in the leak report, closeCallback breaks the cycle", async () => {
    let handler: (() => number) | undefined;
    let address = 0;
    const ref = (() => {
      const win = newWindow();
      address = use(win);
      handler = function onEventCapturingWindow() {
        return Number(w.wg_window_child_count(win));
      };
      w.wg_window_on_event(win, handler, 0);
      return new WeakRef(win);
    })();
    for (let i = 0; i < 3; i++) {
      runtime.collectGarbage();
      await new Promise((resolve) => setTimeout(resolve, 5));
    }
    const registered = () => registry.find(address, Window.nameId) !== undefined;
    assert.ok(registered() && ref.deref() !== undefined, "the cycle keeps the window");
    const named = leaks().callbackDetails ?? [];
    assert.ok(named.some((d) => /callback onEventCapturingWindow passed to wg_window_on_event\(\), bound to Window at 0x/.test(d)), named.join("\n"));
    assert.equal(closeCallback(handler!), 1);
    handler = undefined;
    await collectUntil(() => !registered());
    assert.equal(registered(), false, "collected and destroyed once the callback let go of it");
  });

  it("3.10.46 wrapping an object twice returns the same wrapper", () => {
    const win = newWindow();
    const b = newButton();
    w.wg_window_add_child(win, b);
    assert.equal(w.wg_window_child_at(win, 0), b);
    assert.equal(w.wg_widget_parent(b), win);
    win.release();
  });


  it("3.10.47 a second owner of another kind for one address is refused when registered", () => {
    const live = w.wg_live_objects();
    const win = newWindow();
    const child = newButton();
    w.wg_window_add_child(win, child);
    throwsCode(() => variants.parent_as_owned_widget(child), "ALREADY_OWNED", /another owner already holds or destroys that object/);
    assert.equal(registry.find(use(win), Widget.nameId), undefined, "no second owning entry");
    win.release();
    assert.equal(w.wg_live_objects(), live, "destroyed once");
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

  it("3.11.51 a thread-safe callback runs for a native thread, which gets its real result; its event dies after", async () => {
    const win = newWindow();
    let stored: Wrapper<"Event"> | null = null;
    let kind = -1;
    w.wg_window_on_event_from_any_thread(win, (event) => {
      stored = event;
      kind = Number(w.wg_event_kind(event!));
      return 40 + kind;
    }, 0);
    assert.equal(w.wg_window_emit_on_thread(win, 2), 0);
    await turnsUntil(() => stored !== null);
    w.wg_join_threads();
    assert.equal(kind, 2);
    assert.equal(w.wg_thread_result(), 42, "the native thread got the callback's result");
    throwsCode(() => w.wg_event_kind(stored!), "INVALID_OBJECT");
    win.release();
  });

  it("3.11.51 a callback that is not thread-safe, called from a native thread: a clear error, never a crash", () => {
    const win = newWindow();
    let calls = 0;
    w.wg_window_on_event(win, () => (calls++, 1), 0);
    throwsCode(() => w.wg_window_emit_from_thread(win, 1), "WRONG_THREAD", /foreign native thread/);
    assert.equal(calls, 0, "it did not run");
    assert.equal(w.wg_thread_result(), 0, "the native caller got the fallback");
    assert.equal(w.wg_window_emit(win, 1, null), 1, "on the JS thread it runs");
    win.release();
  });

  it("3.11.53 finalizers that never run: the exit report still lists exactly what leaked", () => {
    const run = runModule(`
      import { reportLeaksAtExit } from "${mod}";
      import { widgetsLibrary } from "${widgetsModule}";
      const w = widgetsLibrary.functions;
      reportLeaksAtExit({ strict: true });
      for (let i = 0; i < 3; i++) w.wg_window_new(0, 0);
      w.wg_window_new(0, 0).release();
    `);
    assert.equal(run.status, 1, run.output);
    assert.match(run.output, /custody leak report: 3 objects, 3 blocks/);
  });

});
