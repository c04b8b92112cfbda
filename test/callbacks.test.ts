// Callbacks through the bindings, under deno test and bun test: arguments invalid after the
// callback returns unless retained, lifetimes bound to their owner, closing deferred while a
// callback runs, exceptions carried back to the caller. No dead object reaches native code.
import { after, describe, it } from "node:test";
import assert from "node:assert/strict";
import { closeCallback, openCallbacks, retain } from "../src/bindings/callbacks.ts";
import type { Wrapper } from "../src/bindings/bind.ts";
import { dump } from "../src/ownership/dump.ts";
import { apply, borrow, use } from "../src/ownership/wrapper.ts";
import { bind } from "../src/bindings/bind.ts";
import { widgetsDeclaration, widgetsLibrary, widgetsPath } from "../examples/widgets.ts";
import { throwsCode } from "./helpers.ts";
import { widgets as raw } from "./widgets_library.ts";

const w = widgetsLibrary.functions;
const deadCallsAtStart = w.wg_dead_calls();
// The event callback with its context declared as a Window: the window itself comes back as an argument.
const withWindow = bind(widgetsPath, {
  types: widgetsDeclaration.types,
  functions: {
    on_event_with_window: {
      symbol: "wg_window_on_event",
      parameters: [
        { object: "Window" },
        { callback: { parameters: [{ object: "Event" }, { object: "Window" }], result: "i32" }, boundTo: 0 },
        "pointer",
      ],
      result: "i32",
    },
  },
}).functions;


