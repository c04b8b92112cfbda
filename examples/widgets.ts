/**
 * The example widget library (zig/examples/widgets.zig) bound through custody: the
 * declaration says, for every function, what happens to ownership.
 *
 * @module
 */
import { bind } from "../src/bindings/bind.ts";
import type { Declaration } from "../src/bindings/declaration.ts";
import { runtime } from "../src/ffi/mod.ts";
import { libraryPath } from "../src/native/library.ts";

/** Where libwidgets is: next to libcustody. */
export const widgetsPath: string = libraryPath().replace(/[^/]*$/, runtime.sharedLibraryName("widgets"));

const text = ["pointer", "usize"] as const;

/** The widget library's declaration. */
export const widgetsDeclaration = {
  types: {
    Window: { destructor: "wg_window_destroy" },
    Widget: { destructor: "wg_widget_destroy", notifiesDestruction: true },
    Renderer: { destructor: "wg_renderer_destroy" },
    Event: {},
  },
  functions: {
    wg_window_new: { parameters: text, result: { object: "Window", ownership: "own" } },
    wg_button_new: { parameters: text, result: { object: "Widget", ownership: "own" } },
    wg_label_new: { parameters: text, result: { object: "Widget", ownership: "own" } },
    wg_widget_clone: { parameters: [{ object: "Widget" }], result: { object: "Widget", ownership: "own" } },
    wg_widget_set_visible: { parameters: [{ object: "Widget" }, "u32"], result: "i32" },
    wg_widget_parent: { parameters: [{ object: "Widget" }], result: { object: "Window", ownership: "known" } },
    wg_widget_destroy: { parameters: [{ object: "Widget", invalidates: true }], result: "void" },
    // Native code destroys it and tells custody: no hint needed, the notification invalidates it.
    wg_widget_close: { parameters: [{ object: "Widget" }], result: "i32" },
    wg_window_add_child: { parameters: [{ object: "Window" }, { object: "Widget", stealInto: 0 }], result: "i32" },
    wg_window_add_children: {
      parameters: [{ object: "Window" }, { object: "Widget", stealInto: 0 }, { object: "Widget", stealInto: 0 }],
      result: "i32",
    },
    wg_window_shared: { parameters: [], result: { object: "Window", ownership: "borrow" } },
    wg_window_detach: { parameters: [{ object: "Window" }, { object: "Widget", parent: "remove" }], result: "i32" },
    wg_window_destroy_child: { parameters: [{ object: "Window" }, { object: "Widget", invalidates: true }], result: "i32" },
    wg_window_child_count: { parameters: [{ object: "Window" }], result: "i64" },
    wg_window_child_at: { parameters: [{ object: "Window" }, "u32"], result: { object: "Widget", ownership: "child", of: 0 } },
    // The result says who owns the widget now: whatever it was, it becomes the window's child.
    wg_window_adopt: { parameters: [{ object: "Window" }, { object: "Widget" }], result: { object: "Widget", ownership: "child", of: 0 } },
    wg_window_close_hidden: { parameters: [{ object: "Window" }], result: "i64" },
    wg_window_layout: { parameters: [{ object: "Window" }], result: "i64", nonblocking: true },
    wg_renderer_new: {
      parameters: [{ object: "Widget", keepAlive: { by: "result", slot: "source", mode: "set" } }],
      result: { object: "Renderer", ownership: "own" },
    },
    wg_renderer_set_source: {
      parameters: [{ object: "Renderer" }, { object: "Widget", nullable: true, keepAlive: { by: 0, slot: "source", mode: "set" } }],
      result: "i32",
    },
    wg_renderer_render: { parameters: [{ object: "Renderer" }], result: "i64" },
    wg_window_on_event: {
      parameters: [{ object: "Window" }, { callback: { parameters: [{ object: "Event" }, "pointer"], result: "i32" }, boundTo: 0 }, "pointer"],
      result: "i32",
    },
    wg_window_on_event_from_any_thread: {
      symbol: "wg_window_on_event",
      parameters: [
        { object: "Window" },
        { callback: { parameters: [{ object: "Event" }, "pointer"], result: "i32", threadSafe: true }, boundTo: 0 },
        "pointer",
      ],
      result: "i32",
    },
    wg_window_emit: { parameters: [{ object: "Window" }, "u32", { object: "Widget", nullable: true }], result: "i32" },
    wg_window_emit_on_thread: { parameters: [{ object: "Window" }, "u32"], result: "i32" },
    wg_window_emit_from_thread: { parameters: [{ object: "Window" }, "u32"], result: "i32" },
    wg_thread_result: { parameters: [], result: "i32" },
    wg_join_threads: { parameters: [], result: "void" },
    wg_event_kind: { parameters: [{ object: "Event" }], result: "i64" },
    wg_event_target: { parameters: [{ object: "Event" }], result: { object: "Widget", ownership: "borrow" } },
    wg_window_for_each_child: {
      parameters: [{ object: "Window" }, { callback: { parameters: [{ object: "Widget" }, "pointer"], result: "i32" } }, "pointer"],
      result: "i32",
    },
    wg_dead_calls: { parameters: [], result: "u64" },
    wg_live_objects: { parameters: [], result: "i64" },
  },
} as const satisfies Declaration;

/** The bound widget library. */
export const widgetsLibrary = bind(widgetsPath, widgetsDeclaration);
