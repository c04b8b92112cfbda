/**
 * The widget library through koffi (npm `koffi`, a Node-API FFI), declared with its C-like
 * prototypes as its documentation shows. It loads in Deno (npm specifier through
 * package.json, `--allow-ffi`) and in Bun.
 *
 * @module
 */
import koffi from "koffi";
import { widgetsPath } from "../examples/widgets.ts";

/** The widget calls the benchmarks use, through koffi. */
export interface KoffiWidgets {
  newWindow(): unknown;
  destroy(window: unknown): void;
  childCount(window: unknown): number;
}

/** Opens libwidgets through koffi. */
export function koffiWidgets(): KoffiWidgets {
  const lib = koffi.load(widgetsPath);
  const newWindow = lib.func("void *wg_window_new(const char *title, size_t len)");
  const destroy = lib.func("void wg_window_destroy(void *window)");
  const childCount = lib.func("int64_t wg_window_child_count(void *window)");
  return {
    newWindow: () => newWindow(null, 0),
    destroy: (window) => destroy(window),
    childCount: (window) => Number(childCount(window)),
  };
}