describe("callbacks", () => {
  after(() => assert.equal(w.wg_dead_calls(), deadCallsAtStart, "a dead object reached native code"));

  it("an event argument is usable during the callback and invalid after it (edge case 44)", () => {
    const win = w.wg_window_new(0, 0)!;
    let kind = -1;
    let kept: Wrapper<"Event"> | null = null;
    assert.equal(w.wg_window_on_event(win, (event) => {
      kind = w.wg_event_kind(event!);
      kept = event;
      return 7;
    }, 0), 0);
    assert.equal(w.wg_window_emit(win, 3, null), 7);
    assert.equal(kind, 3);
    throwsCode(() => w.wg_event_kind(kept!), "INVALID_OBJECT", /the callback it was an argument of returned/);
    win.release();
  });

  it("an object JS already holds keeps its own state inside and after the callback", () => {
    const win = w.wg_window_new(0, 0)!;
    const target = w.wg_button_new(0, 0)!;
    w.wg_window_add_child(win, target);
    let seen: Wrapper<"Widget"> | null = null;
    w.wg_window_on_event(win, (event) => {
      seen = w.wg_event_target(event!);
      return 0;
    }, 0);
    w.wg_window_emit(win, 1, target);
    assert.equal(seen, target, "the same wrapper");
    assert.ok(target.isValid);
    win.release();
  });

  it("a borrowed wrapper JS held before the call, passed back as an argument, stays valid after it", () => {
    const address = raw.wg_window_new(0, 0);
    const win = borrow(widgetsLibrary.types.Window, address) as Wrapper<"Window">;
    assert.equal(win.state, "borrowed");
    let argument: Wrapper<"Window"> | null = null;
    withWindow.on_event_with_window(win, (_event, self) => (argument = self, 0), address);
    assert.equal(w.wg_window_emit(win, 1, null), 0);
    assert.equal(argument, win, "the same wrapper");
    assert.equal(win.state, "borrowed", "not invalidated: the argument did not introduce it");
    assert.equal(w.wg_window_child_count(win), 0);
    raw.wg_window_destroy(address);
    apply(win, "nativeDestroyed", { event: "nativeDestroyed", by: "test" });
  });

  it("a wrapper a callback argument introduced is invalid after the callback, even a Window", () => {
    const win = w.wg_window_new(0, 0)!;
    const stranger = raw.wg_window_new(0, 0);
    let argument: Wrapper<"Window"> | null = null;
    withWindow.on_event_with_window(win, (_event, other) => (argument = other, 0), stranger);
    w.wg_window_emit(win, 1, null);
    assert.notEqual(argument, win);
    assert.equal(argument!.isValid, false, "introduced by the argument: borrowed for the call only");
    raw.wg_window_destroy(stranger);
    win.release();
  });

  it("retain keeps an argument that outlives the call", () => {
    const win = w.wg_window_new(0, 0)!;
    for (let i = 0; i < 2; i++) raw.wg_window_add_child(use(win), raw.wg_button_new(0, 0));
    const seen: Wrapper<"Widget">[] = [];
    assert.equal(w.wg_window_for_each_child(win, (widget) => {
      seen.push(widget!);
      if (seen.length === 1) retain(widget!);
      return 0;
    }, 0), 0);
    assert.equal(seen.length, 2);
    assert.ok(seen[0].isValid, "retained");
    assert.equal(w.wg_widget_set_visible(seen[0], 1), 0);
    assert.equal(seen[1].isValid, false, "not retained");
    throwsCode(() => w.wg_widget_set_visible(seen[1], 1), "INVALID_OBJECT");
    win.release();
  });

  it("an argument the callback gave an owner is left as the table leaves it when the callback returns", () => {
    const win = w.wg_window_new(0, 0)!;
    raw.wg_window_add_child(use(win), raw.wg_button_new(0, 0));
    let seen: Wrapper<"Widget"> | undefined;
    w.wg_window_for_each_child(win, (widget) => {
      seen = w.wg_window_adopt(win, widget!)!;
      return 0;
    }, 0);
    assert.equal(seen!.state, "child", "its window owns it: callbackReturned does not apply to a child");
    assert.equal(dump(seen!).rule, "child result", "the rule that decided it is still the adoption");
    win.release();
    assert.equal(seen!.isValid, false);
  });

  it("a callback bound to its window closes with it, even when the window dies inside the callback (edge case 50)", () => {
    const open = openCallbacks();
    const win = w.wg_window_new(0, 0)!;
    w.wg_window_on_event(win, () => {
      win.release();
      return 5;
    }, 0);
    assert.equal(openCallbacks(), open + 1);
    assert.equal(w.wg_window_emit(win, 1, null), 5);
    assert.equal(openCallbacks(), open, "closed once the callback returned");
    throwsCode(() => w.wg_window_emit(win, 1, null), "INVALID_OBJECT");
  });

  it("a new handler replaces the old one, which is closed", () => {
    const open = openCallbacks();
    const win = w.wg_window_new(0, 0)!;
    let calls = "";
    w.wg_window_on_event(win, () => (calls += "a", 0), 0);
    w.wg_window_on_event(win, () => (calls += "b", 0), 0);
    assert.equal(openCallbacks(), open + 1);
    w.wg_window_emit(win, 1, null);
    assert.equal(calls, "b");
    win.release();
    assert.equal(openCallbacks(), open);
  });

  it("an exception in a callback reaches the caller after the native call returns", () => {
    const win = w.wg_window_new(0, 0)!;
    let kept: Wrapper<"Event"> | null = null;
    let calls = 0;
    w.wg_window_on_event(win, (event) => {
      kept = event;
      if (++calls === 1) throw new Error("boom");
      return 9;
    }, 0);
    assert.throws(() => w.wg_window_emit(win, 1, null), /boom/);
    assert.equal(kept!.isValid, false);
    assert.equal(w.wg_window_emit(win, 1, null), 9, "no error left behind for the next call");
    win.release();
  });

  it("an unbound callback stays open until closeCallback", () => {
    const open = openCallbacks();
    const win = w.wg_window_new(0, 0)!;
    const visit = () => 0;
    w.wg_window_for_each_child(win, visit, 0);
    assert.equal(openCallbacks(), open + 1);
    assert.equal(closeCallback(visit), 1);
    assert.equal(openCallbacks(), open);
    win.release();
  });

  it("a refused call makes no callback", () => {
    const open = openCallbacks();
    const win = w.wg_window_new(0, 0)!;
    win.release();
    throwsCode(() => w.wg_window_on_event(win, () => 0, 0), "INVALID_OBJECT");
    assert.equal(openCallbacks(), open);
  });
});
