// Opt-in bulk rules and heuristics, under deno test and bun test: they fill in hints the
// declaration leaves out, never override one it states, and dump() names them.
import { describe, it } from "node:test";
import assert from "node:assert/strict";
import { bind, CustodyError, dump } from "../mod.ts";
import { widgetsPath } from "../examples/widgets.ts";
import { use } from "../src/ownership/wrapper.ts";
import { widgets as raw } from "./widgets_library.ts";

const types = {
  Window: { destructor: "wg_window_destroy" },
  Widget: { destructor: "wg_widget_destroy" },
} as const;

describe("bulk rules and heuristics", () => {
  it("a bulk rule gives every matching function its hint, and dump() names it", () => {
    const lib = bind(widgetsPath, {
      types,
      functions: {
        wg_button_new: { parameters: ["pointer", "usize"], result: { object: "Widget", ownership: "own" } },
        wg_widget_destroy: { parameters: [{ object: "Widget" }], result: "void" },
        wg_window_new: { parameters: ["pointer", "usize"], result: { object: "Window", ownership: "own" } },
        wg_window_destroy: { parameters: [{ object: "Window" }], result: "void" },
      },
    }, { rules: [{ name: "destroy_* invalidates", functions: /_destroy$/, hint: { invalidates: true } }] }).functions;
    const b = lib.wg_button_new(0, 0)!;
    const win = lib.wg_window_new(0, 0)!;
    lib.wg_widget_destroy(b);
    lib.wg_window_destroy(win);
    for (const gone of [b, win]) {
      assert.equal(gone.isValid, false);
      assert.equal(dump(gone).rule, "destroy_* invalidates");
    }
    assert.throws(() => lib.wg_widget_destroy(b), (e: unknown) => e instanceof CustodyError && e.code === "INVALID_OBJECT");
  });

  it("a hint the declaration states wins over a bulk rule", () => {
    const lib = bind(widgetsPath, {
      types,
      functions: {
        wg_window_new: { parameters: ["pointer", "usize"], result: { object: "Window", ownership: "own" } },
        wg_button_new: { parameters: ["pointer", "usize"], result: { object: "Widget", ownership: "own" } },
        wg_window_add_child: { parameters: [{ object: "Window" }, { object: "Widget", stealInto: 0 }], result: "i32" },
        wg_window_detach: { parameters: [{ object: "Window" }, { object: "Widget", parent: "remove" }], result: "i32" },
      },
    }, { rules: [{ name: "every widget argument invalidates", functions: /./, parameters: 1, hint: { invalidates: true } }] }).functions;
    const win = lib.wg_window_new(0, 0)!;
    const b = lib.wg_button_new(0, 0)!;
    lib.wg_window_add_child(win, b);
    assert.equal(b.state, "child");
    lib.wg_window_detach(win, b);
    assert.equal(b.state, "owned");
    assert.equal(dump(b).rule, "parent: remove");
    b.release();
    win.release();
  });

  it("the parent-constructor heuristic makes an object built with a parent its child", () => {
    const declaration = {
      types,
      functions: {
        wg_window_new: { parameters: ["pointer", "usize"], result: { object: "Window", ownership: "own" } },
        wg_button_new_in: { parameters: [{ object: "Window", name: "parent" }, "pointer", "usize"], result: { object: "Widget", ownership: "own" } },
      },
    } as const;
    const guessed = bind(widgetsPath, declaration, { heuristics: { parentConstructor: true } }).functions;
    const win = guessed.wg_window_new(0, 0)!;
    const b = guessed.wg_button_new_in(win, 0, 0)!;
    assert.equal(b.state, "child");
    assert.equal(dump(b).rule, "parent-constructor heuristic");
    win.release();
    assert.equal(b.isValid, false);

    const literal = bind(widgetsPath, declaration).functions;
    const other = literal.wg_window_new(0, 0)!;
    const owned = literal.wg_button_new_in(other, 0, 0)!;
    assert.equal(owned.state, "owned", "without the heuristic the declaration is taken literally");
    raw.wg_window_detach(use(other), use(owned));
    owned.release();
    other.release();
  });

  it("the return-value heuristic makes a borrowed result of a method its child", () => {
    const lib = bind(widgetsPath, {
      types,
      functions: {
        wg_window_new: { parameters: ["pointer", "usize"], result: { object: "Window", ownership: "own" } },
        wg_button_new: { parameters: ["pointer", "usize"], result: { object: "Widget", ownership: "own" } },
        wg_window_child_at: { parameters: [{ object: "Window" }, "u32"], result: { object: "Widget", ownership: "borrow" } },
      },
    }, { heuristics: { returnValueChild: true } }).functions;
    const win = lib.wg_window_new(0, 0)!;
    raw.wg_window_add_child(use(win), raw.wg_button_new(0, 0));
    const child = lib.wg_window_child_at(win, 0)!;
    assert.equal(child.state, "child");
    assert.equal(dump(child).rule, "return-value heuristic");
    win.release();
    assert.equal(child.isValid, false);
  });
});
