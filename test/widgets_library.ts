/**
 * The example widget library (zig/examples/widgets.zig) opened with raw FFI, for tests that
 * check it against custody's native core. It lives next to libcustody, links against it,
 * and so shares its tracked allocator and registry.
 *
 * @module
 */
import { runtime } from "../mod.ts";
import { widgetsPath } from "../examples/widgets.ts";

export { widgetsPath };

/** The widget library's functions: addresses in, addresses out, as in its C ABI. */
export const widgets = runtime.open(widgetsPath, {
  wg_window_new: { parameters: ["pointer", "usize"], result: "pointer" },
  wg_window_destroy: { parameters: ["pointer"], result: "void" },
  wg_button_new: { parameters: ["pointer", "usize"], result: "pointer" },
  wg_widget_destroy: { parameters: ["pointer"], result: "void" },
  wg_widget_set_visible: { parameters: ["pointer", "u32"], result: "i32" },
  wg_window_add_child: { parameters: ["pointer", "pointer"], result: "i32" },
  wg_window_detach: { parameters: ["pointer", "pointer"], result: "i32" },
  wg_window_destroy_child: { parameters: ["pointer", "pointer"], result: "i32" },
  wg_window_child_count: { parameters: ["pointer"], result: "i64" },
  wg_window_close_hidden: { parameters: ["pointer"], result: "i64" },
  wg_window_close_hidden_async: { parameters: ["pointer"], result: "i32" },
  wg_join_threads: { parameters: [], result: "void" },
  wg_window_layout: { parameters: ["pointer"], result: "i64", nonblocking: true },
  wg_dead_calls: { parameters: [], result: "u64" },
  wg_live_objects: { parameters: [], result: "i64" },
}).symbols;
