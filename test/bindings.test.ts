// Declarative bindings over the widget library, under deno test and bun test. Every call's
// ownership effects come from the declaration; no call may reach native code with a dead
// object (the library's own counter must not move).
import { after, describe, it } from "node:test";
import assert from "node:assert/strict";
import { registry, stats } from "../mod.ts";
import { bind, type Wrapper } from "../src/bindings/bind.ts";
import { dump } from "../src/ownership/dump.ts";
import { keptAlive, use } from "../src/ownership/wrapper.ts";
import { widgetsDeclaration, widgetsLibrary, widgetsPath } from "../examples/widgets.ts";
import { collectUntil, throwsCode } from "./helpers.ts";

const w = widgetsLibrary.functions;
const deadCallsAtStart = w.wg_dead_calls();

function window(): Wrapper<"Window"> {
  return w.wg_window_new(0, 0)!;
}
function button(): Wrapper<"Widget"> {
  return w.wg_button_new(0, 0)!;
}

describe("declarative bindings", () => {
  after(() => assert.equal(w.wg_dead_calls(), deadCallsAtStart, "a dead object reached native code"));

  it("factories return owned objects; release destroys; later uses throw before native code", () => {
    const live = w.wg_live_objects();
    const win = window();
    assert.equal(win.state, "owned");
    assert.equal(w.wg_window_child_count(win), 0);
    win.release();
    assert.equal(w.wg_live_objects(), live);
    throwsCode(() => w.wg_window_child_count(win), "INVALID_OBJECT", /Cannot use Window at 0x[0-9a-f]+: it is invalid since `release\(\)` called/);
  });

  it("add_child steals into the window: the widget is its child and dies with it", () => {
    const live = w.wg_live_objects();
    const win = window();
    const ok = button();
    assert.equal(w.wg_window_add_child(win, ok), 0);
    assert.equal(ok.state, "child");
    assert.equal(dump(ok).rule, "stealInto");
    throwsCode(() => ok.release(), "NOT_OWNER");
    assert.equal(w.wg_window_child_at(win, 0), ok, "the same wrapper comes back");
    win.release();
    assert.equal(w.wg_live_objects(), live);
    throwsCode(() => w.wg_widget_set_visible(ok, 0), "INVALID_OBJECT", /since its parent was destroyed/);
  });

  it("detach gives ownership back; a failed detach changes nothing", () => {
    const live = w.wg_live_objects();
    const win = window();
    const other = window();
    const b = button();
    w.wg_window_add_child(win, b);
    assert.equal(w.wg_window_detach(other, b), -2, "not that window's child: the call fails");
    assert.equal(b.state, "child");
    assert.equal(w.wg_window_detach(win, b), 0);
    assert.equal(b.state, "owned");
    win.release();
    other.release();
    assert.ok(b.isValid);
    b.release();
    assert.equal(w.wg_live_objects(), live);
  });

  it("destroy_child invalidates the widget without a second destroy", () => {
    const live = w.wg_live_objects();
    const win = window();
    const b = button();
    w.wg_window_add_child(win, b);
    assert.equal(w.wg_window_destroy_child(win, b), 0);
    throwsCode(() => w.wg_widget_clone(b), "INVALID_OBJECT", /passed to a native function that destroys it \(wg_window_destroy_child\(\)\)/);
    win.release();
    assert.equal(w.wg_live_objects(), live);
  });

  it("clone returns a new owned object", () => {
    const b = button();
    const copy = w.wg_widget_clone(b)!;
    assert.notEqual(copy, b);
    assert.equal(copy.state, "owned");
    copy.release();
    b.release();
  });

  it("native destruction behind JS's back invalidates the wrapper", () => {
    const win = window();
    const b = button();
    w.wg_window_add_child(win, b);
    w.wg_widget_set_visible(b, 0);
    assert.equal(w.wg_window_close_hidden(win), 1);
    throwsCode(() => w.wg_widget_set_visible(b, 1), "INVALID_OBJECT", /native code reported it destroyed/);
    win.release();
  });

  it("a known result must be an object custody holds", () => {
    const win = window();
    const b = button();
    w.wg_window_add_child(win, b);
    assert.equal(w.wg_widget_parent(b), win);
    const orphan = button();
    assert.equal(w.wg_widget_parent(orphan), null);
    win.release();
    orphan.release();
  });

  it("refuses wrong arguments before native code runs", () => {
    const win = window();
    const b = button();
    throwsCode(() => (w.wg_window_child_count as (...args: unknown[]) => unknown)(b), "INVALID_ARGUMENT", /argument 0 must be a Window, not a Widget/);
    throwsCode(() => (w.wg_window_child_count as (...args: unknown[]) => unknown)(null), "INVALID_ARGUMENT", /not null/);
    throwsCode(() => (w.wg_window_child_count as (...args: unknown[]) => unknown)(), "INVALID_ARGUMENT", /takes 1 arguments, got 0/);
    throwsCode(() => (w.wg_window_add_child as (...args: unknown[]) => unknown)(win, win), "INVALID_ARGUMENT");
    win.release();
    b.release();
  });

  it("a stolen object passed again is refused before native code runs", () => {
    const first = window();
    const second = window();
    const b = button();
    w.wg_window_add_child(first, b);
    w.wg_window_destroy_child(first, b);
    throwsCode(() => w.wg_window_add_child(second, b), "INVALID_OBJECT");
    assert.equal(w.wg_window_child_count(second), 0);
    first.release();
    second.release();
  });

  it("a renderer keeps its source alive: a released source is invalid to JS, but lives natively", () => {
    const live = w.wg_live_objects();
    const source = w.wg_label_new(0, 0)!;
    const renderer = w.wg_renderer_new(source)!;
    source.release();
    throwsCode(() => w.wg_widget_set_visible(source, 0), "INVALID_OBJECT", /since `release\(\)` called/);
    assert.equal(w.wg_renderer_render(renderer), 1, "the native source is still there: no dead call");
    assert.equal(w.wg_live_objects(), live + 2);
    renderer.release();
    assert.equal(w.wg_live_objects(), live, "the source's destructor ran when its nurse died");
  });

  it("a kept-alive object cannot be given away: the steal is refused before native code runs", () => {
    const stealing = bind(widgetsPath, {
      types: widgetsDeclaration.types,
      functions: {
        add_child_stealing: { symbol: "wg_window_add_child", parameters: [{ object: "Window" }, { object: "Widget", steal: "always" }], result: "i32" },
      },
    }).functions;
    const win = window();
    const source = w.wg_label_new(0, 0)!;
    const renderer = w.wg_renderer_new(source)!;
    throwsCode(() => stealing.add_child_stealing(win, source), "KEPT_ALIVE", /Cannot give away Widget at 0x[0-9a-f]+: a keep-alive holds it/);
    assert.equal(w.wg_window_child_count(win), 0, "nothing reached native code");
    assert.equal(source.state, "owned");
    // Once the renderer lets go, the steal goes through.
    w.wg_renderer_set_source(renderer, null);
    assert.equal(stealing.add_child_stealing(win, source), 0);
    assert.equal(source.isValid, false);
    assert.equal(w.wg_window_child_count(win), 1);
    renderer.release();
    win.release();
  });

  it("a child result takes over what it returns: an owned widget, or a child of another window", () => {
    const first = window(), second = window();
    const b = button();
    const adopted = w.wg_window_adopt(first, b)!;
    assert.equal(adopted, b, "the same wrapper");
    assert.equal(b.state, "child");
    assert.deepEqual(dump(b).parent, dump(first).handle);
    assert.equal(w.wg_window_adopt(second, b), b);
    assert.deepEqual(dump(b).parent, dump(second).handle, "moved in the registry too");
    first.release();
    assert.equal(b.state, "child", "the first window no longer owns it");
    second.release();
    assert.equal(b.isValid, false);
  });

  it("native code that destroys an object and says so invalidates its wrapper, whoever owned it", () => {
    const giveAway = bind(widgetsPath, {
      types: widgetsDeclaration.types,
      functions: { give_away: { symbol: "wg_widget_set_visible", parameters: [{ object: "Widget", steal: "safe" }, "u32"], result: "i32" } },
    }).functions.give_away;
    const live = w.wg_live_objects();
    const win = window();
    const owned = button(), child = button(), given = button();
    assert.equal(w.wg_window_add_child(win, child), 0);
    assert.equal(giveAway(given, 1), 0);
    assert.equal(given.state, "native");
    for (const widget of [owned, child, given]) {
      assert.equal(w.wg_widget_close(widget), 0);
      assert.equal(widget.isValid, false);
      throwsCode(() => w.wg_widget_set_visible(widget, 0), "INVALID_OBJECT", /native code reported it destroyed/);
    }
    assert.equal(w.wg_window_child_count(win), 0);
    win.release();
    assert.equal(w.wg_live_objects(), live);
  });

  it("a kept-alive source is not collected while its renderer lives", async () => {
    // Watch these objects only: other tests' garbage may be collected meanwhile.
    let sourceAddress = 0;
    const renderer = (() => {
      const source = w.wg_label_new(0, 0)!;
      sourceAddress = use(source);
      return w.wg_renderer_new(source)!;
    })();
    const sourceRegistered = () => registry.find(sourceAddress, widgetsLibrary.types.Widget.nameId) !== undefined;
    let rounds = 0;
    await collectUntil(() => ++rounds > 5);
    assert.ok(sourceRegistered(), "kept alive");
    assert.equal(w.wg_renderer_render(renderer), 1);
    renderer.release();
    await collectUntil(() => !sourceRegistered());
    assert.equal(sourceRegistered(), false, "once the renderer died, the source was collected");
  });

  it("a repeated setter keeps one reference per slot, and null cancels it", () => {
    const before = stats().capsulesLive;
    const first = button();
    const renderer = w.wg_renderer_new(first)!;
    const sources = Array.from({ length: 100 }, () => button());
    for (const source of sources) assert.equal(w.wg_renderer_set_source(renderer, source), 0);
    assert.deepEqual(keptAlive(renderer).get("source"), [sources[99]]);
    assert.equal(w.wg_renderer_set_source(renderer, null), 0);
    assert.equal(keptAlive(renderer).get("source"), undefined);
    for (const source of [first, ...sources]) source.release();
    renderer.release();
    assert.equal(stats().capsulesLive, before, "every registry entry is gone");
  });

  it("a nonblocking call keeps its arguments alive until it settles (edge case 49)", async () => {
    const live = w.wg_live_objects();
    const win = window();
    w.wg_window_add_child(win, button());
    const layout = w.wg_window_layout(win);
    assert.ok(layout instanceof Promise);
    win.release();
    assert.equal(win.isValid, false, "invalid to JS at once");
    assert.equal(await layout, 1, "the native call ran on a live window");
    assert.equal(w.wg_live_objects(), live, "its destructor ran once the call settled");
  });

  it("refuses declarations it could not enforce, at bind time", () => {
    const bad = (functions: object, types: object = { Widget: {} }) => () => bind(widgetsPath, { types, functions } as never);
    throwsCode(bad({ wg_live_objects: { parameters: [{ object: "Nope" }], result: "i64" } }), "INVALID_ARGUMENT", /Nope is not a declared type/);
    throwsCode(bad({ wg_widget_set_visible: { parameters: [{ object: "Widget", stealInto: 1 }, "u32"], result: "i32" } }), "INVALID_ARGUMENT", /not another object parameter/);
    throwsCode(bad({ wg_widget_set_visible: { parameters: [{ object: "Widget", steal: "safe" }, "u32"], result: "i32" } }), "INVALID_ARGUMENT", /does not notify its destruction/);
    throwsCode(bad({ wg_widget_parent: { parameters: [{ object: "Widget" }], result: { object: "Widget", ownership: "child" } } }), "INVALID_ARGUMENT", /needs `of`/);
    throwsCode(bad({ wg_live_objects: { parameters: [], result: "i64" } }, { Widget: { destructor: "no_such_function" } }), "NOT_FOUND");
    throwsCode(bad({}), "INVALID_ARGUMENT", /has no functions/);
    throwsCode(bad({ wg_button_new: { parameters: ["pointer", "usize"], result: { object: "Widget", ownership: "own" } } }), "INVALID_ARGUMENT", /declares no destructor/);
    throwsCode(bad({ wg_window_detach: { parameters: ["pointer", { object: "Widget", parent: "remove" }], result: "i32" } }), "INVALID_ARGUMENT", /declares no destructor/);
    throwsCode(bad({ wg_window_layout: { parameters: [{ object: "Widget", invalidates: true }], result: "i64", nonblocking: true } }), "INVALID_ARGUMENT", /may only borrow/);
  });
});
